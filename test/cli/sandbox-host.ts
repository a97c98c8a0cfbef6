/**
 * The cli tier's host: the developer sandbox (`npm run sandbox -- start`, a test host on
 * 127.0.0.1:2222 that stacks/Pulumi.dev.yaml targets). Before each up it builds the stand-in
 * images of that version into the dev stack's air-gap directory, as an operator copies tarballs
 * there; after an apply it checks that the stack's containers run the images of that version;
 * after destroy that they are gone. A sandbox the tier started is removed at the end; one that
 * was already running is left as it was found.
 */
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { recordCanned } from "../support/mock-recorder";
import { hostTierAvailability } from "../support/preflight";
import { PROJECT_DIR, readStackConfig } from "../support/stacks";
import { buildStandinImages, standinsFor } from "../support/standin-images";
import { attachToHost, docker, type TestHost } from "../support/testhost";
import { STACK, type HostFactory, type TierHost } from "./driver";

/** Container name of the sandbox (test/support/sandbox-cli.ts) and its client key. */
const SANDBOX_NAME = "replicated-sandbox";
const SANDBOX_KEY = path.join(PROJECT_DIR, ".sandbox", "id_ed25519");

function sandboxCli(command: "start" | "stop"): void {
    const result = spawnSync(process.execPath, ["--import", "tsx", path.join(PROJECT_DIR, "test", "support", "sandbox-cli.ts"), command], {
        cwd: PROJECT_DIR,
        encoding: "utf8",
        timeout: 15 * 60_000,
    });
    if (result.status !== 0) {
        throw new Error(`npm run sandbox -- ${command} failed (exit ${result.status}): ${result.stderr.trim()}`);
    }
}

/** What the dev stack at `version` loads and runs on the sandbox, read from the program under mocks. */
async function devStackPlan(version: string): Promise<{ images: string[]; containers: string[]; imagesDir: string }> {
    const config: Record<string, unknown> = { ...readStackConfig(STACK), version, sshPrivateKeyPath: SANDBOX_KEY };
    const recording = await recordCanned({ stack: STACK, config });
    const names = (type: string) => recording.resources.filter((r) => r.type === type).map((r) => String(r.inputs.name));
    const airgap = config.airgap as { imagesDir: string } | undefined;
    if (airgap === undefined) {
        throw new Error("the dev stack is expected to load its images the air-gap way (replicated:airgap)");
    }
    return { images: [...new Set(names("docker:index/remoteImage:RemoteImage"))], containers: names("docker:index/container:Container"), imagesDir: airgap.imagesDir };
}

async function containerStates(host: TestHost): Promise<Map<string, { state: string; image: string }>> {
    const result = await docker(host, ["ps", "--all", "--no-trunc", "--format", "{{.Names}}\t{{.State}}\t{{.ID}}"]);
    if (result.code !== 0) {
        throw new Error(`docker ps on the sandbox: ${result.stderr.trim()}`);
    }
    const states = new Map<string, { state: string; image: string }>();
    for (const line of result.stdout.split("\n").filter(Boolean)) {
        const [name, state, id] = line.split("\t");
        const image = await docker(host, ["inspect", "--format", "{{.Image}}", id]);
        states.set(name, { state, image: image.stdout.trim() });
    }
    return states;
}

/** The sandbox as the cli tier's host, or why this machine cannot run it. */
export const sandboxHost: HostFactory = async () => {
    const availability = await hostTierAvailability();
    if (!availability.ok) {
        return { skip: `the sandbox host needs root and Docker: ${availability.reason}` };
    }
    const before = await attachToHost(SANDBOX_NAME, SANDBOX_KEY).catch(() => undefined);
    sandboxCli("start");
    const attached = await attachToHost(SANDBOX_NAME, SANDBOX_KEY);
    if (attached?.running !== true) {
        throw new Error(`${SANDBOX_NAME} is not running after npm run sandbox -- start`);
    }
    const host = attached.host;
    const plans = new Map<string, Awaited<ReturnType<typeof devStackPlan>>>();
    const planOf = async (version: string) => {
        let plan = plans.get(version);
        if (plan === undefined) {
            plan = await devStackPlan(version);
            plans.set(version, plan);
        }
        return plan;
    };

    const tierHost: TierHost = {
        privateKeyPath: SANDBOX_KEY,
        async prepareVersion(version) {
            const plan = await planOf(version);
            await buildStandinImages(host, standinsFor(plan.images), plan.imagesDir);
        },
        async verify(state) {
            const states = await containerStates(host);
            if (state === "destroyed") {
                const plan = [...plans.values()].flatMap((p) => p.containers);
                const left = plan.filter((name) => states.has(name));
                if (left.length > 0) {
                    throw new Error(`after destroy the sandbox still has ${left.join(", ")}`);
                }
                return;
            }
            const plan = await planOf(state.applied);
            const imageIds = new Set<string>();
            for (const image of plan.images) {
                imageIds.add((await docker(host, ["image", "inspect", "--format", "{{.Id}}", image])).stdout.trim());
            }
            for (const name of plan.containers) {
                const found = states.get(name);
                if (found?.state !== "running") {
                    throw new Error(`after the apply of ${state.applied}, container ${name} is ${found?.state ?? "missing"} on the sandbox`);
                }
                if (!imageIds.has(found.image)) {
                    throw new Error(`container ${name} runs image ${found.image}, not one of version ${state.applied}`);
                }
            }
        },
        async dispose() {
            if (before === undefined) {
                sandboxCli("stop");
            }
        },
    };
    return tierHost;
};
