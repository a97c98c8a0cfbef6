/**
 * One measurement of the scale benchmark, in its own process: evaluate the program for
 * BENCH_SCALE_HOSTS hosts under Pulumi mocks (canned outputs, as the unit tier does) and print
 * one JSON line: resources registered, seconds of the evaluation, peak RSS of this process.
 *
 * BENCH_SCALE_DIAGNOSE=no-stack-capture is a diagnostic, not a figure of the program: the Pulumi
 * SDK's debuggablePromise (one per output of every resource) captures `new Error().stack` each
 * time; this mode runs it with Error.stackTraceLimit 0, everything else unchanged, to show what
 * that capture costs.
 */
import { PerformanceObserver } from "node:perf_hooks";
import { cannedResolver } from "../tools/offline/host-model";
import { recordProgram } from "../tools/offline/recorder";
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

async function main(): Promise<void> {
    const hosts = Number(process.env.BENCH_SCALE_HOSTS);
    const keyPath = process.env.BENCH_SCALE_KEY ?? "";
    const config = scaleConfig(hosts, keyPath);
    const diagnose = process.env.BENCH_SCALE_DIAGNOSE;
    if (diagnose === "no-stack-capture") {
        disableSdkStackCapture();
    } else if (diagnose) {
        throw new Error(`unknown BENCH_SCALE_DIAGNOSE ${diagnose}; the only mode is no-stack-capture`);
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
    const recording = await recordProgram({ stack: "bench-scale", config, resolve: cannedResolver });
    const programSeconds = (performance.now() - started) / 1000;
    await new Promise((resolve) => setImmediate(resolve));
    for (const entry of gc.takeRecords()) {
        gcMs += entry.duration;
    }
    gc.disconnect();
    const exported = (recording.outputs.hosts ?? {}) as Record<string, unknown>;
    if (Object.keys(exported).length !== hosts) {
        throw new Error(`the program exported ${Object.keys(exported).length} hosts, expected ${hosts}`);
    }
    process.stdout.write(
        `${JSON.stringify({
            hosts,
            resources: recording.resources.length,
            programSeconds,
            gcSeconds: gcMs / 1000,
            // KiB on Linux: the peak resident set of this whole process (loader thread included).
            maxRssMiB: process.resourceUsage().maxRSS / 1024,
        })}\n`,
    );
}

main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
});
