/**
 * Benchmark 5: the fleet plan. 200 generated customer stacks with 1 to 5 hosts each
 * (bench/fleet-stacks.ts) planned in one `fleet plan` process, against `plan-diff` run as one
 * process per stack: a sample of 20 such processes is timed and scaled to 200. Both commands run
 * exactly as their npm scripts do (package.json), without npm itself. The sample's processes are
 * split around the fleet runs (B, A, B, A, B), so a slow minute hurts both sides. The peak RSS
 * of each process is taken inside it (bench/lib/report-rusage.cjs).
 *
 * Seconds per stack against the SDK floor: in one process (fleet-child.ts) the engine plans each
 * sampled stack and the SDK floor registers the same two sets of resources.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { FLEET_CHANGE, fleetHostCount, fleetStackFile, fleetStackName } from "./fleet-stacks";
import { checkTarget, formatSeconds, median, ratio, round, side, type BenchPlan, type Side, type TargetCheck } from "./lib/stats";

const PROJECT_DIR = path.resolve(__dirname, "..");
const RUSAGE_REPORTER = path.join(__dirname, "lib", "report-rusage.cjs");
const CHILD = path.join(__dirname, "fleet-child.ts");

/** Sizes of one run. */
export interface FleetBenchPlan {
    readonly stacks: number;
    readonly sample: number;
    /** `fleet plan` runs (the sample is split around them). */
    readonly fleetRuns: number;
}

export function fleetPlanFor(plan: BenchPlan): FleetBenchPlan {
    return plan.quick ? { stacks: 20, sample: 4, fleetRuns: 1 } : { stacks: 200, sample: 20, fleetRuns: 2 };
}

export interface FleetResult {
    readonly stacks: number;
    readonly hosts: number;
    /** The change planned. */
    readonly change: string;
    /** `fleet plan` over every stack: wall seconds and peak RSS of each run. */
    readonly fleet: { readonly wallSeconds: Side; readonly peakRssMiB: number[]; readonly cpuSeconds: number[] };
    /** One `plan-diff` process per sampled stack. */
    readonly planDiff: { readonly sampled: string[]; readonly wallSeconds: Side; readonly peakRssMiB: number[]; readonly scaledSeconds: number };
    /** The fleet's wall time over plan-diff's, scaled to every stack. */
    readonly ratio: number;
    /** Seconds per stack: the fleet's wall time over its stacks; the engine and the SDK floor in one process (medians). */
    readonly perStack: { readonly fleetSeconds: number; readonly engineSeconds: number; readonly floorSeconds: number; readonly engineVsFloor: number };
    readonly targets: TargetCheck[];
}

/** The command line of an npm script of package.json, with `node` as this Node binary. */
export function scriptCommand(script: string): string[] {
    const pkg = JSON.parse(fs.readFileSync(path.join(PROJECT_DIR, "package.json"), "utf8")) as { scripts: Record<string, string> };
    const line = pkg.scripts[script];
    if (line === undefined || !line.startsWith("node ")) {
        throw new Error(`package.json script ${script} is not a node command: ${line ?? "(missing)"}`);
    }
    const [, ...args] = line.split(/\s+/);
    return [process.execPath, ...args];
}

interface Measured {
    readonly wallSeconds: number;
    readonly peakRssMiB: number;
    readonly cpuSeconds: number;
    readonly stdout: string;
}

