/**
 * The pure container spec, service definitions, image references and docker provider settings,
 * tested without mocks: every hardening default, every documented exception, and the errors for
 * definitions that break a rule.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import fc from "fast-check";
import { MAX_ID } from "../../components/shell";
import { CIS_CHECK_IDS, runCisChecks, type ContainerInspect } from "../support/cis-docker-bench";
import {
    DOCKER_SOCKET,
    LOG_OPTIONS,
    containerSpec,
    formatUser,
    type ServiceDefinition,
    type SpecContext,
} from "../../components/docker/container-spec";
import {
    airgapTarballName,
    checkTarballNames,
    imageBaseName,
    imagesForHost,
    replicatedImageReference,
} from "../../components/docker/image-refs";
import { serviceNetworkArgs } from "../../components/docker/network";
import {
    dockerSshOptions,
    ensurePrivateDir,
    hostKeyAlgorithms,
    knownHostsLine,
    sshDockerHost,
    writePrivateFile,
} from "../../components/docker/provider";
import { DAEMON_PORTS } from "../../components/docker/service-catalog";
import {
    adminConsoleService,
    daemonService,
    hostPort,
    operatorService,
    premkitService,
    statsdService,
    type ServiceSettings,
} from "../../components/docker/services";

const settings: ServiceSettings = {
    hostName: "primary-1",
    privateAddress: "10.0.0.11",
    primaryAddress: "10.0.0.11",
    clusterAddresses: ["10.0.0.11", "10.0.0.12"],
    channel: "stable",
    logLevel: "info",
    airgap: false,
    uiPort: 8800,
    uiBindAddress: "10.0.0.11",
    daemonToken: "token-value",
};

const context: SpecContext = {
    stack: "acme",
    hostName: "primary-1",
    uid: 1017,
    dockerGid: 999,
    image: "sha256:abc",
    network: "replicated",
};

const allServices = (): ServiceDefinition[] => [
    daemonService(settings),
    adminConsoleService(settings),
    operatorService(settings, { local: true }),
    statsdService(settings),
    premkitService(settings),
];

/** Resolve a value that may be an Output (outside a Pulumi run, known outputs still resolve). */
function resolve<T>(value: pulumi.Input<T> | undefined): Promise<T | undefined> {
    if (pulumi.Output.isInstance(value)) {
        return new Promise((done) => (value as pulumi.Output<T>).apply((v) => done(v)));
    }
    return Promise.resolve(value as T | undefined);
}

function mountsOf(definition: ServiceDefinition): Array<{ source: string; target: string; readOnly: boolean; type: string }> {
    return containerSpec(definition, context).args.mounts as Array<{ source: string; target: string; readOnly: boolean; type: string }>;
}

