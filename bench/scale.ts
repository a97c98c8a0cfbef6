/**
 * Benchmark 3: the program under Pulumi mocks for 1 to 500 hosts. Each measurement runs in a
 * fresh Node process (scale-child.ts): wall time from spawn to exit, the program's own
 * evaluation time, and the process's peak RSS.
 */
import { spawn } from "node:child_process";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { checkTarget, formatSeconds, median, ratio, round, type BenchPlan, type TargetCheck } from "./lib/stats";

const CHILD = path.join(__dirname, "scale-child.ts");

interface ChildReport {
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

function runChild(hosts: number, keyPath: string, diagnose?: "no-stack-capture"): Promise<ChildReport & { wallSeconds: number }> {
    return new Promise((resolve, reject) => {
        const started = performance.now();
        const child = spawn(process.execPath, ["--import", "tsx", CHILD], {
            env: { ...process.env, BENCH_SCALE_HOSTS: String(hosts), BENCH_SCALE_KEY: keyPath, BENCH_SCALE_DIAGNOSE: diagnose ?? "" },
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
                reject(new Error(`scale child for ${hosts} hosts exited ${code}: ${stderr.slice(-3000)}`));
                return;
            }
            resolve({ ...(JSON.parse(stdout.trim().split("\n").pop() ?? "{}") as ChildReport), wallSeconds });
        });
    });
}

export async function benchScale(plan: BenchPlan, log: (line: string) => void): Promise<ScaleResult> {
    // The config needs a key file; under mocks it is only read, never used to log in.
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "replicated-bench-scale-"));
    const keyPath = path.join(dir, "id_ed25519");
    await fs.writeFile(keyPath, "-----BEGIN OPENSSH PRIVATE KEY-----\nbench-scale-placeholder\n-----END OPENSSH PRIVATE KEY-----\n", { mode: 0o600 });
    const collected = new Map<number, Array<ChildReport & { wallSeconds: number }>>();
    const large = Math.max(...plan.scaleSizes);
    const small = large / 10;
    let diagnostic: ChildReport & { wallSeconds: number };
    let diagnosticSmall: ChildReport & { wallSeconds: number };
    try {
        for (let rep = 1; rep <= plan.scaleRepetitions; rep++) {
            for (const hosts of plan.scaleSizes) {
                const report = await runChild(hosts, keyPath);
                collected.set(hosts, [...(collected.get(hosts) ?? []), report]);
                log(
                    `  scale ${rep}/${plan.scaleRepetitions}: ${hosts} hosts, ${report.resources} resources: ${formatSeconds(report.wallSeconds)} wall, ` +
                        `${formatSeconds(report.programSeconds)} program, ${Math.round(report.maxRssMiB)} MiB peak`,
                );
            }
        }
        diagnosticSmall = await runChild(small, keyPath, "no-stack-capture");
        diagnostic = await runChild(large, keyPath, "no-stack-capture");
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
        return {
            hosts,
            resources: reports[0]?.resources ?? 0,
            wallSeconds: round(median(samples.wallSeconds), 3),
            programSeconds: round(median(samples.programSeconds), 3),
            gcSeconds: round(median(samples.gcSeconds), 3),
            peakRssMiB: round(median(samples.peakRssMiB), 1),
            samples,
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
    const perResourceMs = round((largeRow.programSeconds / largeRow.resources) * 1000, 2);
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
            "scale.wall",
            `program under mocks, ${large} hosts: wall time of the process`,
            largeRow.wallSeconds,
            15,
            "s",
            () =>
                `${largeRow.resources} resources at ${perResourceMs} ms each, in the Pulumi SDK more than in this program's code. ` +
                `Every output of every resource gets a debuggablePromise that captures new Error().stack: with that capture off ` +
                `(diagnostic run) the evaluation takes ${formatSeconds(withoutSdkStackCapture.programSeconds)} instead of ` +
                `${formatSeconds(largeRow.programSeconds)} (${Math.round(sdkShare * 100)}% less). Garbage collection is ` +
                `${formatSeconds(largeRow.gcSeconds)} of the evaluation; most of the remainder is the SDK's per-resource work ` +
                `(outputs, input serialisation, the mock engine's round trip). Closing it needs the SDK to capture those stacks ` +
                `lazily (an upstream change) and fewer resources per host, or splitting a ${large}-host estate into several stacks ` +
                `(time and memory are per stack).`,
        ),
        checkTarget(
            "scale.memory",
            `program under mocks, ${large} hosts: peak RSS`,
            largeRow.peakRssMiB,
            1536,
            "MiB",
            () =>
                `About ${round(((largeRow.peakRssMiB - smallRow.peakRssMiB) / (largeRow.resources - smallRow.resources)) * 1024, 0)} KiB ` +
                `per resource at the peak, alive until the evaluation ends. The SDK's captured stack strings are ` +
                `${Math.round(largeRow.peakRssMiB - withoutSdkStackCapture.peakRssMiB)} MiB of it (peak with the capture off: ` +
                `${Math.round(withoutSdkStackCapture.peakRssMiB)} MiB); the rest is the SDK's output and promise objects and each ` +
                `registration's inputs. Closing it: the SDK change above, or several smaller stacks.`,
        ),
    ];
    return { repetitions: plan.scaleRepetitions, rows, withoutSdkStackCapture, linearity, targets };
}
