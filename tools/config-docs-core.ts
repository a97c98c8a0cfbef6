/**
 * Pure: the reference of the stack configuration, read off the schema (components/config/schema.ts)
 * so that a key, a rule's wording or a default is written in one place. Two renderings: the key
 * table of docs/configuration.md, and the `config:` section of Pulumi.yaml as the Pulumi CLI reads
 * it (test/support/cli-config-rules.ts holds the CLI's rules).
 */
import type { z } from "zod";
import { stringify } from "yaml";
import { keyDocs, keyKind, unwrapped, type KeyDoc } from "../components/config/schema";

/** One documented key. */
export interface KeyRow {
    /** `hosts[].port`: list elements written as `[]`. */
    readonly key: string;
    readonly type: string;
    readonly default: string;
    readonly description: string;
}

interface NodeDef {
    readonly type: string;
    readonly innerType?: z.ZodType;
    readonly element?: z.ZodType;
    readonly shape?: Record<string, z.ZodType>;
    readonly entries?: Record<string, string>;
}

function defOf(schema: z.ZodType): NodeDef {
    return schema.def as unknown as NodeDef;
}

/** The value the schema gives a key that is not set, or undefined when it gives none. */
export function staticDefault(schema: z.ZodType): { readonly value: unknown } | undefined {
    let node = schema;
    for (;;) {
        const def = defOf(node);
        if (def.type === "default" || def.type === "prefault") {
            return { value: schema.parse(undefined) };
        }
        if (def.type === "optional" && def.innerType !== undefined) {
            node = def.innerType;
            continue;
        }
        return undefined;
    }
}

function isOptional(schema: z.ZodType): boolean {
    return schema.safeParse(undefined).success;
}

function typeLabel(schema: z.ZodType): string {
    const def = defOf(unwrapped(schema));
    switch (def.type) {
        case "enum":
            return Object.values(def.entries ?? {})
                .map((value) => `\`${value}\``)
                .join(" \\| ");
        case "number":
            return "integer";
        case "array":
            return "list";
        case "record":
            return "map";
        case "union":
            return "string";
        default:
            return def.type;
    }
}

function defaultLabel(value: unknown): string {
    if (typeof value === "string") {
        return `\`${value}\``;
    }
    return `\`${JSON.stringify(value).replace(/([,:])(?=["{[0-9tf])/g, "$1 ")}\``;
}

function docOf(schema: z.ZodType, key: string): KeyDoc {
    const doc = keyDocs.get(schema);
    if (doc === undefined) {
        throw new Error(`config key ${key} has no documentation: wrap its schema in documented(...) in components/config/schema.ts`);
    }
    return doc;
}

/** Every documented key of `shape`, depth first in schema order. */
export function keyRows(shape: Record<string, z.ZodType>, prefix = "", optionalParent?: string): KeyRow[] {
    const rows: KeyRow[] = [];
    for (const [name, schema] of Object.entries(shape)) {
        const inner = defOf(unwrapped(schema));
        const key = `${prefix}${name}${inner.type === "array" ? "[]" : ""}`;
        const doc = docOf(schema, key);
        const fallback = staticDefault(schema);
        if (doc.default !== undefined && fallback !== undefined) {
            throw new Error(`config key ${key}: its default is in the schema; remove the documentation's default text`);
        }
        const defaultText = doc.default ?? (fallback !== undefined ? defaultLabel(fallback.value) : isOptional(schema) ? "—" : optionalParent !== undefined ? `required in \`${optionalParent}\`` : "required");
        if (doc.row !== false) {
            rows.push({ key, type: doc.type ?? typeLabel(schema), default: defaultText, description: doc.description });
        }
        if (doc.fields === false) {
            continue;
        }
        const fields = inner.type === "object" ? inner.shape : inner.type === "array" && inner.element !== undefined ? objectShape(inner.element) : undefined;
        if (fields !== undefined) {
            const parent = isOptional(schema) && fallback === undefined ? key : optionalParent;
            rows.push(...keyRows(fields, `${key}.`, parent));
        }
    }
    return rows;
}

