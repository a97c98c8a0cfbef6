/**
 * `npm run fleet -- plan|rollout ...`: one proposed change across every customer stack.
 *
 *   plan     what the change does to each stack, offline (plan-diff's engine, one process)
 *   rollout  the change applied wave by wave with the Pulumi CLI (Automation API), stopping at
 *            the first failed stack
 */
import * as path from "node:path";
import * as readline from "node:readline/promises";
import type { CommandIo } from "./command-io";
import { automationRunner, cliMissingMessage, deployEnvironment, onPath } from "./fleet-automation";
import { configEdits } from "./fleet-config";
import { exitStatusOf, planFleet, renderFleetDetail, renderFleetJson, renderFleetTable, selectStacks, type FleetRow } from "./fleet-plan";
import { checkWaves, renderSummary, rollout, rolloutExitStatus, type RolloutStackRunner } from "./fleet-rollout";
import { STACKS_DIR, readStackConfig, stackFile } from "./offline/stacks";
import { UsageError, parseChanges, secretKeysOf, stackInput } from "./plan-diff";
import type { Assignment } from "./plan-diff-core";

export const USAGE = `usage: npm run fleet -- plan <key=value>... [--stacks a,b,...] [--json] [--detail] [--stacks-dir <dir>]
       npm run fleet -- rollout <key=value>... --waves <stack,...> [--waves <stack,...>]... [--yes]

  key=value           a proposed config change, as for plan-diff: nested keys with dots and indices,
                      values as YAML scalars or JSON, null removes a key; secrets are refused (set
                      them with pulumi config set --secret)

plan: what the change does to each customer stack, offline (no host, no Pulumi CLI)
  --stacks a,b,...    plan these stacks (default: every stack in stacks/)
  --json              one JSON document with an entry per stack
  --detail            also print each stack's full plan-diff
  --stacks-dir <dir>  read the stack files from <dir> instead of stacks/
  exit status: 0 every stack planned, 1 a stack's config is rejected or does not evaluate, 2 usage

rollout: apply the change wave by wave with the Pulumi CLI (per stack: config set, preview, up)
  --waves a,b         one wave; repeat for the next ones (waves and their stacks run in order)
  --yes               do not ask before each wave (needed without a terminal)
  It stops at the first failed stack (its config keeps the old value) with a summary. Run the same
  command again after a fix: stacks that hold the change and whose last update succeeded are skipped.

examples:
  npm run fleet -- plan version=2.54.0
  npm run fleet -- plan runAs=replicated --stacks globex-airgap --detail
  npm run fleet -- rollout version=2.54.0 --waves acme-online --waves globex-airgap,initech-apps`;

export interface PlanArgs {
    readonly command: "plan";
    readonly changes: string[];
    readonly stacks?: string[];
    readonly json: boolean;
    readonly detail: boolean;
    readonly stacksDir: string;
}

export interface RolloutArgs {
    readonly command: "rollout";
    readonly changes: string[];
    readonly waves: string[][];
    readonly yes: boolean;
}

function stackList(value: string): string[] {
    return value
        .split(",")
        .map((stack) => stack.trim())
        .filter((stack) => stack !== "");
}

/** The command line of `fleet`. Throws UsageError. */
export function parseFleetArgs(argv: readonly string[]): PlanArgs | RolloutArgs {
    const [command, ...rest] = argv;
    if (command !== "plan" && command !== "rollout") {
        throw new UsageError(command === undefined ? "name a command: plan or rollout" : `unknown command "${command}": use plan or rollout`);
    }
    const changes: string[] = [];
    const flags = new Set<string>();
    const waves: string[][] = [];
    let stacks: string[] | undefined;
    let stacksDir = STACKS_DIR;
    const allowed = command === "plan" ? ["--json", "--detail", "--stacks", "--stacks-dir"] : ["--yes", "--waves"];
    for (let index = 0; index < rest.length; index++) {
        const arg = rest[index];
        if (!arg.startsWith("-")) {
            changes.push(arg);
            continue;
        }
        const eq = arg.indexOf("=");
        const name = eq > 0 ? arg.slice(0, eq) : arg;
        if (!allowed.includes(name)) {
            throw new UsageError(`unknown option ${name} for ${command}`);
        }
        if (name === "--json" || name === "--detail" || name === "--yes") {
            if (eq > 0) {
                throw new UsageError(`${name} takes no value`);
            }
            flags.add(name);
            continue;
        }
        const value = eq > 0 ? arg.slice(eq + 1) : rest[++index];
        if (value === undefined || value === "" || value.startsWith("-")) {
            throw new UsageError(`${name} needs a value`);
        }
        if (name === "--waves") {
            waves.push(stackList(value));
        } else if (name === "--stacks") {
            if (stacks !== undefined) {
                throw new UsageError("--stacks is given twice: name every stack in one --stacks a,b,c");
            }
            stacks = stackList(value);
        } else {
            stacksDir = path.resolve(value);
        }
    }
    if (command === "plan") {
        return { command, changes, ...(stacks !== undefined ? { stacks } : {}), json: flags.has("--json"), detail: flags.has("--detail"), stacksDir };
    }
    const problem = checkWaves(waves);
    if (problem !== undefined) {
        throw new UsageError(problem);
    }
    if (changes.length === 0) {
        throw new UsageError("name the change to roll out, e.g. version=2.54.0");
    }
    return { command, changes, waves, yes: flags.has("--yes") };
}

