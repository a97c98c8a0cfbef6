/**
 * Taking hosts over from Replicated's own install script, without a host: the pure argument
 * builders and summary parsers, the order the program registers the steps in (detection before
 * anything changes, on every host; the takeover right before the containers; the confirmation
 * after them), read from each stack's own evaluation; and, on ReplicatedHosts built with plain
 * args and wired as the program wires them, the daemon token carried over as a secret only, the
 * proof that hosts holding no script token record exactly the container inputs they recorded
 * before, and what plan-diff says about the steps of a new host. takeover.rotateDaemonToken is
 * the program's own choice: one evaluation of the program on one host checks it.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { parseConfig } from "../../components/config";
import {
    DaemonTokenCarryOver,
    FALLBACK_SECONDS_MAX,
    FALLBACK_SECONDS_MIN,
    effectiveDaemonToken,
    installDetectionScriptArgs,
    parseDaemonTokenRead,
    parseInstallSummary,
    parseTakeoverConfirmSummary,
    parseTakeoverSummary,
    takeoverConfirmScriptArgs,
    takeoverScriptArgs,
} from "../../components/host";
import { ReplicatedHost, type ReplicatedHostArgs } from "../../components/replicated-host";
import { loadScript } from "../../components/shell";
import { CANNED_DAEMON_TOKEN, cannedResolver, scriptNameOf } from "../support/canned-outputs";
import { recordComponent } from "../support/component-recorder";
import { recordProgramQueued, type RecordedResource, type Recording, type Resolver } from "../support/mock-recorder";
import { fixtureKeyFile, recordStack, stackNames } from "../support/stacks";
import { diffRecordings, takeoverNotes } from "../../tools/plan-diff-core";

const COMMAND = "command:remote:Command";
const CONTAINER = "docker:index/container:Container";

const DETECTED_SCRIPT_INSTALL = {
    init: "systemd",
    install: "script",
    mode: "service",
    serviceUid: 1001,
    version: "2.53.2",
    units: [{ name: "replicated", form: "systemd", path: "/etc/systemd/system/replicated.service", enabled: true, running: true, uid: 1001 }],
    envFiles: [{ path: "/etc/default/replicated", daemonToken: true }],
    user: { name: "replicated", uid: 1001, gid: 999 },
    containers: [{ name: "replicated", image: "quay.io/replicated/replicated:current", user: "1001:999", running: true, program: false }],
    images: ["quay.io/replicated/replicated:current"],
    dataOwners: { "/var/lib/replicated": "1001:999", "/var/run/replicated": null },
    takeoverPhase: null,
    takeOver: true,
    changed: 0,
};

describe("detection, takeover and confirmation arguments and summaries", () => {
    test("detection passes runAs, the account name, a pinned uid and the role; root mode ignores the account settings", () => {
        assert.deepEqual(installDetectionScriptArgs("replicated", "replicated", 1017, "primary"), ["replicated", "replicated", "1017", "primary"]);
        assert.deepEqual(installDetectionScriptArgs("replicated", "svc", undefined, "operator"), ["replicated", "svc", "", "operator"]);
        assert.deepEqual(installDetectionScriptArgs("root", "svc", 1017, "primary"), ["root", "replicated", "", "primary"]);
        assert.throws(() => installDetectionScriptArgs("replicated", "a;touch /tmp/x", undefined, "primary"), /invalid userName/);
        assert.throws(() => installDetectionScriptArgs("replicated", "replicated", 0, "primary"), /invalid uid 0/);
    });

    test("the takeover passes the role and a bounded fallback; the confirmation only the role", () => {
        assert.deepEqual(takeoverScriptArgs("primary", 300), ["primary", "300"]);
        assert.deepEqual(takeoverScriptArgs("operator", FALLBACK_SECONDS_MIN), ["operator", String(FALLBACK_SECONDS_MIN)]);
        assert.throws(() => takeoverScriptArgs("primary", FALLBACK_SECONDS_MIN - 1), /fallbackSeconds must be an integer from 30 to 3600/);
        assert.throws(() => takeoverScriptArgs("primary", FALLBACK_SECONDS_MAX + 1), /fallbackSeconds/);
        assert.throws(() => takeoverScriptArgs("primary", 12.5), /fallbackSeconds/);
        assert.deepEqual(takeoverConfirmScriptArgs("operator"), ["operator"]);
        assert.throws(() => takeoverConfirmScriptArgs("both" as "primary"), /invalid role/);
    });

    test("detection summaries parse, and a malformed or changing one is refused", () => {
        const parsed = parseInstallSummary(`replicated detect-install: note\n${JSON.stringify(DETECTED_SCRIPT_INSTALL)}`);
        assert.equal(parsed.install, "script");
        assert.equal(parsed.serviceUid, 1001);
        assert.equal(parsed.takeOver, true);
        assert.equal(parsed.units[0].form, "systemd");
        assert.throws(() => parseInstallSummary(JSON.stringify({ ...DETECTED_SCRIPT_INSTALL, install: "maybe" })), /"install" must be/);
        assert.throws(() => parseInstallSummary(JSON.stringify({ ...DETECTED_SCRIPT_INSTALL, changed: 1 })), /detection changes nothing/);
        assert.throws(() => parseInstallSummary(JSON.stringify({ ...DETECTED_SCRIPT_INSTALL, units: "none" })), /"units" must be a list/);
    });

    test("takeover and confirmation summaries parse", () => {
        const takeover = parseTakeoverSummary('{"install":"script","init":"systemd","units":3,"stopped":3,"containersRemoved":5,"fallbackArmed":true,"fallbackSeconds":300,"changed":10}');
        assert.equal(takeover.containersRemoved, 5);
        assert.equal(takeover.fallbackArmed, true);
        assert.throws(() => parseTakeoverSummary('{"install":"script","init":"systemd","units":-1}'), /"units" must be a count/);
        const confirm = parseTakeoverConfirmSummary('{"phase":"confirmed","armed":false,"waitedSeconds":17,"gapSeconds":24.3,"changed":1}');
        assert.equal(confirm.gapSeconds, 24.3);
        assert.throws(() => parseTakeoverConfirmSummary('{"phase":"armed","armed":true,"waitedSeconds":0,"gapSeconds":null,"changed":0}'), /"phase" must be/);
    });

    test("the token read parses found and not found, and its errors never show the value", () => {
        assert.deepEqual(parseDaemonTokenRead('{"found":false,"source":null,"token":null}'), { found: false, source: null, token: null });
        const found = parseDaemonTokenRead('{"found":true,"source":"/etc/default/replicated","token":"f2a4e1c0-77aa"}');
        assert.equal(found.token, "f2a4e1c0-77aa");
        assert.equal(effectiveDaemonToken(found, "generated"), "f2a4e1c0-77aa");
        assert.equal(effectiveDaemonToken({ found: false, source: null, token: null }, "generated"), "generated");
        const secret = "s3cr3t;$(id)";
        for (const bad of [`{"found":true,"source":"/etc/default/replicated","token":${JSON.stringify(secret)}}`, `token=${secret}`]) {
            assert.throws(
                () => parseDaemonTokenRead(bad),
                (error: Error) => !error.message.includes(secret) && !error.message.includes("s3cr3t"),
            );
        }
    });

    test("the scripts inline their libraries, and the fallback program travels inside the takeover script", () => {
        const takeover = loadScript("takeover");
        assert.doesNotMatch(takeover, /^# replicated-include:/m);
        assert.match(takeover, /<<'REPLICATED_FALLBACK_PROGRAM'\n#!\/bin\/sh\n/);
        const fallback = takeover.slice(takeover.indexOf("<<'REPLICATED_FALLBACK_PROGRAM'"));
        for (const fn of ["detect_init_system()", "restore_installer_units()", "disarm_fallback()", "fallback_mode=${1:-}"]) {
            assert.ok(fallback.includes(fn), `the fallback program carries ${fn}`);
        }
        for (const script of ["detect-install", "read-daemon-token", "takeover-confirm"]) {
            assert.doesNotMatch(loadScript(script), /^# replicated-include:/m, script);
        }
    });
});

describe("config keys", () => {
    const base = (takeover?: unknown): Record<string, string> => ({
        "replicated:version": "2.53.2",
        "replicated:sshPrivateKeyPath": "/dev/null",
        "replicated:hosts": JSON.stringify([{ name: "p", address: "10.0.0.1", role: "primary", privateAddress: "10.0.0.1" }]),
        ...(takeover === undefined ? {} : { "replicated:takeover": JSON.stringify(takeover) }),
    });

    test("defaults: a 300 s fallback, the install's token carried over", () => {
        const config = parseConfig(base(), "dev", "replicated");
        assert.deepEqual({ ...config.takeover }, { fallbackSeconds: 300, rotateDaemonToken: false });
    });

    test("bad values name the key and the fix", () => {
        for (const [value, message] of [
            [{ fallbackSeconds: 10 }, /replicated:takeover\.fallbackSeconds: must be at least 30 seconds.*Fix: pulumi config set --path 'replicated:takeover\.fallbackSeconds' 300/],
            [{ fallbackSeconds: 99999 }, /takeover\.fallbackSeconds: must be at most 3600/],
            [{ rotateDaemonToken: "yes" }, /takeover\.rotateDaemonToken: must be true or false/],
            [{ rotate: true }, /takeover\.rotate: unknown key/],
        ] as const) {
            assert.throws(() => parseConfig(base(value), "dev", "replicated"), message);
        }
    });
});

// ---------------------------------------------------------------------------------------------
// What the program registers: each stack's own evaluation (shared with stacks.test.ts)

const commandsOf = (recording: Recording, script: string): RecordedResource[] => recording.byType(COMMAND).filter((r) => scriptNameOf(r) === script);
const hostOf = (resource: RecordedResource): number => (resource.inputs.connection as { port: number }).port;

describe("the steps every stack registers", () => {
    for (const stack of stackNames()) {
        test(`${stack}: detection first on every host, the takeover right before the containers, the confirmation after their health gate`, async () => {
            const recording = await recordStack(stack);
            const detections = commandsOf(recording, "detect-install");
            const hostNames = [...new Set(recording.byType(CONTAINER).map((c) => c.name.split("-core-")[0].split("-sidecars-")[0]))];
            assert.ok(detections.length >= 1);
            const detectionRefs = detections.map((d) => `${COMMAND}::${d.name}`);
            for (const detection of detections) {
                assert.deepEqual(detection.options.dependsOn, [], `${detection.name} waits for nothing`);
            }
            // Nothing that changes a host runs before every host's detection passed.
            for (const script of ["account", "version-guard"]) {
                for (const step of commandsOf(recording, script)) {
                    for (const ref of detectionRefs) {
                        assert.ok(step.options.dependsOn.includes(ref), `${step.name} waits for ${ref}`);
                    }
                }
            }
            for (const network of recording.byType("docker:index/network:Network")) {
                for (const ref of detectionRefs) {
                    assert.ok(network.options.dependsOn.includes(ref), `${network.name} waits for ${ref}`);
                }
            }
            const takeovers = commandsOf(recording, "takeover");
            const confirmations = commandsOf(recording, "takeover-confirm");
            assert.equal(takeovers.length, detections.length, "one takeover per host");
            assert.equal(confirmations.length, detections.length, "one confirmation per host");
            for (const takeover of takeovers) {
                const host = takeover.name.slice(0, -"-takeover".length);
                const images = recording.byType("docker:index/remoteImage:RemoteImage").filter((i) => i.name.startsWith(`${host}-images-`));
                for (const image of images) {
                    assert.ok(takeover.options.dependsOn.includes(`${image.type}::${image.name}`), `${takeover.name} waits for ${image.name}`);
                }
                assert.ok(takeover.options.dependsOn.includes(`${COMMAND}::${host}-directories`));
                assert.ok(takeover.options.dependsOn.includes(`${COMMAND}::${host}-version-guard`));
                for (const repair of commandsOf(recording, "repair-ownership").filter((r) => r.name === `${host}-ownership`)) {
                    assert.ok(repair.options.dependsOn.includes(`${COMMAND}::${takeover.name}`), "the repair runs once the install's containers are gone");
                }
                const containers = recording.byType(CONTAINER).filter((c) => c.name.startsWith(`${host}-core-`) || c.name.startsWith(`${host}-sidecars-`));
                assert.ok(containers.length > 0);
                const confirmation = confirmations.find((c) => c.name === `${host}-takeover-confirm`);
                assert.ok(confirmation, `${host} has a confirmation`);
                // The confirmation follows the host's health gate, which follows every container.
                const gate = recording.byType(COMMAND).find((c) => c.name === `${host}-health`);
                assert.ok(gate, `${host} has a health gate`);
                assert.ok(confirmation.options.dependsOn.includes(`${COMMAND}::${gate.name}`), `${confirmation.name} waits for the health gate`);
                for (const container of containers) {
                    assert.ok(container.options.dependsOn.includes(`${COMMAND}::${takeover.name}`), `${container.name} waits for the takeover`);
                    assert.ok(gate.options.dependsOn.includes(`${CONTAINER}::${container.name}`), `the health gate waits for ${container.name}`);
                }
            }
            assert.ok(hostNames.length >= 1);
        });
    }

    test("the token is read on the primary only, in a command of its own whose output is secret and never logged", async () => {
        const recording = await recordStack("globex-airgap");
        const reads = commandsOf(recording, "read-daemon-token");
        assert.equal(reads.length, 1);
        const [read] = reads;
        assert.equal(read.name, "globex-primary-daemon-token-read");
        for (const output of ["stdout", "stderr"]) {
            assert.ok(read.options.additionalSecretOutputs.includes(output), `${output} is a secret output`);
        }
        assert.equal(read.inputs.logging, "none");
        // Every other command logs and keeps plain outputs: their summaries (uid, gid) stay readable.
        for (const other of recording.byType(COMMAND).filter((r) => r !== read)) {
            assert.deepEqual(other.options.additionalSecretOutputs.filter((key) => key === "stdout"), [], `${other.name} output is plain`);
        }
        const primary = recording.byType(COMMAND).find((r) => r.name === "globex-primary-detect-install");
        assert.ok(primary);
        assert.equal(hostOf(read), hostOf(primary), "read on the primary");
    });
});

// ---------------------------------------------------------------------------------------------
// How the daemon token and the takeover steps are wired between hosts, on ReplicatedHosts built
// with plain args and wired as the program wires a stack's hosts

const FOUND_TOKEN = "script-install-token-0123";
/** The canned host outputs, with a daemon token left on the primary by Replicated's own install script. */
const tokenOnPrimary: Resolver = (resource) =>
    scriptNameOf(resource) === "read-daemon-token" ? { stdout: `{"found":true,"source":"/etc/default/replicated","token":"${FOUND_TOKEN}"}`, stderr: "" } : cannedResolver(resource);

