/**
 * The plain arguments of ReplicatedHost: their documented defaults, the check that names each
 * bad argument, and the pure mapping from a validated stack config that the stack program uses.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { describe, test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { hostTargetFromConfig, replicatedHostArgsFromConfig } from "../../components/args-from-config";
import { parseConfig, type ReplicatedConfig } from "../../components/config";
import {
    applicationWithDefaults,
    replicatedHostArgsProblems,
    withReplicatedHostDefaults,
    type ReplicatedHostArgs,
} from "../../components/replicated-host-args";
import { encodeConfig } from "../../tools/offline/recorder";
import { fixtureKeyFile, stackConfigForTest, stackNames } from "../support/stacks";

const MINIMAL: ReplicatedHostArgs = {
    target: { address: "10.0.0.11", privateKey: "key" },
    version: "2.53.2",
    privateAddress: "10.0.0.11",
    daemonToken: "token",
};

function parsedStack(stack: string, overrides: Record<string, unknown> = {}): ReplicatedConfig {
    return parseConfig(encodeConfig("replicated", stackConfigForTest(stack, overrides)), stack, "replicated");
}

describe("defaults", () => {
    test("a minimal primary gets every documented default", () => {
        assert.deepEqual(withReplicatedHostDefaults("acme-1", MINIMAL), {
            version: "2.53.2",
            hostName: "acme-1",
            role: "primary",
            privateAddress: "10.0.0.11",
            primaryAddress: "10.0.0.11",
            clusterAddresses: ["10.0.0.11"],
            channel: "stable",
            allowDowngrade: false,
            runAs: "replicated",
            serviceUser: { name: "replicated", allowNobodyUid: false },
            console: { port: 8800, bindAddress: "10.0.0.11" },
            logLevel: "info",
            images: { registry: "quay.io/replicated", pins: {} },
            sidecars: { statsd: true, premkit: true },
            allowAllInterfaces: false,
            takeoverFallbackSeconds: 300,
            operations: { timeoutSeconds: 300 },
            volumeRoots: [],
            dataPrefixes: ["/srv", "/data"],
            applications: [],
        });
        assert.deepEqual(replicatedHostArgsProblems("ReplicatedHost acme-1", MINIMAL, withReplicatedHostDefaults("acme-1", MINIMAL)), []);
    });

    test("an operator's console and cluster default to the primary's address it is given", () => {
        const args: ReplicatedHostArgs = { ...MINIMAL, role: "operator", privateAddress: "10.0.0.12", primaryAddress: "10.0.0.11" };
        const resolved = withReplicatedHostDefaults("acme-2", args);
        assert.deepEqual(resolved.clusterAddresses, ["10.0.0.12", "10.0.0.11"]);
        assert.deepEqual(resolved.console, { port: 8800, bindAddress: "10.0.0.11" });
        assert.deepEqual(replicatedHostArgsProblems("ReplicatedHost acme-2", args, resolved), []);
    });
});

test("an application gets its documented defaults", () => {
    assert.deepEqual(applicationWithDefaults({ name: "web", image: "registry.example.com/web:1.0", volumes: [{ hostPath: "/srv/v/web", containerPath: "/data" }], ports: [{ internal: 80, external: 8080 }] }), {
        name: "web",
        image: "registry.example.com/web:1.0",
        user: "image",
        allowRoot: false,
        volumes: [{ hostPath: "/srv/v/web", containerPath: "/data", mode: "0750", readOnly: false }],
        ports: [{ internal: 80, external: 8080, protocol: "tcp" }],
        env: {},
        memory: 256,
    });
});

describe("problems", () => {
    const problemsOf = (overrides: Partial<ReplicatedHostArgs>): string[] => {
        const args = { ...MINIMAL, ...overrides };
        return replicatedHostArgsProblems("ReplicatedHost h", args, withReplicatedHostDefaults("h", args));
    };
    const cases: [string, Partial<ReplicatedHostArgs>, RegExp][] = [
        ["version", { version: "2.053.1" }, /^ReplicatedHost h: version "2\.053\.1" must be a Replicated 2\.x version/],
        ["hostName", { hostName: "Acme_1" }, /^ReplicatedHost h: hostName "Acme_1" must be a lowercase DNS label/],
        ["role", { role: "worker" as "operator" }, /^ReplicatedHost h: role "worker" must be "primary" or "operator"$/],
        ["privateAddress", { privateAddress: "10.0.0" }, /^ReplicatedHost h: privateAddress "10\.0\.0" must be an IPv4 or IPv6 address$/],
        ["primaryAddress on an operator", { role: "operator" }, /^ReplicatedHost h: primaryAddress is required on an operator/],
        ["channel", { channel: "Beta" }, /^ReplicatedHost h: channel "Beta" must match/],
        ["runAs", { runAs: "nobody" as "root" }, /^ReplicatedHost h: runAs "nobody" must be "replicated" or "root"$/],
        ["serviceUser.name", { serviceUser: { name: "www-data" } }, /^ReplicatedHost h: serviceUser\.name "www-data" must match .* not be root or a system account$/],
        ["serviceUser.uid", { serviceUser: { uid: 65534 } }, /^ReplicatedHost h: serviceUser\.uid 65534 must be an integer from 1 to/],
        ["serviceUser.adoptExisting", { serviceUser: { adoptExisting: "other" } }, /^ReplicatedHost h: serviceUser\.adoptExisting "other" must be the service account's own name "replicated"$/],
        ["console.port", { console: { port: 0 } }, /^ReplicatedHost h: console\.port 0 must be an integer from 1 to 65535$/],
        ["console.bindAddress", { console: { bindAddress: "0.0.0.0" } }, /^ReplicatedHost h: console\.bindAddress "0\.0\.0\.0" is the unspecified address/],
        ["logLevel", { logLevel: "trace" as "info" }, /^ReplicatedHost h: logLevel "trace" must be debug, info, warn or error$/],
        ["httpProxy", { httpProxy: "http://user:secret@proxy:3128" }, /^ReplicatedHost h: httpProxy must be http\(s\):\/\/host\[:port\] without credentials$/],
        ["airgap.imagesDir", { airgap: { imagesDir: "images" } }, /^ReplicatedHost h: airgap\.imagesDir "images" must be a clean absolute path$/],
        ["takeoverFallbackSeconds", { takeoverFallbackSeconds: 10 }, /^ReplicatedHost h: takeoverFallbackSeconds 10 must be an integer from 30 to 3600$/],
        ["operations.timeoutSeconds", { operations: { timeoutSeconds: 4 } }, /^ReplicatedHost h: operations\.timeoutSeconds 4 must be an integer from 5 to 3600$/],
        ["operations.snapshot.request", { operations: { snapshot: { request: "-x", destination: "/srv/s" } } }, /^ReplicatedHost h: operations\.snapshot\.request "-x" must match/],
        ["dataPrefixes", { dataPrefixes: [] }, /^ReplicatedHost h: dataPrefixes \[\] must list at least one directory$/],
        ["volumeRoots[0]", { volumeRoots: ["/srv/../etc"] }, /^ReplicatedHost h: volumeRoots\[0\] "\/srv\/\.\.\/etc" must be a clean absolute path$/],
        ["daemonToken", { daemonToken: "" }, /^ReplicatedHost h: daemonToken is required$/],
        ["applications[0].image", { applications: [{ name: "web", image: "web" }] }, /^ReplicatedHost h: applications\[0\]\.image "web" must be an image reference with an explicit tag/],
        ["applications[0].ports[0].external", { applications: [{ name: "web", image: "web:1", ports: [{ internal: 80, external: 0 }] }] }, /^ReplicatedHost h: applications\[0\]\.ports\[0\]\.external 0 must be an integer from 1 to 65535$/],
        ["applications[0].env", { applications: [{ name: "web", image: "web:1", env: { "BAD-NAME": "secret-value" } }] }, /^ReplicatedHost h: applications\[0\]\.env: variable name "BAD-NAME" must match/],
    ];
    for (const [argument, overrides, expected] of cases) {
        test(`${argument}: one problem that names it`, () => {
            const problems = problemsOf(overrides);
            assert.equal(problems.length, 1, problems.join("\n"));
            assert.match(problems[0], expected);
        });
    }

    test("a proxy URL is never quoted: it may carry credentials", () => {
        assert.ok(!problemsOf({ httpProxy: "http://user:secret@proxy:3128" }).join("\n").includes("secret"));
    });
    test("wildcard console binding is accepted with allowAllInterfaces", () => {
        assert.deepEqual(problemsOf({ console: { bindAddress: "0.0.0.0" }, allowAllInterfaces: true }), []);
    });
});

describe("from the stack config", () => {
    for (const stack of stackNames()) {
        test(`${stack}: every host's args carry the config's values and pass the checks`, () => {
            const config = parsedStack(stack);
            for (const host of config.hosts) {
                const args = replicatedHostArgsFromConfig(config, host, { daemonToken: "token" });
                assert.deepEqual(args.target, {
                    address: host.address,
                    port: host.port,
                    user: host.user,
                    become: host.become,
                    ...(host.hostKey !== undefined ? { hostKey: host.hostKey } : {}),
                    privateKeyFile: fixtureKeyFile(),
                });
                const resolved = withReplicatedHostDefaults(host.name, args);
                assert.deepEqual(replicatedHostArgsProblems(`ReplicatedHost ${host.name}`, args, resolved), []);
                assert.equal(resolved.hostName, host.name);
                assert.equal(resolved.role, host.role);
                assert.equal(resolved.primaryAddress, config.primary.privateAddress);
                assert.deepEqual(resolved.clusterAddresses, config.hosts.map((h) => h.privateAddress));
                assert.deepEqual(resolved.console, { port: config.uiPort, bindAddress: config.uiBindAddress });
                assert.deepEqual(resolved.images, config.images);
                assert.deepEqual(resolved.sidecars, config.sidecars);
                assert.equal(resolved.takeoverFallbackSeconds, config.takeover.fallbackSeconds);
                assert.deepEqual(resolved.operations, config.operations);
                assert.deepEqual(resolved.dataPrefixes, config.dataPrefixes);
                assert.equal(resolved.airgap, config.airgap);
                // The config's applications of this host, every value as the config has it (their `hosts` aside).
                assert.deepEqual(
                    resolved.applications,
                    config.applications.filter((app) => (app.hosts ?? [config.primary.name]).includes(host.name)).map(({ hosts: _hosts, ...app }) => app),
                );
                assert.equal(args.stack, stack);
            }
        });
    }

    test("a key given as a secret value becomes the target's privateKey, still a secret", async () => {
        const key = fs.readFileSync(fixtureKeyFile(), "utf8");
        const config = parseConfig(
            encodeConfig("replicated", { ...stackConfigForTest("acme-online", { sshPrivateKey: key }), sshPrivateKeyPath: undefined }),
            "acme-online",
            "replicated",
            { secretKeys: ["replicated:sshPrivateKey"] },
        );
        const target = hostTargetFromConfig(config, config.primary);
        assert.equal(target.privateKeyFile, undefined);
        assert.ok(pulumi.Output.isInstance(target.privateKey));
        assert.equal(await pulumi.isSecret(target.privateKey as pulumi.Output<string>), true);
    });
});
