/**
 * Seconds per stack of the fleet plan against the SDK floor, in one process: for each stack named
 * in BENCH_FLEET_STACKS (in BENCH_FLEET_DIR), plan-diff's engine plans the change (the current and
 * the proposed config evaluated, then diffed), and the SDK floor (bench/lib/sdk-floor.ts)
 * registers the same two sets of resources under the same mocks, stack by stack, after one
 * untimed warm-up of each. Prints one JSON line.
 */
import { floorProgram } from "./lib/sdk-floor";
import { modelledResolver } from "../tools/offline/host-model";
import { recordProgramQueued, type RecordingData } from "../tools/offline/recorder";
import { parseChanges, planAssignments, secretKeysOf, stackInput, type DiffInput } from "../tools/plan-diff";
import { applyAssignments } from "../tools/plan-diff-core";
import { FLEET_CHANGE } from "./fleet-stacks";

async function floor(stack: string, config: Record<string, unknown>, recording: RecordingData): Promise<void> {
    // The same recorder settings as the engine's evaluations (tools/offline/evaluate.ts).
    await recordProgramQueued({ stack, config, resolve: modelledResolver, program: floorProgram(recording), sdkStackTraces: false });
}

async function main(): Promise<void> {
    const dir = process.env.BENCH_FLEET_DIR ?? "";
    const stacks = (process.env.BENCH_FLEET_STACKS ?? "").split(",").filter(Boolean);
    if (!dir || stacks.length === 0) {
        throw new Error("set BENCH_FLEET_DIR and BENCH_FLEET_STACKS");
    }
    const inputs: DiffInput[] = stacks.map((stack) => stackInput(stack, dir));
    const assignments = parseChanges([FLEET_CHANGE], secretKeysOf(inputs));
    const engineSeconds: number[] = [];
    const floorSeconds: number[] = [];
    let resources = 0;
    // Warm-up of both sides on the first stack (JIT, module caches), untimed.
    const warm = await planAssignments(inputs[0], assignments);
    await floor(inputs[0].stack, inputs[0].config, warm.before);
    for (const input of inputs) {
        const engineStarted = performance.now();
        const result = await planAssignments(input, assignments);
        engineSeconds.push((performance.now() - engineStarted) / 1000);
        const floorStarted = performance.now();
        await floor(input.stack, input.config, result.before);
        await floor(input.stack, applyAssignments(input.config, assignments), result.after);
        floorSeconds.push((performance.now() - floorStarted) / 1000);
        resources += result.before.resources.length + result.after.resources.length;
    }
    process.stdout.write(`${JSON.stringify({ stacks: stacks.length, resources, engineSeconds, floorSeconds, maxRssMiB: process.resourceUsage().maxRSS / 1024 })}\n`);
}

main().then(
    () => process.exit(0),
    (error: unknown) => {
        process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
        process.exit(1);
    },
);