const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHt0lW8jY2OFo3QhMbo7V1H0Lr1iJ5qk3o1pQ0yTw9nA";
type HostSettings = Omit<ReplicatedHostArgs, "daemonToken" | "installGate" | "clusterAddresses">;
const PRIMARY: HostSettings = {
    target: { address: "10.40.0.1", hostKey: HOST_KEY, privateKeyFile: fixtureKeyFile() },
    version: "2.53.2",
    role: "primary",
    privateAddress: "10.40.0.1",
    // The support bundle redacts the daemon token: one more place the token reaches.
    operations: { supportBundle: { request: "bundle-1" } },
};
const operatorAt = (address: string): HostSettings => ({
    target: { address, user: "deploy", become: "sudo", hostKey: HOST_KEY, privateKeyFile: fixtureKeyFile() },
    version: "2.53.2",
    role: "operator",
    privateAddress: address,
    primaryAddress: PRIMARY.privateAddress,
});
const HOSTS: Readonly<Record<string, HostSettings>> = { "site-primary": PRIMARY, "site-node-1": operatorAt("10.40.0.2") };

/**
 * `hosts` (the primary first) wired as index.ts wires a stack's hosts: one generated token, either
 * used as it is (what takeover.rotateDaemonToken does) or handed through a DaemonTokenCarryOver on
 * the primary; every host's first changing step behind every host's detection.
 */
