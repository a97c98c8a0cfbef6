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
    maxRssMiB: number;
}

export interface ScaleRow {
    readonly hosts: number;
    readonly resources: number;
    /** Medians over the repetitions. */
    readonly wallSeconds: number;
    readonly programSeconds: number;
    readonly peakRssMiB: number;
    readonly samples: { wallSeconds: number[]; programSeconds: number[]; peakRssMiB: number[] };
}

export interface ScaleResult {
    readonly repetitions: number;
    readonly rows: ScaleRow[];
    /** Sizes the linearity ratio compares (largest, a tenth of it). */
    readonly linearity: { readonly large: number; readonly small: number; readonly programRatio: number; readonly wallRatio: number };
    readonly targets: TargetCheck[];
}

function runChild(hosts: number, keyPath: string): Promise<ChildReport & { wallSeconds: number }> {
    return new Promise((resolve, reject) => {
        const started = performance.now();
        const child = spawn(process.execPath, ["--import", "tsx", CHILD], {
            env: { ...process.env, BENCH_SCALE_HOSTS: String(hosts), BENCH_SCALE_KEY: keyPath },
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
    } finally {
        await fs.rm(dir, { recursive: true, force: true });
    }
    const rows: ScaleRow[] = plan.scaleSizes.map((hosts) => {
        const reports = collected.get(hosts) ?? [];
        const samples = {
            wallSeconds: reports.map((r) => round(r.wallSeconds, 3)),
            programSeconds: reports.map((r) => round(r.programSeconds, 3)),
            peakRssMiB: reports.map((r) => round(r.maxRssMiB, 1)),
        };
        return {
            hosts,
            resources: reports[0]?.resources ?? 0,
            wallSeconds: round(median(samples.wallSeconds), 3),
            programSeconds: round(median(samples.programSeconds), 3),
            peakRssMiB: round(median(samples.peakRssMiB), 1),
            samples,
        };
    });
    const large = Math.max(...plan.scaleSizes);
    const small = large / 10;
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
    const targets = [
        checkTarget(
            "scale.linearity",
            `program under mocks: evaluation time t(${large}) / t(${small})`,
            linearity.programRatio,
            11,
            "ratio",
            () =>
                `Time grows faster than the host count: some per-host work depends on the number of hosts (e.g. lists of all ` +
                `hosts built for every host). Building such lists once per stack would make it linear.`,
        ),
        checkTarget(
            "scale.wall",
            `program under mocks, ${large} hosts: wall time of the process`,
            largeRow.wallSeconds,
            15,
            "s",
            () =>
                `${largeRow.resources} resources take ${perResourceMs} ms each. The time goes to the Pulumi runtime, not to this ` +
                `program's code: every output and resource registration makes a "debuggable" promise that captures a stack ` +
                `trace (new Error().stack), and with TypeScript source maps on (tsx here, ts-node under pulumi) every trace is ` +
                `source-mapped; with thousands of resources that dominates. Fewer outputs per resource (fewer apply/all chains ` +
                `per host) or evaluating compiled JavaScript without source maps would close it.`,
        ),
        checkTarget(
            "scale.memory",
            `program under mocks, ${large} hosts: peak RSS`,
            largeRow.peakRssMiB,
            1536,
            "MiB",
            () =>
                `About ${round((largeRow.peakRssMiB - smallRow.peakRssMiB) / (largeRow.resources - smallRow.resources) * 1024, 0)} KiB per resource: ` +
                `each registration keeps its inputs, the captured stack traces of its promises and the mocks' copies of its state. ` +
                `Fewer outputs per resource would close it.`,
        ),
    ];
    return { repetitions: plan.scaleRepetitions, rows, linearity, targets };
}
