/**
 * What a change of a host's settings does to its commands, on ReplicatedHosts built with plain
 * args like the example stacks' hosts (acme-online's sudo host with a pinned service uid;
 * globex-airgap's air-gapped primary and operator in legacy root mode): a version bump, a
 * channel change or an allowed downgrade changes the version guard's arguments and leaves every
 * account, directories and repair command identical; the switch to runAs replicated creates the
 * accounts and the repairs and re-owns the directories. Each variant's host commands keep their
 * arguments, connection and options, and no command string holds the key or the daemon token.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { before, describe, test } from "node:test";
import * as random from "@pulumi/random";
import { ReplicatedHost, type ReplicatedHostArgs } from "../../components/replicated-host";
import { CANNED_DAEMON_TOKEN, CANNED_DOCKER_GID, CANNED_UID, scriptArgsOf, scriptNameOf } from "../support/canned-outputs";
import { recordComponent } from "../support/component-recorder";
import type { RecordedResource, Recording } from "../support/mock-recorder";
import { fixtureKeyFile } from "../support/stacks";
import { assertHostInvocation, assertNoSecretInCommands } from "../support/recorded-inputs";

const COMMAND = "command:remote:Command";
const HOST_SCRIPTS = ["account", "directories", "repair-ownership"] as const;
/** Commands a version change must never re-run. */
const VERSION_INDEPENDENT: readonly string[] = HOST_SCRIPTS;

type HostSettings = Omit<ReplicatedHostArgs, "daemonToken">;