function measure(command: readonly string[], label: string): Promise<Measured> {
    const usageFile = path.join(os.tmpdir(), `replicated-bench-rusage-${process.pid}-${Math.random().toString(36).slice(2)}.json`);
    return new Promise((resolve, reject) => {
        const started = performance.now();
        const env = { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ""} --require ${RUSAGE_REPORTER}`.trim(), BENCH_RUSAGE_FILE: usageFile };
        const child = spawn(command[0], command.slice(1), { cwd: PROJECT_DIR, env, stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
        child.on("error", reject);
        child.on("close", (code) => {
            const wallSeconds = (performance.now() - started) / 1000;
            try {
                if (code !== 0) {
                    throw new Error(`${label} exited ${code}: ${stderr.slice(-2000)}`);
                }
                const usage = JSON.parse(fs.readFileSync(usageFile, "utf8")) as { maxRssKiB: number; userSeconds: number; systemSeconds: number };
                resolve({ wallSeconds, peakRssMiB: usage.maxRssKiB / 1024, cpuSeconds: usage.userSeconds + usage.systemSeconds, stdout });
            } catch (err) {
                reject(err instanceof Error ? err : new Error(String(err)));
            } finally {
                fs.rmSync(usageFile, { force: true });
            }
        });
    });
}

function runChild(dir: string, stacks: readonly string[]): Promise<{ engineSeconds: number[]; floorSeconds: number[]; resources: number }> {
    return new Promise((resolve, reject) => {
        // The fleet script's Node flags (everything before its script), so both measure the same runtime.
        const [node, ...args] = scriptCommand("fleet");
        const flags = args.slice(0, args.findIndex((arg) => arg.endsWith(".ts")));
        const child = spawn(node, [...flags, CHILD], {
            cwd: PROJECT_DIR,
            env: { ...process.env, BENCH_FLEET_DIR: dir, BENCH_FLEET_STACKS: stacks.join(",") },
            stdio: ["ignore", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
        child.on("error", reject);
        child.on("close", (code) => {
            if (code !== 0) {
                reject(new Error(`fleet floor child exited ${code}: ${stderr.slice(-2000)}`));
                return;
            }
            resolve(JSON.parse(stdout.trim().split("\n").pop() ?? "{}") as { engineSeconds: number[]; floorSeconds: number[]; resources: number });
        });
    });
}

/** Split `items` into `parts` nearly equal chunks, in order. */
export function chunks<T>(items: readonly T[], parts: number): T[][] {
    const result: T[][] = [];
    for (let part = 0; part < parts; part++) {
        result.push(items.slice(Math.round((part * items.length) / parts), Math.round(((part + 1) * items.length) / parts)));
    }
    return result;
}

export async function benchFleet(benchPlan: BenchPlan, log: (line: string) => void): Promise<FleetResult> {
    const plan = fleetPlanFor(benchPlan);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "replicated-bench-fleet-"));
    try {
        const names = Array.from({ length: plan.stacks }, (_, index) => fleetStackName(index));
        names.forEach((name, index) => fs.writeFileSync(path.join(dir, `Pulumi.${name}.yaml`), fleetStackFile(index)));
        const hosts = names.reduce((total, _name, index) => total + fleetHostCount(index), 0);
        // Every (stacks / sample)th stack: the sample covers every host count and mode.
        const step = plan.stacks / plan.sample;
        const sampled = Array.from({ length: plan.sample }, (_, index) => names[Math.floor(index * step)]);
        log(`  ${plan.stacks} stacks (${hosts} hosts) in ${dir}; plan-diff sample: ${sampled.length} stacks`);

        const fleetCommand = [...scriptCommand("fleet"), "plan", FLEET_CHANGE, "--json", "--stacks-dir", dir];
        const planDiffCommand = (stack: string) => [...scriptCommand("plan-diff"), stack, FLEET_CHANGE, "--json", "--stacks-dir", dir];
        const fleetRuns: Measured[] = [];
        const planDiffRuns: Measured[] = [];
        const baselineChunks = chunks(sampled, plan.fleetRuns + 1);
        for (let round_ = 0; round_ <= plan.fleetRuns; round_++) {
            for (const stack of baselineChunks[round_]) {
                const run = await measure(planDiffCommand(stack), `plan-diff ${stack}`);
                const doc = JSON.parse(run.stdout) as { stack?: string; changed?: unknown[] };
                if (doc.stack !== stack || !Array.isArray(doc.changed) || doc.changed.length === 0) {
                    throw new Error(`plan-diff ${stack} printed no plan with changes`);
                }
                planDiffRuns.push(run);
                log(`  plan-diff ${stack}: ${formatSeconds(run.wallSeconds)} wall, ${Math.round(run.peakRssMiB)} MiB peak`);
            }
            if (round_ < plan.fleetRuns) {
                const run = await measure(fleetCommand, "fleet plan");
                const doc = JSON.parse(run.stdout) as { total?: { planned?: number } };
                if (doc.total?.planned !== plan.stacks) {
                    throw new Error(`fleet plan planned ${doc.total?.planned ?? 0} of ${plan.stacks} stacks`);
                }
                fleetRuns.push(run);
                log(`  fleet plan ${round_ + 1}/${plan.fleetRuns}: ${plan.stacks} stacks in ${formatSeconds(run.wallSeconds)} wall, ${Math.round(run.peakRssMiB)} MiB peak`);
            }
        }
        const floor = await runChild(dir, sampled);
        const fleetWall = side(fleetRuns.map((run) => run.wallSeconds));
        const planDiffWall = side(planDiffRuns.map((run) => run.wallSeconds));
        const scaledSeconds = round((planDiffRuns.reduce((total, run) => total + run.wallSeconds, 0) * plan.stacks) / planDiffRuns.length, 2);
        const fleetRatio = ratio(fleetWall.median, scaledSeconds);
        const peak = Math.max(...fleetRuns.map((run) => run.peakRssMiB));
        const perStack = {
            fleetSeconds: round(fleetWall.median / plan.stacks, 3),
            engineSeconds: round(median(floor.engineSeconds), 3),
            floorSeconds: round(median(floor.floorSeconds), 3),
            engineVsFloor: ratio(median(floor.engineSeconds), median(floor.floorSeconds)),
        };
        log(
            `  per stack: fleet ${formatSeconds(perStack.fleetSeconds)} (wall / stacks); in one process the engine ${formatSeconds(perStack.engineSeconds)}, ` +
                `the SDK floor ${formatSeconds(perStack.floorSeconds)} (${perStack.engineVsFloor}x)`,
        );
        const startup = median(planDiffRuns.map((run) => run.wallSeconds)) - perStack.engineSeconds;
        const targets = [
            checkTarget(
                "fleet.vsPlanDiff",
                `fleet plan of ${plan.stacks} stacks / plan-diff once per stack (${sampled.length} timed, scaled)`,
                fleetRatio,
                0.1,
                "ratio",
                () =>
                    `A plan-diff process spends about ${formatSeconds(Math.max(startup, 0))} starting (Node, tsx, loading the SDK and the providers) ` +
                    `before its ${formatSeconds(perStack.engineSeconds)} of planning; the fleet pays the start once and then ` +
                    `${formatSeconds(perStack.fleetSeconds)} per stack, ${perStack.engineVsFloor}x the SDK floor for the same resources. ` +
                    `Closing it needs fewer SDK round trips per resource (the floor is most of it) or fewer resources per host.`,
            ),
            checkTarget("fleet.peakRss", `fleet plan of ${plan.stacks} stacks: peak RSS`, round(peak, 1), 1024, "MiB", () =>
                `The recordings of each stack are dropped once its row is computed; what remains is the SDK's own state and the ${plan.stacks} rows.`,
            ),
        ];
        return {
            stacks: plan.stacks,
            hosts,
            change: FLEET_CHANGE,
            fleet: { wallSeconds: fleetWall, peakRssMiB: fleetRuns.map((run) => round(run.peakRssMiB, 1)), cpuSeconds: fleetRuns.map((run) => round(run.cpuSeconds, 2)) },
            planDiff: { sampled, wallSeconds: planDiffWall, peakRssMiB: planDiffRuns.map((run) => round(run.peakRssMiB, 1)), scaledSeconds },
            ratio: fleetRatio,
            perStack,
            targets,
        };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}
