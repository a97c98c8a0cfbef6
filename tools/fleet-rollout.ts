/**
 * `fleet rollout`: the wave logic. Waves run one after another and the stacks of a wave one after
 * another; each stack gets the change written into its config, a preview, then an update. The
 * first stack that fails stops the rollout, with its config put back as it was; a summary says
 * what was done and what was not. A stack that already holds the change and whose last update
 * succeeded is skipped, which is how the same command resumes a rollout after a fix.
 *
 * Everything that touches a stack goes through a {@link RolloutStackRunner}: the Automation API
 * one (./fleet-automation) in production, a fake in the tests.
 */

/** The result of a stack's last update, as `pulumi stack history` reports it ("none": never updated). */
export type LastUpdate = "succeeded" | "failed" | "in-progress" | "not-started" | "none";

/** What a stack holds before the rollout touches it. */
export interface StackState {
    /** The stack's config file already holds every value of the change. */
    readonly holdsChange: boolean;
    readonly lastUpdate: LastUpdate;
    /** Whether the config the last update ran with held the change (undefined when the history does not say). */
    readonly lastUpdateHeldChange?: boolean;
}

/** The steps of one stack, in order. */
export type RolloutStep = "inspect" | "config" | "preview" | "up";

/** Everything the rollout does to a stack. Each method throws on failure. */
export interface RolloutStackRunner {
    inspect(stack: string): Promise<StackState>;
    /** Write the change into the stack's config, as `pulumi config set` does. */
    setConfig(stack: string, output: (line: string) => void): Promise<void>;
    preview(stack: string, output: (line: string) => void): Promise<void>;
    up(stack: string, output: (line: string) => void): Promise<void>;
    /** Put the stack's config back as it was before {@link setConfig}. */
    restoreConfig(stack: string): Promise<void>;
}

export type StackOutcome =
    | { readonly stack: string; readonly wave: number; readonly outcome: "updated" }
    | { readonly stack: string; readonly wave: number; readonly outcome: "skipped" }
    | {
          readonly stack: string;
          readonly wave: number;
          readonly outcome: "failed";
          readonly step: RolloutStep;
          readonly error: string;
          /** Whether its config holds the old value again (false: restoring it failed too). */
          readonly configRestored: boolean;
          readonly restoreError?: string;
      }
    | { readonly stack: string; readonly wave: number; readonly outcome: "not-run"; readonly reason: "stopped" | "declined" };

export interface RolloutSummary {
    readonly stacks: readonly StackOutcome[];
    /** The stack the rollout stopped at, if one failed. */
    readonly failed?: string;
    /** The wave (1-based) the operator declined, if any. */
    readonly declinedWave?: number;
}

export interface RolloutOptions {
    /** Asked before each wave (1-based index); undefined: every wave runs (--yes). */
    readonly confirm?: (wave: number, stacks: readonly string[], waves: number) => Promise<boolean>;
    /** Progress and the stacks' own output. */
    readonly log: (line: string) => void;
}

/** Check the waves: at least one, none empty, no stack twice. Returns a message, or undefined when they are fine. */
export function checkWaves(waves: readonly (readonly string[])[]): string | undefined {
    if (waves.length === 0) {
        return "name the stacks to roll out with --waves <stack,...> (repeat --waves for each wave)";
    }
    const empty = waves.findIndex((wave) => wave.length === 0);
    if (empty >= 0) {
        return `wave ${empty + 1} names no stack`;
    }
    const all = waves.flat();
    const repeated = [...new Set(all.filter((stack, index) => all.indexOf(stack) !== index))];
    if (repeated.length > 0) {
        return `stack ${repeated.join(", ")} appears more than once in the waves`;
    }
    return undefined;
}

/** Whether the stack is already done: it holds the change and its last update (with it) succeeded. */
export function alreadyRolledOut(state: StackState): boolean {
    return state.holdsChange && state.lastUpdate === "succeeded" && state.lastUpdateHeldChange !== false;
}

function message(err: unknown): string {
    return err instanceof Error ? err.message : String(err);
}

