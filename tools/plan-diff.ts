/**
 * `npm run plan-diff -- <stack> [--json] key=value ...`: what `pulumi up` would change on a
 * customer's hosts if the stack config got the proposed values, computed offline. The program is
 * evaluated twice under mocks (current config, then with the changes) and the two sets of
 * resources are compared, marking each change as an update or a replacement as the providers
 * would apply it. No host, no Pulumi CLI and no operator key is needed.
 */
import * as path from "node:path";
import { PROCESS_IO, type CommandIo } from "./command-io";
import { evaluateOffline } from "./offline/evaluate";
import { STACKS_DIR, isEncryptedValue, readStackConfig, schemaSecretKeys, stackNames, standInKeyFile } from "./offline/stacks";
import {
    applyAssignments,
    diffRecordings,
    parseAssignment,
    renderText,
    takeoverNotes,
    versionNotes,
    type Assignment,
    type PlanDiff,
    type RecordingData,
} from "./plan-diff-core";

/** A stack's config ready to evaluate offline, and what was substituted to make that possible. */
export interface DiffInput {
    readonly stack: string;
    readonly config: Record<string, unknown>;
    readonly secretKeys: string[];
    /** Lines for the reader: what was swapped and why. */
    readonly notes: string[];
}

/** How the stack directory is named in messages: `stacks/` for the project's own. */
function describeDir(stacksDir: string): string {
    return stacksDir === STACKS_DIR ? "stacks/" : stacksDir;
}

/**
 * Read `stacks/Pulumi.<stack>.yaml` (or the file in `stacksDir`). The key file is swapped for a
 * stand-in and encrypted values for placeholders: evaluating the program needs a readable key,
 * computing a diff does not use it.
 */
export function stackInput(stack: string, stacksDir: string = STACKS_DIR): DiffInput {
    let known: string[];
    try {
        known = stackNames(stacksDir);
    } catch (err) {
        throw new UsageError(`cannot list the stacks in ${describeDir(stacksDir)}: ${(err as Error).message}`);
    }
    if (!known.includes(stack)) {
        throw new UsageError(`no stack "${stack}" in ${describeDir(stacksDir)} (known: ${known.join(", ") || "none"})`);
    }
    const config = readStackConfig(stack, stacksDir);
    const notes: string[] = [];
    const secretKeys: string[] = [];
    if (typeof config.sshPrivateKeyPath === "string") {
        notes.push(`The stack's SSH key file (${config.sshPrivateKeyPath}) is replaced by a stand-in: the diff connects to no host and needs no key.`);
        config.sshPrivateKeyPath = standInKeyFile();
    }
    for (const [key, value] of Object.entries(config)) {
        if (isEncryptedValue(value)) {
            notes.push(`replicated:${key} is encrypted in the stack file; a stand-in value is used (its changes cannot be shown).`);
            config[key] = key === "sshPrivateKey" ? "-----BEGIN OPENSSH PRIVATE KEY-----\nplan-diff-stand-in\n-----END OPENSSH PRIVATE KEY-----\n" : "plan-diff-stand-in";
            secretKeys.push(key);
        }
    }
    notes.push("Host script results are modelled as on a converged host; image ids are derived from image names.");
    return { stack, config, secretKeys, notes };
}

/** Evaluate the program for one config; a config error comes back as the program's own message. */
export async function evaluate(stack: string, config: Record<string, unknown>, secretKeys: readonly string[] = []): Promise<RecordingData> {
    try {
        return await evaluateOffline({ stack, config, secretKeys });
    } catch (err) {
        throw new EvaluationError(err instanceof Error ? err.message : String(err));
    }
}

/**
 * Keys (without namespace) whose values are secrets: declared `secret: true` in Pulumi.yaml, or
 * stored encrypted in one of the given stacks. They are never taken from a command line.
 */
export function secretKeysOf(inputs: readonly Pick<DiffInput, "secretKeys">[]): string[] {
    return [...new Set([...schemaSecretKeys(), ...inputs.flatMap((input) => input.secretKeys)])].sort();
}

/** Parse `key=value` arguments; a malformed one, or one that sets a secret, is a usage error. */
export function parseChanges(changes: readonly string[], secretKeys: readonly string[]): Assignment[] {
    return changes.map((change) => {
        try {
            return parseAssignment(change, { secretKeys });
        } catch (err) {
            throw new UsageError((err as Error).message);
        }
    });
}

export interface PlanDiffResult {
    readonly input: DiffInput;
    readonly assignments: readonly Assignment[];
    readonly before: RecordingData;
    readonly after: RecordingData;
    readonly diff: PlanDiff;
}

/** Evaluate a stack with and without the proposed changes and diff the two. */
export async function planDiff(stack: string, changes: readonly string[], stacksDir: string = STACKS_DIR): Promise<PlanDiffResult> {
    const input = stackInput(stack, stacksDir);
    return planAssignments(input, parseChanges(changes, secretKeysOf([input])));
}

/**
 * Plan parsed changes against a stack that was read already. A change that does not fit the
 * stack's config (an index past the end of its list) is a UsageError; an evaluation that fails is
 * an EvaluationError that says whether the current or the proposed config failed.
 */
