/**
 * The docker providers' inputs are the same on every machine: the program of two checkouts in
 * different places is recorded for every stack under two machines' HOME, XDG_RUNTIME_DIR and
 * TMPDIR, and the recorded inputs must be equal (a difference would show as a provider update in another
 * operator's or CI's preview). The key copy and known_hosts files the inputs name are checked
 * where ssh looks for them. Each machine is a process of its own (test/support/record-inputs-child.ts).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { SSH_FILES_DIR } from "../../components/docker/provider";
import { providerSettings } from "../support/container-runner";
import { SECRET_KEY_STACK } from "../support/record-inputs-child";
import { PROJECT, stackNames } from "../../tools/offline/stacks";

type Recorded = Record<string, Array<{ type: string; name: string; inputs: Record<string, unknown> }>>;

interface Machine {
    readonly root: string;
    readonly env: NodeJS.ProcessEnv;
}

const CHILD = path.join(__dirname, "..", "support", "record-inputs-child.ts");

function makeMachine(name: string): Machine {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), `provider-inputs-${name}-`));
    const dirs = { HOME: path.join(root, "home", name), XDG_RUNTIME_DIR: path.join(root, "run", "user", name), TMPDIR: path.join(root, "tmp") };
    for (const dir of Object.values(dirs)) {
        fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    }
    return { root, env: { ...process.env, ...dirs } };
}

function record(machine: Machine): Promise<Recorded> {
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, ["--import", "tsx", CHILD, machine.root], { env: machine.env, stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
        child.on("close", (code) => {
            if (code !== 0) {
                reject(new Error(`recording under ${machine.root} exited ${code}: ${stderr}`));
                return;
            }
            resolve(JSON.parse(stdout.trim().split("\n").pop() ?? "{}") as Recorded);
        });
    });
}

const providersOf = (recorded: Recorded) =>
    Object.entries(recorded).flatMap(([label, resources]) =>
        resources.filter((r) => r.type === "pulumi:providers:docker").map((r) => ({ label, name: r.name, inputs: r.inputs })),
    );

describe("docker provider inputs on two machines", () => {
    const machines = [makeMachine("alice"), makeMachine("ci")];
    const filesDir = path.join(os.userInfo().homedir, ".ssh", "pulumi-replicated");
    const existedBefore = new Set(fs.existsSync(filesDir) ? fs.readdirSync(filesDir) : []);
    let recordings: Recorded[] = [];

    before(async () => {
        recordings = await Promise.all(machines.map(record));
    });
    after(() => {
        for (const machine of machines) {
            fs.rmSync(machine.root, { recursive: true, force: true });
        }
        // Only the files these recordings created: new, and named after a stack they recorded.
        // An operator's own stay, and so do those another test run writes meanwhile.
        const recorded = [...stackNames(), SECRET_KEY_STACK].map((stack) => `${PROJECT}-${stack}`);
        const ours = (file: string) => recorded.some((prefix) => file.startsWith(`${prefix}-`) || file.startsWith(`${prefix}.`));
        for (const file of fs.existsSync(filesDir) ? fs.readdirSync(filesDir) : []) {
            if (!existedBefore.has(file) && ours(file)) {
                fs.rmSync(path.join(filesDir, file), { force: true });
            }
        }
    });

    test("every docker provider has the same inputs under either HOME / XDG_RUNTIME_DIR / TMPDIR / checkout", () => {
        const [first, second] = recordings.map(providersOf);
        assert.ok(first.length >= 8, `one provider per host of every stack (got ${first.length})`);
        assert.deepEqual(second, first);
    });

    test("and so does every other resource", () => {
        assert.deepEqual(recordings[1], recordings[0]);
    });

    test("no input names a path of either machine; the files are named as ssh finds them", () => {
        const text = JSON.stringify(recordings);
        for (const machine of machines) {
            assert.ok(!text.includes(machine.root), `an input names ${machine.root}`);
        }
        const escaped = SSH_FILES_DIR.replace(/[.]/g, "\\.");
        for (const provider of providersOf(recordings[0])) {
            const { sshOpts } = providerSettings(provider.inputs);
            const identity = sshOpts[sshOpts.indexOf("-i") + 1];
            assert.ok(!path.isAbsolute(identity), `${provider.label} ${provider.name}: -i ${identity}`);
            if (provider.label === "dev") {
                assert.equal(identity, ".sandbox/id_ed25519", "a key inside the project stays relative to it (ssh's working directory)");
            } else {
                // HOME is not the passwd home here, so ~/ keys are copied to where ssh's ~ leads.
                assert.match(identity, new RegExp(`^${escaped}/replicated-[a-z0-9-]+\\.key$`), `${provider.label} ${provider.name}`);
            }
            const knownHosts = sshOpts.find((o) => o.startsWith("UserKnownHostsFile="));
            assert.match(knownHosts ?? "", new RegExp(`^UserKnownHostsFile=${escaped}/replicated-[a-z0-9-]+\\.known_hosts$`));
        }
    });

    test("the copies exist where ssh expands ~ (the passwd home directory, not $HOME), private to the user", () => {
        assert.equal(fs.lstatSync(filesDir).mode & 0o777, 0o700);
        let copies = 0;
        for (const provider of providersOf(recordings[0])) {
            const { sshOpts } = providerSettings(provider.inputs);
            const identity = sshOpts[sshOpts.indexOf("-i") + 1];
            if (identity.startsWith(`${SSH_FILES_DIR}/`)) {
                const file = path.join(filesDir, identity.slice(SSH_FILES_DIR.length + 1));
                assert.equal(fs.statSync(file).mode & 0o777, 0o600, file);
                assert.match(fs.readFileSync(file, "utf8"), /provider-inputs-fixture/);
                copies++;
            }
        }
        assert.ok(copies > 0);
    });
});
