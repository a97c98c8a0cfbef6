/**
 * Stack files as test input: the stack reading of the offline evaluation engine
 * (tools/offline/stacks.ts), re-exported, plus helpers that evaluate a stack for a test.
 */
import { standInKeyFile, readStackConfig } from "../../tools/offline/stacks";
import { recordCanned, type Recording } from "./mock-recorder";

export { PROJECT_DIR, STACKS_DIR, readStackConfig, stackNames } from "../../tools/offline/stacks";

/** The stand-in private key file the unit tier swaps in for a stack's key file. */
export const fixtureKeyFile = standInKeyFile;

/** A stack's config with its key file replaced by {@link fixtureKeyFile} (when it uses a path). */
export function stackConfigForTest(stack: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
    const config = { ...readStackConfig(stack), ...overrides };
    if (config.sshPrivateKeyPath !== undefined) {
        config.sshPrivateKeyPath = fixtureKeyFile();
    }
    return config;
}

const stackRecordings = new Map<string, Promise<Recording>>();

/**
 * A stack's recording with canned host outputs, `overrides` applied to its config; memoised per
 * process, so the tests of one file share each evaluation. A failure surfaces where it is awaited.
 */
export function recordStack(stack: string, overrides: Record<string, unknown> = {}): Promise<Recording> {
    const key = `${stack} ${JSON.stringify(overrides)}`;
    let recording = stackRecordings.get(key);
    if (recording === undefined) {
        recording = recordCanned({ stack, config: stackConfigForTest(stack, overrides) });
        recording.catch(() => undefined);
        stackRecordings.set(key, recording);
    }
    return recording;
}
