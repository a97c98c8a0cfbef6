/**
 * The host components, each constructed with plain args under one set of mocks: the remote
 * command each registers (name, parent, script, positional arguments), its connection (pinned
 * host key, dial limits, the key a secret and in no command string), `sudo -n` for a sudo login,
 * the options that matter (dependsOn, secret outputs, never a replacement or a delete command),
 * the outputs parsed from the canned summaries, and the constructor errors, each naming the
 * argument, thrown before the component or any child is registered. That a uid or gid arriving
 * as another resource's output fails when it resolves is shown in a process of its own
 * (test/process/deploy-time-failures.test.ts).
 */
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import {
    DIAL_ERROR_LIMIT,
    DaemonTokenCarryOver,
    HostDirectories,
    InstallDetection,
    InstallerTakeover,
    OwnershipRepair,
    PER_DIAL_TIMEOUT_SECONDS,
    ServiceAccount,
    TakeoverConfirmation,
    directoryPaths,
    type HostRole,
    type HostTarget,
} from "../../components/host";
import { MAX_ID, SUDO_UNAVAILABLE_EXIT, loadScript } from "../../components/shell";
import { CANNED_DAEMON_TOKEN, CANNED_DOCKER_GID, CANNED_UID, cannedResolver, scriptArgsOf, scriptNameOf } from "../support/canned-outputs";
import { recordComponent } from "../support/component-recorder";
import type { Recording } from "../support/mock-recorder";

const COMMAND = "command:remote:Command";
const PRIVATE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nhost-components-unit\n-----END OPENSSH PRIVATE KEY-----\n";
const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHt0lW8jY2OFo3QhMbo7V1H0Lr1iJ5qk3o1pQ0yTw9nA";
/** A root login with a pinned host key on a non-default port. */
const ROOT: HostTarget = { address: "10.0.0.1", port: 2222, privateKey: PRIVATE_KEY, hostKey: HOST_KEY };
/** A non-root login that becomes root through `sudo -n`, host key not pinned. */
const SUDO: HostTarget = { address: "10.0.0.2", user: "deploy", become: "sudo", privateKey: PRIVATE_KEY };
const GATE = "random:index/randomString:RandomString::gate";

/** A resource to hand a component as `dependsOn`. */
const gate = (): random.RandomString => new random.RandomString("gate", { length: 4 });

/** The constructor's error as `<class>: <message>`, or undefined when it did not throw. */
function constructorError(build: () => unknown): string | undefined {
    try {
        build();
        return undefined;
    } catch (err) {
        return `${(err as Error).name}: ${(err as Error).message}`;
    }
}

/** Neither a refused component nor any child of it is registered (a child's name starts with the component's). */
function assertNothingRegistered(recording: Recording, names: readonly string[]): void {
    for (const name of names) {
        assert.deepEqual(
            recording.resources.filter((resource) => resource.name === name || resource.name.startsWith(`${name}-`)).map((resource) => `${resource.type}::${resource.name}`),
            [],
            `${name}: neither the component nor any child is registered`,
        );
    }
}

/**
 * What every host command shares: the component's only child, script on stdin, connection,
 * options, no secret in its text.
 */
