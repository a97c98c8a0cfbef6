/**
 * Benchmark 3: the program under Pulumi mocks for 1 to 500 hosts, against the SDK floor: a trivial
 * program that registers the same resources (bench/lib/sdk-floor.ts) under the same mocks. Each
 * measurement runs in a fresh Node process (scale-child.ts): wall time from spawn to exit, the
 * evaluation time, and the process's peak RSS; program and floor alternate at every size.
 */
import { spawn } from "node:child_process";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { checkTarget, formatSeconds, median, ratio, round, type BenchPlan, type TargetCheck } from "./lib/stats";

const CHILD = path.join(__dirname, "scale-child.ts");

interface ChildReport {
    mode: "program" | "floor";
    hosts: number;
    resources: number;
    programSeconds: number;
    /** Garbage collection during the evaluation. */
    gcSeconds: number;
    maxRssMiB: number;
}

export interface ScaleRow {
    readonly hosts: number;
    readonly resources: number;
    /** Medians over the repetitions. */
    readonly wallSeconds: number;
    readonly programSeconds: number;
    /** Garbage collection inside the evaluation time. */
    readonly gcSeconds: number;
    readonly peakRssMiB: number;
    readonly samples: { wallSeconds: number[]; programSeconds: number[]; gcSeconds: number[]; peakRssMiB: number[] };
    /**
     * The SDK floor for the same resources (medians), and the program over it: the median of the
     * per-repetition ratios, each of a program run and the floor run right next to it, so a
     * slow minute on a shared machine weighs on one pair rather than on one side.
     */
    readonly floor: {
        readonly programSeconds: number;
        readonly peakRssMiB: number;
        readonly samples: { programSeconds: number[]; peakRssMiB: number[] };
        readonly timeRatio: number;
        readonly memoryRatio: number;
    };
}

export interface ScaleResult {
    readonly repetitions: number;
    readonly rows: ScaleRow[];
    /**
     * Diagnostic (one run at the largest size): the same evaluation with the Pulumi SDK's stack
     * capture in debuggablePromise turned off (Error.stackTraceLimit 0 inside it). Shows what
     * that capture costs; not a figure of the program as it runs.
     */
    readonly withoutSdkStackCapture: {
        readonly hosts: number;
        readonly wallSeconds: number;
        readonly programSeconds: number;
        readonly peakRssMiB: number;
        /** The same at a tenth of the size, and the linearity ratio without the capture. */
        readonly smallHosts: number;
        readonly smallProgramSeconds: number;
        readonly programRatio: number;
    };
    /** Sizes the linearity ratio compares (largest, a tenth of it). */
    readonly linearity: { readonly large: number; readonly small: number; readonly programRatio: number; readonly wallRatio: number };
    readonly targets: TargetCheck[];
}

interface ChildRequest {
    readonly mode?: "program" | "floor";
    /** The program writes its recording here; the floor reads it. */
    readonly recording?: string;
    readonly diagnose?: "no-stack-capture";
}