describe("hardening defaults", () => {
    for (const definition of allServices()) {
        test(`${definition.name} gets every default`, () => {
            const spec = containerSpec(definition, context);
            const args = spec.args;
            assert.equal(args.name, definition.name);
            assert.equal(args.user, "1017:999");
            assert.deepEqual(args.groupAdds, ["999"]);
            assert.deepEqual(args.capabilities, { drops: ["ALL"] }, "no capability added back");
            assert.deepEqual(args.securityOpts, ["no-new-privileges:true"]);
            assert.equal(args.privileged, false);
            assert.equal(args.readOnly, true);
            assert.deepEqual(Object.keys(args.tmpfs as object), ["/tmp"]);
            assert.match((args.tmpfs as Record<string, string>)["/tmp"], /noexec/);
            assert.ok((args.memory as number) >= 16);
            assert.ok((args.cpuShares as number) > 0);
            assert.equal(args.restart, "unless-stopped", "services come back after a reboot");
            assert.equal(args.maxRetryCount, undefined, "CIS 5.15: no retry count above 5");
            assert.equal(args.logDriver, "json-file");
            assert.deepEqual(args.logOpts, LOG_OPTIONS);
            const healthcheck = args.healthcheck as { tests: string[]; interval: string };
            assert.equal(healthcheck.tests[0], "CMD-SHELL");
            assert.ok(healthcheck.tests[1].length > 0);
            assert.deepEqual(args.networksAdvanced, [{ name: "replicated" }]);
            assert.equal(args.ipcMode, "private");
            for (const forbidden of ["pidMode", "networkMode", "usernsMode", "publishAllPorts", "devices", "sysctls"]) {
                assert.equal((args as unknown as Record<string, unknown>)[forbidden], undefined, forbidden);
            }
            assert.deepEqual(args.labels, [
                { label: "replicated.stack", value: "acme" },
                { label: "replicated.host", value: "primary-1" },
                { label: "replicated.service", value: definition.name },
            ]);
            assert.equal(spec.deleteBeforeReplace, true);
            for (const port of args.ports as Array<{ ip: string }>) {
                assert.ok(port.ip && port.ip !== "0.0.0.0" && port.ip !== "::", `explicit, non-wildcard ip: ${JSON.stringify(port)}`);
            }
            for (const mount of mountsOf(definition)) {
                assert.equal(mount.type, "bind");
                assert.ok(!["/", "/boot", "/dev", "/etc", "/lib", "/proc", "/sys", "/usr"].includes(mount.source) || mount.readOnly, `CIS 5.6: ${mount.source}`);
            }
        });
    }

    test("legacy root mode maps to 0:<docker gid>", () => {
        const args = containerSpec(daemonService(settings), { ...context, uid: 0, legacyRoot: true }).args;
        assert.equal(args.user, "0:999");
        assert.deepEqual(args.groupAdds, ["999"]);
    });

    test("uid 0 without legacy root mode is refused, also when it arrives late (same check)", async () => {
        assert.throws(() => containerSpec(daemonService(settings), { ...context, uid: 0 }), /would run as uid 0 but runAs is "replicated"/);
        // Late ids go through the same check when they resolve (a throwing apply fails the update).
        assert.throws(() => formatUser("replicated", 0, 999, false), /would run as uid 0/);
        assert.equal(formatUser("replicated", 0, 999, true), "0:999");
        assert.throws(() => formatUser("replicated", -1, 999, true), /not an integer/);
        assert.throws(() => formatUser("replicated", 1.5, 999, true), /not an integer/);
    });

    test("docker gid 0 is refused", () => {
        assert.throws(() => containerSpec(adminConsoleService(settings), { ...context, dockerGid: 0 }), /docker gid 0/);
    });

    test("ids that arrive as outputs resolve to the same mapping", async () => {
        const args = containerSpec(adminConsoleService(settings), { ...context, uid: pulumi.output(1017), dockerGid: pulumi.output(999) }).args;
        assert.equal(await resolve(args.user), "1017:999");
        assert.deepEqual(await resolve(args.groupAdds), ["999"]);
    });
});

describe("docker socket", () => {
    test("only replicated and replicated-operator mount it", () => {
        const withSocket = allServices()
            .filter((definition) => mountsOf(definition).some((mount) => mount.source === DOCKER_SOCKET))
            .map((definition) => definition.name);
        assert.deepEqual(withSocket.sort(), ["replicated", "replicated-operator"]);
    });

    test("any other service mounting it is refused", () => {
        const ui = adminConsoleService(settings);
        const hostile: ServiceDefinition = { ...ui, mounts: [...ui.mounts, { source: DOCKER_SOCKET, target: "/var/run/docker.sock", readOnly: true }] };
        assert.throws(() => containerSpec(hostile, context), /only replicated and replicated-operator may mount the Docker socket/);
    });
});

