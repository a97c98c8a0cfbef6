/**
 * ReplicatedHost and a smaller host component built from plain args and a HostTarget whose
 * address is another resource's output, all under one set of mocks: the connection every remote
 * command gets, the docker provider's ssh, the errors of targets that cannot work (each naming
 * the argument) and an Input address that is refused when it resolves (that such an address
 * fails a whole run at the component's command is shown in a process of its own, in
 * test/process/deploy-time-failures.test.ts).
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { defaultSshFilesLocation } from "../../components/docker/provider";
import { DIAL_ERROR_LIMIT, PER_DIAL_TIMEOUT_SECONDS, hostConnection } from "../../components/host/connection";
import { checkedHostTarget, type HostTarget } from "../../components/host/host-target";
import { VersionGuard } from "../../components/host/version-guard";
import { ReplicatedHost, type ReplicatedHostArgs } from "../../components/replicated-host";
import { cannedResolver } from "../../tools/offline/host-model";
import { recordProgramQueued, type RecordedResource, type Recording } from "../../tools/offline/recorder";
import { standInKeyFile } from "../../tools/offline/stacks";
import { BAD_VM_ADDRESS } from "../support/rejected-inputs";

const PROJECT = "host-target-unit";
const STACK = "unit";
/** What the stand-in VM resource reports as its address; known only once it "exists". */
const VM_ADDRESS = "192.0.2.10";
const PRIVATE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nhost-target-unit\n-----END OPENSSH PRIVATE KEY-----\n";
const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHt0lW8jY2OFo3QhMbo7V1H0Lr1iJ5qk3o1pQ0yTw9nA";
const VM_REF = "random:index/randomString:RandomString::vm-address";
interface Evaluation {
    readonly recording: Recording;
    /** Constructor errors by case name (undefined: the constructor did not throw). */
    readonly constructorErrors: Readonly<Record<string, string | undefined>>;
    /** How the bad Input address ended once it resolved. */
    readonly badAddress: Promise<unknown>;
    /** Whether a checked target's key is a secret, given as a plain string and as a file. */
    readonly keyIsSecret: { readonly plain: boolean; readonly file: boolean };
}

function constructorError(build: () => unknown): string | undefined {
    try {
        build();
        return undefined;
    } catch (err) {
        return (err as Error).message;
    }
}

