/**
 * One measurement of the scale benchmark, in its own process, printed as one JSON line:
 * resources registered, seconds of the evaluation, peak RSS of this process.
 *
 * BENCH_SCALE_MODE selects what is evaluated under Pulumi mocks (canned host outputs, as the unit
 * tier does):
 *   program  (default) the program for BENCH_SCALE_HOSTS hosts; with BENCH_SCALE_RECORDING set,
 *            its recording is written there afterwards (after the peak RSS is taken)
 *   floor    the SDK floor (bench/lib/sdk-floor.ts) for the recording in BENCH_SCALE_RECORDING:
 *            the same resources registered by a trivial program; the process checks that it
 *            registered the same resources with the same inputs
 *
 * BENCH_SCALE_DIAGNOSE=no-stack-capture is a diagnostic, not a figure of the program: the Pulumi
 * SDK's debuggablePromise (one per output of every resource) captures `new Error().stack` each
 * time; this mode runs it with Error.stackTraceLimit 0, everything else unchanged, to show what
 * that capture costs.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { PerformanceObserver } from "node:perf_hooks";
import { floorProgram, parseInterned } from "./lib/sdk-floor";
import { cannedResolver } from "../tools/offline/host-model";
import { recordProgram, type RecordedResource, type Recording } from "../tools/offline/recorder";
import { scaleConfig } from "./scale-config";

function disableSdkStackCapture(): void {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const debuggable = require("@pulumi/pulumi/runtime/debuggable") as { debuggablePromise: (p: unknown, ctx: unknown) => unknown };
    const original = debuggable.debuggablePromise;
    // The SDK's modules call it through the exports object, so replacing the export reaches them.
    debuggable.debuggablePromise = (p, ctx) => {
        const limit = Error.stackTraceLimit;
        Error.stackTraceLimit = 0;
        try {
            return original(p, ctx);
        } finally {
            Error.stackTraceLimit = limit;
        }
    };
}

/** What identifies a registration and its size, to compare the floor with the program. */
function shapeOf(resources: readonly RecordedResource[]): string[] {
    return resources.map((r) => `${r.type}::${r.name}::${r.parent ?? ""}::${JSON.stringify(r.inputs).length}::${r.secretPaths.join(",")}`).sort();
}

async function main(): Promise<void> {
    const hosts = Number(process.env.BENCH_SCALE_HOSTS);
    const keyPath = process.env.BENCH_SCALE_KEY ?? "";
    const mode = process.env.BENCH_SCALE_MODE || "program";
    const recordingFile = process.env.BENCH_SCALE_RECORDING ?? "";
    const config = scaleConfig(hosts, keyPath);
    const diagnose = process.env.BENCH_SCALE_DIAGNOSE;
    if (diagnose === "no-stack-capture") {
        disableSdkStackCapture();
    } else if (diagnose) {
        throw new Error(`unknown BENCH_SCALE_DIAGNOSE ${diagnose}; the only mode is no-stack-capture`);
    }
    if (mode !== "program" && mode !== "floor") {
        throw new Error(`unknown BENCH_SCALE_MODE ${mode}; use program or floor`);
    }
    let program: (() => unknown) | undefined;
    let expected: RecordedResource[] | undefined;
    if (mode === "program") {
        // Loaded before the clock starts, as the floor's modules are: both sides time registering, not loading.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const main = require(path.join(__dirname, "..", "index.ts")) as () => unknown;
        program = () => main();
    } else {
        if (!recordingFile) {
            throw new Error("the floor needs BENCH_SCALE_RECORDING, the program's recording");
        }
        expected = parseInterned<{ resources: RecordedResource[] }>(fs.readFileSync(recordingFile, "utf8")).resources;
        program = floorProgram({ resources: expected });
    }
    // Garbage collection time during the evaluation, to tell heap growth from per-host work.
    let gcMs = 0;
    const gc = new PerformanceObserver((list) => {
        for (const entry of list.getEntries()) {
            gcMs += entry.duration;
        }
    });
    gc.observe({ entryTypes: ["gc"] });
    const started = performance.now();
    const recording: Recording = await recordProgram({ stack: "bench-scale", config, resolve: cannedResolver, ...(program !== undefined ? { program } : {}) });
    const programSeconds = (performance.now() - started) / 1000;
    await new Promise((resolve) => setImmediate(resolve));
    for (const entry of gc.takeRecords()) {
        gcMs += entry.duration;
    }
    gc.disconnect();
    // KiB on Linux: the peak resident set of this whole process (loader thread included), taken
    // before anything is written.
    const maxRssMiB = process.resourceUsage().maxRSS / 1024;
    if (mode === "program") {
        const exported = (recording.outputs.hosts ?? {}) as Record<string, unknown>;
        if (Object.keys(exported).length !== hosts) {
            throw new Error(`the program exported ${Object.keys(exported).length} hosts, expected ${hosts}`);
        }
        if (recordingFile) {
            fs.writeFileSync(recordingFile, JSON.stringify({ resources: recording.resources }));
        }
    } else {
        const want = shapeOf((expected ?? []).filter((r) => r.type !== "pulumi:pulumi:Stack"));
        const got = shapeOf(recording.resources.filter((r) => r.type !== "pulumi:pulumi:Stack"));
        const missing = want.filter((entry, index) => got[index] !== entry);
        if (want.length !== got.length || missing.length > 0) {
            throw new Error(`the floor registered ${got.length} resources, the program ${want.length}; first difference: ${missing[0] ?? "(count)"}`);
        }
    }
    process.stdout.write(
        `${JSON.stringify({
            mode,
            hosts,
            resources: recording.resources.length,
            programSeconds,
            gcSeconds: gcMs / 1000,
            maxRssMiB,
        })}\n`,
    );
}

main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
});