describe("mounts, environment and ports per service", () => {
    test("replicated: state and run dirs rw, host views read-only, ports 9874-9879 on the private address", async () => {
        const definition = daemonService(settings);
        assert.deepEqual(
            mountsOf(definition).map((m) => `${m.source}:${m.target}:${m.readOnly ? "ro" : "rw"}`),
            [
                "/var/lib/replicated:/var/lib/replicated:rw",
                "/var/run/replicated:/var/run/replicated:rw",
                "/var/run/docker.sock:/host/var/run/docker.sock:ro",
                "/proc:/host/proc:ro",
                "/etc:/host/etc:ro",
                "/etc/os-release:/host/etc/os-release:ro",
            ],
        );
        const args = containerSpec(definition, context).args;
        assert.deepEqual(
            (args.ports as Array<{ internal: number; external: number; ip: string; protocol: string }>).map((p) => `${p.ip}:${p.external}->${p.internal}/${p.protocol}`),
            DAEMON_PORTS.map((port) => `10.0.0.11:${port}->${port}/tcp`),
        );
        const envs = (await resolve(args.envs)) as string[];
        assert.ok(envs.includes("LOCAL_ADDRESS=10.0.0.11"));
        assert.ok(envs.includes("RELEASE_CHANNEL=stable"));
        assert.ok(envs.includes("DAEMON_TOKEN=token-value"));
        assert.ok(envs.includes("NODENAME=primary-1"));
        assert.ok(!envs.some((e) => e.startsWith("AIRGAP=")), "AIRGAP only in air-gap mode");
        assert.ok(pulumi.Output.isInstance(args.envs), "envs with the token are an Output");
        assert.equal(await pulumi.isSecret(args.envs as pulumi.Output<string[]>), true, "and secret");
        assert.deepEqual(containerSpec(definition, context).additionalSecretOutputs, ["envs"]);
    });

    test("replicated in air-gap mode with a proxy", async () => {
        const envs = (await resolve(containerSpec(daemonService({ ...settings, airgap: true, httpProxy: "http://proxy:3128" }), context).args.envs)) as string[];
        assert.ok(envs.includes("AIRGAP=true"));
        assert.ok(envs.includes("HTTP_PROXY=http://proxy:3128"));
        assert.ok(envs.includes("NO_PROXY=127.0.0.1,localhost,10.0.0.11,10.0.0.12"));
    });

    test("replicated-ui: only /var/run/replicated, port uiPort on uiBindAddress, no secret", () => {
        const definition = adminConsoleService({ ...settings, uiPort: 443, uiBindAddress: "10.0.0.99" });
        assert.deepEqual(mountsOf(definition).map((m) => `${m.source}:${m.target}:${m.readOnly ? "ro" : "rw"}`), ["/var/run/replicated:/var/run/replicated:rw"]);
        const spec = containerSpec(definition, context);
        assert.deepEqual(spec.args.ports, [{ internal: 8800, external: 443, ip: "10.0.0.99", protocol: "tcp" }]);
        assert.deepEqual(spec.args.envs, ["LOG_LEVEL=info"]);
        assert.deepEqual(spec.additionalSecretOutputs, []);
    });

    test("replicated-operator: points at the primary, tags local only on the primary, no ports", async () => {
        const remote = operatorService({ ...settings, hostName: "node-2", privateAddress: "10.0.0.12" }, { local: false });
        const envs = (await resolve(containerSpec(remote, context).args.envs)) as string[];
        assert.ok(envs.includes("DAEMON_ENDPOINT=10.0.0.11:9879"));
        assert.ok(envs.includes("PRIVATE_ADDRESS=10.0.0.12"));
        assert.ok(envs.includes("DAEMON_TOKEN=token-value"));
        assert.ok(!envs.some((e) => e.startsWith("TAGS=")));
        assert.deepEqual(containerSpec(remote, context).args.ports, []);
        assert.match(remote.healthcheck, /nc -w 3 10\.0\.0\.11 9879/);
        const local = (await resolve(containerSpec(operatorService(settings, { local: true }), context).args.envs)) as string[];
        assert.ok(local.includes("TAGS=local"));
        assert.deepEqual(
            mountsOf(remote).map((m) => `${m.source}:${m.target}:${m.readOnly ? "ro" : "rw"}`),
            [
                "/var/lib/replicated-operator:/var/lib/replicated-operator:rw",
                "/var/run/replicated-operator:/var/run/replicated-operator:rw",
                "/var/run/docker.sock:/host/var/run/docker.sock:ro",
                "/proc:/host/proc:ro",
                "/etc:/host/etc:ro",
            ],
        );
    });

    test("IPv6 primary: DAEMON_ENDPOINT in brackets", () => {
        assert.equal(hostPort("fd00::1", 9879), "[fd00::1]:9879");
        assert.equal(hostPort("10.0.0.1", 9879), "10.0.0.1:9879");
    });

    test("sidecars: own data dir only, ports on the private address", () => {
        assert.deepEqual(mountsOf(statsdService(settings)).map((m) => `${m.source}:${m.target}`), ["/var/lib/replicated/statsd:/data"]);
        assert.deepEqual(mountsOf(premkitService(settings)).map((m) => `${m.source}:${m.target}`), ["/var/lib/replicated/premkit:/data"]);
        assert.deepEqual(containerSpec(statsdService(settings), context).args.ports, [{ internal: 8125, external: 8125, ip: "10.0.0.11", protocol: "udp" }]);
        assert.deepEqual(containerSpec(premkitService(settings), context).args.ports, [{ internal: 2443, external: 9880, ip: "10.0.0.11", protocol: "tcp" }]);
    });
});