/** What the CLI talks to (its output streams, and more); replaced in the tests. */
export interface FleetIo extends CommandIo {
    /** Whether standard input is a terminal an operator can answer on. */
    readonly interactive: boolean;
    readonly env: NodeJS.ProcessEnv;
    /** Ask a yes/no question; resolves true for yes. */
    readonly ask: (question: string) => Promise<boolean>;
    /** The runner that applies the change to the stacks. */
    readonly makeRunner: (assignments: readonly Assignment[], envVars: Record<string, string>) => Promise<RolloutStackRunner>;
}

function progress(io: FleetIo): ((row: FleetRow, done: number, total: number) => void) | undefined {
    if (io.interactive && process.stderr.isTTY) {
        return (row, done, total) => io.stderr(`\rplanned ${done}/${total} (${row.stack})\u001b[K${done === total ? "\n" : ""}`);
    }
    return undefined;
}

async function runPlan(args: PlanArgs, io: FleetIo): Promise<number> {
    const plan = await planFleet(args.changes, { stacks: args.stacks, stacksDir: args.stacksDir, keepDetail: args.detail, onStack: progress(io) });
    if (args.json) {
        io.stdout(renderFleetJson(plan, args.detail));
    } else {
        io.stdout(renderFleetTable(plan));
        if (args.detail) {
            io.stdout(`\n${renderFleetDetail(plan)}`);
        }
    }
    return exitStatusOf(plan.rows);
}

async function runRollout(args: RolloutArgs, io: FleetIo): Promise<number> {
    if (!args.yes && !io.interactive) {
        throw new UsageError("rollout asks before each wave, and standard input is not a terminal: run it from a terminal, or pass --yes");
    }
    const stacks = args.waves.flat();
    selectStacks(stacks, STACKS_DIR);
    // Before the CLI check: a malformed or secret change is refused on any machine.
    const assignments = parseChanges(args.changes, secretKeysOf(stacks.map((stack) => stackInput(stack, STACKS_DIR))));
    if (!onPath("pulumi", io.env.PATH)) {
        io.stderr(cliMissingMessage("fleet"));
        return 1;
    }
    const environment = deployEnvironment(stacks, io.env);
    if ("error" in environment) {
        io.stderr(`fleet: ${environment.error}\n`);
        return 1;
    }
    // Before the plan: creating the runner runs `pulumi version` and refuses a CLI that is too old.
    const runner = await io.makeRunner(assignments, environment.vars);
    const plan = await planFleet(args.changes, { stacks, stacksDir: STACKS_DIR, onStack: progress(io) });
    io.stdout(renderFleetTable(plan));
    if (exitStatusOf(plan.rows) !== 0) {
        const broken = plan.rows.filter((row) => row.status !== "planned").map((row) => row.stack);
        io.stderr(`fleet: nothing was rolled out: the change is rejected for, or does not evaluate on, ${broken.join(", ")} (see above)\n`);
        return 1;
    }
    for (const stack of stacks) {
        try {
            configEdits(readStackConfig(stack), plan.assignments);
        } catch (err) {
            io.stderr(`fleet: nothing was rolled out: ${stack}: ${(err as Error).message}\n`);
            return 1;
        }
    }
    const summary = await rollout(args.waves, runner, {
        log: (line) => io.stdout(`${line}\n`),
        confirm: args.yes ? undefined : (wave, waveStacks, waves) => io.ask(`Roll out wave ${wave} of ${waves} (${waveStacks.join(", ")})? [y/N] `),
    });
    io.stdout(renderSummary(summary, (stack) => path.relative(process.cwd(), stackFile(stack)) || stackFile(stack)));
    return rolloutExitStatus(summary);
}

/** Run `fleet` with `argv` (after the script name); resolves to the exit status. */
export async function runFleet(argv: readonly string[], io: FleetIo): Promise<number> {
    if (argv.includes("--help") || argv.includes("-h") || argv.length === 0) {
        (argv.length === 0 ? io.stderr : io.stdout)(`${USAGE}\n`);
        return argv.length === 0 ? 2 : 0;
    }
    try {
        const args = parseFleetArgs(argv);
        return args.command === "plan" ? await runPlan(args, io) : await runRollout(args, io);
    } catch (err) {
        if (err instanceof UsageError) {
            io.stderr(`fleet: ${err.message}\n\n${USAGE}\n`);
            return 2;
        }
        io.stderr(`fleet: ${(err as Error).message}\n`);
        return 1;
    }
}

async function ask(question: string): Promise<boolean> {
    const prompt = readline.createInterface({ input: process.stdin, output: process.stdout });
    try {
        return /^y(es)?$/i.test((await prompt.question(question)).trim());
    } finally {
        prompt.close();
    }
}

if (require.main === module) {
    const io: FleetIo = {
        stdout: (text) => process.stdout.write(text),
        stderr: (text) => process.stderr.write(text),
        interactive: process.stdin.isTTY === true,
        env: process.env,
        ask,
        makeRunner: (assignments, envVars) => automationRunner({ assignments, envVars, stacksDir: STACKS_DIR }),
    };
    // Exit explicitly: the SDK's runtime may hold handles open after the last evaluation.
    void runFleet(process.argv.slice(2), io).then((code) => process.exit(code));
}
