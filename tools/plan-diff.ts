/**
 * `npm run plan-diff -- <stack> [--json] key=value ...`: what `pulumi up` would change on a
 * customer's hosts if the stack config got the proposed values, computed offline. The program is
 * evaluated twice under mocks (current config, then with the changes) and the two sets of
 * resources are compared, marking each change as an update or a replacement as the providers
 * would apply it. No host, no Pulumi CLI and no operator key is needed.
 */
import { fixtureKeyFile, readStackConfig, stackNames } from "../test/support/stacks";
import { recordForDiff } from "./plan-diff-record";
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

/**
 * Read `stacks/Pulumi.<stack>.yaml`. The key file is swapped for a stand-in and encrypted values
 * for placeholders: evaluating the program needs a readable key, computing a diff does not use it.
 */
export function stackInput(stack: string): DiffInput {
    const known = stackNames();
    if (!known.includes(stack)) {
        throw new UsageError(`no stack "${stack}" in stacks/ (known: ${known.join(", ")})`);
    }
    const config = readStackConfig(stack);
    const notes: string[] = [];
    const secretKeys: string[] = [];
    if (typeof config.sshPrivateKeyPath === "string") {
        notes.push(`The stack's SSH key file (${config.sshPrivateKeyPath}) is replaced by a stand-in: the diff connects to no host and needs no key.`);
        config.sshPrivateKeyPath = fixtureKeyFile();
    }
    for (const [key, value] of Object.entries(config)) {
        if (value !== null && typeof value === "object" && "secure" in value) {
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
        return await recordForDiff({ stack, config, secretKeys });
    } catch (err) {
        throw new EvaluationError(err instanceof Error ? err.message : String(err));
    }
}

export interface PlanDiffResult {
    readonly input: DiffInput;
    readonly assignments: readonly Assignment[];
    readonly before: RecordingData;
    readonly after: RecordingData;
    readonly diff: PlanDiff;
}

/** Evaluate a stack with and without the proposed changes and diff the two. */
export async function planDiff(stack: string, changes: readonly string[]): Promise<PlanDiffResult> {
    const input = stackInput(stack);
    const assignments = changes.map((change) => {
        try {
            return parseAssignment(change);
        } catch (err) {
            throw new UsageError((err as Error).message);
        }
    });
    let proposed: Record<string, unknown>;
    try {
        proposed = applyAssignments(input.config, assignments);
    } catch (err) {
        throw new UsageError((err as Error).message);
    }
    // One after the other in this process: the Pulumi runtime is process-global.
    const evaluated = (what: string) => (err: unknown) => {
        throw new EvaluationError(`${what}:\n${(err as Error).message}`);
    };
    const before = await evaluate(stack, input.config, input.secretKeys).catch(evaluated("the stack's current configuration does not evaluate"));
    const after = await evaluate(stack, proposed, input.secretKeys).catch(evaluated("the proposed change is rejected by the program"));
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
export class EvaluationError extends Error {}

const USAGE = `usage: npm run plan-diff -- <stack> [--json] key=value ...

  <stack>      a stack in stacks/ (Pulumi.<stack>.yaml)
  key=value    a proposed config change, without or with the replicated: prefix; nested keys with
               dots and indices (hosts[1].privateAddress=10.0.0.5, sidecars.statsd=false,
               hosts[3]='{"name": ...}' to append); values are YAML scalars or JSON; null removes a key
  --json       print the result as JSON

examples:
  npm run plan-diff -- acme-online version=2.54.0
  npm run plan-diff -- globex-airgap runAs=replicated`;

async function main(argv: readonly string[]): Promise<number> {
    const json = argv.includes("--json");
    if (argv.includes("--help") || argv.includes("-h")) {
        process.stdout.write(`${USAGE}\n`);
        return 0;
    }
    const positional = argv.filter((arg) => arg !== "--json");
    const unknownFlag = positional.find((arg) => arg.startsWith("-"));
    if (positional.length === 0 || unknownFlag !== undefined) {
        process.stderr.write(`${unknownFlag !== undefined ? `unknown option ${unknownFlag}\n` : ""}${USAGE}\n`);
        return 2;
    }
    const [stack, ...changes] = positional;
    try {
        const result = await planDiff(stack, changes);
        process.stdout.write(json ? renderJson(result) : renderPlan(result));
        return 0;
    } catch (err) {
        if (err instanceof UsageError) {
            process.stderr.write(`plan-diff: ${err.message}\n\n${USAGE}\n`);
            return 2;
        }
        process.stderr.write(`plan-diff: ${(err as Error).message}\n`);
        return 1;
    }
}

if (require.main === module) {
    void main(process.argv.slice(2)).then((code) => process.exit(code));
}