const ACME_1: HostSettings = {
    target: {
        address: "10.20.0.11",
        user: "deploy",
        become: "sudo",
        hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHt0lW8jY2OFo3QhMbo7V1H0Lr1iJ5qk3o1pQ0yTw9nA",
        privateKeyFile: fixtureKeyFile(),
    },
    version: "2.53.2",
    channel: "stable",
    runAs: "replicated",
    serviceUser: { name: "replicated", uid: 1017 },
    privateAddress: "10.20.0.11",
    httpProxy: "http://proxy.acme.example.com:3128",
};
const GLOBEX_SHARED: Omit<HostSettings, "target" | "privateAddress"> = {
    version: "2.41.0",
    channel: "stable",
    runAs: "root",
    primaryAddress: "192.168.50.10",
    clusterAddresses: ["192.168.50.10", "192.168.50.11"],
    airgap: { imagesDir: "/var/lib/replicated-images" },
    images: { registry: "registry.globex.internal:5000/replicated" },
    sidecars: { statsd: false, premkit: true },
};
const GLOBEX_PRIMARY: HostSettings = {
    ...GLOBEX_SHARED,
    target: { address: "192.168.50.10", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG9sbG9iZXhwcmltYXJ5aG9zdGtleWV4YW1wbGUxMjM0", privateKeyFile: fixtureKeyFile() },
    role: "primary",
    privateAddress: "192.168.50.10",
};
const GLOBEX_NODE_1: HostSettings = {
    ...GLOBEX_SHARED,
    target: { address: "192.168.50.11", hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG9sbG9iZXhub2RlMWhvc3RrZXlleGFtcGxlMTIzNDU2", privateKeyFile: fixtureKeyFile() },
    role: "operator",
    privateAddress: "192.168.50.11",
};

type Hosts = Readonly<Record<string, HostSettings>>;
const ACME: Hosts = { "acme-1": ACME_1 };
const GLOBEX: Hosts = { "globex-primary": GLOBEX_PRIMARY, "globex-node-1": GLOBEX_NODE_1 };

/** `hosts` with `change` applied to every host. */
function changed(hosts: Hosts, change: Partial<HostSettings>): Hosts {
    return Object.fromEntries(Object.entries(hosts).map(([name, settings]) => [name, { ...settings, ...change }]));
}

const variants: Readonly<Record<string, Hosts>> = {
    acme: ACME,
    "acme@next-version": changed(ACME, { version: "2.54.0" }),
    "acme@beta": changed(ACME, { channel: "beta" }),
    globex: GLOBEX,
    "globex@next-version": changed(GLOBEX, { version: "2.42.0" }),
    "globex@downgrade": changed(GLOBEX, { version: "2.40.9", allowDowngrade: true }),
    "globex@runAs-replicated": changed(GLOBEX, { runAs: "replicated" }),
};

const recordings = new Map<string, Recording>();

before(async () => {
    for (const [key, hosts] of Object.entries(variants)) {
        // The daemon token is generated as the program does, so its value is known and can be looked for.
        const recording = await recordComponent(() => {
            const token = new random.RandomPassword("daemon-token", { length: 32, special: false });
            for (const [name, settings] of Object.entries(hosts)) {
                new ReplicatedHost(name, { ...settings, daemonToken: token.result });
            }
        });
        recordings.set(key, recording);
    }
});

function recording(key: string): Recording {
    const found = recordings.get(key);
    assert.ok(found, `no recording for ${key}`);
    return found;
}

function commandsOf(rec: Recording, scripts: readonly string[]): RecordedResource[] {
    return rec.byType(COMMAND).filter((resource) => scripts.includes(scriptNameOf(resource) ?? ""));
}

for (const key of ["acme@next-version", "globex@runAs-replicated", "globex@next-version"]) {
    const hosts = Object.entries(variants[key]);
    describe(`recorded host commands: ${key}`, () => {
        test("one account (or docker-group) command, one directories command per host, with the right args", () => {
            const rec = recording(key);
            for (const [name, host] of hosts) {
                const runAs = host.runAs ?? "replicated";
                const serviceUser = host.serviceUser ?? {};
                const accountName = runAs === "root" ? `${name}-docker-group` : `${name}-account`;
                const account = rec.find(COMMAND, accountName);
                assert.equal(scriptNameOf(account), "account");
                assert.equal(account.parent, `replicated:host:ServiceAccount::${name}`);
                assert.deepEqual(
                    scriptArgsOf(account),
                    runAs === "root"
                        ? ["root", "root", "", "", "false"]
                        : ["replicated", serviceUser.name ?? "replicated", serviceUser.uid === undefined ? "" : String(serviceUser.uid), serviceUser.adoptExisting ?? "", serviceUser.allowNobodyUid === true ? "true" : "false"],
                );
                const other = runAs === "root" ? `${name}-account` : `${name}-docker-group`;
                assert.equal(rec.byType(COMMAND).some((r) => r.name === other), false, `${other} must not exist`);

                const directories = rec.find(COMMAND, `${name}-directories`);
                assert.equal(scriptNameOf(directories), "directories");
                const uid = runAs === "root" ? 0 : CANNED_UID;
                assert.deepEqual(scriptArgsOf(directories), [String(uid), String(CANNED_DOCKER_GID), host.role ?? "primary"]);
                assert.ok(directories.options.dependsOn.includes(`${COMMAND}::${accountName}`), "directories wait for the account's ids");
            }
        });

        test("ownership repair on every host in service-account mode only, after the directories", () => {
            const rec = recording(key);
            for (const [name, host] of hosts) {
                const repair = rec.byType(COMMAND).find((r) => r.name === `${name}-ownership`);
                if (host.runAs === "root") {
                    assert.equal(repair, undefined, "no repair in legacy root mode");
                    continue;
                }
                assert.ok(repair, `${name}-ownership`);
                assert.equal(scriptNameOf(repair), "repair-ownership");
                assert.deepEqual(scriptArgsOf(repair), [String(CANNED_UID), String(CANNED_DOCKER_GID)]);
                assert.ok(repair.options.dependsOn.includes(`${COMMAND}::${name}-directories`), "repair runs after the directories");
            }
        });

        test("connection, become, options: pinned host key outside dev, sudo -n for sudo hosts, no delete", () => {
            const commands = commandsOf(recording(key), HOST_SCRIPTS);
            assert.ok(commands.length >= hosts.length * 2);
            for (const command of commands) {
                const host = hosts.find(([name]) => command.name.startsWith(`${name}-`))?.[1];
                assert.ok(host, command.name);
                assertHostInvocation(command, host.target);
                assert.equal((command.inputs.connection as Record<string, unknown>).hostKey, host.target.hostKey, `${command.name}: host key pinned`);
            }
        });

        test("no command string holds the private key or the daemon token", () => {
            const rec = recording(key);
            const key_ = fs.readFileSync(fixtureKeyFile(), "utf8");
            assert.ok(rec.byType(COMMAND).length > hosts.length * 4, "every command of the hosts is looked at");
            assertNoSecretInCommands(rec, { "the daemon token": [CANNED_DAEMON_TOKEN], "the key": ["unit-test-fixture", key_.trim()] });
        });
    });
}

test("a version change leaves every account, directories and repair command unchanged", () => {
    for (const [base, bumped] of [
        ["acme", "acme@next-version"],
        ["globex", "globex@next-version"],
    ]) {
        const before_ = commandsOf(recording(base), HOST_SCRIPTS);
        const after = commandsOf(recording(bumped), HOST_SCRIPTS);
        assert.deepEqual(
            after.map((r) => r.name).sort(),
            before_.map((r) => r.name).sort(),
        );
        for (const command of before_) {
            const other = after.find((r) => r.name === command.name);
            assert.deepEqual(other?.inputs, command.inputs, `${command.name} inputs changed with the version`);
            assert.deepEqual(other?.options.dependsOn, command.options.dependsOn);
        }
        assert.notEqual(Object.values(variants[base])[0].version, Object.values(variants[bumped])[0].version);
    }
});

test("switching globex-airgap's hosts to runAs replicated creates the accounts and the repairs", () => {
    const legacy = recording("globex");
    const optIn = recording("globex@runAs-replicated");
    const names = (rec: Recording) => new Set(commandsOf(rec, HOST_SCRIPTS).map((r) => r.name));
    const added = [...names(optIn)].filter((name) => !names(legacy).has(name)).sort();
    const removed = [...names(legacy)].filter((name) => !names(optIn).has(name)).sort();
    const hosts = Object.keys(GLOBEX);
    assert.deepEqual(added, hosts.flatMap((h) => [`${h}-account`, `${h}-ownership`]).sort());
    assert.deepEqual(removed, hosts.map((h) => `${h}-docker-group`).sort());
    // The directories command stays (same name) and its owner changes from 0 to the service uid.
    for (const host of hosts) {
        assert.equal(scriptArgsOf(legacy.find(COMMAND, `${host}-directories`))[0], "0");
        assert.equal(scriptArgsOf(optIn.find(COMMAND, `${host}-directories`))[0], String(CANNED_UID));
    }
});

describe("a version change", () => {
    const cases = [
        { base: "acme", variant: "acme@next-version", change: { version: "2.54.0" } },
        { base: "globex", variant: "globex@next-version", change: { version: "2.42.0" } },
        { base: "globex", variant: "globex@downgrade", change: { version: "2.40.9", allowDowngrade: true } },
        { base: "acme", variant: "acme@beta", change: { channel: "beta" } },
    ];
    for (const { base, variant, change } of cases) {
        test(`${base} ${JSON.stringify(change)}: the guard's arguments change; account, directories and repair stay identical`, () => {
            const before_ = recording(base);
            const after = recording(variant);
            const hosts = Object.entries(variants[variant]);
            const unchanged = commandsOf(before_, VERSION_INDEPENDENT);
            assert.ok(unchanged.length >= hosts.length * 2);
            assert.deepEqual(commandsOf(after, VERSION_INDEPENDENT).map((r) => r.name), unchanged.map((r) => r.name));
            for (const command of unchanged) {
                const other = after.find(COMMAND, command.name);
                assert.deepEqual(other.inputs, command.inputs, `${command.name} inputs changed`);
                assert.deepEqual(other.options, command.options, `${command.name} options changed`);
            }
            for (const [name, host] of hosts) {
                const guardBefore = before_.find(COMMAND, `${name}-version-guard`);
                const guardAfter = after.find(COMMAND, `${name}-version-guard`);
                assert.deepEqual(scriptArgsOf(guardAfter), [host.version, host.channel ?? "stable", String(host.allowDowngrade ?? false)]);
                assert.deepEqual({ ...variants[base][name], ...change }, host, "the variant differs from its base by the change alone");
                assert.notEqual(guardAfter.inputs.create, guardBefore.inputs.create);
                assert.equal(guardAfter.inputs.stdin, guardBefore.inputs.stdin, "same script");
                assert.deepEqual(guardAfter.inputs.connection, guardBefore.inputs.connection);
            }
        });
    }
});