function assertHostCommand(recording: Recording, name: string, expected: { script: string; args: string[]; parent: string; target: HostTarget }): void {
    const resource = recording.find(COMMAND, name);
    assert.equal(resource.parent, expected.parent, `${name}: parent`);
    assert.deepEqual(recording.childrenOf(expected.parent).map((child) => `${child.type}::${child.name}`), [`${COMMAND}::${name}`], `${name}: the component's one resource`);
    assert.equal(scriptNameOf(resource), expected.script, `${name}: script`);
    assert.deepEqual(scriptArgsOf(resource), expected.args, `${name}: arguments`);
    assert.equal(resource.inputs.stdin, loadScript(expected.script), `${name}: the script travels on stdin unchanged`);
    const create = resource.inputs.create as string;
    if (expected.target.become === "sudo") {
        assert.ok(create.startsWith("sudo -n true 2>/dev/null || {"), `${name}: sudo pre-check`);
        assert.match(create, new RegExp(`exit ${SUDO_UNAVAILABLE_EXIT}; \\}; sudo -n sh -s --( |$)`), name);
    } else {
        assert.match(create, /^sh -s --( |$)/, name);
        assert.doesNotMatch(create, /sudo/, name);
    }
    const connection = resource.inputs.connection as Record<string, unknown>;
    assert.deepEqual(
        { host: connection.host, port: connection.port, user: connection.user, hostKey: connection.hostKey },
        { host: expected.target.address, port: expected.target.port ?? 22, user: expected.target.user ?? "root", hostKey: expected.target.hostKey },
        `${name}: connection`,
    );
    assert.equal(connection.privateKey, PRIVATE_KEY, `${name}: key`);
    assert.equal(connection.dialErrorLimit, DIAL_ERROR_LIMIT);
    assert.equal(connection.perDialTimeout, PER_DIAL_TIMEOUT_SECONDS);
    // The SDK marks the whole connection secret because the key inside it is one.
    assert.ok(resource.secretPaths.some((p) => p === "connection" || p === "connection.privateKey"), `${name}: the key is a secret`);
    for (const field of ["create", "stdin"]) {
        const text = resource.inputs[field] as string;
        assert.equal(text.includes("host-components-unit"), false, `${name}.${field} holds the key`);
        assert.equal(text.includes(CANNED_DAEMON_TOKEN), false, `${name}.${field} holds the daemon token`);
    }
    assert.equal(resource.inputs.addPreviousOutputInEnv, false, name);
    if (expected.script !== "read-daemon-token") {
        // Only the token read hides its output: every other summary (uid, gid, ...) stays readable.
        assert.equal(resource.options.additionalSecretOutputs.includes("stdout"), false, `${name}: stdout is plain`);
        assert.equal(resource.inputs.logging, "stdoutAndStderr", `${name}: logged`);
    }
    assert.equal(resource.inputs.delete, undefined, `${name}: destroy runs nothing on the host`);
    assert.equal(resource.inputs.update, undefined, `${name}: a change re-runs create`);
    assert.equal(resource.inputs.triggers, undefined, `${name}: no trigger replaces it`);
    assert.equal(resource.options.deleteBeforeReplace, false, name);
    // The provider's own rule (a trigger change replaces); with no triggers nothing replaces it.
    assert.deepEqual(resource.options.replaceOnChanges, ["triggers[*]"], name);
}

/** Record `build` once for the describe it is called in; `errors` collects its constructor errors. */
function recordOnce(build: (errors: Record<string, string | undefined>) => Record<string, unknown>) {
    const errors: Record<string, string | undefined> = {};
    let recording: Recording | undefined;
    before(async () => {
        recording = await recordComponent(() => build(errors));
    });
    return {
        errors,
        get recording(): Recording {
            assert.ok(recording, "recorded");
            return recording;
        },
    };
}