function wiredHosts(hosts: Readonly<Record<string, HostSettings>>, token: "generated" | "carried-over") {
    return () => {
        const names = Object.keys(hosts);
        const generated = new random.RandomPassword("daemon-token", { length: 32, special: false });
        const daemonToken =
            token === "generated" ? generated.result : new DaemonTokenCarryOver(`${names[0]}-daemon-token`, { target: hosts[names[0]].target, generated: generated.result }).token;
        let releaseGate: (detections: readonly pulumi.Resource[]) => void = () => undefined;
        const installGate = new Promise<readonly pulumi.Resource[]>((resolve) => {
            releaseGate = resolve;
        });
        const clusterAddresses = Object.values(hosts).map((host) => host.privateAddress);
        const built = Object.entries(hosts).map(([name, settings]) => new ReplicatedHost(name, { ...settings, clusterAddresses, daemonToken, installGate }));
        releaseGate(built.map((host) => host.installDetection.command));
        return { hosts: Object.fromEntries(built.map((host, index) => [names[index], { uid: host.uid, dockerGid: host.dockerGid, operations: host.operations }])) };
    };
}

/** The wirings the tests below compare, each recorded once, when a test first asks for it. */
const WIRINGS = {
    generated: () => recordComponent(wiredHosts(HOSTS, "generated")),
    carriedOver: () => recordComponent(wiredHosts(HOSTS, "carried-over")),
    tokenOnPrimary: () => recordComponent(wiredHosts(HOSTS, "carried-over"), { resolve: tokenOnPrimary }),
    withNewHost: () => recordComponent(wiredHosts({ ...HOSTS, "site-node-3": operatorAt("10.40.0.3") }, "carried-over")),
};
const wiredRecordings = new Map<keyof typeof WIRINGS, Promise<Recording>>();
function recordWired(key: keyof typeof WIRINGS): Promise<Recording> {
    let recording = wiredRecordings.get(key);
    if (recording === undefined) {
        recording = WIRINGS[key]();
        wiredRecordings.set(key, recording);
    }
    return recording;
}