describe("refused definitions", () => {
    const ui = adminConsoleService(settings);
    test("a port on 0.0.0.0 or :: without allowAllInterfaces", () => {
        for (const ip of ["0.0.0.0", "::"]) {
            const wide: ServiceDefinition = { ...ui, ports: [{ ...ui.ports[0], ip }] };
            assert.throws(() => containerSpec(wide, context), /every interface/);
            assert.doesNotThrow(() => containerSpec(wide, { ...context, allowAllInterfaces: true }));
        }
    });
    test("a bind address that is not an IP", () => {
        assert.throws(() => containerSpec({ ...ui, ports: [{ ...ui.ports[0], ip: "localhost" }] }, context), /not an IP address/);
    });
    test("relative or unclean mount paths, reserved targets, duplicate targets", () => {
        assert.throws(() => containerSpec({ ...ui, mounts: [{ source: "var/run", target: "/x", readOnly: false }] }, context), /clean absolute/);
        assert.throws(() => containerSpec({ ...ui, mounts: [{ source: "/var/../etc", target: "/x", readOnly: false }] }, context), /clean absolute/);
        assert.throws(() => containerSpec({ ...ui, mounts: [{ source: "/srv", target: "/tmp", readOnly: false }] }, context), /reserved/);
        assert.throws(
            () =>
                containerSpec(
                    { ...ui, mounts: [{ source: "/a", target: "/x", readOnly: false }, { source: "/b", target: "/x", readOnly: true }] },
                    context,
                ),
            /share a target/,
        );
    });
    test("bad env names and values, too little memory, a healthcheck with a newline, capabilities", () => {
        assert.throws(() => containerSpec({ ...ui, env: { "A-B": "x" } }, context), /environment variable name/);
        assert.throws(() => containerSpec({ ...ui, env: { A: "x\ny" } }, context), /newline/);
        assert.throws(() => containerSpec({ ...ui, memoryMb: 4 }, context), /memory/);
        assert.throws(() => containerSpec({ ...ui, healthcheck: "a\nb" }, context), /healthcheck/);
        assert.throws(() => containerSpec({ ...ui, capabilityAdds: ["SYS_ADMIN"] }, context), /SYS_ADMIN/);
        assert.deepEqual(containerSpec({ ...ui, capabilityAdds: ["NET_BIND_SERVICE"] }, context).args.capabilities, {
            drops: ["ALL"],
            adds: ["NET_BIND_SERVICE"],
        });
    });
});

describe("image references", () => {
    test("<registry>/<name>:<channel>-<version>", () => {
        assert.equal(replicatedImageReference("quay.io/replicated", "replicated-ui", "stable", "2.53.2"), "quay.io/replicated/replicated-ui:stable-2.53.2");
        assert.throws(() => replicatedImageReference("Bad Registry", "replicated", "stable", "2.53.2"), /not valid/);
    });
    test("air-gap tarball naming", () => {
        assert.equal(airgapTarballName("registry.example.com:5000/replicated/replicated-ui:stable-2.53.2"), "replicated-ui.tar");
        assert.equal(airgapTarballName("registry.example.com/acme/web:1.4.2"), "web.tar");
        assert.equal(imageBaseName("busybox:1.36"), "busybox");
        assert.throws(() => checkTarballNames(["a.example/x/web:1", "b.example/y/web:2"]), /both load from web.tar/);
        assert.doesNotThrow(() => checkTarballNames(["a.example/x/web:1", "a.example/x/web:1"]));
    });
    test("images per host role and sidecars", () => {
        assert.deepEqual(imagesForHost("operator", { statsd: true, premkit: true }), ["replicated-operator", "replicated-helper"]);
        assert.deepEqual(imagesForHost("primary", { statsd: false, premkit: true }), [
            "replicated",
            "replicated-ui",
            "replicated-operator",
            "replicated-premkit",
            "replicated-helper",
        ]);
    });
});

describe("network", () => {
    test("bridge named replicated; unpublished-address default is the private IPv4 address", () => {
        const args = serviceNetworkArgs({ stack: "acme", hostName: "h", privateAddress: "10.0.0.11" });
        assert.equal(args.name, "replicated");
        assert.deepEqual(args.options, { "com.docker.network.bridge.host_binding_ipv4": "10.0.0.11" });
        assert.equal(serviceNetworkArgs({ stack: "acme", hostName: "h", privateAddress: "fd00::1" }).options, undefined);
    });
});

