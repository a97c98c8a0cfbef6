/**
 * One evaluation for plan-diff: the program recorded under mocks, as plain data.
 *
 * Outputs the program reads are modelled, not fetched: host scripts report what they print on a
 * converged host (test/support/canned-outputs), and a RemoteImage's imageId is derived from its
 * image name, so a new tag shows up in every container that uses the image, as on `pulumi up`.
 */
import { createHash } from "node:crypto";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { cannedResolver } from "../test/support/canned-outputs";
import { recordProgramQueued, type Resolver } from "../test/support/mock-recorder";
import type { RecordingData } from "./plan-diff-core";
import { REMOTE_IMAGE } from "./replace-semantics";

/** Canned host script outputs, plus an image id per image name. */
export const modelledResolver: Resolver = async (resource) => {
    const canned = await cannedResolver(resource);
    if (resource.type === REMOTE_IMAGE && typeof resource.inputs.name === "string") {
        const name = resource.inputs.name;
        const digest = createHash("sha256").update(name).digest("hex");
        return { imageId: `sha256:${digest}`, repoDigest: `${name.replace(/:[^/:]+$/, "")}@sha256:${digest}`, ...(canned ?? {}) };
    }
    return canned;
};

/** Whether a value holds a secret Output anywhere (the recording resolves outputs to plain values). */
async function holdsSecret(value: unknown): Promise<boolean> {
    if (pulumi.Output.isInstance(value)) {
        return pulumi.isSecret(value);
    }
    if (value !== null && typeof value === "object") {
        for (const child of Object.values(value as Record<string, unknown>)) {
            if (await holdsSecret(child)) {
                return true;
            }
        }
    }
    return false;
}

/** What plan-diff compares: the recording, plus the names of stack outputs that are secret. */
export interface DiffRecordRequest {
    readonly stack: string;
    readonly config: Record<string, unknown>;
    readonly secretKeys?: readonly string[];
}

/**
 * Evaluate the program once for `request` in this process (queued behind other evaluations:
 * the Pulumi runtime is process-global) and return plain data.
 */
export async function recordForDiff(request: DiffRecordRequest): Promise<RecordingData> {
    const secretOutputs: string[] = [];
    const program = async () => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const index = require(path.join(__dirname, "..", "index.ts")) as () => unknown;
        const outputs = ((await index()) ?? {}) as Record<string, unknown>;
        for (const [name, value] of Object.entries(outputs)) {
            if (await holdsSecret(value)) {
                secretOutputs.push(name);
            }
        }
        return outputs;
    };
    const recording = await recordProgramQueued({ ...request, resolve: modelledResolver, program });
    return JSON.parse(JSON.stringify({ resources: recording.resources, outputs: recording.outputs, secretOutputs })) as RecordingData;
}
