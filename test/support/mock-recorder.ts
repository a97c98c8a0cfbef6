/**
 * The mock recorder of the offline evaluation engine (tools/offline/recorder.ts), re-exported
 * where the tests have always found it, plus {@link recordCanned}: recordings with canned host
 * outputs, cached on disk between test processes.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { cannedResolver } from "../../tools/offline/host-model";
import { makeRecording, recordProgramQueued, type RecordOptions, type RecordedResource, type Recording } from "../../tools/offline/recorder";

export * from "../../tools/offline/recorder";

const PROJECT_DIR = path.join(__dirname, "..", "..");

/** Files whose content decides what the program records (the cache key includes their hash). */
function programSourceHash(): string {
    const files: string[] = [path.join(PROJECT_DIR, "index.ts"), path.join(PROJECT_DIR, "package-lock.json")];
    const walk = (dir: string) => {
        for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
            const full = path.join(dir, entry.name);
            if (entry.isDirectory()) {
                walk(full);
            } else {
                files.push(full);
            }
        }
    };
    walk(path.join(PROJECT_DIR, "components"));
    walk(path.join(PROJECT_DIR, "tools", "offline"));
    const hash = crypto.createHash("sha256");
    for (const file of files.sort()) {
        hash.update(file).update("\0").update(fs.readFileSync(file)).update("\0");
    }
    return hash.digest("hex");
}

let sourceHash: string | undefined;

/**
 * Record the program with canned host outputs (tools/offline/host-model.ts) and return plain
 * data, e.g. to evaluate several configs in one test file. Recordings run one at a time in this
 * process (each resets the mocks and the config) and are cached in the OS temp directory by
 * (options, hash of the program's sources), so test files that evaluate the same stack share one
 * evaluation. RECORDING_CACHE=off disables the cache.
 */
export async function recordCanned(options: Omit<RecordOptions, "resolve" | "program">): Promise<Recording> {
    const cacheFile = recordingCacheFile(options);
    if (cacheFile !== undefined && fs.existsSync(cacheFile)) {
        const cached = JSON.parse(fs.readFileSync(cacheFile, "utf8")) as { resources: RecordedResource[]; outputs: Record<string, unknown> };
        return makeRecording(cached.resources, cached.outputs);
    }
    const recording = await recordProgramQueued({ ...options, resolve: cannedResolver });
    const text = JSON.stringify({ resources: recording.resources, outputs: recording.outputs });
    if (cacheFile !== undefined) {
        const staging = `${cacheFile}.${process.pid}.tmp`;
        fs.writeFileSync(staging, text);
        fs.renameSync(staging, cacheFile);
    }
    const plain = JSON.parse(text) as { resources: RecordedResource[]; outputs: Record<string, unknown> };
    return makeRecording(plain.resources, plain.outputs);
}

function recordingCacheFile(options: object): string | undefined {
    if (process.env.RECORDING_CACHE === "off") {
        return undefined;
    }
    sourceHash ??= programSourceHash();
    const key = crypto.createHash("sha256").update(sourceHash).update(JSON.stringify(options)).digest("hex").slice(0, 32);
    const cacheDir = path.join(os.tmpdir(), "replicated-recordings");
    fs.mkdirSync(cacheDir, { recursive: true });
    return path.join(cacheDir, `${key}.json`);
}