describe("docker provider over SSH", () => {
    test("host URL", () => {
        assert.equal(sshDockerHost({ user: "deploy", address: "10.0.0.1", port: 22 }), "ssh://deploy@10.0.0.1:22");
        assert.equal(sshDockerHost({ user: "root", address: "fd00::1", port: 2222 }), "ssh://root@[fd00::1]:2222");
    });
    test("known_hosts line uses OpenSSH's lookup form per port", () => {
        assert.equal(knownHostsLine("10.0.0.1", 22, "ssh-ed25519 AAAA"), "10.0.0.1 ssh-ed25519 AAAA");
        assert.equal(knownHostsLine("127.0.0.1", 2222, "ssh-ed25519 AAAA"), "[127.0.0.1]:2222 ssh-ed25519 AAAA");
    });
    test("host key algorithms are pinned to the key type", () => {
        assert.equal(hostKeyAlgorithms("ssh-ed25519 AAAA"), "ssh-ed25519");
        assert.equal(hostKeyAlgorithms("ssh-rsa AAAA"), "rsa-sha2-512,rsa-sha2-256");
        assert.equal(hostKeyAlgorithms("ecdsa-sha2-nistp256 AAAA"), "ecdsa-sha2-nistp256");
    });
    test("sshOpts: strict checking with a pinned key, accept-new without", () => {
        const files = { identityFile: "/keys/my key", knownHostsFile: "/run/x/known_hosts" };
        const pinned = dockerSshOptions({ hostKey: "ssh-ed25519 AAAA" }, files);
        assert.deepEqual(pinned.slice(0, 6), ["-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-i", "/keys/my key"]);
        assert.ok(pinned.includes("StrictHostKeyChecking=yes"));
        assert.ok(pinned.includes("UserKnownHostsFile=/run/x/known_hosts"));
        assert.ok(pinned.includes("GlobalKnownHostsFile=/dev/null"));
        assert.ok(pinned.includes("HostKeyAlgorithms=ssh-ed25519"));
        const dev = dockerSshOptions({}, files);
        assert.ok(dev.includes("StrictHostKeyChecking=accept-new"));
        assert.ok(!dev.some((o) => o.startsWith("HostKeyAlgorithms")));
        assert.throws(() => dockerSshOptions({}, { ...files, knownHostsFile: "/tmp/a b" }), /known_hosts path/);
    });
    test("private dir is created 0700 and refused when open to others or a symlink", () => {
        const root = fs.mkdtempSync(path.join(os.tmpdir(), "provider-test-"));
        try {
            const dir = ensurePrivateDir(path.join(root, "state"));
            assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
            writePrivateFile(path.join(dir, "k"), "secret\n", 0o600);
            assert.equal(fs.statSync(path.join(dir, "k")).mode & 0o777, 0o600);
            const open = path.join(root, "open");
            fs.mkdirSync(open, { mode: 0o755 });
            fs.chmodSync(open, 0o755);
            assert.throws(() => ensurePrivateDir(open), /mode 0700/);
            fs.symlinkSync(dir, path.join(root, "link"));
            assert.throws(() => ensurePrivateDir(path.join(root, "link")), /symlink/);
        } finally {
            fs.rmSync(root, { recursive: true, force: true });
        }
    });
});

describe("properties", () => {
    test("any valid uid/gid maps to '<uid>:<gid>' with the gid as the only extra group", () => {
        fc.assert(
            fc.property(fc.integer({ min: 1, max: MAX_ID }), fc.integer({ min: 1, max: MAX_ID }), (uid, gid) => {
                const args = containerSpec(adminConsoleService(settings), { ...context, uid, dockerGid: gid }).args;
                return args.user === `${uid}:${gid}` && JSON.stringify(args.groupAdds) === JSON.stringify([String(gid)]);
            }),
        );
    });

    test("every published port of every service binds to the configured addresses", () => {
        const octet = fc.integer({ min: 1, max: 254 });
        fc.assert(
            fc.property(fc.tuple(octet, octet, octet, octet), fc.integer({ min: 1, max: 65535 }), (parts, uiPort) => {
                const address = parts.join(".");
                const local: ServiceSettings = { ...settings, privateAddress: address, uiBindAddress: address, uiPort };
                const definitions = [daemonService(local), adminConsoleService(local), statsdService(local), premkitService(local)];
                return definitions.every((definition) =>
                    (containerSpec(definition, context).args.ports as Array<{ ip: string }>).every((port) => port.ip === address),
                );
            }),
        );
    });

    test("the tarball name is the reference's last path component without the tag", () => {
        const component = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);
        fc.assert(
            fc.property(fc.array(component, { minLength: 1, maxLength: 4 }), component, fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}$/), (path, name, tag) => {
                const reference = `registry.example.com:5000/${[...path, name].join("/")}:${tag}`;
                return airgapTarballName(reference) === `${name}.tar`;
            }),
        );
    });
});

