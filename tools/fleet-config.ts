/**
 * Pure: a proposed change (plan-diff's `key=value` assignments) as the `pulumi config set` and
 * `pulumi config rm` calls that write it into one stack's config, and whether a stack's config
 * already holds it.
 *
 * The CLI writes one value at a time (pulumi/pulumi pkg/cmd/pulumi/config/config_set.go; the
 * Automation API's LocalWorkspace.setConfig runs `pulumi config set [--path] <key> --plaintext
 * --non-interactive -- <value>`). With `--path` it stores "true"/"false" as booleans and integer
 * text without a leading zero as integers, everything else as text (adjustObjectValue in
 * sdk/go/common/resource/config/map.go); without it, as text. An object or list value is therefore
 * written leaf by leaf, and keys the new value drops are removed, so the file ends up holding
 * exactly what plan-diff evaluated.
 */
import { applyAssignments, type Assignment } from "./plan-diff-core";

/** One `pulumi config set` or `pulumi config rm`. */
export type ConfigEdit =
    | { readonly kind: "set"; readonly key: string; readonly path: boolean; readonly value: string }
    | { readonly kind: "remove"; readonly key: string; readonly path: boolean };

const NAMESPACE = "replicated";

/** `["hosts", 1, "privateAddress"]` → `replicated:hosts[1].privateAddress`. */
export function configKey(path: readonly (string | number)[]): string {
    return `${NAMESPACE}:${path.map((part, index) => (typeof part === "number" ? `[${part}]` : index === 0 ? part : `.${part}`)).join("")}`;
}