describe("ServiceAccount", () => {
    const run = recordOnce((errors) => {
        const svc = new ServiceAccount(
            "svc",
            { target: ROOT, userName: "svc_repl", uid: 1017, adoption: { adoptExisting: "svc_repl", allowNobodyUid: true } },
            { dependsOn: [gate()] },
        );
        const legacy = new ServiceAccount("legacy", { target: SUDO, runAs: "root", userName: "ignored", uid: 5 });
        const defaults = new ServiceAccount("defaults", { target: SUDO });
        errors.userName = constructorError(() => new ServiceAccount("bad-name", { target: ROOT, userName: "a;b" }));
        errors.uid = constructorError(() => new ServiceAccount("bad-uid", { target: ROOT, uid: 0 }));
        errors.adoptExisting = constructorError(() => new ServiceAccount("bad-adopt", { target: ROOT, adoption: { adoptExisting: "other" } }));
        errors.runAs = constructorError(() => new ServiceAccount("bad-run-as", { target: ROOT, runAs: "admin" as "root" }));
        errors.address = constructorError(() => new ServiceAccount("bad-address", { target: { ...ROOT, address: "bad host" } }));
        errors.all = constructorError(() => new ServiceAccount("bad-all", { target: { ...ROOT, port: 0 }, userName: "1234", uid: 1.5, adoption: { adoptExisting: "other" } }));
        const ids = (account: ServiceAccount) => ({ uid: account.uid, gid: account.gid, dockerGid: account.dockerGid, userName: account.userName });
        return { svc: ids(svc), legacy: ids(legacy), defaults: ids(defaults) };
    });

    test("service-account mode: <name>-account runs account.sh with the name, pinned uid and adoption, after the component's dependsOn", () => {
        const command = run.recording.find(COMMAND, "svc-account");
        assertHostCommand(run.recording, command.name, { script: "account", args: ["replicated", "svc_repl", "1017", "svc_repl", "true"], parent: "replicated:host:ServiceAccount::svc", target: ROOT });
        assert.deepEqual(command.options.dependsOn, [GATE], "the component's dependsOn holds for the command itself");
        assertHostCommand(run.recording, "defaults-account", {
            script: "account",
            args: ["replicated", "replicated", "", "", "false"],
            parent: "replicated:host:ServiceAccount::defaults",
            target: SUDO,
        });
    });

    test("root mode: only <name>-docker-group, with root root '' whatever serviceUser says", () => {
        assertHostCommand(run.recording, "legacy-docker-group", {
            script: "account",
            args: ["root", "root", "", "", "false"],
            parent: "replicated:host:ServiceAccount::legacy",
            target: SUDO,
        });
        const names = run.recording.byType(COMMAND).map((r) => r.name);
        assert.equal(names.includes("legacy-account"), false);
        assert.equal(names.includes("svc-docker-group"), false);
    });

    test("the ids come from the summary: the service uid and docker gid, or 0 in root mode", () => {
        const outputs = run.recording.outputs as Record<string, Record<string, unknown>>;
        assert.deepEqual(outputs.svc, { uid: CANNED_UID, gid: CANNED_DOCKER_GID, dockerGid: CANNED_DOCKER_GID, userName: "svc_repl" });
        assert.deepEqual(outputs.legacy, { uid: 0, gid: 0, dockerGid: CANNED_DOCKER_GID, userName: "root" });
    });

    test("constructor errors name the argument", () => {
        assert.equal(run.errors.userName, 'HostArgsError: ServiceAccount bad-name: userName "a;b" must match ^[a-z_][a-z0-9_-]{0,30}$ and not be all digits');
        assert.equal(run.errors.uid, `HostArgsError: ServiceAccount bad-uid: uid 0 must be an integer from 1 to ${MAX_ID}`);
        assert.equal(run.errors.adoptExisting, `HostArgsError: ServiceAccount bad-adopt: adoption.adoptExisting "other" must be the service account's own name "replicated"`);
        assert.match(run.errors.address ?? "", /^HostArgsError: ServiceAccount bad-address: target\.address "bad host"/);
        assert.equal(run.errors.runAs, 'HostArgsError: ServiceAccount bad-run-as: runAs "admin" must be "replicated" or "root"');
        assert.equal(run.recording.byType(COMMAND).some((r) => r.name.startsWith("bad-")), false, "no command for a refused component");
        assertNothingRegistered(run.recording, ["bad-name", "bad-uid", "bad-adopt", "bad-address", "bad-run-as", "bad-all"]);
    });

    test("every bad argument of one account is listed in one error, one line each, before its target", () => {
        assert.deepEqual((run.errors.all ?? "").split("\n"), [
            'HostArgsError: ServiceAccount bad-all: userName "1234" must match ^[a-z_][a-z0-9_-]{0,30}$ and not be all digits',
            `ServiceAccount bad-all: uid 1.5 must be an integer from 1 to ${MAX_ID}`,
            `ServiceAccount bad-all: adoption.adoptExisting "other" must be the service account's own name "1234"`,
        ]);
    });
});

