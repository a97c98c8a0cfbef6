/**
 * fleet rollout: the wave logic against an injected stack runner (ordering, stop at the first
 * failure with the failed stack's config restored, the summary, resuming after a fix, the
 * prompt), the config edits checked against a model of `pulumi config set --path` written from the
 * CLI's Go code, the stack state read from `pulumi stack history`, and the command line's
 * refusals (no terminal without --yes, no Pulumi CLI).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, test } from "node:test";
import { promisify } from "node:util";
import { MIN_CLI_VERSION, cliMissingMessage, cliTooOldMessage, deployEnvironment, onPath, stackStateOf, versionAtLeast } from "../../tools/fleet-automation";
import { configEdits, configKey, configOfHistory, holdsAssignments, type ConfigEdit } from "../../tools/fleet-config";
import { checkWaves, renderSummary, rollout, rolloutExitStatus, type LastUpdate, type RolloutStackRunner, type RolloutStep, type StackState } from "../../tools/fleet-rollout";
import { runFleet, type FleetIo } from "../../tools/fleet";
import { readStackConfig } from "../../tools/offline/stacks";
import { applyAssignments, parseAssignment, parseKeyPath, type Assignment } from "../../tools/plan-diff-core";

const PROJECT_DIR = path.resolve(__dirname, "..", "..");

/**
 * What `npm run deploy -- acme-online` prints on stderr, and its exit status, on a PATH of the basic
 * tools plus, when `pulumiVersion` is given, a `pulumi` that answers only `pulumi version`.
 */
async function deployRefusal(pulumiVersion?: string): Promise<{ status: number; stderr: string }> {
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-deploy-"));
    try {
        if (pulumiVersion !== undefined) {
            fs.writeFileSync(path.join(bin, "pulumi"), `#!/bin/sh\n[ "$1" = version ] && echo 'v${pulumiVersion}' && exit 0\nexit 3\n`, { mode: 0o755 });
        }
        // Its own backend, so the script creates no .pulumi-state in the checkout; no passphrase, so a
        // CLI it accepts stops at the passphrase check and nothing runs.
        const env = { PATH: `${bin}:/usr/bin:/bin`, HOME: "/nonexistent", PULUMI_BACKEND_URL: "file:///nonexistent-backend" };
        const result = await promisify(execFile)("bash", [path.join(PROJECT_DIR, "scripts", "deploy.sh"), "acme-online"], { env, encoding: "utf8" }).then(
            ({ stderr }) => ({ status: 0, stderr }),
            (failure: { code: number; stderr: string }) => ({ status: failure.code, stderr: failure.stderr }),
        );
        return result;
    } finally {
        fs.rmSync(bin, { recursive: true, force: true });
    }
}

// ---------------------------------------------------------------------------------------------
// A model of the CLI's config writes, from pulumi/pulumi sdk/go/common/resource/config/map.go:
// Set with path=false stores the text at the top-level key; with path=true it walks the property
// path, creating a map or a list for a missing container depending on the next key's type,
// appending when the index equals the list's length and failing past it, and stores the value
// adjusted by adjustObjectValue ("true"/"false" → bool, integer text without a leading zero →
// int, else text). Remove with path=true deletes a map key or a list item.

function adjust(text: string): unknown {
    if (text === "true" || text === "false") {
        return text === "true";
    }
    if (text.length > 1 && text.startsWith("0")) {
        return text;
    }
    return /^-?\d+$/.test(text) ? Number(text) : text;
}

function applyEdit(config: Record<string, unknown>, edit: ConfigEdit): Record<string, unknown> {
    const result = JSON.parse(JSON.stringify(config)) as Record<string, unknown>;
    const name = edit.key.replace(/^replicated:/, "");
    if (!edit.path) {
        if (edit.kind === "set") {
            result[name] = edit.value;
        } else {
            delete result[name];
        }
        return result;
    }
    const parts = parseKeyPath(name);
    let holder: Record<string | number, unknown> = result;
    for (let index = 0; index < parts.length - 1; index++) {
        const part = parts[index];
        if (holder[part] === undefined) {
            if (edit.kind === "remove") {
                return result;
            }
            if (Array.isArray(holder) && typeof part === "number" && part > holder.length) {
                throw new Error("array index out of range");
            }
            holder[part] = typeof parts[index + 1] === "number" ? [] : {};
        }
        holder = holder[part] as Record<string | number, unknown>;
    }
    const last = parts[parts.length - 1];
    if (edit.kind === "remove") {
        if (Array.isArray(holder) && typeof last === "number") {
            holder.splice(last, 1);
        } else {
            delete holder[last];
        }
    } else {
        if (Array.isArray(holder) && typeof last === "number" && last > holder.length) {
            throw new Error("array index out of range");
        }
        holder[last] = adjust(edit.value);
    }
    return result;
}

