/**
 * Child process of test/process/docker-provider-inputs.test.ts: one machine. Copies the project to
 * `<machine root>/checkout`, puts the stacks' key files where their config points (`~/...` below
 * this process's HOME, a project-relative path below that checkout), and records every stack of
 * stacks/ (and one with a secret key) under this process's HOME / XDG_RUNTIME_DIR / TMPDIR, with
 * the program of that checkout. Prints the resources' inputs as one JSON line.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { cannedResolver } from "./canned-outputs";
import { recordProgramQueued } from "./mock-recorder";
import { copyProject } from "./project-copy";
import { readStackConfig, stackNames } from "./stacks";

const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nprovider-inputs-fixture\n-----END OPENSSH PRIVATE KEY-----\n";
/** Stack name of the secret-key case: no operator's stack, so its key copy clobbers nothing. */
export const SECRET_KEY_STACK = "provider-inputs-secret-key";

function placeKey(configured: string, checkout: string): void {
    const file = configured.startsWith("~/")
        ? path.join(process.env.HOME ?? "/nonexistent", configured.slice(2))
        : path.isAbsolute(configured)
          ? configured
          : path.join(checkout, configured);
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    fs.writeFileSync(file, KEY, { mode: 0o600 });
}

async function main(): Promise<void> {
    const machineRoot = process.argv[2];
    if (!machineRoot) {
        throw new Error("usage: record-inputs-child.ts <machine root>");
    }
    const checkout = copyProject(path.join(machineRoot, "checkout"));
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const program = require(path.join(checkout, "index.ts")) as () => unknown;

    const cases: Array<{ label: string; stack: string; config: Record<string, unknown>; secretKeys: string[] }> = [];
    for (const stack of stackNames()) {
        const config = readStackConfig(stack);
        if (typeof config.sshPrivateKeyPath === "string") {
            placeKey(config.sshPrivateKeyPath, checkout);
        }
        cases.push({ label: stack, stack, config, secretKeys: [] });
    }
    const secretKeyConfig = readStackConfig("acme-online");
    delete secretKeyConfig.sshPrivateKeyPath;
    secretKeyConfig.sshPrivateKey = KEY;
    cases.push({ label: "secret sshPrivateKey", stack: SECRET_KEY_STACK, config: secretKeyConfig, secretKeys: ["sshPrivateKey"] });

    const result: Record<string, Array<{ type: string; name: string; inputs: unknown }>> = {};
    for (const c of cases) {
        const recording = await recordProgramQueued({ stack: c.stack, config: c.config, secretKeys: c.secretKeys, resolve: cannedResolver, program, sdkStackTraces: false });
        result[c.label] = recording.resources.map((r) => ({ type: r.type, name: r.name, inputs: r.inputs }));
    }
    process.stdout.write(`${JSON.stringify(result)}\n`);
}

if (require.main === module) {
    main().catch((err: unknown) => {
        console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
        process.exit(1);
    });
}
