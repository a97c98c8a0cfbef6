/**
 * Pure logic of plan-diff: proposed config changes (`key=value` with dotted paths and indices),
 * the diff of two recordings of the program (before and after the change), and its rendering.
 * Resources are matched by type, name and parent, as Pulumi matches them by URN. What a changed
 * input does (update or replace) comes from ./replace-semantics.
 */
import { parse as parseYaml } from "yaml";
import { compareVersions, isComparableVersion } from "../components/host/versions";
import { shellQuote } from "../components/shell";
import { scriptArgsOf, scriptNameOf } from "./offline/host-model";
import type { RecordedResource, RecordingData } from "./offline/recorder";
import { CONTAINER, REMOTE_COMMAND, REMOTE_IMAGE, creationEffect, deletionEffect, inputSemantics, type ChangeAction } from "./replace-semantics";

// ---------------------------------------------------------------------------------------------
// Proposed changes

/** One `key=value` argument. */
export interface Assignment {
    /** The key as written, without the `replicated:` namespace. */
    readonly key: string;
    /** Parsed key path: `hosts[1].privateAddress` → ["hosts", 1, "privateAddress"]. */
    readonly path: readonly (string | number)[];
    /** The new value; ignored when `remove` is set. */
    readonly value: unknown;
    /** `null` (or `~`) removes the key, like `pulumi config rm --path`. */
    readonly remove: boolean;
}