/** What the stack file holds after the CLI ran the edits. */
function written(config: Record<string, unknown>, assignments: readonly Assignment[]): Record<string, unknown> {
    return configEdits(config, assignments).reduce(applyEdit, config);
}

const changes = (...texts: string[]) => texts.map((text) => parseAssignment(text));

describe("the change as pulumi config set calls", () => {
    const acme = readStackConfig("acme-online");
    const globex = readStackConfig("globex-airgap");
    const initech = readStackConfig("initech-apps");

    test("a top-level value is one plain set; nested values use --path", () => {
        assert.deepEqual(configEdits(acme, changes("version=2.54.0")), [{ kind: "set", key: "replicated:version", path: false, value: "2.54.0" }]);
        assert.deepEqual(configEdits(acme, changes("sidecars.statsd=false")), [{ kind: "set", key: "replicated:sidecars.statsd", path: true, value: "false" }]);
        assert.deepEqual(configEdits(acme, changes("httpProxy=null")), [{ kind: "remove", key: "replicated:httpProxy", path: false }]);
        assert.deepEqual(configEdits(acme, changes("version=2.53.2")), [], "a value the stack holds needs no call");
        assert.equal(configKey(["hosts", 1, "privateAddress"]), "replicated:hosts[1].privateAddress");
    });

    const cases: [string, Record<string, unknown>, string[]][] = [
        ["version bump", acme, ["version=2.54.0"]],
        ["top-level number keeps its text", acme, ["uiPort=8801"]],
        ["nested boolean", acme, ["sidecars.statsd=false"]],
        ["a new nested object", acme, ["operations.supportBundle.request=bundle-7"]],
        ["opt-in", globex, ["runAs=replicated"]],
        [
            "a host appended",
            globex,
            ['hosts[3]={"name": "globex-node-3", "address": "192.168.50.13", "port": 2222, "role": "operator", "privateAddress": "192.168.50.13", "hostKey": "ssh-ed25519 AAAAC3Nza"}'],
        ],
        ["a host replaced by one with fewer keys", globex, ['hosts[1]={"name": "globex-node-1", "address": "192.168.50.31", "role": "operator", "privateAddress": "192.168.50.31"}']],
        ["an object replaced, a key dropped", acme, ['sidecars={"statsd": false}']],
        ["a list shortened", initech, ['volumeRoots=["/srv/a"]']],
        ["a list lengthened", initech, ['volumeRoots=["/srv/a", "/srv/b", "/srv/c"]']],
        ["a key removed, another set", acme, ["httpProxy=null", "uiPort=8443"]],
        ["a scalar replaced by an object", acme, ['httpProxy={"url": "http://p:3128"}']],
    ];
    for (const [name, config, texts] of cases) {
        test(`${name}: the file ends up holding exactly what plan-diff evaluated`, () => {
            const assignments = changes(...texts);
            const file = written(config, assignments);
            const expected = applyAssignments(config, assignments);
            // Key order aside (a removed and re-added key moves to the end of the file), and
            // top-level values as the text the CLI stores.
            const asText = (value: Record<string, unknown>) =>
                JSON.stringify(Object.fromEntries(Object.keys(value).sort().map((k) => [k, value[k] !== null && typeof value[k] === "object" ? value[k] : String(value[k])])));
            assert.equal(asText(file), asText(expected));
            assert.ok(holdsAssignments(file, assignments), "the written file holds the change");
            assert.equal(holdsAssignments(config, assignments), false, "the old file does not");
            assert.deepEqual(configEdits(file, assignments), [], "writing it again changes nothing");
        });
    }

    test("values the CLI cannot write are refused, naming the key", () => {
        assert.throws(() => configEdits(acme, changes("sidecars.ratio=1.5")), /replicated:sidecars\.ratio: 1\.5 is not an integer/);
        assert.throws(() => configEdits(acme, changes('serviceUser.name="1017"')), /replicated:serviceUser\.name: the text "1017" cannot be stored as text/);
        assert.throws(() => configEdits(acme, changes("sidecars={}")), /an empty object cannot be written/);
    });
});

