/**
 * The mock recorder of the offline evaluation engine (tools/offline/recorder.ts), re-exported
 * where the tests have always found it, plus {@link recordCanned}: the stack program recorded with
 * canned host outputs on the evaluation thread (tools/offline/evaluation-thread.ts), once per
 * process for each distinct set of options.
 */
import { evaluationTextOnThread } from "../../tools/offline/evaluation-thread";
import { makeRecording, type RecordOptions, type RecordedResource, type Recording } from "../../tools/offline/recorder";

export * from "../../tools/offline/recorder";

type RecordingText = string;
const recordings = new Map<string, Promise<RecordingText>>();

/**
 * Record the program with canned host outputs (tools/offline/host-model.ts) and return plain
 * data. Each distinct set of options is evaluated once per process (the unit tier runs every file
 * in one process, so files that evaluate the same stack share the evaluation); every caller gets
 * its own copy, so no test sees what another changed. The evaluation runs on the evaluation
 * thread, beside the tests of this one, and apart from the test runner's per-promise tracking.
 */
export async function recordCanned(options: Omit<RecordOptions, "resolve" | "program" | "sdkStackTraces" | "onRegister">): Promise<Recording> {
    const key = JSON.stringify(options);
    let text = recordings.get(key);
    if (text === undefined) {
        text = evaluationTextOnThread({ ...options, hostModel: "canned" });
        recordings.set(key, text);
    }
    const plain = JSON.parse(await text) as { resources: RecordedResource[]; outputs: Record<string, unknown> };
    return makeRecording(plain.resources, plain.outputs);
}
