/**
 * The docker providers' inputs are the same on every machine: the program is recorded for every
 * stack under two machines' HOME, XDG_RUNTIME_DIR, TMPDIR and checkout location, and the
 * recorded inputs must be equal (a difference would show as a provider update in another
 * operator's or CI's preview). The key copy and known_hosts files the inputs name are checked
 * where ssh looks for them. Also the environment variables that would redirect the provider.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { assertDockerEnvironment, dockerEnvironmentProblems, SSH_FILES_DIR } from "../../components/docker/provider";
import { providerSettings } from "../support/container-runner";

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
    return { root, env: { ...process.env, ...dirs, RECORDING_CACHE: "off" } };
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
    let recordings: Recorded[] = [];

    before(async () => {
        recordings = await Promise.all(machines.map(record));
    });
    after(() => {
        for (const machine of machines) {
            fs.rmSync(machine.root, { recursive: true, force: true });
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

    test("no input names a path of either machine; the files are named as ssh expands them", () => {
        const text = JSON.stringify(recordings);
        for (const machine of machines) {
            assert.ok(!text.includes(machine.root), `an input names ${machine.root}`);
        }
        const escaped = SSH_FILES_DIR.replace(/[.]/g, "\\.");
        for (const provider of providersOf(recordings[0])) {
            const { sshOpts } = providerSettings(provider.inputs);
            const identity = sshOpts[sshOpts.indexOf("-i") + 1];
            assert.match(identity, new RegExp(`^${escaped}/replicated-[a-z0-9-]+\\.key$`), `${provider.label} ${provider.name}`);
            const knownHosts = sshOpts.find((o) => o.startsWith("UserKnownHostsFile="));
            assert.match(knownHosts ?? "", new RegExp(`^UserKnownHostsFile=${escaped}/replicated-[a-z0-9-]+\\.known_hosts$`));
        }
    });

    test("the files exist where ssh expands ~ (the passwd home directory, not $HOME), private to the user", () => {
        const dir = path.join(os.userInfo().homedir, ".ssh", "pulumi-replicated");
        assert.equal(fs.lstatSync(dir).mode & 0o777, 0o700);
        for (const provider of providersOf(recordings[0])) {
            const { sshOpts } = providerSettings(provider.inputs);
            const identity = sshOpts[sshOpts.indexOf("-i") + 1].replace(`${SSH_FILES_DIR}/`, `${dir}/`);
            assert.equal(fs.statSync(identity).mode & 0o777, 0o600, identity);
            assert.match(fs.readFileSync(identity, "utf8"), /provider-inputs-fixture/);
        }
    });
});

describe("environment that redirects the docker provider", () => {
    test("DOCKER_CONTEXT and the TLS variables are refused, each named with its fix", () => {
        assert.deepEqual(dockerEnvironmentProblems({ DOCKER_HOST: "tcp://x:2376", DOCKER_SSH_OPTS: "-v", HOME: "/root" }), []);
        const problems = dockerEnvironmentProblems({ DOCKER_CONTEXT: "remote", DOCKER_CERT_PATH: "/certs", DOCKER_CERT_MATERIAL: "", DOCKER_KEY_MATERIAL: "k" });
        assert.equal(problems.length, 3);
        assert.match(problems[0], /^DOCKER_CONTEXT is set: .*Fix: unset DOCKER_CONTEXT/);
        assert.match(problems[1], /^DOCKER_CERT_PATH is set: .*TLS/);
        assert.match(problems[2], /^DOCKER_KEY_MATERIAL is set/);
        assert.throws(() => assertDockerEnvironment({ DOCKER_CONTEXT: "remote" }), /redirect the docker provider:\n {2}- DOCKER_CONTEXT/);
    });
});