describe("the stack state from its file and history", () => {
    const assignments = changes("version=2.54.0");
    const updated = { version: "2.54.0" };
    const history = (kind: string, result: string, version?: string) => ({
        kind,
        result,
        config: version === undefined ? {} : { "replicated:version": { value: version, secret: false }, "replicated:hosts": { value: '[{"name":"a"}]', secret: false } },
    });

    test("holds the change and the last update succeeded with it: done", () => {
        const state = stackStateOf(updated, [history("update", "succeeded", "2.54.0")] as never, assignments);
        assert.deepEqual(state, { holdsChange: true, lastUpdate: "succeeded", lastUpdateHeldChange: true });
    });

    test("the newest update or destroy counts; a refresh does not; a destroy means not deployed", () => {
        assert.equal(stackStateOf(updated, [history("refresh", "succeeded"), history("update", "failed", "2.54.0")] as never, assignments).lastUpdate, "failed");
        assert.equal(stackStateOf(updated, [history("destroy", "succeeded"), history("update", "succeeded", "2.54.0")] as never, assignments).lastUpdate, "none");
        assert.equal(stackStateOf(updated, [] as never, assignments).lastUpdate, "none");
        assert.equal(stackStateOf(updated, undefined, assignments).lastUpdate, "none");
        assert.equal(stackStateOf(updated, [history("update", "succeeded", "2.53.2")] as never, assignments).lastUpdateHeldChange, false, "the file was edited after the last update");
    });

    test("a history entry's config reads back as a stack file holds it", () => {
        assert.deepEqual(configOfHistory({ "replicated:hosts": { value: '[{"name":"a"}]' }, "replicated:version": { value: "2.54.0" }, "aws:region": { value: "x" } }), {
            hosts: [{ name: "a" }],
            version: "2.54.0",
        });
    });
});

// ---------------------------------------------------------------------------------------------
// The wave logic against a fake runner

/** A fleet of stacks in memory: files, histories, and steps made to fail. */
class FakeFleet implements RolloutStackRunner {
    readonly files = new Map<string, Record<string, unknown>>();
    readonly history = new Map<string, { result: LastUpdate; config: Record<string, unknown> }[]>();
    readonly calls: string[] = [];
    readonly failAt = new Map<string, RolloutStep | "restore">();
    private readonly saved = new Map<string, Record<string, unknown>>();

    constructor(
        readonly assignments: readonly Assignment[],
        stacks: readonly string[],
    ) {
        for (const stack of stacks) {
            this.files.set(stack, { version: "2.53.2", hosts: [{ name: `${stack}-1` }] });
        }
    }

    private step(stack: string, step: RolloutStep): void {
        this.calls.push(`${step} ${stack}`);
        if (this.failAt.get(stack) === step) {
            throw new Error(`${step} of ${stack} failed\nsecond line of the error`);
        }
    }

    inspect(stack: string): Promise<StackState> {
        this.step(stack, "inspect");
        const last = this.history.get(stack)?.at(-1);
        const file = this.files.get(stack) ?? {};
        return Promise.resolve({
            holdsChange: holdsAssignments(file, this.assignments),
            lastUpdate: last?.result ?? "none",
            ...(last ? { lastUpdateHeldChange: holdsAssignments(last.config, this.assignments) } : {}),
        });
    }

    setConfig(stack: string): Promise<void> {
        const before = this.files.get(stack) ?? {};
        this.saved.set(stack, before);
        // Write the first edit, then fail if asked: a half-written config must be restored too.
        const edits = configEdits(before, this.assignments);
        this.files.set(stack, edits.slice(0, 1).reduce(applyEdit, before));
        this.step(stack, "config");
        this.files.set(stack, edits.reduce(applyEdit, before));
        return Promise.resolve();
    }

    preview(stack: string, output: (line: string) => void): Promise<void> {
        this.step(stack, "preview");
        output("Previewing update");
        return Promise.resolve();
    }

    up(stack: string, output: (line: string) => void): Promise<void> {
        const entries = this.history.get(stack) ?? [];
        this.history.set(stack, entries);
        try {
            this.step(stack, "up");
        } catch (err) {
            entries.push({ result: "failed", config: this.files.get(stack) ?? {} });
            throw err;
        }
        output("Resources: 5 updated");
        entries.push({ result: "succeeded", config: this.files.get(stack) ?? {} });
        return Promise.resolve();
    }

