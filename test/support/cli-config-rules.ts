/**
 * The Pulumi CLI's rules for a project's config schema (`config:` in Pulumi.yaml) and a stack's
 * config values, as the CLI applies them before the program runs. Written from pulumi/pulumi
 * v3.248.0 (the rules are the same from v3.213.0 through v3.259.0, where config.go moved to
 * pkg/workspace unchanged):
 *
 * - `sdk/go/common/workspace/loaders.go` LoadProjectBytes: JSON-schema check, then
 *   RewriteShorthandConfigValues, then Project.Validate;
 * - `sdk/go/common/workspace/project.json` `configTypeDeclaration` / `simpleConfigType` /
 *   `configItemsType`: the attributes a declaration may have;
 * - `sdk/go/common/workspace/project.go` RewriteShorthandConfigValues, Project.Validate,
 *   ValidateConfigValue, InferFullTypeName;
 * - `sdk/go/common/workspace/config.go` mergeConfig (missing keys, defaults inserted with
 *   createConfigValue), validateStackConfigValues / validateStackConfigValue (secret and type);
 * - `sdk/go/common/resource/config/value.go` and `object.go` (Value.UnmarshalYAML,
 *   object.MarshalString): how a stack file's YAML value is held (text, secure, object).
 *
 * Pure functions over parsed YAML; errors carry the CLI's own wording.
 */

/** `configItemsType` of project.json. */
export interface ConfigItemsType {
    readonly type: string;
    readonly items?: ConfigItemsType;
}

/** `configTypeDeclaration` of project.json (ProjectConfigType in project.go). */
export interface ConfigTypeDeclaration {
    readonly type?: string;
    readonly items?: ConfigItemsType;
    readonly description?: string;
    readonly secret?: boolean;
    readonly default?: unknown;
    readonly value?: unknown;
}

export interface ProjectConfig {
    readonly name: string;
    readonly config: Readonly<Record<string, ConfigTypeDeclaration>>;
}

/** One stack config value as `config.Value` holds it: text, and whether it is secure / an object. */
export interface StackValue {
    readonly text: string;
    readonly secure: boolean;
    readonly object: boolean;
}

/** Stack config: full key (`project:key`) → value. */
export type StackConfig = ReadonlyMap<string, StackValue>;

const SIMPLE_TYPES = ["string", "integer", "boolean", "array", "object"];
const DECLARATION_ATTRIBUTES = ["type", "items", "description", "secret", "default", "value"];

