/**
 * The evaluation thread's side (see ./evaluation-thread.ts): each request is the stack program
 * recorded under mocks with the host model it names, one after another, answered as plain data.
 *
 * An unhandled rejection while a program runs fails that evaluation with its message at once, as
 * the SDK's run entry logs it and ends the run (pulumi/pulumi sdk/nodejs/cmd/run/run.ts,
 * `uncaughtHandler`); the reply says the thread is finished, since this runtime still waits on the
 * input that failed.
 */
import * as path from "node:path";
import { parentPort } from "node:worker_threads";
import * as pulumi from "@pulumi/pulumi";
import type { ThreadEvaluation, ThreadReply } from "./evaluation-thread";
import { cannedResolver, modelledResolver } from "./host-model";
import { recordProgram, type RecordingData } from "./recorder";

const PROGRAM = path.join(__dirname, "..", "..", "index.ts");

const port = parentPort;
if (port === null) {
    throw new Error("evaluation-worker.ts runs as the evaluation thread (see ./evaluation-thread.ts), not as a program");
}

/** The request being evaluated, until it is answered. */
let current: number | undefined;

function reply(message: ThreadReply): void {
    if (current !== message.id) {
        return;
    }
    current = undefined;
    try {
        port?.postMessage(message);
    } catch (err) {
        // A value the structured clone cannot copy: the evaluation fails with why, the thread goes on.
        port?.postMessage({ id: message.id, error: { name: "Error", message: `the recording cannot be handed back: ${String(err)}` }, fatal: false });
    }
}

process.on("unhandledRejection", (reason) => {
    if (current === undefined) {
        // No evaluation to carry it: the thread ends, and the calling thread starts another.
        throw reason;
    }
    const error = reason instanceof Error ? reason : new Error(String(reason));
    reply({ id: current, error: { name: error.name, message: error.message }, fatal: true });
});

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

/** The recording of `request` as plain data: what crosses to the calling thread (copied by its structured clone). */
async function evaluate(request: ThreadEvaluation): Promise<RecordingData> {
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
    const recording = await recordProgram({
        stack: request.stack,
        project: request.project,
        config: request.config,
        secretKeys: request.secretKeys,
        preview: request.preview,
        resolve: request.hostModel === "canned" ? cannedResolver : modelledResolver,
        program,
        sdkStackTraces: false,
    });
    return { resources: recording.resources, outputs: recording.outputs, secretOutputs };
}

// One request at a time: the calling thread sends the next once this one is answered.
port.on("message", (message: { id: number; request: ThreadEvaluation }) => {
    current = message.id;
    evaluate(message.request).then(
        (data) => reply({ id: message.id, data }),
        (err: unknown) => {
            const error = err instanceof Error ? err : new Error(String(err));
            reply({ id: message.id, error: { name: error.name, message: error.message }, fatal: false });
        },
    );
});