    restoreConfig(stack: string): Promise<void> {
        this.calls.push(`restore ${stack}`);
        if (this.failAt.get(stack) === "restore") {
            return Promise.reject(new Error("disk full"));
        }
        this.files.set(stack, this.saved.get(stack) ?? {});
        return Promise.resolve();
    }
}

describe("waves", () => {
    const assignments = changes("version=2.54.0");
    const waves = [["canary"], ["b", "c"], ["d"]];
    const stacks = waves.flat();
    const quiet = { log: () => undefined };

    test("waves run in order, the stacks of a wave in order; each stack: inspect, config, preview, up", async () => {
        const fleet = new FakeFleet(assignments, stacks);
        const log: string[] = [];
        const summary = await rollout(waves, fleet, { log: (line) => log.push(line) });
        assert.deepEqual(fleet.calls, stacks.flatMap((stack) => [`inspect ${stack}`, `config ${stack}`, `preview ${stack}`, `up ${stack}`]));
        assert.deepEqual(summary.stacks.map((s) => `${s.stack}:${s.outcome}:${s.wave}`), ["canary:updated:1", "b:updated:2", "c:updated:2", "d:updated:3"]);
        assert.equal(rolloutExitStatus(summary), 0);
        for (const stack of stacks) {
            assert.equal(fleet.files.get(stack)?.version, "2.54.0");
        }
        assert.ok(log.includes("[b] Resources: 5 updated"), "each stack's output is streamed, prefixed with its name");
        assert.ok(log.some((line) => /== wave 2 of 3: b, c/.test(line)));
    });

    for (const step of ["config", "preview", "up"] as const) {
        test(`a stack failing at ${step} stops the rollout; its config keeps the old value; the summary says what was done and not`, async () => {
            const fleet = new FakeFleet(assignments, stacks);
            fleet.failAt.set("b", step);
            const summary = await rollout(waves, fleet, quiet);
            assert.equal(summary.failed, "b");
            assert.deepEqual(summary.stacks.map((s) => `${s.stack}:${s.outcome}`), ["canary:updated", "b:failed", "c:not-run", "d:not-run"]);
            assert.equal(fleet.calls.filter((call) => / (c|d)$/.test(call)).length, 0, "nothing runs after the failure");
            assert.deepEqual(fleet.files.get("b"), { version: "2.53.2", hosts: [{ name: "b-1" }] });
            assert.equal(fleet.files.get("canary")?.version, "2.54.0");
            assert.equal(rolloutExitStatus(summary), 1);
            const text = renderSummary(summary, (stack) => `stacks/Pulumi.${stack}.yaml`);
            assert.match(text, /updated: canary \(wave 1\)/);
            assert.match(text, new RegExp(`FAILED: b \\(wave 2\\) at ${step}:\\n {6}${step} of b failed\\n {6}second line of the error\\n {4}stacks/Pulumi\\.b\\.yaml keeps its old value\\.`));
            assert.match(text, /not run \(the rollout stopped at the failure\): c \(wave 2\), d \(wave 3\)/);
            assert.match(text, /run the same command again/);
        });
    }

    test("running it again after a fix resumes: stacks holding the change whose last update succeeded are skipped", async () => {
        const fleet = new FakeFleet(assignments, stacks);
        fleet.failAt.set("c", "up");
        const first = await rollout(waves, fleet, quiet);
        assert.equal(first.failed, "c");
        fleet.failAt.clear();
        fleet.calls.length = 0;
        const second = await rollout(waves, fleet, quiet);
        assert.deepEqual(second.stacks.map((s) => `${s.stack}:${s.outcome}`), ["canary:skipped", "b:skipped", "c:updated", "d:updated"]);
        assert.deepEqual(fleet.calls.filter((call) => / (canary|b)$/.test(call)), ["inspect canary", "inspect b"], "skipped stacks are only inspected");
        assert.match(renderSummary(second, (s) => s), /skipped \(already held the change, last update succeeded\): canary \(wave 1\), b \(wave 2\)/);
    });

    test("a stack that holds the change is run again when its last update failed, or never ran", async () => {
        const fleet = new FakeFleet(assignments, ["x", "y"]);
        fleet.files.set("x", { version: "2.54.0" });
        fleet.history.set("x", [{ result: "failed", config: { version: "2.54.0" } }]);
        fleet.files.set("y", { version: "2.54.0" });
        const summary = await rollout([["x", "y"]], fleet, quiet);
        assert.deepEqual(summary.stacks.map((s) => `${s.stack}:${s.outcome}`), ["x:updated", "y:updated"]);
    });

    test("asked before each wave; a declined wave stops the rollout there", async () => {
        const fleet = new FakeFleet(assignments, stacks);
        const asked: string[] = [];
        const summary = await rollout(waves, fleet, {
            log: () => undefined,
            confirm: (wave, waveStacks, total) => {
                asked.push(`${wave}/${total}: ${waveStacks.join(",")}`);
                return Promise.resolve(wave === 1);
            },
        });
        assert.deepEqual(asked, ["1/3: canary", "2/3: b,c"]);
        assert.deepEqual(summary.stacks.map((s) => `${s.stack}:${s.outcome}`), ["canary:updated", "b:not-run", "c:not-run", "d:not-run"]);
        assert.equal(summary.declinedWave, 2);
        assert.equal(fleet.files.get("b")?.version, "2.53.2");
        assert.match(renderSummary(summary, (s) => s), /not run \(wave 2 was declined\): b \(wave 2\), c \(wave 2\), d \(wave 3\)/);
        assert.equal(rolloutExitStatus(summary), 1);
    });

    test("a restore that fails too is reported, never hidden", async () => {
        const fleet = new FakeFleet(assignments, ["x"]);
        fleet.failAt.set("x", "restore");
        const runner: RolloutStackRunner = {
            inspect: (s) => fleet.inspect(s),
            setConfig: (s) => fleet.setConfig(s),
            preview: () => Promise.reject(new Error("preview failed")),
            up: (s, o) => fleet.up(s, o),
            restoreConfig: (s) => fleet.restoreConfig(s),
        };
        const summary = await rollout([["x"]], runner, quiet);
        const [outcome] = summary.stacks;
        assert.ok(outcome.outcome === "failed" && !outcome.configRestored && outcome.restoreError === "disk full");
        assert.match(renderSummary(summary, (s) => `stacks/Pulumi.${s}.yaml`), /restoring stacks\/Pulumi\.x\.yaml failed \(disk full\): it may hold the new value/);
    });

    test("waves are checked: none, an empty one, a stack twice", () => {
        assert.match(checkWaves([]) ?? "", /--waves/);
        assert.match(checkWaves([["a"], []]) ?? "", /wave 2 names no stack/);
        assert.match(checkWaves([["a", "b"], ["b"]]) ?? "", /stack b appears more than once/);
        assert.equal(checkWaves([["a"], ["b", "c"]]), undefined);
    });
});