describe("HostDirectories", () => {
    const run = recordOnce((errors) => {
        const account = new ServiceAccount("acct", { target: SUDO });
        const operator = new HostDirectories("node", { target: SUDO, role: "operator", uid: account.uid, gid: account.dockerGid });
        const primary = new HostDirectories("primary", { target: ROOT, role: "primary", uid: 0, gid: 994 });
        errors.port = constructorError(() => new HostDirectories("bad-port", { target: { ...ROOT, port: 0 }, role: "primary", uid: 1, gid: 1 }));
        errors.role = constructorError(() => new HostDirectories("bad-role", { target: ROOT, role: "worker" as HostRole, uid: 1017, gid: 999 }));
        errors.uid = constructorError(() => new HostDirectories("bad-uid", { target: ROOT, role: "primary", uid: -1, gid: 999 }));
        errors.gid = constructorError(() => new HostDirectories("bad-gid", { target: ROOT, role: "operator", uid: 0, gid: 0 }));
        // A bad plain uid next to an account's gid: refused at once, the Input needs not resolve.
        errors.uidBesideInput = constructorError(() => new HostDirectories("bad-uid-input-gid", { target: ROOT, role: "primary", uid: MAX_ID + 1, gid: account.dockerGid }));
        errors.all = constructorError(() => new HostDirectories("bad-all", { target: { ...ROOT, port: 0 }, role: "both" as HostRole, uid: 1.5, gid: "999" as unknown as number }));
        return { operatorPaths: operator.paths, primaryPaths: primary.paths };
    });

    test("<name>-directories runs directories.sh with uid, gid and role; ids from the account make it wait for the account", () => {
        const operator = run.recording.find(COMMAND, "node-directories");
        assertHostCommand(run.recording, operator.name, {
            script: "directories",
            args: [String(CANNED_UID), String(CANNED_DOCKER_GID), "operator"],
            parent: "replicated:host:HostDirectories::node",
            target: SUDO,
        });
        assert.ok(operator.options.dependsOn.includes(`${COMMAND}::acct-account`), "directories wait for the account's ids");
        const primary = run.recording.find(COMMAND, "primary-directories");
        assertHostCommand(run.recording, primary.name, { script: "directories", args: ["0", "994", "primary"], parent: "replicated:host:HostDirectories::primary", target: ROOT });
        assert.deepEqual(primary.options.dependsOn, []);
    });

    test("paths are the role's directories", () => {
        assert.deepEqual(run.recording.outputs.operatorPaths, directoryPaths("operator"));
        assert.deepEqual(run.recording.outputs.primaryPaths, directoryPaths("primary"));
    });

    test("constructor errors name the argument", () => {
        assert.match(run.errors.port ?? "", /^HostArgsError: HostDirectories bad-port: target\.port 0 must be an integer from 1 to 65535/);
        assert.equal(run.errors.role, 'HostArgsError: HostDirectories bad-role: role "worker" must be "primary" or "operator"');
        assert.equal(run.errors.uid, `HostArgsError: HostDirectories bad-uid: uid -1 must be an integer from 0 to ${MAX_ID} (0 in legacy root mode)`);
        assert.equal(run.errors.gid, `HostArgsError: HostDirectories bad-gid: gid 0 must be the docker gid, an integer from 1 to ${MAX_ID}`);
        assert.equal(run.errors.uidBesideInput, `HostArgsError: HostDirectories bad-uid-input-gid: uid ${MAX_ID + 1} must be an integer from 0 to ${MAX_ID} (0 in legacy root mode)`);
        assertNothingRegistered(run.recording, ["bad-port", "bad-role", "bad-uid", "bad-gid", "bad-uid-input-gid", "bad-all"]);
    });

    test("every bad argument of one directories component is listed in one error, one line each, before its target", () => {
        assert.deepEqual((run.errors.all ?? "").split("\n"), [
            'HostArgsError: HostDirectories bad-all: role "both" must be "primary" or "operator"',
            `HostDirectories bad-all: uid 1.5 must be an integer from 0 to ${MAX_ID} (0 in legacy root mode)`,
            `HostDirectories bad-all: gid "999" must be the docker gid, an integer from 1 to ${MAX_ID}`,
        ]);
    });
});

