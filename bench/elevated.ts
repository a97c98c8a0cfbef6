/**
 * Benchmark 4: overhead of an elevated operation. The program's support-bundle command
 * (elevated-run + ops/support-bundle.sh, a confined root helper container, the generated daemon
 * token on stdin for redaction by value) over an empty log set vs a bare
 * `docker run --rm <same image> true`. Both timed on the host itself.
 */
import type { TestHost } from "../test/support/testhost";
import { buildStandinImages, standinsFor } from "../test/support/standin-images";
import { BUNDLE_REQUEST, type ProgramCommands } from "./lib/program";
import { mustRun, runTimedOnHost } from "./lib/remote";
import { checkTarget, formatSeconds, ratio, side, type BenchPlan, type Side, type TargetCheck } from "./lib/stats";

const IMAGES_DIR = "/root/bench-images";
const SAVED_LOGS = "/var/log.bench-saved";

export interface ElevatedResult {
    readonly helperImage: string;
    readonly repetitions: number;
    readonly sides: {
        /** The recorded support-bundle command, start to summary line. */
        readonly supportBundle: Side;
        /** `docker run --rm <helper image> true`. */
        readonly dockerRun: Side;
        /** One `docker ps -q` (the cost of a docker CLI call here, for the note). */
        readonly dockerCliCall: Side;
    };
    /** Files in the last bundle (README and the host-collected docker info/ps, journal note). */
    readonly bundleFiles: number;
    readonly ratios: { readonly supportBundleVsDockerRun: number };
    readonly targets: TargetCheck[];
}

export async function benchElevated(
    host: TestHost,
    commands: ProgramCommands,
    plan: BenchPlan,
    log: (line: string) => void,
): Promise<ElevatedResult> {
    const image = commands.helperImage;
    // The helper image, made and loaded the air-gap way (busybox stand-in, as the engine tier uses).
    await buildStandinImages(host, standinsFor([image]), IMAGES_DIR);
    await mustRun(host, "loading the helper image", `set -e; for f in ${IMAGES_DIR}/*.tar; do docker load -i "$f" >/dev/null; done; docker image inspect -- '${image}' >/dev/null`);

    // An empty log set: the host's own logs move aside for the run and come back afterwards.
    await mustRun(host, "moving /var/log aside", `set -e; mkdir -p ${SAVED_LOGS}; find /var/log -mindepth 1 -maxdepth 1 -exec mv -t ${SAVED_LOGS} -- {} +`);
    const reset = [
        "set -e",
        "find /var/log -mindepth 1 -maxdepth 1 -exec rm -rf -- {} +",
        `rm -f -- /var/lib/replicated-elevated/support-bundle/${BUNDLE_REQUEST}.json /var/lib/replicated/support-bundles/${BUNDLE_REQUEST}.tar.gz`,
    ].join("\n");
    const samples = { supportBundle: [] as number[], dockerRun: [] as number[], dockerCliCall: [] as number[] };
    let bundleFiles = 0;
    const bundle = commands.supportBundle;
    try {
        // Untimed warm-up of both sides.
        await mustRun(host, "resetting", reset);
        await runTimedOnHost(host, "support bundle (warm-up)", bundle.create, { user: bundle.user, stdin: bundle.stdin });
        await runTimedOnHost(host, "docker run (warm-up)", `docker run --rm -- '${image}' true`);

        for (let rep = 1; rep <= plan.elevatedRepetitions; rep++) {
            await mustRun(host, "resetting", reset);
            const ours = await runTimedOnHost(host, "support bundle", bundle.create, { user: bundle.user, stdin: bundle.stdin });
            const summary = JSON.parse(ours.result.stdout.trim().split("\n").pop() ?? "{}") as Record<string, unknown>;
            if (summary.operation !== "support-bundle" || summary.changed !== 1 || summary.alreadyDone !== undefined) {
                throw new Error(`the support bundle did not run: ${ours.result.stdout.trim()}`);
            }
            bundleFiles = Number(summary.files);
            const bare = await runTimedOnHost(host, "docker run", `docker run --rm -- '${image}' true`);
            const cli = await runTimedOnHost(host, "docker ps", "docker ps -q >/dev/null");
            samples.supportBundle.push(ours.hostSeconds);
            samples.dockerRun.push(bare.hostSeconds);
            samples.dockerCliCall.push(cli.hostSeconds);
            log(
                `  elevated ${rep}/${plan.elevatedRepetitions}: support bundle ${formatSeconds(ours.hostSeconds)}, ` +
                    `docker run --rm ${formatSeconds(bare.hostSeconds)}`,
            );
        }
    } finally {
        await mustRun(
            host,
            "restoring /var/log",
            `set -e; find /var/log -mindepth 1 -maxdepth 1 -exec rm -rf -- {} +; find ${SAVED_LOGS} -mindepth 1 -maxdepth 1 -exec mv -t /var/log -- {} +; rmdir ${SAVED_LOGS}`,
        );
    }

    const sides = { supportBundle: side(samples.supportBundle), dockerRun: side(samples.dockerRun), dockerCliCall: side(samples.dockerCliCall) };
    const ratios = { supportBundleVsDockerRun: ratio(sides.supportBundle.median, sides.dockerRun.median) };
    const targets = [
        checkTarget(
            "elevated.supportBundle.vsDockerRun",
            "support bundle over an empty log set / docker run --rm <helper> true",
            ratios.supportBundleVsDockerRun,
            1.5,
            "ratio",
            () =>
                `Besides its one container, elevated-run makes five docker CLI calls for a bundle (one image inspect that also ` +
                `answers for the engine, docker info and docker ps for the bundle, one inspect for all five Replicated containers, ` +
                `docker run; plus a logs call per existing container), each about ${formatSeconds(sides.dockerCliCall.median)} here, and ` +
                `the bundle itself (redaction, tar, gzip, sha256) runs in the container. What is left to trim: the host material ` +
                `(docker info, docker ps) could be collected while the container starts.`,
        ),
    ];
    return { helperImage: image, repetitions: plan.elevatedRepetitions, sides, bundleFiles, ratios, targets };
}