export async function planAssignments(input: DiffInput, assignments: readonly Assignment[]): Promise<PlanDiffResult> {
    const stack = input.stack;
    let proposed: Record<string, unknown>;
    try {
        proposed = applyAssignments(input.config, assignments);
    } catch (err) {
        throw new UsageError((err as Error).message);
    }
    // Both evaluations are queued on the evaluation thread at once (it runs them one after the
    // other); the current config's failure is the one reported when both fail.
    const evaluated = (phase: EvaluationPhase, what: string) => (err: unknown) => {
        throw new EvaluationError(`${what}:\n${(err as Error).message}`, phase, (err as Error).message);
    };
    const current = evaluate(stack, input.config, input.secretKeys);
    const withChange = evaluate(stack, proposed, input.secretKeys);
    withChange.catch(() => undefined);
    const before = await current.catch(evaluated("current", "the stack's current configuration does not evaluate"));
    const after = await withChange.catch(evaluated("proposed", "the proposed change is rejected by the program"));
    const diff = diffRecordings(before, after);
    const notes = [...input.notes, ...versionNotes(input.config, proposed), ...takeoverNotes(diff)];
    return { input: { ...input, notes }, assignments, before, after, diff };
}

/** The `--json` document: the stack, the parsed changes, the notes, and the diff. */
export function renderJson(result: Pick<PlanDiffResult, "input" | "assignments" | "diff">): string {
    const changes = result.assignments.map((assignment) => ({ key: assignment.key, value: assignment.remove ? null : assignment.value }));
    return `${JSON.stringify({ stack: result.input.stack, changes, notes: result.input.notes, ...result.diff }, null, 2)}\n`;
}

/** The human-readable plan, with the stack, the proposed change and the notes first. */
export function renderPlan(result: Pick<PlanDiffResult, "input" | "assignments" | "diff">): string {
    const proposed = result.assignments.map((assignment) => `${assignment.key}=${assignment.remove ? "null" : typeof assignment.value === "string" ? assignment.value : JSON.stringify(assignment.value)}`);
    const header = [
        `plan-diff for stack "${result.input.stack}": ${proposed.length > 0 ? proposed.join(" ") : "(no change proposed)"}`,
        ...result.input.notes.map((note) => `  note: ${note}`),
    ];
    return renderText(result.diff, header);
}

export class UsageError extends Error {}

/** Which evaluation failed: the stack's current config, or the config with the proposed change. */
export type EvaluationPhase = "current" | "proposed";

export class EvaluationError extends Error {
    constructor(
        message: string,
        /** Set when the error comes from planning a stack. */
        readonly phase?: EvaluationPhase,
        /** The program's own message, without the line that says which evaluation failed. */
        readonly reason: string = message,
    ) {
        super(message);
    }
}

const USAGE = `usage: npm run plan-diff -- <stack> [--json] [--stacks-dir <dir>] key=value ...

  <stack>             a stack in stacks/ (Pulumi.<stack>.yaml)
  key=value           a proposed config change, without or with the replicated: prefix; nested keys
                      with dots and indices (hosts[1].privateAddress=10.0.0.5, sidecars.statsd=false,
                      hosts[3]='{"name": ...}' to append); values are YAML scalars or JSON; null
                      removes a key; secrets are refused (set them with pulumi config set --secret)
  --json              print the result as JSON
  --stacks-dir <dir>  read the stack files from <dir> instead of stacks/

examples:
  npm run plan-diff -- acme-online version=2.54.0
  npm run plan-diff -- globex-airgap runAs=replicated`;

/** The command line of plan-diff. Throws UsageError. */
export function parsePlanDiffArgs(argv: readonly string[]): { stack: string; changes: string[]; json: boolean; stacksDir: string } {
    let json = false;
    let stacksDir = STACKS_DIR;
    const positional: string[] = [];
    for (let index = 0; index < argv.length; index++) {
        const arg = argv[index];
        if (arg === "--json") {
            json = true;
        } else if (arg === "--stacks-dir" || arg.startsWith("--stacks-dir=")) {
            const value = arg === "--stacks-dir" ? argv[++index] : arg.slice("--stacks-dir=".length);
            if (value === undefined || value === "" || value.startsWith("-")) {
                throw new UsageError("--stacks-dir needs a directory");
            }
            stacksDir = path.resolve(value);
        } else if (arg.startsWith("-")) {
            throw new UsageError(`unknown option ${arg}`);
        } else {
            positional.push(arg);
        }
    }
    if (positional.length === 0) {
        throw new UsageError("name a stack");
    }
    const [stack, ...changes] = positional;
    return { stack, changes, json, stacksDir };
}

/** The command line: what it prints through `io`, and its exit status (2: usage, 1: a failed evaluation). */
export async function main(argv: readonly string[], io: CommandIo): Promise<number> {
    if (argv.includes("--help") || argv.includes("-h")) {
        io.stdout(`${USAGE}\n`);
        return 0;
    }
    try {
        const { stack, changes, json, stacksDir } = parsePlanDiffArgs(argv);
        const result = await planDiff(stack, changes, stacksDir);
        io.stdout(json ? renderJson(result) : renderPlan(result));
        return 0;
    } catch (err) {
        if (err instanceof UsageError) {
            io.stderr(`plan-diff: ${err.message}\n\n${USAGE}\n`);
            return 2;
        }
        io.stderr(`plan-diff: ${(err as Error).message}\n`);
        return 1;
    }
}

if (require.main === module) {
    void main(process.argv.slice(2), PROCESS_IO).then((code) => process.exit(code));
}