function objectShape(schema: z.ZodType): Record<string, z.ZodType> | undefined {
    const def = defOf(unwrapped(schema));
    return def.type === "object" ? def.shape : undefined;
}

/** The Markdown key table. */
export function renderKeyTable(rows: readonly KeyRow[]): string {
    const cell = (text: string) => text.replace(/\|/g, (match, offset: number, whole: string) => (whole[offset - 1] === "\\" ? match : "\\|"));
    const lines = ["| key | type | default | meaning and rules |", "|---|---|---|---|"];
    for (const row of rows) {
        lines.push(`| \`${row.key}\` | ${cell(row.type)} | ${cell(row.default)} | ${cell(row.description)} |`);
    }
    return `${lines.join("\n")}\n`;
}

/** A Pulumi project `config:` declaration. */
interface Declaration {
    readonly type: string;
    readonly items?: { readonly type: string };
    readonly default?: unknown;
    readonly description: string;
}

function declaredType(schema: z.ZodType): Pick<Declaration, "type" | "items"> {
    const kind = keyKind(schema);
    if (kind !== "json") {
        return { type: kind };
    }
    const def = defOf(unwrapped(schema));
    if (def.type !== "array") {
        return { type: "object" };
    }
    const element = def.element !== undefined ? keyKind(def.element) : "json";
    return { type: "array", items: { type: element === "string" ? "string" : "object" } };
}

const PROJECT_HEADER = `# The project's config schema, as the Pulumi CLI applies it before the program runs (rules read
# from pulumi/pulumi v3.248.0 sdk/go/common/workspace/config.go mergeConfig and project.go
# ValidateConfigValue; unchanged from v3.213.0 through v3.259.0; \`type: object\` needs 3.187.0 or
# later). The CLI reports a declared key as missing when the stack has no value and the key has
# no \`default\`, so a key is declared here only when it is required or has a default; each default
# is the program's own. The CLI checks the types; components/config/ validates everything else
# and is the only place values are read.
#
# Generated from components/config/schema.ts by \`npm run config-docs\`; lint fails when it differs.
#
# Optional keys without a default cannot be declared (the CLI would demand them in every stack);
# they are read and validated by components/config/ like the others (docs/configuration.md):
`;

/** `text` after `lead`, wrapped at 100 columns, continuation lines indented under the text. */
function commentLines(lead: string, text: string): string[] {
    const lines: string[] = [];
    let line = lead;
    for (const word of text.split(" ")) {
        if (line.length + word.length > 100 && line.trim() !== "#") {
            lines.push(line.trimEnd());
            line = `#${" ".repeat(lead.length - 1)}`;
        }
        line += `${word} `;
    }
    lines.push(line.trimEnd());
    return lines;
}

/** The part of Pulumi.yaml from the schema comment to the end: the undeclared keys, then `config:`. */
export function renderProjectConfig(shape: Record<string, z.ZodType>): string {
    const declared: Record<string, Declaration> = {};
    const undeclared: string[] = [];
    for (const [key, schema] of Object.entries(shape)) {
        const doc = docOf(schema, key);
        const description = doc.summary ?? doc.description;
        const fallback = staticDefault(schema);
        if (fallback === undefined && isOptional(schema)) {
            undeclared.push(...commentLines(`#   ${key.padEnd(18)} `, description));
            continue;
        }
        declared[key] = { ...declaredType(schema), ...(fallback !== undefined ? { default: fallback.value } : {}), description };
    }
    return PROJECT_HEADER + undeclared.map((line) => `${line}\n`).join("") + stringify({ config: declared }, { lineWidth: 0 });
}

/** `text` with what lies between the `begin` and `end` marker lines replaced by `body`. */
export function replaceBetween(text: string, begin: string, end: string, body: string): string {
    const start = text.indexOf(begin);
    const stop = text.indexOf(end);
    if (start < 0 || stop < start) {
        throw new Error(`markers ${begin} … ${end} not found in order`);
    }
    return `${text.slice(0, start + begin.length)}\n${body}${text.slice(stop)}`;
}