describe("OwnershipRepair", () => {
    const run = recordOnce((errors) => {
        const account = new ServiceAccount("acct", { target: ROOT });
        const repair = new OwnershipRepair("host", { target: ROOT, uid: account.uid, gid: account.dockerGid }, { dependsOn: [gate()] });
        new OwnershipRepair("plain", { target: SUDO, uid: 2001, gid: 2002 });
        errors.key = constructorError(() => new OwnershipRepair("no-key", { target: { address: "10.0.0.3" }, uid: 1, gid: 1 }));
        errors.uid = constructorError(() => new OwnershipRepair("bad-uid", { target: ROOT, uid: 0, gid: 999 }));
        errors.gid = constructorError(() => new OwnershipRepair("bad-gid", { target: ROOT, uid: account.uid, gid: 0 }));
        errors.all = constructorError(() => new OwnershipRepair("bad-all", { target: { address: "10.0.0.3" }, uid: 0, gid: MAX_ID + 1 }));
        return { summary: repair.summary };
    });

    test("<name>-ownership runs repair-ownership.sh with uid and gid, after the component's dependsOn and the account's ids", () => {
        const repair = run.recording.find(COMMAND, "host-ownership");
        assertHostCommand(run.recording, repair.name, { script: "repair-ownership", args: [String(CANNED_UID), String(CANNED_DOCKER_GID)], parent: "replicated:host:OwnershipRepair::host", target: ROOT });
        assert.ok(repair.options.dependsOn.includes(GATE), "the component's dependsOn holds for the command itself");
        assert.ok(repair.options.dependsOn.includes(`${COMMAND}::acct-account`));
        assertHostCommand(run.recording, "plain-ownership", { script: "repair-ownership", args: ["2001", "2002"], parent: "replicated:host:OwnershipRepair::plain", target: SUDO });
    });

    test("the summary is parsed from the script's last line", () => {
        assert.deepEqual(run.recording.outputs.summary, { changed: 0, skipped: 0, trees: 4, mountsLeftAlone: 0, stoppedContainers: [], restartedContainers: [] });
    });

    test("constructor errors name the argument", () => {
        assert.match(run.errors.key ?? "", /^HostArgsError: OwnershipRepair no-key: give exactly one of target\.privateKey and target\.privateKeyFile \(neither is set\)/);
        assert.equal(run.errors.uid, `HostArgsError: OwnershipRepair bad-uid: uid 0 must be an integer from 1 to ${MAX_ID} (the repair never re-owns to root)`);
        assert.equal(run.errors.gid, `HostArgsError: OwnershipRepair bad-gid: gid 0 must be an integer from 1 to ${MAX_ID} (the repair never re-owns to root)`);
        assertNothingRegistered(run.recording, ["no-key", "bad-uid", "bad-gid", "bad-all"]);
    });

    test("every bad argument of one repair is listed in one error, one line each, before its target", () => {
        assert.deepEqual((run.errors.all ?? "").split("\n"), [
            `HostArgsError: OwnershipRepair bad-all: uid 0 must be an integer from 1 to ${MAX_ID} (the repair never re-owns to root)`,
            `OwnershipRepair bad-all: gid ${MAX_ID + 1} must be an integer from 1 to ${MAX_ID} (the repair never re-owns to root)`,
        ]);
    });
});

