/**
 * Offline evaluations on a thread of their own: one worker thread per process loads the SDK and
 * the program and evaluates requests one after another (the Pulumi runtime is global to the
 * thread, as it is to a process), while the calling thread goes on: fleet diffs and renders one
 * stack while the next is evaluated, and the unit tier's tests run beside its recordings. A
 * request and its result are plain data (what ./evaluation-worker.ts receives and returns).
 *
 * The worker holds the process open only while a request is pending.
 */
import * as path from "node:path";
import { Worker } from "node:worker_threads";
import type { RecordingData } from "./recorder";

/** The outputs each resource gets: the unit tier's canned ones, or plan-diff's model (./host-model). */
export type HostModel = "canned" | "modelled";

export interface ThreadEvaluation {
    readonly stack: string;
    readonly project?: string;
    /** Config without namespace; see RecordOptions.config. */
    readonly config: Record<string, unknown>;
    readonly secretKeys?: readonly string[];
    readonly preview?: boolean;
    readonly hostModel: HostModel;
}

/** What the worker answers: the recording as JSON text (see {@link RecordingData}), or the evaluation's error. */
export type ThreadReply = { readonly id: number; readonly text: string } | { readonly id: number; readonly error: { readonly name: string; readonly message: string } };

const WORKER_MODULE = path.join(__dirname, "evaluation-worker.ts");

interface Pending {
    readonly resolve: (text: string) => void;
    readonly reject: (error: Error) => void;
}

/** The worker's error as the caller sees it: same name and message (a stack trace would be the worker's). */
function evaluationError(error: { name: string; message: string }): Error {
    const rebuilt = new Error(error.message);
    rebuilt.name = error.name;
    return rebuilt;
}

class EvaluationThread {
    private worker: Worker | undefined;
    private readonly pending = new Map<number, Pending>();
    private nextId = 1;

    evaluate(request: ThreadEvaluation): Promise<string> {
        const worker = this.started();
        const id = this.nextId++;
        return new Promise<string>((resolve, reject) => {
            this.pending.set(id, { resolve, reject });
            worker.ref();
            worker.postMessage({ id, request });
        });
    }

    private started(): Worker {
        if (this.worker !== undefined) {
            return this.worker;
        }
        // The worker loads TypeScript through tsx's require hook, as the tools and tests run under tsx.
        const tsx = require.resolve("tsx/cjs");
        const worker = new Worker(`require(${JSON.stringify(tsx)}); require(${JSON.stringify(WORKER_MODULE)});`, { eval: true });
        worker.on("message", (reply: ThreadReply) => this.settle(reply));
        worker.on("error", (error) => this.fail(error));
        worker.on("exit", (code) => this.fail(new Error(`the evaluation thread exited with status ${code}`)));
        worker.unref();
        this.worker = worker;
        return worker;
    }

    private settle(reply: ThreadReply): void {
        const waiting = this.pending.get(reply.id);
        this.pending.delete(reply.id);
        if (this.pending.size === 0) {
            this.worker?.unref();
        }
        if (waiting === undefined) {
            return;
        }
        if ("error" in reply) {
            waiting.reject(evaluationError(reply.error));
        } else {
            waiting.resolve(reply.text);
        }
    }

    /** The thread is gone: every pending request fails with why, and the next request starts a new one. */
    private fail(error: Error): void {
        this.worker = undefined;
        const waiting = [...this.pending.values()];
        this.pending.clear();
        for (const request of waiting) {
            request.reject(error);
        }
    }
}

const thread = new EvaluationThread();

/** Evaluate the stack program on this process's evaluation thread, queued behind earlier requests. */
export async function evaluateOnThread(request: ThreadEvaluation): Promise<RecordingData> {
    return JSON.parse(await thread.evaluate(request)) as RecordingData;
}

/** {@link evaluateOnThread}, the recording kept as the JSON text it arrives in (for callers that copy it). */
export function evaluationTextOnThread(request: ThreadEvaluation): Promise<string> {
    return thread.evaluate(request);
}
