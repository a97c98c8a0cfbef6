/**
 * One measurement of the scale benchmark, in its own process: evaluate the program for
 * BENCH_SCALE_HOSTS hosts under Pulumi mocks (canned outputs, as the unit tier does) and print
 * one JSON line: resources registered, seconds of the evaluation, peak RSS of this process.
 */
import { cannedResolver } from "../test/support/canned-outputs";
import { recordProgram } from "../test/support/mock-recorder";
import { scaleConfig } from "./scale-config";

async function main(): Promise<void> {
    const hosts = Number(process.env.BENCH_SCALE_HOSTS);
    const keyPath = process.env.BENCH_SCALE_KEY ?? "";
    const config = scaleConfig(hosts, keyPath);
    const started = performance.now();
    const recording = await recordProgram({ stack: "bench-scale", config, resolve: cannedResolver });
    const programSeconds = (performance.now() - started) / 1000;
    const exported = (recording.outputs.hosts ?? {}) as Record<string, unknown>;
    if (Object.keys(exported).length !== hosts) {
        throw new Error(`the program exported ${Object.keys(exported).length} hosts, expected ${hosts}`);
    }
    process.stdout.write(
        `${JSON.stringify({
            hosts,
            resources: recording.resources.length,
            programSeconds,
            // KiB on Linux: the peak resident set of this whole process (loader thread included).
            maxRssMiB: process.resourceUsage().maxRSS / 1024,
        })}\n`,
    );
}

main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
});