/** The one evaluation of this file: every case below reads it. */
const evaluation: Promise<Evaluation> = (async () => {
    const constructorErrors: Record<string, string | undefined> = {};
    let badAddress: Promise<unknown> = Promise.resolve();
    let keyIsSecret = { plain: Promise.resolve(false), file: Promise.resolve(false) };
    const recording = await recordProgramQueued({
        stack: STACK,
        project: PROJECT,
        config: {},
        sdkStackTraces: false,
        resolve: (resource: RecordedResource) => {
            if (resource.type === "random:index/randomString:RandomString") {
                return { result: resource.name === "bad-vm-address" ? BAD_VM_ADDRESS : VM_ADDRESS };
            }
            return cannedResolver(resource);
        },
        program: () => {
            const vm = new random.RandomString("vm-address", { length: 12 });
            const host = new ReplicatedHost("acme-1", {
                target: { address: vm.result, user: "ubuntu", privateKey: PRIVATE_KEY, hostKey: HOST_KEY },
                version: "2.53.2",
                privateAddress: "10.0.0.11",
                daemonToken: "plain-daemon-token-0123456789",
            });
            new VersionGuard("solo", {
                target: { address: "198.51.100.4", port: 2222, privateKeyFile: standInKeyFile() },
                version: "2.53.2",
                channel: "stable",
            });

            const target: HostTarget = { address: "198.51.100.5", privateKey: PRIVATE_KEY };
            const guard = (name: string, bad: Partial<HostTarget>) => () =>
                new VersionGuard(name, { target: { ...target, ...bad } as HostTarget, version: "2.53.2", channel: "stable" });
            const replicated = (name: string, bad: Partial<ReplicatedHostArgs>) => () =>
                new ReplicatedHost(name, { target, version: "2.53.2", privateAddress: "10.0.0.12", daemonToken: "t0123456789", ...bad });
            constructorErrors.port = constructorError(guard("bad-port", { port: 70000 }));
            constructorErrors.address = constructorError(guard("bad-address", { address: "bad host" }));
            constructorErrors.user = constructorError(guard("bad-user", { user: "Not A User" }));
            constructorErrors.hostKey = constructorError(guard("bad-host-key", { hostKey: "ssh-rsa AAAAB3NzaC1yc2E" }));
            constructorErrors.becomeNone = constructorError(guard("bad-become", { user: "deploy", become: "none" }));
            constructorErrors.bothKeys = constructorError(guard("both-keys", { privateKeyFile: standInKeyFile() }));
            constructorErrors.neitherKey = constructorError(guard("no-key", { privateKey: undefined }));
            constructorErrors.missingKeyFile = constructorError(guard("missing-key-file", { privateKey: undefined, privateKeyFile: "/nonexistent/id_ed25519" }));
            constructorErrors.guardArgs = constructorError(() => new VersionGuard("bad-guard-args", { target: { ...target, port: 0 }, version: "2.53", channel: "Stable!" }));
            constructorErrors.hostPort = constructorError(replicated("bad-target", { target: { ...target, port: 0 } }));
            constructorErrors.hostArgs = constructorError(replicated("bad-args", { version: "3.0.0", role: "operator", privateAddress: "0.0.0.0" }));

            // An address known only at deploy time is checked when it resolves.
            const badVm = new random.RandomString("bad-vm-address", { length: 12 });
            const connection = hostConnection(checkedHostTarget("VersionGuard late", { address: badVm.result, privateKey: PRIVATE_KEY }));
            // The SDK's own promises of an Output (pulumi/pulumi sdk/nodejs/output.ts, OutputImpl): the
            // value, and whether it is known and secret, which reject with it; a real run reports
            // that rejection as the deployment's error.
            const late = pulumi.output(connection.host) as unknown as { promise(): Promise<unknown>; isKnown: Promise<boolean>; isSecret: Promise<boolean> };
            late.isKnown.catch(() => undefined);
            late.isSecret.catch(() => undefined);
            badAddress = late.promise();
            keyIsSecret = {
                plain: pulumi.isSecret(checkedHostTarget("VersionGuard plain-key", { address: "198.51.100.6", privateKey: PRIVATE_KEY }).privateKey),
                file: pulumi.isSecret(checkedHostTarget("VersionGuard key-file", { address: "198.51.100.6", privateKeyFile: standInKeyFile() }).privateKey),
            };
            return { uid: host.uid };
        },
    });
    return { recording, constructorErrors, badAddress, keyIsSecret: { plain: await keyIsSecret.plain, file: await keyIsSecret.file } };
})();

function commandsOf(recording: Recording, prefix: string): RecordedResource[] {
    return recording.byType("command:remote:Command").filter((resource) => resource.name.startsWith(prefix));
}

test("every remote command of the host dials the VM's output address with the target's port, user, key and host key", async () => {
    const { recording } = await evaluation;
    const commands = commandsOf(recording, "acme-1-");
    assert.ok(commands.length >= 7, `recorded ${commands.map((c) => c.name).join(", ")}`);
    for (const remote of commands) {
        assert.deepEqual(
            remote.inputs.connection,
            { host: VM_ADDRESS, port: 22, user: "ubuntu", privateKey: PRIVATE_KEY, hostKey: HOST_KEY, dialErrorLimit: DIAL_ERROR_LIMIT, perDialTimeout: PER_DIAL_TIMEOUT_SECONDS },
            remote.name,
        );
        // @pulumi/command 1.2.1 remote/command.js wraps the whole connection in pulumi.secret.
        assert.deepEqual(remote.secretPaths, ["connection"], `${remote.name}: the key is a secret`);
        assert.ok(remote.options.dependsOn.includes(VM_REF), `${remote.name} waits for the VM: ${remote.options.dependsOn.join(", ")}`);
        // A login user other than root becomes root through sudo by default.
        assert.match(String(remote.inputs.create), /^sudo -n true /, remote.name);
    }
});

test("the target's private key is a secret whether it came as a plain string or from a file", async () => {
    const { keyIsSecret } = await evaluation;
    assert.deepEqual(keyIsSecret, { plain: true, file: true });
});