function runChild(hosts: number, keyPath: string, request: ChildRequest = {}): Promise<ChildReport & { wallSeconds: number }> {
    return new Promise((resolve, reject) => {
        const started = performance.now();
        const child = spawn(process.execPath, ["--import", "tsx", CHILD], {
            env: {
                ...process.env,
                BENCH_SCALE_HOSTS: String(hosts),
                BENCH_SCALE_KEY: keyPath,
                BENCH_SCALE_MODE: request.mode ?? "program",
                BENCH_SCALE_RECORDING: request.recording ?? "",
                BENCH_SCALE_DIAGNOSE: request.diagnose ?? "",
            },
            stdio: ["ignore", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
        child.on("error", reject);
        child.on("close", (code) => {
            const wallSeconds = (performance.now() - started) / 1000;
            if (code !== 0) {
                reject(new Error(`scale ${request.mode ?? "program"} child for ${hosts} hosts exited ${code}: ${stderr.slice(-3000)}`));
                return;
            }
            resolve({ ...(JSON.parse(stdout.trim().split("\n").pop() ?? "{}") as ChildReport), wallSeconds });
        });
    });
}

/** Median of `a[i] / b[i]` over the repetitions (each pair measured back to back). */
export function pairedRatio(a: readonly number[], b: readonly number[]): number {
    if (a.length === 0 || a.length !== b.length) {
        throw new Error(`paired ratio of ${a.length} and ${b.length} samples`);
    }
    return round(median(a.map((value, index) => ratio(value, b[index]))), 3);
}

export async function benchScale(plan: BenchPlan, log: (line: string) => void): Promise<ScaleResult> {
    // The config needs a key file; under mocks it is only read, never used to log in.
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "replicated-bench-scale-"));
    const keyPath = path.join(dir, "id_ed25519");
    await fs.writeFile(keyPath, "-----BEGIN OPENSSH PRIVATE KEY-----\nbench-scale-placeholder\n-----END OPENSSH PRIVATE KEY-----\n", { mode: 0o600 });
    const collected = new Map<number, Array<ChildReport & { wallSeconds: number }>>();
    const floors = new Map<number, ChildReport[]>();
    const large = Math.max(...plan.scaleSizes);
    const small = large / 10;
    let diagnostic: ChildReport & { wallSeconds: number };
    let diagnosticSmall: ChildReport & { wallSeconds: number };
    try {
        for (let rep = 1; rep <= plan.scaleRepetitions; rep++) {
            for (const hosts of plan.scaleSizes) {
                const recording = path.join(dir, `recording-${hosts}.json`);
                // Alternate which side runs first (the floor needs one recording first).
                const floorFirst = rep % 2 === 0;
                const floorRun = async () => {
                    const report = await runChild(hosts, keyPath, { mode: "floor", recording });
                    floors.set(hosts, [...(floors.get(hosts) ?? []), report]);
                    return report;
                };
                const floorBefore = floorFirst ? await floorRun() : undefined;
                const report = await runChild(hosts, keyPath, { mode: "program", recording });
                collected.set(hosts, [...(collected.get(hosts) ?? []), report]);
                const floorReport = floorBefore ?? (await floorRun());
                log(
                    `  scale ${rep}/${plan.scaleRepetitions}: ${hosts} hosts, ${report.resources} resources: ${formatSeconds(report.wallSeconds)} wall, ` +
                        `${formatSeconds(report.programSeconds)} program (floor ${formatSeconds(floorReport.programSeconds)}), ` +
                        `${Math.round(report.maxRssMiB)} MiB peak (floor ${Math.round(floorReport.maxRssMiB)} MiB)`,
                );
            }
        }
        diagnosticSmall = await runChild(small, keyPath, { diagnose: "no-stack-capture" });
        diagnostic = await runChild(large, keyPath, { diagnose: "no-stack-capture" });
        log(
            `  scale diagnostic, the SDK's stack capture off: ${small} hosts ${formatSeconds(diagnosticSmall.programSeconds)} program; ` +
                `${large} hosts ${formatSeconds(diagnostic.programSeconds)} program, ${Math.round(diagnostic.maxRssMiB)} MiB peak`,
        );
    } finally {
        await fs.rm(dir, { recursive: true, force: true });
    }
    const rows: ScaleRow[] = plan.scaleSizes.map((hosts) => {
        const reports = collected.get(hosts) ?? [];
        const samples = {
            wallSeconds: reports.map((r) => round(r.wallSeconds, 3)),
            programSeconds: reports.map((r) => round(r.programSeconds, 3)),
            gcSeconds: reports.map((r) => round(r.gcSeconds, 3)),
            peakRssMiB: reports.map((r) => round(r.maxRssMiB, 1)),
        };
        const floorReports = floors.get(hosts) ?? [];
        const floorSamples = {
            programSeconds: floorReports.map((r) => round(r.programSeconds, 3)),
            peakRssMiB: floorReports.map((r) => round(r.maxRssMiB, 1)),
        };
        const floorSeconds = median(floorSamples.programSeconds);
        const floorRss = median(floorSamples.peakRssMiB);
        return {
            hosts,
            resources: reports[0]?.resources ?? 0,
            wallSeconds: round(median(samples.wallSeconds), 3),
            programSeconds: round(median(samples.programSeconds), 3),
            gcSeconds: round(median(samples.gcSeconds), 3),
            peakRssMiB: round(median(samples.peakRssMiB), 1),
            samples,
            floor: {
                programSeconds: round(floorSeconds, 3),
                peakRssMiB: round(floorRss, 1),
                samples: floorSamples,
                timeRatio: pairedRatio(samples.programSeconds, floorSamples.programSeconds),
                memoryRatio: pairedRatio(samples.peakRssMiB, floorSamples.peakRssMiB),
            },
        };
    });
    const rowOf = (hosts: number): ScaleRow => {
        const row = rows.find((r) => r.hosts === hosts);
        if (!row) {
            throw new Error(`scale: no measurement for ${hosts} hosts (sizes ${plan.scaleSizes.join(", ")})`);
        }
        return row;
    };
    const largeRow = rowOf(large);
    const smallRow = rowOf(small);
    const linearity = {
        large,
        small,
        programRatio: ratio(largeRow.programSeconds, smallRow.programSeconds),
        wallRatio: ratio(largeRow.wallSeconds, smallRow.wallSeconds),
    };
    const withoutSdkStackCapture = {
        hosts: large,
        wallSeconds: round(diagnostic.wallSeconds, 3),
        programSeconds: round(diagnostic.programSeconds, 3),
        peakRssMiB: round(diagnostic.maxRssMiB, 1),
        smallHosts: small,
        smallProgramSeconds: round(diagnosticSmall.programSeconds, 3),
        programRatio: ratio(diagnostic.programSeconds, diagnosticSmall.programSeconds),
    };
    const msPerResource = (row: ScaleRow) => round((row.programSeconds / row.resources) * 1000, 2);
    const gcShare = (row: ScaleRow) => Math.round((row.gcSeconds / row.programSeconds) * 100);
    const range = (values: number[]) => `${formatSeconds(Math.min(...values))} to ${formatSeconds(Math.max(...values))}`;
    const sdkShare = round(1 - withoutSdkStackCapture.programSeconds / largeRow.programSeconds, 2);
    const targets = [
        checkTarget(
            "scale.linearity",
            `program under mocks: evaluation time t(${large}) / t(${small})`,
            linearity.programRatio,
            11,
            "ratio",
            () =>
                `Per resource the evaluation takes ${msPerResource(smallRow)} ms at ${small} hosts and ${msPerResource(largeRow)} ms ` +
                `at ${large}; garbage collection is ${gcShare(smallRow)}% and ${gcShare(largeRow)}% of it, as the heap grows with ` +
                `the SDK's retained stack strings. With the SDK's stack capture off the ratio is ` +
                `${withoutSdkStackCapture.programRatio}. Repetitions ranged ${range(smallRow.samples.programSeconds)} at ${small} ` +
                `hosts and ${range(largeRow.samples.programSeconds)} at ${large}: on a busy machine the ratio is within that noise. ` +
                `Nothing a host registers depends on the number of hosts except its list of cluster addresses (used for NO_PROXY).`,
        ),
        checkTarget(
            "scale.floor.time",
            `program under mocks, ${large} hosts: evaluation time / the SDK floor's`,
            largeRow.floor.timeRatio,
            1.3,
            "ratio",
            () =>
                `The program takes ${formatSeconds(largeRow.programSeconds)} to register ${largeRow.resources} resources, a trivial program ` +
                `registering the same ones ${formatSeconds(largeRow.floor.programSeconds)}. Above the floor are the program's own Outputs ` +
                `(apply and interpolate chains between resources, each with the SDK's captured stack: ${Math.round(sdkShare * 100)}% of ` +
                `the program's time goes with the capture off), config validation and the container specs. Closing it: fewer ` +
                `Outputs chained per resource (pass plain values where they are known).`,
        ),
        checkTarget(
            "scale.floor.memory",
            `program under mocks, ${large} hosts: peak RSS / the SDK floor's`,
            largeRow.floor.memoryRatio,
            1.3,
            "ratio",
            () =>
                `${Math.round(largeRow.peakRssMiB)} MiB against ${Math.round(largeRow.floor.peakRssMiB)} MiB for the same resources: the ` +
                `program's Outputs and their captured stacks stay alive until the evaluation ends. Closing it: fewer chained Outputs.`,
        ),
    ];
    return { repetitions: plan.scaleRepetitions, rows, withoutSdkStackCapture, linearity, targets };
}