/** `hosts[1].privateAddress` → ["hosts", 1, "privateAddress"]. Throws on a malformed key. */
export function parseKeyPath(key: string): (string | number)[] {
    const path: (string | number)[] = [];
    const pattern = /([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]|(\.)/gy;
    let expectName = true;
    let match: RegExpExecArray | null;
    let consumed = 0;
    while ((match = pattern.exec(key)) !== null) {
        consumed = pattern.lastIndex;
        if (match[1] !== undefined) {
            if (!expectName) {
                throw new Error(`bad key "${key}": a "." is missing before "${match[1]}"`);
            }
            path.push(match[1]);
            expectName = false;
        } else if (match[2] !== undefined) {
            if (path.length === 0) {
                throw new Error(`bad key "${key}": it must start with a config key name`);
            }
            path.push(Number(match[2]));
        } else {
            if (expectName) {
                throw new Error(`bad key "${key}": empty name before "."`);
            }
            expectName = true;
        }
    }
    if (consumed !== key.length || path.length === 0 || expectName) {
        throw new Error(`bad key "${key}": use names, dots and [index], e.g. hosts[1].privateAddress or sidecars.statsd`);
    }
    return path;
}

/**
 * Parse `key=value`. Values are YAML scalars or JSON (`true`, `1017`, `10.0.0.5`, `{"a": 1}`).
 * A top-level key whose value is a plain number or boolean keeps its text, since the CLI stores
 * top-level config as text and the program decodes it by key (`2.50` stays "2.50"). A key in
 * `secretKeys` (or below one) is refused.
 */
export function parseAssignment(text: string, options: { readonly secretKeys?: readonly string[] } = {}): Assignment {
    const eq = text.indexOf("=");
    if (eq <= 0) {
        throw new Error(`bad change "${text}": expected key=value, e.g. version=2.54.0 or hosts[1].privateAddress=10.0.0.5`);
    }
    const key = text.slice(0, eq).trim().replace(/^replicated:/, "");
    const raw = text.slice(eq + 1);
    const path = parseKeyPath(key);
    // Checked before the value is parsed, so no message can quote it.
    const secret = options.secretKeys?.find((name) => name === path[0]);
    if (secret !== undefined) {
        throw new Error(
            `replicated:${secret} is a secret: it is not taken from the command line, where it would stay in the shell history ` +
                `and the process list (its value is not shown here). Set it in the stack with: pulumi config set --secret replicated:${secret} < <file>`,
        );
    }
    let value: unknown;
    try {
        value = parseYaml(raw);
    } catch (err) {
        throw new Error(`bad value for ${key}: ${(err as Error).message.split("\n")[0]}`);
    }
    if (value === null && /^\s*(null|~)\s*$/.test(raw)) {
        return { key, path, value: undefined, remove: true };
    }
    if (value === null || value === undefined) {
        value = "";
    }
    if (path.length === 1 && (typeof value === "number" || typeof value === "boolean")) {
        value = raw.trim();
    }
    return { key, path, value, remove: false };
}

function clone<T>(value: T): T {
    return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

/** Apply the assignments to a copy of a stack config (namespace stripped). */
export function applyAssignments(config: Record<string, unknown>, assignments: readonly Assignment[]): Record<string, unknown> {
    const result = clone(config);
    for (const assignment of assignments) {
        let container: unknown = result;
        const path = assignment.path;
        for (let index = 0; index < path.length - 1; index++) {
            const part = path[index];
            const next = path[index + 1];
            const holder = container as Record<string | number, unknown>;
            checkIndex(holder, part, assignment.key, false);
            if (holder[part] === undefined || holder[part] === null) {
                if (assignment.remove) {
                    container = undefined;
                    break;
                }
                holder[part] = typeof next === "number" ? [] : {};
            }
            container = holder[part];
            if (container === null || typeof container !== "object") {
                throw new Error(`${assignment.key}: ${path.slice(0, index + 1).join(".")} is ${JSON.stringify(container)}, not an object or list`);
            }
        }
        if (container === undefined) {
            continue;
        }
        const last = path[path.length - 1];
        const holder = container as Record<string | number, unknown>;
        checkIndex(holder, last, assignment.key, !assignment.remove);
        if (assignment.remove) {
            if (Array.isArray(holder) && typeof last === "number") {
                holder.splice(last, 1);
            } else {
                delete holder[last];
            }
        } else {
            holder[last] = clone(assignment.value);
        }
    }
    return result;
}

function checkIndex(holder: unknown, part: string | number, key: string, mayAppend: boolean): void {
    if (typeof part === "number") {
        if (!Array.isArray(holder)) {
            throw new Error(`${key}: [${part}] indexes something that is not a list`);
        }
        const limit = mayAppend ? holder.length : holder.length - 1;
        if (part > limit) {
            throw new Error(
                `${key}: the list has ${holder.length} item(s); use an index up to ${holder.length - 1}` + (mayAppend ? `, or ${holder.length} to append` : ""),
            );
        }
    } else if (Array.isArray(holder)) {
        throw new Error(`${key}: "${part}" names a field of a list; use an index such as [0]`);
    }
}

// ---------------------------------------------------------------------------------------------
// Diff

export type { RecordingData } from "./offline/recorder";

export interface ResourceRef {
    readonly type: string;
    readonly name: string;
    /** `<type>::<name>` of the parent. */
    readonly parent?: string;
    /** false for component resources. */
    readonly custom: boolean;
}

/** A created or deleted resource, with what that does on the host where it is known. */
export interface ResourceEntry extends ResourceRef {
    readonly effect?: string;
}

export interface InputChange {
    /** Dotted path of the changed input (`ports[0].ip`); a secret is reported at its own path. */
    readonly path: string;
    readonly action: ChangeAction;
    readonly effect: string;
    /** The value is (or holds) a secret: it is never shown. */
    readonly secret: boolean;
    /** Covered by the resource's ignoreChanges: Pulumi will not act on it. */
    readonly ignored: boolean;
    readonly before?: unknown;
    readonly after?: unknown;
    /** Readable stand-ins for opaque values, e.g. `image id of quay.io/replicated/replicated:stable-2.54.0`. */
    readonly beforeLabel?: string;
    readonly afterLabel?: string;
}

export interface ResourceChange extends ResourceRef {
    readonly action: ChangeAction;
    /** The old resource is deleted before its replacement is created (downtime, no name clash). */
    readonly deleteBeforeReplace: boolean;
    readonly inputs: readonly InputChange[];
}

export interface OutputChange {
    readonly name: string;
    readonly secret: boolean;
    readonly before?: unknown;
    readonly after?: unknown;
}

export interface PlanDiff {
    readonly added: readonly ResourceEntry[];
    readonly removed: readonly ResourceEntry[];
    /** Resources with at least one effective input change, replacements first. */
    readonly changed: readonly ResourceChange[];
    readonly unchanged: number;
    readonly outputs: readonly OutputChange[];
}

/** What identifies a resource across two evaluations (Pulumi's URN: type, name and parent chain). */
export function resourceKey(resource: { type: string; name: string; parent?: string }): string {
    return `${resource.type}::${resource.name}::${resource.parent ?? ""}`;
}

function ref(resource: RecordedResource): ResourceRef {
    return { type: resource.type, name: resource.name, parent: resource.parent, custom: resource.custom };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
    return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** Leaf paths where two input values differ (`undefined` and missing are equal). */
export function changedPaths(before: unknown, after: unknown, at = ""): string[] {
    if (isPlainObject(before) && isPlainObject(after)) {
        const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
        return keys.flatMap((key) => changedPaths(before[key], after[key], at ? `${at}.${key}` : key));
    }
    if (Array.isArray(before) && Array.isArray(after)) {
        const length = Math.max(before.length, after.length);
        const paths: string[] = [];
        for (let index = 0; index < length; index++) {
            paths.push(...changedPaths(before[index], after[index], `${at}[${index}]`));
        }
        return paths;
    }
    return JSON.stringify(before) === JSON.stringify(after) ? [] : [at];
}

/** Whether `path` equals `prefix` or lies below it. */
function within(path: string, prefix: string): boolean {
    return path === prefix || path.startsWith(`${prefix}.`) || path.startsWith(`${prefix}[`);
}

/** Pulumi property-path patterns of ignoreChanges / replaceOnChanges (`a.b`, `a[*].c`, `*`). */
function matchesOption(path: string, pattern: string): boolean {
    if (pattern === "*") {
        return true;
    }
    const regex = new RegExp(
        "^" +
            pattern
                .split(/(\[\*\]|\*)/)
                .map((part) => (part === "[*]" ? "\\[\\d+\\]" : part === "*" ? "[^.\\[]+" : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
                .join("") +
            "(?:[.[].*)?$",
    );
    return regex.test(path);
}

function valueAt(inputs: Record<string, unknown>, path: string): unknown {
    let current: unknown = inputs;
    for (const part of path.match(/[^.[\]]+/g) ?? []) {
        if (current === null || typeof current !== "object") {
            return undefined;
        }
        current = (current as Record<string, unknown>)[part];
    }
    return current;
}

function topLevelKey(path: string): string {
    return /^[^.[]+/.exec(path)?.[0] ?? path;
}

/**
 * Readable names for opaque ids, from both evaluations: image id → `image id of <name>`;
 * modelled container id → `id of container <name>` (`new id of ...` for the one after a
 * replacement).
 */
function imageLabels(before: RecordingData, after: RecordingData): Map<string, string> {
    const labels = new Map<string, string>();
    const containerIds = new Map<string, string>();
    for (const recording of [before, after]) {
        for (const resource of recording.resources) {
            const id = resource.state?.imageId;
            if (resource.type === REMOTE_IMAGE && typeof id === "string" && typeof resource.inputs.name === "string") {
                labels.set(id, `image id of ${resource.inputs.name}`);
            }
            const containerId = resource.state?.id;
            if (resource.type === CONTAINER && typeof containerId === "string" && !labels.has(containerId)) {
                const seen = containerIds.get(resource.name);
                labels.set(containerId, `${seen !== undefined && seen !== containerId ? "new id" : "id"} of container ${resource.name}`);
                containerIds.set(resource.name, containerId);
            }
        }
    }
    return labels;
}

/** `version-guard.sh '2.54.0' 'stable' 'false'` for a command running a host script, else undefined. */
export function scriptLabel(resource: RecordedResource): string | undefined {
    const script = scriptNameOf(resource);
    if (script === undefined || typeof resource.inputs.create !== "string") {
        return undefined;
    }
    const args = scriptArgsOf(resource).map(shellQuote);
    const sudo = resource.inputs.create.startsWith("sudo ") ? " (via sudo -n)" : "";
    return [`${script}.sh`, ...args].join(" ") + sudo;
}

/**
 * Notes on a proposed version or channel change, compared with the stack's current config (the
 * version guard on each host compares with what that host recorded, which can be newer).
 */
export function versionNotes(current: Record<string, unknown>, proposed: Record<string, unknown>): string[] {
    const from = current.version;
    const to = proposed.version;
    const notes: string[] = [];
    if (typeof from === "string" && typeof to === "string" && from !== to && isComparableVersion(from) && isComparableVersion(to)) {
        const allowed = proposed.allowDowngrade === true || proposed.allowDowngrade === "true";
        if (compareVersions(to, from) > 0) {
            notes.push(`version ${from} -> ${to} is an upgrade: each host's version guard checks and records it before any image or container changes.`);
        } else if (allowed) {
            notes.push(`version ${from} -> ${to} is a DOWNGRADE, allowed by replicated:allowDowngrade: check that ${to} can read the data ${from} wrote; unset allowDowngrade afterwards.`);
        } else {
            notes.push(
                `version ${from} -> ${to} is a DOWNGRADE and replicated:allowDowngrade is not set: \`pulumi up\` would stop at each host's version guard, ` +
                    "before any image or container changes. To roll back on purpose, add allowDowngrade=true.",
            );
        }
    }
    if (current.channel !== proposed.channel && proposed.channel !== undefined) {
        notes.push(`channel ${String(current.channel ?? "stable")} -> ${String(proposed.channel)}: every image is pulled or loaded under its new tag and every container is recreated.`);
    }
    return notes;
}

/** The input changes of one resource present in both evaluations. */
function inputChanges(before: RecordedResource, after: RecordedResource, labels: ReadonlyMap<string, string> = new Map()): InputChange[] {
    if (!after.custom) {
        return []; // component resources have no diff of their own
    }
    const secrets = [...new Set([...before.secretPaths, ...after.secretPaths])];
    const reported = new Map<string, InputChange>();
    for (const leaf of changedPaths(before.inputs, after.inputs)) {
        // A change inside a secret is reported once, at the secret's path, without values.
        const secretRoot = secrets.filter((secret) => within(leaf, secret)).sort((a, b) => a.length - b.length)[0];
        const holdsSecret = secrets.some((secret) => within(secret, leaf));
        const path = secretRoot ?? leaf;
        if (reported.has(path)) {
            continue;
        }
        const secret = secretRoot !== undefined || holdsSecret;
        const semantics = inputSemantics(after.type, topLevelKey(path), after.inputs);
        const forced = after.options.replaceOnChanges.some((pattern) => matchesOption(path, pattern));
        const ignored = after.options.ignoreChanges.some((pattern) => matchesOption(path, pattern));
        const values = secret ? {} : { before: valueAt(before.inputs, path), after: valueAt(after.inputs, path) };
        const label = (value: unknown) => (typeof value === "string" ? labels.get(value) : undefined);
        // A host script's command line is shown as the script and its arguments: with sudo it is
        // too long to show, and the arguments are what changed.
        const scriptCreate = path === "create" && !secret && after.type === REMOTE_COMMAND;
        const beforeLabel = scriptCreate ? scriptLabel(before) : label(values.before);
        const afterLabel = scriptCreate ? scriptLabel(after) : label(values.after);
        reported.set(path, {
            path,
            action: forced ? "replace" : semantics.action,
            effect: forced ? "replaceOnChanges forces a replacement" : semantics.effect,
            secret,
            ignored,
            ...values,
            ...(beforeLabel !== undefined ? { beforeLabel } : {}),
            ...(afterLabel !== undefined ? { afterLabel } : {}),
        });
    }
    const changes = [...reported.values()];
    if (before.options.provider !== after.options.provider) {
        changes.push({
            path: "(provider)",
            action: "replace",
            effect: "the resource moves to another provider",
            secret: false,
            ignored: false,
            before: before.options.provider,
            after: after.options.provider,
        });
    }
    return changes;
}

/**
 * What a new takeover step does on a host. plan-diff (and `pulumi preview`) cannot connect to a
 * host, so this says what the step does when it finds an install of Replicated's own script.
 */
const TAKEOVER_STEP_EFFECTS: Readonly<Record<string, string>> = {
    "detect-install":
        "runs first on the host and changes nothing; where Replicated's install script installed the host, it checks that install against the stack (runAs, serviceUser, role) and stops pulumi up on every host before any change when they disagree",
    takeover:
        "right before the containers: where Replicated's install script left its units, arms a fallback, stops, disables and masks those units and removes the script's containers (data untouched); elsewhere it changes nothing",
    "takeover-confirm": "after the containers: disarms the takeover's fallback once they are healthy; elsewhere it changes nothing",
    "read-daemon-token":
        "reads the daemon token Replicated's install script left on the primary (a secret output); where there is none, the generated token stays and no container changes",
};

/** Notes for a plan that adds the takeover steps (the first run of this program on a stack, or a new host). */
export function takeoverNotes(diff: PlanDiff): string[] {
    const added = diff.added.filter((resource) => resource.type === "command:remote:Command" && /-(detect-install|takeover)$/.test(resource.name));
    if (added.length === 0) {
        return [];
    }
    return [
        "Each host gets the takeover steps (docs/takeover.md): <host>-detect-install runs before anything else and refuses an install of Replicated's own script that disagrees with the stack; <host>-takeover takes such an install over right before the containers start; on other hosts both change nothing. Neither plan-diff nor pulumi preview can see which hosts hold such an install.",
    ];
}

function withEffect(resource: ResourceRef, effect: string | undefined): ResourceEntry {
    return effect === undefined ? resource : { ...resource, effect };
}

/** Diff two evaluations of the program. */
export function diffRecordings(before: RecordingData, after: RecordingData): PlanDiff {
    const beforeByKey = new Map(before.resources.map((resource) => [resourceKey(resource), resource]));
    const afterByKey = new Map(after.resources.map((resource) => [resourceKey(resource), resource]));
    const added = after.resources
        .filter((resource) => !beforeByKey.has(resourceKey(resource)))
        .map((resource) => withEffect(ref(resource), TAKEOVER_STEP_EFFECTS[scriptNameOf(resource) ?? ""] ?? creationEffect(resource.type)));
    const removed = before.resources
        .filter((resource) => !afterByKey.has(resourceKey(resource)))
        .map((resource) => withEffect(ref(resource), deletionEffect(resource.type, resource.inputs)));
    const changed: ResourceChange[] = [];
    let unchanged = 0;
    const labels = imageLabels(before, after);
    for (const next of after.resources) {
        const previous = beforeByKey.get(resourceKey(next));
        if (previous === undefined) {
            continue;
        }
        const inputs = inputChanges(previous, next, labels);
        const effective = inputs.filter((change) => !change.ignored);
        if (effective.length === 0) {
            unchanged++; // changes covered by ignoreChanges are not acted on
            continue;
        }
        const action: ChangeAction = effective.some((change) => change.action === "replace") ? "replace" : "update";
        changed.push({ ...ref(next), action, deleteBeforeReplace: action === "replace" && next.options.deleteBeforeReplace, inputs });
    }
    changed.sort((a, b) => (a.action === b.action ? 0 : a.action === "replace" ? -1 : 1));
    const outputNames = [...new Set([...Object.keys(before.outputs), ...Object.keys(after.outputs)])].sort();
    const outputs = outputNames
        .filter((name) => JSON.stringify(before.outputs[name]) !== JSON.stringify(after.outputs[name]))
        .map((name) => {
            const secret = [...(before.secretOutputs ?? []), ...(after.secretOutputs ?? [])].includes(name);
            return secret ? { name, secret } : { name, secret, before: before.outputs[name], after: after.outputs[name] };
        });
    return { added, removed, changed, unchanged, outputs };
}

// ---------------------------------------------------------------------------------------------
// Rendering

/**
 * One-line rendering of a value: one-line text up to 160 characters in full (an image reference
 * with its tag must stay readable), longer or multi-line text summarised, other values cut at 72.
 */
export function showValue(value: unknown): string {
    if (value === undefined) {
        return "(none)";
    }
    if (typeof value === "string") {
        if (value.includes("\n") || value.length > 160) {
            const lines = value.split("\n").length;
            return `(text, ${value.length} chars${lines > 1 ? `, ${lines} lines` : ""})`;
        }
        return JSON.stringify(value);
    }
    const text = JSON.stringify(value);
    return text.length > 72 ? `${text.slice(0, 69)}...` : text;
}

function where(resource: ResourceRef): string {
    if (resource.parent === undefined || resource.parent.startsWith("pulumi:pulumi:Stack::")) {
        return "";
    }
    const [type, name] = resource.parent.split("::");
    return `  (in ${type.split(":").pop() ?? type} ${name})`;
}

function effectOf(resource: ResourceEntry): string {
    return resource.effect === undefined ? "" : `: ${resource.effect}`;
}

function kind(resource: ResourceRef): string {
    return resource.custom ? resource.type : `${resource.type} (component)`;
}

/** Human-readable plan. `header` lines are printed first (stack, change, notes). */
export function renderText(diff: PlanDiff, header: readonly string[] = []): string {
    const lines: string[] = [...header];
    const replaced = diff.changed.filter((change) => change.action === "replace");
    const updated = diff.changed.filter((change) => change.action === "update");
    lines.push(
        "",
        `Plan: ${diff.added.length} to create, ${diff.removed.length} to delete, ${replaced.length} to replace, ${updated.length} to update, ${diff.unchanged} unchanged.`,
    );
    const describeInputs = (change: ResourceChange) => {
        for (const input of change.inputs) {
            const values = input.secret
                ? "[secret]"
                : `${input.beforeLabel ?? showValue(input.before)} -> ${input.afterLabel ?? showValue(input.after)}`;
            const tag = input.ignored ? "ignored (ignoreChanges)" : `${input.action === "replace" ? "forces replacement" : "update"}: ${input.effect}`;
            lines.push(`       ~ ${input.path}: ${values}`, `           ${tag}`);
        }
    };
    if (replaced.length > 0) {
        lines.push("", `Replace (${replaced.length}):`);
        for (const change of replaced) {
            lines.push(`  +- ${kind(change)} ${change.name}${change.deleteBeforeReplace ? "  [delete before replace]" : ""}${where(change)}`);
            describeInputs(change);
        }
    }
    if (updated.length > 0) {
        lines.push("", `Update (${updated.length}):`);
        for (const change of updated) {
            lines.push(`  ~ ${kind(change)} ${change.name}${where(change)}`);
            describeInputs(change);
        }
    }
    if (diff.added.length > 0) {
        lines.push("", `Create (${diff.added.length}):`);
        lines.push(...diff.added.map((resource) => `  + ${kind(resource)} ${resource.name}${where(resource)}${effectOf(resource)}`));
    }
    if (diff.removed.length > 0) {
        lines.push("", `Delete (${diff.removed.length}):`);
        lines.push(...diff.removed.map((resource) => `  - ${kind(resource)} ${resource.name}${where(resource)}${effectOf(resource)}`));
    }
    if (diff.outputs.length > 0) {
        lines.push("", "Stack outputs:");
        lines.push(
            ...diff.outputs.map((output) => `  ~ ${output.name}: ${output.secret ? "[secret]" : `${showValue(output.before)} -> ${showValue(output.after)}`}`),
        );
    }
    if (diff.added.length + diff.removed.length + diff.changed.length === 0) {
        lines.push("", "No resource changes.");
    }
    return `${lines.join("\n")}\n`;
}
