/**
 * The evaluation thread's side (see ./evaluation-thread.ts): each request is the stack program
 * recorded under mocks with the host model it names, one after another, answered as plain data.
 *
 * An unhandled rejection while a program runs fails that evaluation with its message, as the
 * SDK's run entry turns one into a failed update (pulumi/pulumi sdk/nodejs/cmd/run/run.ts,
 * `uncaughtHandler`).
 */
import * as path from "node:path";
import { parentPort } from "node:worker_threads";
import * as pulumi from "@pulumi/pulumi";
import type { ThreadEvaluation, ThreadReply } from "./evaluation-thread";
import { cannedResolver, modelledResolver } from "./host-model";
import { recordProgram, type RecordingData } from "./recorder";

const PROGRAM = path.join(__dirname, "..", "..", "index.ts");

/** Rejections nothing handled while the current evaluation ran; undefined between evaluations. */
let unhandled: unknown[] | undefined;
process.on("unhandledRejection", (reason) => {
    if (unhandled !== undefined) {
        unhandled.push(reason);
        return;
    }
    // Nothing is evaluating, so no request can carry it: the thread ends, failing what is pending.
    throw reason;
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

function messageOf(reason: unknown): string {
    return reason instanceof Error ? reason.message : String(reason);
}

/** The recording of `request` as JSON text: what crosses to the calling thread, and all a caller keeps. */
async function evaluate(request: ThreadEvaluation): Promise<string> {
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
    unhandled = [];
    try {
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
        // A rejection reported on the last turn of the evaluation is still the evaluation's.
        await new Promise((resolve) => setImmediate(resolve));
        if (unhandled.length > 0) {
            throw new Error(messageOf(unhandled[0]));
        }
        const data: RecordingData = { resources: recording.resources, outputs: recording.outputs, secretOutputs };
        return JSON.stringify(data);
    } finally {
        unhandled = undefined;
    }
}

const port = parentPort;
if (port === null) {
    throw new Error("evaluation-worker.ts runs as the evaluation thread (see ./evaluation-thread.ts), not as a program");
}

/** Requests in arrival order: one recording at a time per thread. */
let queue: Promise<void> = Promise.resolve();
port.on("message", (message: { id: number; request: ThreadEvaluation }) => {
    queue = queue.then(async () => {
        let reply: ThreadReply;
        try {
            reply = { id: message.id, text: await evaluate(message.request) };
        } catch (err) {
            const error = err instanceof Error ? err : new Error(String(err));
            reply = { id: message.id, error: { name: error.name, message: error.message } };
        }
        port.postMessage(reply);
    });
});