describe("CIS checks detect violations (pure, over docker inspect JSON)", () => {
    const good: ContainerInspect = {
        Config: { User: "1017:999", Healthcheck: { Test: ["CMD-SHELL", "true"] } },
        HostConfig: {
            CapAdd: null,
            CapDrop: ["ALL"],
            Privileged: false,
            NetworkMode: "replicated",
            Memory: 512 * 1024 * 1024,
            CpuShares: 512,
            ReadonlyRootfs: true,
            PortBindings: { "8800/tcp": [{ HostIp: "10.0.0.11", HostPort: "8800" }] },
            RestartPolicy: { Name: "unless-stopped", MaximumRetryCount: 0 },
            PidMode: "",
            IpcMode: "private",
            UTSMode: "",
            SecurityOpt: ["no-new-privileges:true"],
        },
        Mounts: [{ Type: "bind", Source: "/etc", Destination: "/host/etc", RW: false }],
    };
    const failing = (inspect: ContainerInspect): string[] => runCisChecks(inspect).filter((r) => !r.pass).map((r) => r.id);

    test("a hardened container passes every check", () => {
        assert.deepEqual(failing(good), []);
        assert.deepEqual(CIS_CHECK_IDS, ["4.1", "5.4", "5.5", "5.6", "5.10", "5.11", "5.12", "5.13", "5.14", "5.15", "5.16", "5.17", "5.21", "5.26", "5.27", "5.32"]);
    });

    test("each weakening fails exactly its check", () => {
        const hc = good.HostConfig ?? {};
        const cases: Array<[string, ContainerInspect]> = [
            ["4.1", { ...good, Config: { ...good.Config, User: "" } }],
            ["4.1", { ...good, Config: { ...good.Config, User: "0:999" } }],
            ["5.4", { ...good, HostConfig: { ...hc, CapAdd: ["SYS_ADMIN"] } }],
            ["5.5", { ...good, HostConfig: { ...hc, Privileged: true } }],
            ["5.6", { ...good, Mounts: [{ Source: "/etc", Destination: "/host/etc", RW: true }] }],
            ["5.10", { ...good, HostConfig: { ...hc, NetworkMode: "host" } }],
            ["5.11", { ...good, HostConfig: { ...hc, Memory: 0 } }],
            ["5.12", { ...good, HostConfig: { ...hc, CpuShares: 1024 } }],
            ["5.13", { ...good, HostConfig: { ...hc, ReadonlyRootfs: false } }],
            ["5.14", { ...good, HostConfig: { ...hc, PortBindings: { "8800/tcp": [{ HostIp: "", HostPort: "8800" }] } } }],
            ["5.15", { ...good, HostConfig: { ...hc, RestartPolicy: { Name: "on-failure", MaximumRetryCount: 10 } } }],
            ["5.16", { ...good, HostConfig: { ...hc, PidMode: "host" } }],
            ["5.17", { ...good, HostConfig: { ...hc, IpcMode: "host" } }],
            ["5.21", { ...good, HostConfig: { ...hc, UTSMode: "host" } }],
            ["5.26", { ...good, HostConfig: { ...hc, SecurityOpt: ["no-new-privileges:false"] } }],
            ["5.27", { ...good, Config: { ...good.Config, Healthcheck: null } }],
            ["5.32", { ...good, Mounts: [{ Source: "/var/run/docker.sock", Destination: "/host/var/run/docker.sock", RW: false }] }],
        ];
        for (const [id, inspect] of cases) {
            assert.deepEqual(failing(inspect), [id], `${id}: ${JSON.stringify(inspect)}`);
        }
    });
});