function isRecord(value: unknown): value is Record<string, unknown> {
    return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** Go's `x != nil` for a value decoded from YAML: an absent key and YAML `null` are both nil. */
function isSet(value: unknown): boolean {
    return value !== undefined && value !== null;
}

/** project.json `configItemsType`: `type` required (a simple type or nested items), `items` required for arrays. */
function checkItemsSchema(items: unknown, at: string): void {
    if (!isRecord(items) || !("type" in items)) {
        throw new Error(`${at}: missing properties: 'type'`);
    }
    const type = items.type;
    if (typeof type === "string") {
        if (!SIMPLE_TYPES.includes(type)) {
            throw new Error(`${at}/type: value must be one of ${SIMPLE_TYPES.map((t) => `"${t}"`).join(", ")}`);
        }
    } else {
        checkItemsSchema(type, `${at}/type`);
    }
    if (type === "array" && !("items" in items)) {
        throw new Error(`${at}: missing properties: 'items'`);
    }
    if ("items" in items) {
        checkItemsSchema(items.items, `${at}/items`);
    }
}

/** project.json: a config entry is a shorthand (string, integer, boolean, array) or a configTypeDeclaration. */
function checkDeclarationSchema(key: string, entry: unknown): void {
    const at = `#/config/${key}`;
    if (typeof entry === "string" || typeof entry === "boolean" || Array.isArray(entry) || (typeof entry === "number" && Number.isInteger(entry))) {
        return;
    }
    if (!isRecord(entry)) {
        throw new Error(`${at}: expected a string, integer, boolean, array or a config type declaration`);
    }
    for (const attribute of Object.keys(entry)) {
        if (!DECLARATION_ATTRIBUTES.includes(attribute)) {
            throw new Error(`${at}: additionalProperties '${attribute}' not allowed`);
        }
    }
    if ("type" in entry && (typeof entry.type !== "string" || !SIMPLE_TYPES.includes(entry.type))) {
        throw new Error(`${at}/type: value must be one of ${SIMPLE_TYPES.map((t) => `"${t}"`).join(", ")}`);
    }
    if ("items" in entry) {
        checkItemsSchema(entry.items, `${at}/items`);
    }
    if ("description" in entry && typeof entry.description !== "string") {
        throw new Error(`${at}/description: expected string`);
    }
    if ("secret" in entry && typeof entry.secret !== "boolean") {
        throw new Error(`${at}/secret: expected boolean`);
    }
}

/** project.go configKeyIsNamespacedByProject. */
function isNamespacedByProject(projectName: string, key: string): boolean {
    return !key.includes(":") || key.startsWith(`${projectName}:`);
}

/** project.go isPrimitiveValue: Go string, int or bool (a YAML float is not primitive). */
function isPrimitive(value: unknown): boolean {
    return typeof value === "string" || typeof value === "boolean" || (typeof value === "number" && Number.isInteger(value));
}

/** project.go InferFullTypeName. */
export function inferFullTypeName(typeName: string, items: ConfigItemsType | undefined): string {
    return items !== undefined ? `array<${inferFullTypeName(items.type, items.items)}>` : typeName;
}

/** strconv.Atoi: optional sign, decimal digits, within int64. */
function atoiParses(text: string): boolean {
    if (!/^[+-]?[0-9]+$/.test(text)) {
        return false;
    }
    const value = BigInt(text);
    return value >= -(2n ** 63n) && value < 2n ** 63n;
}

/**
 * project.go ValidateConfigValue. `value` is what Go holds: a string for a plain stack value,
 * the JSON-decoded structure for an object value (numbers are float64 there), or the
 * YAML-decoded default.
 */
export function validateConfigValue(typeName: string, items: ConfigItemsType | undefined, value: unknown): boolean {
    if (typeName === "string") {
        return typeof value === "string";
    }
    if (typeName === "integer") {
        if (typeof value === "number") {
            return Number.isInteger(value); // int, or a whole float64
        }
        return typeof value === "string" && atoiParses(value);
    }
    if (typeName === "boolean") {
        return value === "true" || value === "false" || typeof value === "boolean";
    }
    if (typeName === "object") {
        return isRecord(value);
    }
    // Anything else is checked as an array, and needs `items`.
    if (!Array.isArray(value) || items === undefined) {
        return false;
    }
    return value.every((item) => validateConfigValue(items.type, items.items, item));
}

/**
 * Pulumi.yaml as the CLI loads it (loaders.go LoadProjectBytes): the JSON-schema check of each
 * config entry, RewriteShorthandConfigValues, then Project.Validate. Throws the CLI's error.
 */
export function loadProjectConfig(raw: unknown): ProjectConfig {
    if (!isRecord(raw) || typeof raw.name !== "string" || raw.name === "") {
        throw new Error("project is missing a non-empty string 'name' attribute");
    }
    const projectName = raw.name;
    const rawConfig = raw.config ?? {};
    if (typeof rawConfig === "string") {
        // The deprecated form `config: <dir>` names the stack config directory.
        return { name: projectName, config: {} };
    }
    if (!isRecord(rawConfig)) {
        throw new Error("#/config: expected object, string or null");
    }
    const config: Record<string, ConfigTypeDeclaration> = {};
    for (const [key, entry] of Object.entries(rawConfig)) {
        checkDeclarationSchema(key, entry);
        // RewriteShorthandConfigValues: a primitive or an array is a default (project namespace)
        // or a value (other namespaces).
        if (isPrimitive(entry) || Array.isArray(entry)) {
            config[key] = isNamespacedByProject(projectName, key) ? { default: entry } : { value: entry };
        } else {
            config[key] = entry as ConfigTypeDeclaration;
        }
    }
    // Project.Validate
    for (const [key, declaration] of Object.entries(config)) {
        if (isSet(declaration.default) && isSet(declaration.value)) {
            throw new Error(`project config '${key}' cannot have both a 'default' and 'value' attribute`);
        }
        if (isNamespacedByProject(projectName, key)) {
            if (declaration.type === "array" && declaration.items === undefined) {
                throw new Error(`The configuration key '${key}' declares an array but does not specify the underlying type via the 'items' attribute`);
            }
            if (declaration.type !== undefined && isSet(declaration.default) && !validateConfigValue(declaration.type, declaration.items, declaration.default)) {
                throw new Error(
                    `The default value specified for configuration key '${key}' is not of the expected type '${inferFullTypeName(declaration.type, declaration.items)}'`,
                );
            }
        } else {
            if (declaration.type !== undefined) {
                throw new Error(`Configuration key '${key}' is not namespaced by the project and should not define a type`);
            }
            if (isSet(declaration.default)) {
                throw new Error(`Configuration key '${key}' is not namespaced by the project and should not define a default value.`);
            }
            if (!isSet(declaration.value)) {
                throw new Error(`Configuration key '${key}' is namespaced and must provide an attribute 'value'`);
            }
        }
    }
    return { name: projectName, config };
}

/** JSON text as Go's json.Marshal writes a YAML-decoded value (map keys sorted). */
function goJson(value: unknown): string {
    if (Array.isArray(value)) {
        return `[${value.map(goJson).join(",")}]`;
    }
    if (isRecord(value)) {
        return `{${Object.keys(value)
            .sort()
            .map((key) => `${JSON.stringify(key)}:${goJson(value[key])}`)
            .join(",")}}`;
    }
    return JSON.stringify(value);
}

/**
 * A stack file's YAML value as `config.Value` (value.go UnmarshalYAML → object.go
 * MarshalString): strings as is, numbers and booleans as their JSON text, `{secure: x}` as a
 * secure value, maps and lists as JSON object values.
 */
export function stackValueFromYaml(value: unknown): StackValue {
    if (typeof value === "string") {
        return { text: value, secure: false, object: false };
    }
    if (typeof value === "number" || typeof value === "boolean") {
        return { text: JSON.stringify(value), secure: false, object: false };
    }
    if (isRecord(value) && Object.keys(value).length === 1 && typeof value.secure === "string") {
        return { text: value.secure, secure: true, object: false };
    }
    if (value === null || value === undefined) {
        return { text: "null", secure: false, object: true };
    }
    return { text: goJson(value), secure: false, object: true };
}

/** The `config:` map of a Pulumi.<stack>.yaml, parsed. */
export function stackConfigFromYaml(config: Readonly<Record<string, unknown>>): Map<string, StackValue> {
    return new Map(Object.entries(config).map(([key, value]) => [key, stackValueFromYaml(value)]));
}

/** config.go createConfigValue: primitives as text (`%v`), anything else as a JSON object value. */
function createConfigValue(value: unknown): StackValue {
    if (isPrimitive(value)) {
        return { text: String(value), secure: false, object: false };
    }
    return { text: goJson(value), secure: false, object: true };
}

/** config.go formatMissingKeys + missingStackConfigurationKeysError. */
function missingKeysError(stackName: string, keys: string[]): Error {
    const sorted = [...keys].sort();
    const list =
        sorted.length === 1
            ? `'${sorted[0]}'`
            : sorted.map((key, index) => (index === sorted.length - 1 ? `and '${key}'` : index === sorted.length - 2 ? `'${key}' ` : `'${key}', `)).join("");
    return new Error(`Stack '${stackName}' is missing configuration value${sorted.length === 1 ? "" : "s"} ${list}`);
}

function fullKey(projectName: string, key: string): string {
    return key.includes(":") ? key : `${projectName}:${key}`;
}

/**
 * config.go mergeConfig with validate=true (ValidateStackConfigAndApplyProjectConfig, what
 * preview, up and destroy-with-program run): report every project-namespace key that has no
 * stack value, no `value` and no `default`; insert defaults and values the stack lacks; then
 * validateStackConfigValues: a `secret` key must hold a secure value, and a typed key's value
 * must pass ValidateConfigValue. Returns the merged config (what the program receives) or
 * throws the CLI's error. `decrypt` turns a secure value's text into its plaintext.
 */
export function mergeConfig(
    stackName: string,
    project: ProjectConfig,
    stack: StackConfig,
    decrypt: (value: StackValue) => string = (value) => value.text,
): Map<string, StackValue> {
    const merged = new Map(stack);
    const missing: string[] = [];
    const keys = Object.keys(project.config).sort();
    for (const key of keys) {
        const declaration = project.config[key];
        const full = fullKey(project.name, key);
        const hasDefault = isSet(declaration.default);
        const hasValue = isSet(declaration.value);
        if (!merged.has(full) && !hasValue && !hasDefault && full.startsWith(`${project.name}:`)) {
            missing.push(key);
            continue;
        }
        if (!merged.has(full)) {
            merged.set(full, createConfigValue(hasDefault ? declaration.default : declaration.value));
        }
    }
    if (missing.length > 0) {
        throw missingKeysError(stackName, missing);
    }
    for (const key of keys) {
        const declaration = project.config[key];
        if (declaration.type === undefined) {
            continue;
        }
        // A key still absent here reads as Go's zero Value (empty text, not secure, not an object).
        const value = merged.get(fullKey(project.name, key)) ?? { text: "", secure: false, object: false };
        if (declaration.secret === true && !value.secure) {
            throw new Error(`Stack '${stackName}' with configuration key '${key}' must be encrypted as it's secret`);
        }
        const plaintext = value.secure ? decrypt(value) : value.text;
        const content: unknown = value.object ? JSON.parse(plaintext) : plaintext;
        if (!validateConfigValue(declaration.type, declaration.items, content)) {
            throw new Error(`Stack '${stackName}' with configuration key '${key}' must be of type '${inferFullTypeName(declaration.type, declaration.items)}'`);
        }
    }
    return merged;
}

/** What the program receives for the merged config: `project:key` → plaintext (JSON for objects). */
export function programConfig(merged: StackConfig, decrypt: (value: StackValue) => string = (value) => value.text): Record<string, string> {
    return Object.fromEntries([...merged].map(([key, value]) => [key, value.secure ? decrypt(value) : value.text]));
}
