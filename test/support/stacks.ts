/**
 * Stack files as test input: list `stacks/Pulumi.<stack>.yaml`, and turn one into the config
 * map the mock recorder takes (namespace stripped).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse } from "yaml";
import { recordCanned, type Recording } from "./mock-recorder";

export const PROJECT_DIR = path.resolve(__dirname, "..", "..");
export const STACKS_DIR = path.join(PROJECT_DIR, "stacks");

/** Names of every stack in stacks/. */
export function stackNames(): string[] {
    return fs
        .readdirSync(STACKS_DIR)
        .map((file) => /^Pulumi\.(.+)\.yaml$/.exec(file)?.[1])
        .filter((name): name is string => name !== undefined)
        .sort();
}

/** The `replicated:*` config of a stack file, namespace stripped. */
export function readStackConfig(stack: string): Record<string, unknown> {
    const text = fs.readFileSync(path.join(STACKS_DIR, `Pulumi.${stack}.yaml`), "utf8");
    const doc = (parse(text) ?? {}) as { config?: Record<string, unknown> };
    const config: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(doc.config ?? {})) {
        if (key.startsWith("replicated:")) {
            config[key.slice("replicated:".length)] = value;
        }
    }
    return config;
}

/**
 * A stand-in private key file. Stack files point at operator key files (~/.ssh/...) that do not
 * exist on a test machine; the unit tier swaps in this file so the program can be evaluated.
 * Its path is fixed, so identical configs stay identical across test processes (and cacheable).
 */
export function fixtureKeyFile(): string {
    const dir = path.join(os.tmpdir(), "replicated-unit-fixture");
    const file = path.join(dir, "id_ed25519");
    if (!fs.existsSync(file)) {
        fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
        const staging = `${file}.${process.pid}`;
        fs.writeFileSync(staging, "-----BEGIN OPENSSH PRIVATE KEY-----\nunit-test-fixture\n-----END OPENSSH PRIVATE KEY-----\n", {
            mode: 0o600,
        });
        fs.renameSync(staging, file);
    }
    return file;
}

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