describe("the daemon token between hosts", () => {
    test("a token found on the primary reaches every daemon and operator as a secret, and no command string", async () => {
        const recording = await recordWired("tokenOnPrimary");
        const withToken = recording.byType(CONTAINER).filter((c) => (c.inputs.envs as string[] | undefined)?.some((e) => e.startsWith("DAEMON_TOKEN=")));
        assert.deepEqual(
            withToken.map((c) => c.name).sort(),
            ["site-node-1-core-replicated-operator", "site-primary-core-replicated", "site-primary-core-replicated-operator"],
            "the daemon and every operator",
        );
        for (const container of withToken) {
            assert.ok((container.inputs.envs as string[]).includes(`DAEMON_TOKEN=${FOUND_TOKEN}`), `${container.name} runs with the install's token`);
            assert.ok(container.secretPaths.includes("envs"), `${container.name}: envs are secret`);
        }
        let secretStdin = 0;
        for (const resource of recording.resources) {
            // The support bundle's redaction list travels on stdin, which is then a secret input.
            const stdinIsSecret = resource.secretPaths.includes("stdin");
            secretStdin += stdinIsSecret && String(resource.inputs.stdin).includes(FOUND_TOKEN) ? 1 : 0;
            const plain = JSON.stringify({ create: resource.inputs.create, stdin: stdinIsSecret ? undefined : resource.inputs.stdin, triggers: resource.inputs.triggers });
            assert.ok(!plain.includes(FOUND_TOKEN), `${resource.name}: the token is in no command string`);
            assert.ok(!plain.includes(CANNED_DAEMON_TOKEN), `${resource.name}: nor is the generated one`);
        }
        assert.equal(secretStdin, 1, "the support bundle redacts the install's token");
        assert.ok(!JSON.stringify(recording.outputs).includes(FOUND_TOKEN), "no output holds it");
    });
});

