/**
 * Child process of test/unit/docker-provider-inputs.test.ts: records every stack of stacks/ (and
 * acme-online with a secret key) under this process's HOME / XDG_RUNTIME_DIR / TMPDIR, as an
 * operator or CI machine would, and prints the resources' inputs as one JSON line.
 *
 * Key files are put where the stack files point: `~/...` below this HOME, a project-relative
 * path below `<argv[2]>/checkout` (another machine's checkout), with the same contents.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { cannedResolver } from "./canned-outputs";
import { recordProgramQueued } from "./mock-recorder";
import { readStackConfig, stackNames } from "./stacks";

const KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nprovider-inputs-fixture\n-----END OPENSSH PRIVATE KEY-----\n";

function placeKey(configured: string, machineRoot: string): string {
    const file = configured.startsWith("~/")
        ? path.join(process.env.HOME ?? "/nonexistent", configured.slice(2))
        : path.isAbsolute(configured)
          ? configured
          : path.join(machineRoot, "checkout", configured);
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    fs.writeFileSync(file, KEY, { mode: 0o600 });
    // What the stack file says stays, except a project-relative path, which is this machine's checkout.
    return configured.startsWith("~/") || path.isAbsolute(configured) ? configured : file;
}

async function main(): Promise<void> {
    const machineRoot = process.argv[2];
    if (!machineRoot) {
        throw new Error("usage: record-inputs-child.ts <machine root>");
    }
    const cases: Array<{ label: string; stack: string; config: Record<string, unknown>; secretKeys: string[] }> = [];
    for (const stack of stackNames()) {
        const config = readStackConfig(stack);
        if (typeof config.sshPrivateKeyPath === "string") {
            config.sshPrivateKeyPath = placeKey(config.sshPrivateKeyPath, machineRoot);
        }
        cases.push({ label: stack, stack, config, secretKeys: [] });
    }
    const secretKeyConfig = readStackConfig("acme-online");
    delete secretKeyConfig.sshPrivateKeyPath;
    secretKeyConfig.sshPrivateKey = KEY;
    cases.push({ label: "acme-online with sshPrivateKey", stack: "acme-online", config: secretKeyConfig, secretKeys: ["sshPrivateKey"] });

    const result: Record<string, Array<{ type: string; name: string; inputs: unknown }>> = {};
    for (const c of cases) {
        const recording = await recordProgramQueued({ stack: c.stack, config: c.config, secretKeys: c.secretKeys, resolve: cannedResolver });
        result[c.label] = recording.resources.map((r) => ({ type: r.type, name: r.name, inputs: r.inputs }));
    }
    process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exit(1);
});
