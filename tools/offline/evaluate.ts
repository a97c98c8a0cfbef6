/**
 * One offline evaluation of the stack program, as plan-diff and fleet use it: the program
 * recorded under mocks with the modelled host outputs (./host-model), returned as plain data.
 *
 * Evaluations run one after another in this process (the Pulumi runtime is process-global), with
 * the SDK's per-promise stack traces off: they are only read by its promise-leak report, and
 * capturing them is most of an evaluation's time.
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { modelledResolver } from "./host-model";
import { recordProgramQueued, type RecordingData } from "./recorder";

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

/** What one evaluation needs: the stack's name and its config (namespace stripped). */
export interface EvaluationRequest {
    readonly stack: string;
    readonly config: Record<string, unknown>;
    /** Keys (without namespace) stored as secrets in the stack file. */
    readonly secretKeys?: readonly string[];
}

const PROGRAM = path.join(__dirname, "..", "..", "index.ts");

/**
 * Evaluate the program once for `request` (queued behind other evaluations in this process) and
 * return plain data: the recorded resources, the stack outputs and which outputs are secret.
 */
export async function evaluateOffline(request: EvaluationRequest): Promise<RecordingData> {
    const secretOutputs: string[] = [];
    const program = async () => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const index = require(PROGRAM) as () => unknown;
        const outputs = ((await index()) ?? {}) as Record<string, unknown>;
        for (const [name, value] of Object.entries(outputs)) {
            if (await holdsSecret(value)) {
                secretOutputs.push(name);
            }
        }
        return outputs;
    };
    const recording = await recordProgramQueued({ ...request, resolve: modelledResolver, program, sdkStackTraces: false });
    return JSON.parse(JSON.stringify({ resources: recording.resources, outputs: recording.outputs, secretOutputs })) as RecordingData;
}