describe("stacks whose hosts hold no script token keep their generated token and their containers", () => {
    test("every resource that existed before records the same inputs", async () => {
        const before = await recordWired("generated");
        const after = await recordWired("carriedOver");
        const key = (r: RecordedResource): string => `${r.type}::${r.name}::${r.parent ?? ""}`;
        const afterByKey = new Map(after.resources.map((r) => [key(r), r]));
        let containers = 0;
        for (const old of before.resources.filter((r) => r.custom)) {
            const now = afterByKey.get(key(old));
            assert.ok(now, `carry-over: ${old.type} ${old.name} is still there`);
            assert.deepEqual(now.inputs, old.inputs, `carry-over: ${old.type} ${old.name} records the same inputs`);
            assert.deepEqual(now.secretPaths, old.secretPaths, `carry-over: ${old.name} has the same secrets`);
            containers += old.type === CONTAINER ? 1 : 0;
        }
        assert.ok(containers > 0, "the hosts have containers to compare");
        assert.ok(
            before.byType(CONTAINER).some((c) => (c.inputs.envs as string[] | undefined)?.includes(`DAEMON_TOKEN=${CANNED_DAEMON_TOKEN}`)),
            "the containers compared carry the generated token",
        );
        // The only resource the carry-over adds is the token read.
        const added = after.resources.filter((r) => r.custom && !before.resources.some((b) => key(b) === key(r))).map((r) => scriptNameOf(r));
        assert.deepEqual(added, ["read-daemon-token"]);
    });

    test("takeover.rotateDaemonToken reads nothing and keeps the generated token, whatever the primary holds", async () => {
        // The program's own choice (index.ts), so the program itself, on one host.
        const recording = await recordProgramQueued({
            stack: "unit",
            config: {
                version: "2.53.2",
                sshPrivateKeyPath: fixtureKeyFile(),
                hosts: [{ name: "solo", address: "10.40.0.9", role: "primary", privateAddress: "10.40.0.9", hostKey: HOST_KEY }],
                takeover: { rotateDaemonToken: true },
            },
            resolve: tokenOnPrimary,
            sdkStackTraces: false,
        });
        assert.equal(commandsOf(recording, "read-daemon-token").length, 0, "rotateDaemonToken reads nothing");
        const tokens = recording.byType(CONTAINER).flatMap((c) => ((c.inputs.envs as string[] | undefined) ?? []).filter((e) => e.startsWith("DAEMON_TOKEN=")).map((e) => [c.name, e]));
        assert.deepEqual(
            tokens.sort(),
            [
                ["solo-core-replicated", `DAEMON_TOKEN=${CANNED_DAEMON_TOKEN}`],
                ["solo-core-replicated-operator", `DAEMON_TOKEN=${CANNED_DAEMON_TOKEN}`],
            ].sort(),
            "the daemon and the operator run with the generated token",
        );
    });
});