/** Roll the change out wave by wave; stops at the first failed stack. Never throws for a stack's failure. */
export async function rollout(waves: readonly (readonly string[])[], runner: RolloutStackRunner, options: RolloutOptions): Promise<RolloutSummary> {
    const problem = checkWaves(waves);
    if (problem !== undefined) {
        throw new Error(problem);
    }
    const outcomes: StackOutcome[] = [];
    const notRun = (fromWave: number, fromStack: number, reason: "stopped" | "declined") => {
        for (let wave = fromWave; wave < waves.length; wave++) {
            for (const stack of waves[wave].slice(wave === fromWave ? fromStack : 0)) {
                outcomes.push({ stack, wave: wave + 1, outcome: "not-run", reason });
            }
        }
    };
    for (let wave = 0; wave < waves.length; wave++) {
        const stacks = waves[wave];
        options.log(`\n== wave ${wave + 1} of ${waves.length}: ${stacks.join(", ")}`);
        if (options.confirm !== undefined && !(await options.confirm(wave + 1, stacks, waves.length))) {
            options.log(`wave ${wave + 1} declined: nothing more is rolled out`);
            notRun(wave, 0, "declined");
            return { stacks: outcomes, declinedWave: wave + 1 };
        }
        for (let index = 0; index < stacks.length; index++) {
            const stack = stacks[index];
            const result = await rolloutStack(stack, wave + 1, runner, options.log);
            outcomes.push(result);
            if (result.outcome === "failed") {
                notRun(wave, index + 1, "stopped");
                return { stacks: outcomes, failed: stack };
            }
        }
    }
    return { stacks: outcomes };
}

async function rolloutStack(stack: string, wave: number, runner: RolloutStackRunner, log: (line: string) => void): Promise<StackOutcome> {
    const output = (line: string) => log(`[${stack}] ${line}`);
    let state: StackState;
    try {
        state = await runner.inspect(stack);
    } catch (err) {
        return { stack, wave, outcome: "failed", step: "inspect", error: message(err), configRestored: true };
    }
    if (alreadyRolledOut(state)) {
        output("already holds the change and its last update succeeded: skipped");
        return { stack, wave, outcome: "skipped" };
    }
    let step: RolloutStep = "config";
    try {
        output("writing the change into its config (pulumi config set)");
        await runner.setConfig(stack, output);
        step = "preview";
        output("preview");
        await runner.preview(stack, output);
        step = "up";
        output("up");
        await runner.up(stack, output);
    } catch (err) {
        const error = message(err);
        output(`FAILED at ${step}: ${error.split("\n")[0]}`);
        try {
            await runner.restoreConfig(stack);
            output("its config is back to the old value");
            return { stack, wave, outcome: "failed", step, error, configRestored: true };
        } catch (restoreErr) {
            return { stack, wave, outcome: "failed", step, error, configRestored: false, restoreError: message(restoreErr) };
        }
    }
    output("updated");
    return { stack, wave, outcome: "updated" };
}

/** Exit status of a rollout: 0 when every stack was updated or skipped, 1 otherwise. */
export function rolloutExitStatus(summary: RolloutSummary): 0 | 1 {
    return summary.stacks.every((s) => s.outcome === "updated" || s.outcome === "skipped") ? 0 : 1;
}

/** The summary an operator reads at the end: what was done, what failed, what was not run. */
export function renderSummary(summary: RolloutSummary, stackFile: (stack: string) => string): string {
    const of = (outcome: StackOutcome["outcome"]) => summary.stacks.filter((s) => s.outcome === outcome);
    const list = (stacks: readonly StackOutcome[]) => stacks.map((s) => `${s.stack} (wave ${s.wave})`).join(", ");
    const lines = ["", "Rollout summary:"];
    const updated = of("updated");
    const skipped = of("skipped");
    lines.push(`  updated: ${updated.length > 0 ? list(updated) : "none"}`);
    if (skipped.length > 0) {
        lines.push(`  skipped (already held the change, last update succeeded): ${list(skipped)}`);
    }
    for (const failed of of("failed")) {
        if (failed.outcome !== "failed") {
            continue;
        }
        lines.push(`  FAILED: ${failed.stack} (wave ${failed.wave}) at ${failed.step}:`, ...failed.error.split("\n").map((line) => `      ${line}`));
        lines.push(
            failed.configRestored
                ? `    ${stackFile(failed.stack)} keeps its old value.`
                : `    restoring ${stackFile(failed.stack)} failed (${failed.restoreError ?? "unknown error"}): it may hold the new value; check it (git diff) before running again.`,
        );
    }
    const stopped = summary.stacks.filter((s) => s.outcome === "not-run");
    if (stopped.length > 0) {
        const why = summary.declinedWave !== undefined ? `wave ${summary.declinedWave} was declined` : "the rollout stopped at the failure";
        lines.push(`  not run (${why}): ${list(stopped)}`);
    }
    if (summary.failed !== undefined) {
        lines.push("", "Fix the failure, then run the same command again: stacks that hold the change and whose last update succeeded are skipped.");
    }
    return `${lines.join("\n")}\n`;
}
