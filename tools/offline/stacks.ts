/**
 * Stack files as offline input: list the `Pulumi.<stack>.yaml` files of a stack directory (the
 * project's `stackConfigDir` by default), read one into the config map the recorder takes
 * (namespace stripped), and name the keys that hold secrets.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse } from "yaml";

export const PROJECT = "replicated";
export const PROJECT_DIR = path.resolve(__dirname, "..", "..");

interface ProjectFile {
    readonly stackConfigDir?: unknown;
    readonly config?: Record<string, { secret?: unknown } | null>;
}

let projectFile: ProjectFile | undefined;

function readProjectFile(): ProjectFile {
    projectFile ??= (parse(fs.readFileSync(path.join(PROJECT_DIR, "Pulumi.yaml"), "utf8")) ?? {}) as ProjectFile;
    return projectFile;
}

/** The project's stack directory: Pulumi.yaml's `stackConfigDir`, else the project directory (as the CLI does). */
export const STACKS_DIR = ((): string => {
    const dir = readProjectFile().stackConfigDir;
    return typeof dir === "string" && dir !== "" ? path.resolve(PROJECT_DIR, dir) : PROJECT_DIR;
})();

/** The path of a stack's config file. */
export function stackFile(stack: string, dir: string = STACKS_DIR): string {
    return path.join(dir, `Pulumi.${stack}.yaml`);
}

/** Names of every stack in the stack directory. */
export function stackNames(dir: string = STACKS_DIR): string[] {
    return fs
        .readdirSync(dir)
        .map((file) => /^Pulumi\.(.+)\.yaml$/.exec(file)?.[1])
        .filter((name): name is string => name !== undefined)
        .sort();
}

/** The `replicated:*` config of a stack's YAML text, namespace stripped. */
export function parseStackConfig(text: string): Record<string, unknown> {
    const doc = (parse(text) ?? {}) as { config?: Record<string, unknown> };
    const config: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(doc.config ?? {})) {
        if (key.startsWith(`${PROJECT}:`)) {
            config[key.slice(PROJECT.length + 1)] = value;
        }
    }
    return config;
}

/** The `replicated:*` config of a stack file, namespace stripped. */
export function readStackConfig(stack: string, dir: string = STACKS_DIR): Record<string, unknown> {
    return parseStackConfig(fs.readFileSync(stackFile(stack, dir), "utf8"));
}

/**
 * Keys the program always treats as secrets, whether or not Pulumi.yaml can declare them: the
 * login key, which components/config.ts refuses in plain text.
 */
const PROGRAM_SECRET_KEYS = ["sshPrivateKey"] as const;

/** Keys (without namespace) that hold secrets: the program's own, and any Pulumi.yaml declares `secret: true`. */
export function schemaSecretKeys(): string[] {
    const declared = Object.entries(readProjectFile().config ?? {})
        .filter(([, schema]) => schema !== null && typeof schema === "object" && schema.secret === true)
        .map(([key]) => key.replace(new RegExp(`^${PROJECT}:`), ""));
    return [...new Set([...PROGRAM_SECRET_KEYS, ...declared])].sort();
}

/** Whether a stack-file value is an encrypted one (`{secure: ...}`, as `pulumi config set --secret` writes it). */
export function isEncryptedValue(value: unknown): boolean {
    return value !== null && typeof value === "object" && !Array.isArray(value) && "secure" in value;
}

/**
 * A stand-in private key file. Stack files point at operator key files (~/.ssh/...) that do not
 * exist where an offline evaluation runs; it reads this file instead and never logs in with it.
 * Its path is fixed, so identical configs stay identical across processes.
 */
export function standInKeyFile(): string {
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