test("the host's docker provider reaches the same address through ssh with the pinned key", async () => {
    const { recording } = await evaluation;
    const provider = recording.find("pulumi:providers:docker", "acme-1-docker");
    assert.equal(provider.inputs.host, `ssh://ubuntu@${VM_ADDRESS}:22`);
    // The docker provider SDK JSON-encodes sshOpts (@pulumi/docker 5.2.0 provider.js: `pulumi.output(args.sshOpts).apply(JSON.stringify)`).
    const sshOpts = JSON.parse(String(provider.inputs.sshOpts)) as string[];
    assert.ok(sshOpts.includes("StrictHostKeyChecking=yes"), sshOpts.join(" "));
    assert.ok(sshOpts.includes("HostKeyAlgorithms=ssh-ed25519"), sshOpts.join(" "));
    // The secret key is copied to a 0600 file for ssh; the file name is not secret.
    assert.equal(sshOpts[sshOpts.indexOf("-i") + 1], `~/.ssh/pulumi-replicated/${PROJECT}-${STACK}.key`);
    const files = defaultSshFilesLocation().localPath;
    assert.equal(fs.readFileSync(path.join(files, `${PROJECT}-${STACK}.key`), "utf8"), PRIVATE_KEY);
    assert.equal(fs.readFileSync(path.join(files, `${PROJECT}-${STACK}-acme-1.known_hosts`), "utf8"), `${VM_ADDRESS} ${HOST_KEY}\n`);
});

test("a plain target uses its port, root needs no sudo, and a key file's contents are a secret", async () => {
    const { recording } = await evaluation;
    const guard = recording.find("command:remote:Command", "solo-version-guard");
    assert.deepEqual(guard.inputs.connection, {
        host: "198.51.100.4",
        port: 2222,
        user: "root",
        privateKey: fs.readFileSync(standInKeyFile(), "utf8"),
        dialErrorLimit: DIAL_ERROR_LIMIT,
        perDialTimeout: PER_DIAL_TIMEOUT_SECONDS,
    });
    assert.deepEqual(guard.secretPaths, ["connection"]);
    assert.match(String(guard.inputs.create), /^sh -s -- /);
});

test("a target that cannot work is refused before anything is registered, naming the argument", async () => {
    const { recording, constructorErrors } = await evaluation;
    assert.match(constructorErrors.port ?? "", /^VersionGuard bad-port: target\.port 70000 must be an integer from 1 to 65535$/);
    assert.match(constructorErrors.address ?? "", /^VersionGuard bad-address: target\.address "bad host" must be a DNS host name or an IP address$/);
    assert.match(constructorErrors.user ?? "", /^VersionGuard bad-user: target\.user "Not A User" must match/);
    assert.match(constructorErrors.hostKey ?? "", /^VersionGuard bad-host-key: target\.hostKey is an ssh-rsa key/);
    assert.match(constructorErrors.becomeNone ?? "", /^VersionGuard bad-become: target\.become is "none" but target\.user "deploy" is not root/);
    assert.match(constructorErrors.bothKeys ?? "", /^VersionGuard both-keys: give exactly one of target\.privateKey and target\.privateKeyFile \(both are set\)$/);
    assert.match(constructorErrors.neitherKey ?? "", /^VersionGuard no-key: give exactly one of target\.privateKey and target\.privateKeyFile \(neither is set\)$/);
    assert.match(constructorErrors.missingKeyFile ?? "", /^VersionGuard missing-key-file: target\.privateKeyFile: cannot read \/nonexistent\/id_ed25519 \(ENOENT\)$/);
    assert.match(constructorErrors.hostPort ?? "", /^ReplicatedHost bad-target: target\.port 0 must be an integer from 1 to 65535$/);
    // Its own args first, every problem on a line of its own, then the target.
    assert.equal(
        constructorErrors.guardArgs,
        'VersionGuard bad-guard-args: version "2.53" must be <major>.<minor>.<patch>, e.g. 2.53.2\nVersionGuard bad-guard-args: channel "Stable!" must match ^[a-z0-9][a-z0-9-]{0,30}$',
    );
    for (const name of ["bad-port", "bad-address", "bad-user", "bad-host-key", "bad-become", "both-keys", "no-key", "missing-key-file", "bad-guard-args", "bad-target", "bad-args"]) {
        assert.deepEqual(
            recording.resources.filter((resource) => resource.name === name || resource.name.startsWith(`${name}-`)).map((resource) => resource.name),
            [],
            `${name}: neither the component nor any child is registered`,
        );
    }
});

test("ReplicatedHost lists every bad argument of its own, each by name", async () => {
    const { constructorErrors } = await evaluation;
    const lines = (constructorErrors.hostArgs ?? "").split("\n");
    assert.deepEqual(lines.map((line) => /^ReplicatedHost bad-args: ([A-Za-z.[\]0-9]+)/.exec(line)?.[1]), ["version", "privateAddress", "primaryAddress"]);
});

test("an Input address that is no host name or IP address fails when it resolves, naming target.address", async () => {
    const { badAddress } = await evaluation;
    await assert.rejects(badAddress, /^HostArgsError: VersionGuard late: target\.address "not an address; rm -rf \/" must be a DNS host name or an IP address$/);
});
