/**
 * Component tests: one component (or the few a test needs side by side) constructed with plain
 * args under one `setMocks`, recorded with the canned host outputs. Queued behind any other
 * recording of this process (the Pulumi runtime is process-global).
 */
import { cannedResolver } from "../../tools/offline/host-model";
import { recordProgramQueued, type RecordOptions, type Recording } from "../../tools/offline/recorder";

export interface ComponentRecordOptions {
    /** Stack name the URNs carry (default "unit"). */
    readonly stack?: string;
    /** Project name the URNs carry (default "replicated"). */
    readonly project?: string;
    /** Outputs per resource instead of the canned ones; return undefined to fall back to them. */
    readonly resolve?: RecordOptions["resolve"];
    readonly preview?: boolean;
}

/** Record what `build` registers; its return value becomes the recording's outputs. */
export function recordComponent(build: () => unknown, options: ComponentRecordOptions = {}): Promise<Recording> {
    const override = options.resolve;
    return recordProgramQueued({
        stack: options.stack ?? "unit",
        project: options.project,
        config: {},
        preview: options.preview,
        sdkStackTraces: false,
        resolve: override === undefined ? cannedResolver : async (resource) => (await override(resource)) ?? cannedResolver(resource),
        program: build,
    });
}
