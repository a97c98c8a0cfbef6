/**
 * Offline evaluations on a thread of their own: one worker thread per process loads the SDK and
 * the program and evaluates requests one after another (the Pulumi runtime is global to the
 * thread, as it is to a process), while the calling thread goes on: fleet diffs and renders one
 * stack while the next is evaluated, and the unit tier's tests run beside its recordings. A
 * request and its result are plain data (what ./evaluation-worker.ts receives and returns).
 *
 * An evaluation that fails the way a real run exits (an unhandled rejection: a resource input
 * that never resolves) leaves that thread's runtime waiting forever, as the process of a real run
 * would be, so the thread is ended and the next request gets a new one.
 *
 * The worker holds the process open only while a request is pending.
 */
import * as path from "node:path";
import { Worker } from "node:worker_threads";
import type { RecordOptions, RecordingData } from "./recorder";

/** The outputs each resource gets: the unit tier's canned ones, or plan-diff's model (./host-model). */
export type HostModel = "canned" | "modelled";

/** A recording of the stack program as plain data: the recorder's options that cross a thread, and the host model. */
export interface ThreadEvaluation extends Pick<RecordOptions, "stack" | "project" | "config" | "secretKeys" | "preview"> {
    readonly hostModel: HostModel;
}

/**
 * What the worker answers: the recording (copied across by the structured clone, which is cheaper
 * for the evaluating thread than JSON text), or the evaluation's error; `fatal` when the thread
 * cannot evaluate anything after it.
 */
export type ThreadReply =
    | { readonly id: number; readonly data: RecordingData }
    | { readonly id: number; readonly error: { readonly name: string; readonly message: string }; readonly fatal: boolean };

const WORKER_MODULE = path.join(__dirname, "evaluation-worker.ts");

interface Queued {
    readonly id: number;
    readonly request: ThreadEvaluation;
    readonly resolve: (data: RecordingData) => void;
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
    /** Requests not yet answered, in order; the first is the one the worker has, once sent. */
    private readonly queue: Queued[] = [];
    private sent = false;
    private nextId = 1;

    evaluate(request: ThreadEvaluation): Promise<RecordingData> {
        return new Promise<RecordingData>((resolve, reject) => {
            this.queue.push({ id: this.nextId++, request, resolve, reject });
            this.pump();
        });
    }

    /** Hand the next request to the worker (starting one when there is none). */
    private pump(): void {
        if (this.sent || this.queue.length === 0) {
            if (this.queue.length === 0) {
                this.worker?.unref();
            }
            return;
        }
        const worker = this.started();
        worker.ref();
        const head = this.queue[0];
        this.sent = true;
        worker.postMessage({ id: head.id, request: head.request });
    }

    private started(): Worker {
        if (this.worker !== undefined) {
            return this.worker;
        }
        // The worker loads TypeScript through tsx's require hook, as the tools and tests run under tsx.
        const tsx = require.resolve("tsx/cjs");
        const worker = new Worker(`require(${JSON.stringify(tsx)}); require(${JSON.stringify(WORKER_MODULE)});`, { eval: true });
        worker.on("message", (reply: ThreadReply) => this.settle(worker, reply));
        worker.on("error", (error) => this.lost(worker, error));
        worker.on("exit", (code) => this.lost(worker, new Error(`the evaluation thread exited with status ${code}`)));
        this.worker = worker;
        return worker;
    }

    private settle(worker: Worker, reply: ThreadReply): void {
        const head = this.queue[0];
        if (head === undefined || head.id !== reply.id) {
            return;
        }
        this.queue.shift();
        this.sent = false;
        if ("error" in reply) {
            head.reject(evaluationError(reply.error));
            if (reply.fatal) {
                // Its runtime still waits on the failed evaluation: end it; the next request starts another.
                this.worker = undefined;
                void worker.terminate();
            }
        } else {
            head.resolve(reply.data);
        }
        this.pump();
    }

    /** The thread ended or failed: the request it held fails with why, the rest go to a new thread. */
    private lost(worker: Worker, error: Error): void {
        if (this.worker !== worker) {
            return;
        }
        this.worker = undefined;
        if (this.sent) {
            this.sent = false;
            this.queue.shift()?.reject(error);
        }
        this.pump();
    }
}

const thread = new EvaluationThread();

/**
 * Evaluate the stack program on this process's evaluation thread, queued behind earlier requests.
 * The recording is plain JSON data (what a JSON round trip keeps: unknown inputs are absent).
 */
export async function evaluateOnThread(request: ThreadEvaluation): Promise<RecordingData> {
    return JSON.parse(await evaluationTextOnThread(request)) as RecordingData;
}

/** {@link evaluateOnThread}, the recording as JSON text (for callers that keep it and copy it). */
export async function evaluationTextOnThread(request: ThreadEvaluation): Promise<string> {
    return JSON.stringify(await thread.evaluate(request));
}