describe("InstallDetection", () => {
    const run = recordOnce((errors) => {
        const fresh = new InstallDetection("fresh", { target: ROOT, role: "primary" });
        new InstallDetection("pinned", { target: SUDO, role: "operator", userName: "svc", uid: 1017 }, { dependsOn: [gate()] });
        new InstallDetection("legacy", { target: ROOT, role: "primary", runAs: "root", userName: "svc", uid: 1017 });
        errors.userName = constructorError(() => new InstallDetection("bad-name", { target: ROOT, role: "primary", userName: "a;touch /tmp/x" }));
        errors.uid = constructorError(() => new InstallDetection("bad-uid", { target: ROOT, role: "primary", uid: 0 }));
        errors.role = constructorError(() => new InstallDetection("bad-role", { target: ROOT, role: "both" as "primary" }));
        errors.runAs = constructorError(() => new InstallDetection("bad-run-as", { target: ROOT, role: "primary", runAs: "admin" as "root" }));
        errors.user = constructorError(() => new InstallDetection("bad-user", { target: { ...ROOT, user: "Not A User" }, role: "primary" }));
        // Root mode ignores the account settings in the command, but they are still checked.
        errors.all = constructorError(
            () => new InstallDetection("bad-all", { target: { ...ROOT, user: "Not A User" }, role: "worker" as HostRole, runAs: "root", userName: "Svc", uid: -5 }),
        );
        return { summary: fresh.summary };
    });

    test("<name>-detect-install runs detect-install.sh with runAs, the account name, a pinned uid and the role, waiting for nothing by default", () => {
        const fresh = run.recording.find(COMMAND, "fresh-detect-install");
        assertHostCommand(run.recording, fresh.name, { script: "detect-install", args: ["replicated", "replicated", "", "primary"], parent: "replicated:host:InstallDetection::fresh", target: ROOT });
        assert.deepEqual(fresh.options.dependsOn, [], "detection waits for nothing");
        const pinned = run.recording.find(COMMAND, "pinned-detect-install");
        assertHostCommand(run.recording, pinned.name, { script: "detect-install", args: ["replicated", "svc", "1017", "operator"], parent: "replicated:host:InstallDetection::pinned", target: SUDO });
        assert.deepEqual(pinned.options.dependsOn, [GATE], "the component's dependsOn holds for the command itself");
        assertHostCommand(run.recording, "legacy-detect-install", {
            script: "detect-install",
            args: ["root", "replicated", "", "primary"],
            parent: "replicated:host:InstallDetection::legacy",
            target: ROOT,
        });
    });

    test("the summary is parsed: nothing found on a fresh host, nothing to take over", () => {
        const summary = run.recording.outputs.summary as Record<string, unknown>;
        assert.equal(summary.install, "none");
        assert.equal(summary.takeOver, false);
        assert.equal(summary.changed, 0);
    });

    test("constructor errors name the argument", () => {
        assert.equal(run.errors.userName, 'HostArgsError: InstallDetection bad-name: userName "a;touch /tmp/x" must match ^[a-z_][a-z0-9_-]{0,30}$ and not be all digits');
        assert.equal(run.errors.uid, `HostArgsError: InstallDetection bad-uid: uid 0 must be an integer from 1 to ${MAX_ID}`);
        assert.equal(run.errors.role, 'HostArgsError: InstallDetection bad-role: role "both" must be "primary" or "operator"');
        assert.equal(run.errors.runAs, 'HostArgsError: InstallDetection bad-run-as: runAs "admin" must be "replicated" or "root"');
        assert.match(run.errors.user ?? "", /^HostArgsError: InstallDetection bad-user: target\.user "Not A User"/);
        assertNothingRegistered(run.recording, ["bad-name", "bad-uid", "bad-role", "bad-run-as", "bad-user", "bad-all"]);
    });

    test("every bad argument of one detection is listed in one error, one line each, before its target", () => {
        assert.deepEqual((run.errors.all ?? "").split("\n"), [
            'HostArgsError: InstallDetection bad-all: userName "Svc" must match ^[a-z_][a-z0-9_-]{0,30}$ and not be all digits',
            `InstallDetection bad-all: uid -5 must be an integer from 1 to ${MAX_ID}`,
            'InstallDetection bad-all: role "worker" must be "primary" or "operator"',
        ]);
    });
});