describe("plan-diff on a new host", () => {
    test("lists the takeover steps with what they do where Replicated's script installed the host, and says preview cannot know", async () => {
        const diff = diffRecordings(await recordWired("carriedOver"), await recordWired("withNewHost"));
        const effect = (name: string): string | undefined => diff.added.find((r) => r.name === name)?.effect;
        assert.match(effect("site-node-3-detect-install") ?? "", /runs first on the host and changes nothing; where Replicated's install script installed the host, it checks that install against the stack/);
        assert.match(effect("site-node-3-takeover") ?? "", /right before the containers: where Replicated's install script left its units, arms a fallback/);
        assert.match(effect("site-node-3-takeover-confirm") ?? "", /disarms the takeover's fallback/);
        assert.ok(takeoverNotes(diff).some((note) => /Neither plan-diff nor pulumi preview can see which hosts hold such an install/.test(note)));
        // The hosts already there change nothing: their steps only gain a dependency.
        assert.deepEqual(diff.changed.map((c) => c.name), []);
        assert.deepEqual(diff.removed, []);
        const account = (await recordWired("withNewHost")).find(COMMAND, "site-primary-account");
        assert.ok(account.options.dependsOn.includes(`${COMMAND}::site-node-3-detect-install`), "the primary's account waits for the new host's detection");
        assert.deepEqual(takeoverNotes({ ...diff, added: [] }), [], "no note when no takeover step is added");
    });
});
