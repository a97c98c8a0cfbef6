/**
 * One offline evaluation of the stack program, as plan-diff and fleet use it: the program
 * recorded under mocks with the modelled host outputs (./host-model), returned as plain data.
 *
 * Evaluations run on this process's evaluation thread (./evaluation-thread.ts), one after
 * another, with the SDK's per-promise stack traces off: they are only read by its promise-leak
 * report, and capturing them is most of an evaluation's time.
 */
import { evaluateOnThread } from "./evaluation-thread";
import type { RecordingData } from "./recorder";

/** What one evaluation needs: the stack's name and its config (namespace stripped). */
export interface EvaluationRequest {
    readonly stack: string;
    readonly config: Record<string, unknown>;
    /** Keys (without namespace) stored as secrets in the stack file. */
    readonly secretKeys?: readonly string[];
}

/**
 * Evaluate the program once for `request` (queued behind other evaluations of this process) and
 * return plain data: the recorded resources, the stack outputs and which outputs are secret.
 */
export function evaluateOffline(request: EvaluationRequest): Promise<RecordingData> {
    return evaluateOnThread({ ...request, hostModel: "modelled" });
}