describe("DaemonTokenCarryOver", () => {
    const FOUND_TOKEN = "script-install-token-0123";
    const errors: Record<string, string | undefined> = {};
    let recording: Recording | undefined;
    before(async () => {
        recording = await recordComponent(
            () => {
                const generated = new random.RandomPassword("daemon-token", { length: 32, special: false });
                const none = new DaemonTokenCarryOver("fresh-daemon-token", { target: ROOT, generated: generated.result });
                const found = new DaemonTokenCarryOver("script-daemon-token", { target: SUDO, generated: generated.result });
                errors.hostKey = constructorError(() => new DaemonTokenCarryOver("bad-host-key", { target: { ...ROOT, hostKey: "ssh-rsa AAAAB3NzaC1yc2E" }, generated: "g" }));
                return { none: none.token, found: found.token, secret: pulumi.all([pulumi.isSecret(none.token), pulumi.isSecret(found.token)]) };
            },
            {
                resolve: (resource) =>
                    resource.name === "script-daemon-token-read"
                        ? { stdout: JSON.stringify({ found: true, source: "/etc/default/replicated", token: FOUND_TOKEN, changed: 0 }), stderr: "" }
                        : cannedResolver(resource),
            },
        );
    });
    const rec = (): Recording => {
        assert.ok(recording, "recorded");
        return recording;
    };

    test("<name>-read runs read-daemon-token.sh without arguments, its output secret and never logged", () => {
        for (const [name, target] of [["fresh-daemon-token", ROOT], ["script-daemon-token", SUDO]] as const) {
            const read = rec().find(COMMAND, `${name}-read`);
            assertHostCommand(rec(), read.name, { script: "read-daemon-token", args: [], parent: `replicated:host:DaemonTokenCarryOver::${name}`, target });
            assert.equal(read.inputs.logging, "none");
            for (const output of ["stdout", "stderr"]) {
                assert.ok(read.options.additionalSecretOutputs.includes(output), `${read.name}: ${output} is a secret output`);
            }
            assert.equal(JSON.stringify(read.inputs).includes(FOUND_TOKEN), false, "the found token is in no input");
        }
    });

    test("the token is the one found on the host, else the generated one, and always a secret", () => {
        assert.equal(rec().outputs.none, CANNED_DAEMON_TOKEN);
        assert.equal(rec().outputs.found, FOUND_TOKEN);
        assert.deepEqual(rec().outputs.secret, [true, true]);
    });

    test("constructor errors name the argument", () => {
        assert.match(errors.hostKey ?? "", /^HostArgsError: DaemonTokenCarryOver bad-host-key: target\.hostKey /);
        assertNothingRegistered(rec(), ["bad-host-key"]);
    });
});