// ---------------------------------------------------------------------------------------------
// The command line

describe("fleet rollout on the command line", () => {
    function io(overrides: Partial<FleetIo> = {}): FleetIo & { out: string[]; err: string[]; runners: number } {
        const out: string[] = [];
        const err: string[] = [];
        const state = {
            out,
            err,
            runners: 0,
            stdout: (text: string) => out.push(text),
            stderr: (text: string) => err.push(text),
            interactive: false,
            env: { PATH: "" } as NodeJS.ProcessEnv,
            ask: () => Promise.reject(new Error("no question expected")),
            makeRunner: () => {
                state.runners++;
                return Promise.reject(new Error("no runner expected"));
            },
            ...overrides,
        };
        return state;
    }

    test("without a terminal and without --yes it fails at once: nothing is planned, asked or run", async () => {
        const streams = io();
        assert.equal(await runFleet(["rollout", "version=2.54.0", "--waves", "acme-online"], streams), 2);
        assert.match(streams.err.join(""), /standard input is not a terminal: run it from a terminal, or pass --yes/);
        assert.equal(streams.out.join(""), "");
        assert.equal(streams.runners, 0);
    });

    test("without the Pulumi CLI it stops with the instructions npm run deploy prints", async () => {
        const streams = io();
        assert.equal(await runFleet(["rollout", "version=2.54.0", "--waves", "acme-online", "--yes"], streams), 1);
        assert.equal(streams.err.join(""), cliMissingMessage("fleet"));
        assert.equal(streams.runners, 0);
        // The same text as npm run deploy prints without the CLI (only the tool's name differs).
        assert.deepEqual(await deployRefusal(), { status: 1, stderr: cliMissingMessage("deploy") });
    });

    test("a CLI older than deploy.sh accepts is refused with deploy.sh's words", async () => {
        // npm run deploy draws the line where the fleet does: MIN_CLI_VERSION passes, the patch before it does not.
        assert.deepEqual(await deployRefusal("3.200.0"), { status: 1, stderr: `${cliTooOldMessage("deploy", "3.200.0")}\n` });
        const [major, minor, patch] = MIN_CLI_VERSION.split(".").map(Number);
        const justBelow = patch > 0 ? `${major}.${minor}.${patch - 1}` : `${major}.${minor - 1}.99`;
        assert.deepEqual(await deployRefusal(justBelow), { status: 1, stderr: `${cliTooOldMessage("deploy", justBelow)}\n` });
        const atMinimum = await deployRefusal(MIN_CLI_VERSION);
        assert.doesNotMatch(atMinimum.stderr, /too old/);
        assert.match(atMinimum.stderr, /set PULUMI_CONFIG_PASSPHRASE/, "accepted: it goes on to the passphrase check");
        assert.equal(versionAtLeast("v3.248.0", MIN_CLI_VERSION), true);
        assert.equal(versionAtLeast("3.213.0", MIN_CLI_VERSION), true);
        assert.equal(versionAtLeast("v3.212.9", MIN_CLI_VERSION), false);
        assert.equal(versionAtLeast("v4.0.0-alpha", MIN_CLI_VERSION), true);
    });

    test("a secret or a malformed change is refused before the CLI is looked for", async () => {
        const secret = io();
        assert.equal(await runFleet(["rollout", "sshPrivateKey=abc123secret", "--waves", "acme-online", "--yes"], secret), 2);
        assert.doesNotMatch(secret.err.join(""), /abc123secret/);
        assert.doesNotMatch(secret.err.join(""), /Pulumi CLI is not installed/);
        const unknown = io();
        assert.equal(await runFleet(["rollout", "version=2.54.0", "--waves", "nope", "--yes"], unknown), 2);
        assert.match(unknown.err.join(""), /no stack "nope"/);
    });

    test("with the CLI: the fleet plan is shown, then the runner rolls the waves out; a rejected plan rolls nothing out", async () => {
        const bin = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-bin-"));
        try {
            fs.writeFileSync(path.join(bin, "pulumi"), "#!/bin/sh\nexit 1\n", { mode: 0o755 });
            assert.ok(onPath("pulumi", bin));
            const fleet = new FakeFleet(changes("version=2.54.0"), ["acme-online"]);
            let envVars: Record<string, string> = {};
            const streams = io({
                env: { PATH: bin, PULUMI_CONFIG_PASSPHRASE: "x" },
                makeRunner: (_assignments, vars) => {
                    envVars = vars;
                    return Promise.resolve(fleet);
                },
            });
            assert.equal(await runFleet(["rollout", "version=2.54.0", "--waves", "acme-online", "--yes"], streams), 0);
            const out = streams.out.join("");
            assert.match(out, /fleet plan: version=2\.54\.0\n\nSTACK/);
            assert.match(out, /\[acme-online\] updated/);
            assert.match(out, /Rollout summary:\n {2}updated: acme-online \(wave 1\)/);
            assert.equal(envVars.PULUMI_BACKEND_URL, `file://${path.join(PROJECT_DIR, ".pulumi-state")}`, "deploy.sh's local backend");

            const rejected = io({ env: { PATH: bin, PULUMI_CONFIG_PASSPHRASE: "x" }, makeRunner: () => Promise.resolve(fleet) });
            assert.equal(await runFleet(["rollout", "uiPort=eighty", "--waves", "acme-online", "--yes"], rejected), 1);
            assert.match(rejected.err.join(""), /nothing was rolled out: the change is rejected for, or does not evaluate on, acme-online/);
        } finally {
            fs.rmSync(bin, { recursive: true, force: true });
        }
    });

    test("deploy.sh's environment: local backend unless set, the dev passphrase, a passphrase required elsewhere", () => {
        assert.deepEqual(deployEnvironment(["dev"], {}), { vars: { PULUMI_BACKEND_URL: `file://${path.join(PROJECT_DIR, ".pulumi-state")}`, PULUMI_CONFIG_PASSPHRASE: "replicated-dev" } });
        assert.deepEqual(deployEnvironment(["dev"], { PULUMI_BACKEND_URL: "file:///x", PULUMI_CONFIG_PASSPHRASE: "" }), { vars: {} });
        assert.match((deployEnvironment(["dev", "acme-online"], {}) as { error: string }).error, /PULUMI_CONFIG_PASSPHRASE.*acme-online/);
        assert.deepEqual(deployEnvironment(["acme-online"], { PULUMI_BACKEND_URL: "s3://b", PULUMI_CONFIG_PASSPHRASE_FILE: "/p" }), { vars: {} });
    });
});