function isObject(value: unknown): value is Record<string, unknown> {
    return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** The text `pulumi config set --path` turns back into `value` (adjustObjectValue), or an error. */
function pathText(value: unknown, key: string): string {
    if (typeof value === "boolean") {
        return String(value);
    }
    if (typeof value === "number") {
        if (!Number.isSafeInteger(value)) {
            throw new Error(`${key}: ${value} is not an integer; pulumi config set --path stores only integers as numbers (write it as a string)`);
        }
        return String(value);
    }
    if (typeof value === "string") {
        // The CLI would store these as a boolean or a number, not as the text they are.
        if (value === "true" || value === "false" || (/^-?\d+$/.test(value) && !(value.length > 1 && value.startsWith("0")) && Number.isSafeInteger(Number(value)))) {
            throw new Error(`${key}: the text "${value}" cannot be stored as text by pulumi config set --path (it becomes a ${value === "true" || value === "false" ? "boolean" : "number"})`);
        }
        return value;
    }
    throw new Error(`${key}: unexpected value ${JSON.stringify(value)}`);
}

/** Edits that turn `current` (the value at `path`, maybe undefined) into `next`. */
function editsAt(path: readonly (string | number)[], current: unknown, next: unknown): ConfigEdit[] {
    const key = configKey(path);
    const topLevel = path.length === 1;
    if (isObject(next) || Array.isArray(next)) {
        const entries: [string | number, unknown][] = Array.isArray(next) ? next.map((item, index) => [index, item]) : Object.entries(next);
        if (entries.length === 0) {
            throw new Error(`${key}: an empty ${Array.isArray(next) ? "list" : "object"} cannot be written with pulumi config set; remove the key instead (${key.slice(NAMESPACE.length + 1)}=null)`);
        }
        const edits: ConfigEdit[] = [];
        const sameKind = Array.isArray(next) ? Array.isArray(current) : isObject(current);
        if (current !== undefined && !sameKind) {
            edits.push({ kind: "remove", key, path: !topLevel });
        }
        const existing = sameKind ? (current as Record<string | number, unknown>) : undefined;
        for (const [child, value] of entries) {
            edits.push(...editsAt([...path, child], existing?.[child], value));
        }
        if (existing !== undefined) {
            if (Array.isArray(existing)) {
                // Remove surplus items from the end, so no index shifts under a later edit.
                for (let index = existing.length - 1; index >= (next as unknown[]).length; index--) {
                    edits.push({ kind: "remove", key: configKey([...path, index]), path: true });
                }
            } else {
                for (const child of Object.keys(existing).filter((name) => !(name in (next as Record<string, unknown>)))) {
                    edits.push({ kind: "remove", key: configKey([...path, child]), path: true });
                }
            }
        }
        return edits;
    }
    if (topLevel) {
        return JSON.stringify(current) === JSON.stringify(next) || (current !== undefined && !isObject(current) && !Array.isArray(current) && String(current) === String(next))
            ? []
            : [{ kind: "set", key, path: false, value: String(next) }];
    }
    if (JSON.stringify(current) === JSON.stringify(next)) {
        return [];
    }
    const edits: ConfigEdit[] = isObject(current) || Array.isArray(current) ? [{ kind: "remove", key, path: true }] : [];
    return [...edits, { kind: "set", key, path: true, value: pathText(next, key) }];
}

function valueAt(config: Record<string, unknown>, path: readonly (string | number)[]): unknown {
    let current: unknown = config;
    for (const part of path) {
        if (current === null || typeof current !== "object") {
            return undefined;
        }
        current = (current as Record<string | number, unknown>)[part];
    }
    return current;
}

/**
 * The `pulumi config set` / `rm` calls that write `assignments` into a stack whose config
 * (namespace stripped, as in its file) is `config`, one assignment after the other. Throws when
 * a value cannot be written with the CLI, or the change does not fit the config.
 */
export function configEdits(config: Record<string, unknown>, assignments: readonly Assignment[]): ConfigEdit[] {
    const edits: ConfigEdit[] = [];
    let state = config;
    for (const assignment of assignments) {
        const next = applyAssignments(state, [assignment]);
        const current = valueAt(state, assignment.path);
        if (assignment.remove) {
            if (current !== undefined) {
                edits.push({ kind: "remove", key: configKey(assignment.path), path: assignment.path.length > 1 });
            }
        } else {
            edits.push(...editsAt(assignment.path, current, assignment.value));
        }
        state = next;
    }
    return edits;
}

/** Top-level values compared as the text the CLI stores (`8800` in a file equals "8800" typed). */
function normalised(config: Record<string, unknown>): Record<string, unknown> {
    return Object.fromEntries(
        Object.entries(config)
            .filter(([, value]) => value !== undefined)
            .map(([key, value]) => [key, value === null || typeof value === "object" ? value : String(value)]),
    );
}

/** Whether `config` already holds every assigned value (applying them would change nothing). */
export function holdsAssignments(config: Record<string, unknown>, assignments: readonly Assignment[]): boolean {
    let proposed: Record<string, unknown>;
    try {
        proposed = applyAssignments(config, assignments);
    } catch {
        return false;
    }
    return JSON.stringify(sortKeys(normalised(proposed))) === JSON.stringify(sortKeys(normalised(config)));
}

function sortKeys(value: unknown): unknown {
    if (Array.isArray(value)) {
        return value.map(sortKeys);
    }
    if (isObject(value)) {
        return Object.fromEntries(Object.keys(value).sort().map((key) => [key, sortKeys(value[key])]));
    }
    return value;
}

/**
 * The config a `pulumi stack history` entry was deployed with (`{"replicated:hosts": {value:
 * "<json>"}}`), as a stack file would hold it: object and list values parsed back from JSON.
 */
export function configOfHistory(entries: Record<string, { value?: unknown; secret?: boolean }>): Record<string, unknown> {
    const config: Record<string, unknown> = {};
    for (const [key, entry] of Object.entries(entries)) {
        if (!key.startsWith(`${NAMESPACE}:`)) {
            continue;
        }
        const text = entry.value;
        let value: unknown = text;
        if (typeof text === "string" && /^\s*[[{]/.test(text)) {
            try {
                value = JSON.parse(text) as unknown;
            } catch {
                value = text;
            }
        }
        config[key.slice(NAMESPACE.length + 1)] = value;
    }
    return config;
}