describe("InstallerTakeover", () => {
    const run = recordOnce((errors) => {
        const primary = new InstallerTakeover("primary", { target: ROOT, role: "primary" });
        new InstallerTakeover("node", { target: SUDO, role: "operator", fallbackSeconds: 30 }, { dependsOn: [gate()] });
        errors.fallbackSeconds = constructorError(() => new InstallerTakeover("bad-fallback", { target: ROOT, role: "primary", fallbackSeconds: 29 }));
        errors.role = constructorError(() => new InstallerTakeover("bad-role", { target: ROOT, role: "worker" as "primary" }));
        errors.become = constructorError(() => new InstallerTakeover("bad-become", { target: { ...SUDO, become: "none" }, role: "primary" }));
        errors.all = constructorError(() => new InstallerTakeover("bad-all", { target: { ...SUDO, become: "none" }, role: "both" as HostRole, fallbackSeconds: 300.5 }));
        return { summary: primary.summary };
    });

    test("<name>-takeover runs takeover.sh with the role and the fallback (default 300 s), after the component's dependsOn", () => {
        const primary = run.recording.find(COMMAND, "primary-takeover");
        assertHostCommand(run.recording, primary.name, { script: "takeover", args: ["primary", "300"], parent: "replicated:host:InstallerTakeover::primary", target: ROOT });
        assert.deepEqual(primary.options.dependsOn, []);
        const node = run.recording.find(COMMAND, "node-takeover");
        assertHostCommand(run.recording, node.name, { script: "takeover", args: ["operator", "30"], parent: "replicated:host:InstallerTakeover::node", target: SUDO });
        assert.deepEqual(node.options.dependsOn, [GATE], "the component's dependsOn holds for the command itself");
    });

    test("the summary is parsed: nothing taken over, the fallback's deadline reported", () => {
        const summary = run.recording.outputs.summary as Record<string, unknown>;
        assert.deepEqual({ install: summary.install, fallbackArmed: summary.fallbackArmed, fallbackSeconds: summary.fallbackSeconds }, { install: "none", fallbackArmed: false, fallbackSeconds: 300 });
    });

    test("constructor errors name the argument", () => {
        assert.equal(run.errors.fallbackSeconds, "HostArgsError: InstallerTakeover bad-fallback: fallbackSeconds 29 must be an integer from 30 to 3600");
        assert.equal(run.errors.role, 'HostArgsError: InstallerTakeover bad-role: role "worker" must be "primary" or "operator"');
        assert.match(run.errors.become ?? "", /^HostArgsError: InstallerTakeover bad-become: target\.become is "none" but target\.user "deploy" is not root/);
        assertNothingRegistered(run.recording, ["bad-fallback", "bad-role", "bad-become", "bad-all"]);
    });

    test("every bad argument of one takeover is listed in one error, one line each, before its target", () => {
        assert.deepEqual((run.errors.all ?? "").split("\n"), [
            'HostArgsError: InstallerTakeover bad-all: role "both" must be "primary" or "operator"',
            "InstallerTakeover bad-all: fallbackSeconds 300.5 must be an integer from 30 to 3600",
        ]);
    });
});

describe("TakeoverConfirmation", () => {
    const run = recordOnce((errors) => {
        const primary = new TakeoverConfirmation("primary", { target: ROOT, role: "primary" });
        new TakeoverConfirmation("node", { target: SUDO, role: "operator" }, { dependsOn: [gate()] });
        errors.role = constructorError(() => new TakeoverConfirmation("bad-role", { target: ROOT, role: "both" as "primary" }));
        errors.keyFile = constructorError(
            () => new TakeoverConfirmation("missing-key-file", { target: { address: "10.0.0.4", privateKeyFile: "/nonexistent/id_ed25519" }, role: "primary" }),
        );
        return { summary: primary.summary };
    });

    test("<name>-takeover-confirm runs takeover-confirm.sh with the role only, after the component's dependsOn", () => {
        const primary = run.recording.find(COMMAND, "primary-takeover-confirm");
        assertHostCommand(run.recording, primary.name, { script: "takeover-confirm", args: ["primary"], parent: "replicated:host:TakeoverConfirmation::primary", target: ROOT });
        assert.deepEqual(primary.options.dependsOn, []);
        const node = run.recording.find(COMMAND, "node-takeover-confirm");
        assertHostCommand(run.recording, node.name, { script: "takeover-confirm", args: ["operator"], parent: "replicated:host:TakeoverConfirmation::node", target: SUDO });
        assert.deepEqual(node.options.dependsOn, [GATE], "the component's dependsOn holds for the command itself");
    });

    test("the summary is parsed: never taken over, nothing armed", () => {
        assert.deepEqual(run.recording.outputs.summary, { phase: null, armed: false, waitedSeconds: 0, gapSeconds: null, changed: 0 });
    });

    test("constructor errors name the argument", () => {
        assert.equal(run.errors.role, 'HostArgsError: TakeoverConfirmation bad-role: role "both" must be "primary" or "operator"');
        assert.match(run.errors.keyFile ?? "", /^HostArgsError: TakeoverConfirmation missing-key-file: target\.privateKeyFile: cannot read \/nonexistent\/id_ed25519/);
        assertNothingRegistered(run.recording, ["bad-role", "missing-key-file"]);
    });
});
