/**
 * Application containers (config applications[]): the three user modes and what they become in
 * docker args, the volume directories and their request id, config validation of every bad
 * input, and what a host built with plain args records under mocks (volumes run before the
 * containers that mount them, the socket never mounted, images provided like Replicated's own;
 * the component alone is in test/unit/operation-components.test.ts). Bad input must fail the
 * program before anything reaches a host: a resolve hook counting remote calls sees none.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import {
    APPLICATION_CPU_SHARES,
    ApplicationSpecError,
    LABEL_ALLOW_ROOT,
    LABEL_APPLICATION,
    applicationImageReferences,
    applicationSpec,
    applicationVolumeSpecs,
    applicationVolumesRequest,
    applicationsForHost,
    mayRunAsRoot,
    parseApplicationUser,
    replicatedHostPorts,
    rootsInUse,
    runsOnHost,
    volumeItems,
    type ApplicationContext,
} from "../../components/apps/application-spec";
import { ConfigError, parseConfig, type ApplicationConfig, type ReplicatedConfig } from "../../components/config";
import { ContainerSpecError, DOCKER_SOCKET, LOG_DRIVER, RESTART_POLICY, SECURITY_OPTIONS, TMPFS_MOUNTS } from "../../components/docker/container-spec";
import { DAEMON_PORTS, PREMKIT_HOST_PORT, STATSD_PORT } from "../../components/docker/service-catalog";
import { helperImageReference } from "../../components/ops/operation-spec";
import { CANNED_DOCKER_GID, CANNED_UID, cannedResolver, scriptArgsOf, scriptNameOf } from "../support/canned-outputs";
import { recordComponent } from "../support/component-recorder";
import { encodeConfig, recordCanned, recordProgramQueued, type RecordedResource, type Recording } from "../support/mock-recorder";
import { buildHosts, stackHostArgs } from "../support/stack-hosts";
import { stackConfigForTest } from "../support/stacks";
import { APPLICATIONS_PER_USER_MODE, VOLUME_ROOT } from "../support/application-fixtures";

const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHt0lW8jY2OFo3QhMbo7V1H0Lr1iJ5qk3o1pQ0yTw9nA";
const CONTAINER = "docker:index/container:Container";
const COMMAND = "command:remote:Command";
const IMAGE = "docker:index/remoteImage:RemoteImage";
const ROOT = VOLUME_ROOT;

// ---------------------------------------------------------------------------------------------
// Helpers

/** A valid two-host config (primary-1, node-1) to add applications to. */
function baseConfig(extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
        version: "2.53.2",
        sshPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----",
        hosts: [
            { name: "primary-1", address: "10.0.0.11", role: "primary", privateAddress: "10.0.0.11", hostKey: HOST_KEY },
            { name: "node-1", address: "10.0.0.12", role: "operator", privateAddress: "10.0.0.12", hostKey: HOST_KEY },
        ],
        volumeRoots: [ROOT],
        ...extra,
    };
}

function parse(config: Record<string, unknown>): ReplicatedConfig {
    return parseConfig(encodeConfig("replicated", config), "customer", "replicated", { secretKeys: ["replicated:sshPrivateKey"] });
}

/** The config's problems (it must be rejected). */
function problemsOf(config: Record<string, unknown>): string[] {
    try {
        parse(config);
    } catch (err) {
        assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
        return [...err.problems];
    }
    assert.fail("expected the config to be rejected");
}

/** Problems of a config with these applications (and extra top-level keys). */
function appProblems(applications: unknown[], extra: Record<string, unknown> = {}): string[] {
    return problemsOf(baseConfig({ applications, ...extra }));
}

/** One validated application (defaults applied) from a partial definition. */
function app(definition: Record<string, unknown>, extra: Record<string, unknown> = {}): ApplicationConfig {
    return parse(baseConfig({ applications: [{ name: "app-web", image: "registry.example.com/acme/web:1.4.2", ...definition }], ...extra })).applications[0];
}

const CONTEXT: ApplicationContext = {
    stack: "customer",
    hostName: "primary-1",
    privateAddress: "10.0.0.11",
    runAs: "replicated",
    serviceUid: 1017,
    dockerGid: 999,
    image: "sha256:0123",
    network: "replicated",
};

function labelsOf(args: object): Record<string, string> {
    return Object.fromEntries(((args as { labels?: Array<{ label: string; value: string }> }).labels ?? []).map((l) => [l.label, l.value]));
}

function resolved<T>(output: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => output.apply((value) => resolve(value)));
}

// ---------------------------------------------------------------------------------------------

describe("user modes", () => {
    test("parse: image, service, <uid>:<gid>; anything else is unknown", () => {
        assert.deepEqual(parseApplicationUser("image"), { kind: "image" });
        assert.deepEqual(parseApplicationUser("service"), { kind: "service" });
        assert.deepEqual(parseApplicationUser("1234:4321"), { kind: "ids", uid: 1234, gid: 4321 });
        assert.deepEqual(parseApplicationUser("0:0"), { kind: "ids", uid: 0, gid: 0 });
        for (const bad of ["root", "nobody", "1234", "1234:", ":1", "01234:1", "-1:1", "1:2:3", "2147483647:1", "", "Image"]) {
            assert.equal(parseApplicationUser(bad), undefined, bad);
        }
    });

    test("which users may be root: image always (unknown here), ids with a 0, service only in legacy root mode", () => {
        assert.equal(mayRunAsRoot({ kind: "image" }, "replicated"), true);
        assert.equal(mayRunAsRoot({ kind: "service" }, "replicated"), false);
        assert.equal(mayRunAsRoot({ kind: "service" }, "root"), true);
        assert.equal(mayRunAsRoot({ kind: "ids", uid: 1234, gid: 1234 }, "replicated"), false);
        assert.equal(mayRunAsRoot({ kind: "ids", uid: 0, gid: 1234 }, "replicated"), true);
        assert.equal(mayRunAsRoot({ kind: "ids", uid: 1234, gid: 0 }, "replicated"), true);
    });

    test("image: no user and no groupAdds (the image's own USER), as Replicated ran applications", () => {
        const { args } = applicationSpec(app({ user: "image" }), CONTEXT);
        assert.equal("user" in args, false);
        assert.equal("groupAdds" in args, false);
    });

    test("the default user is image", () => {
        assert.equal(app({}).user, "image");
        assert.equal("user" in applicationSpec(app({}), CONTEXT).args, false);
    });

    test("service: <service uid>:<docker gid> and groupAdds [docker gid], also when the ids are still Outputs", async () => {
        const plain = applicationSpec(app({ user: "service" }), CONTEXT).args;
        assert.equal(plain.user, "1017:999");
        assert.deepEqual(plain.groupAdds, ["999"]);
        const late = applicationSpec(app({ user: "service" }), { ...CONTEXT, serviceUid: pulumi.output(1500), dockerGid: pulumi.output(994) }).args;
        assert.equal(await resolved(pulumi.output(late.user)), "1500:994");
        assert.deepEqual(await resolved(pulumi.output(late.groupAdds)), ["994"]);
    });

    test("<uid>:<gid>: exactly that user, no groupAdds (not in the docker group)", () => {
        const { args } = applicationSpec(app({ user: "1234:4321" }), CONTEXT);
        assert.equal(args.user, "1234:4321");
        assert.equal("groupAdds" in args, false);
    });

    test("root ids only with allowRoot, which is recorded in the replicated.allowRoot label", () => {
        const root = applicationSpec(app({ user: "0:0", allowRoot: true }), CONTEXT).args;
        assert.equal(root.user, "0:0");
        assert.equal(labelsOf(root)[LABEL_ALLOW_ROOT], "true");
        // The spec refuses root ids without the exception even if validation were bypassed.
        assert.throws(() => applicationSpec({ ...app({ user: "1234:1234" }), user: "0:1234" }, CONTEXT), ContainerSpecError);
        assert.throws(() => applicationSpec({ ...app({ user: "1234:1234" }), user: "1234:0" }, CONTEXT), /gid 0 is root/);
    });

    test("service in legacy root mode is 0:<docker gid>, accepted only with allowRoot", () => {
        const legacy = { ...CONTEXT, runAs: "root" as const, serviceUid: 0 };
        const accepted = applicationSpec({ ...app({ user: "service" }), allowRoot: true }, legacy).args;
        assert.equal(accepted.user, "0:999");
        assert.throws(() => applicationSpec(app({ user: "service" }), legacy), ApplicationSpecError);
    });
});

describe("the hardened spec of an application container", () => {
    const full = app({
        user: "1234:1234",
        volumes: [
            { hostPath: `${ROOT}/web`, containerPath: "/data" },
            { hostPath: `${ROOT}/config`, containerPath: "/etc/web", owner: 0, group: 1234, mode: "0750", readOnly: true },
        ],
        ports: [{ internal: 8080, external: 18080 }, { internal: 8125, external: 18125, protocol: "udp" }],
        env: { B_VAR: "2", A_VAR: "1" },
        memory: 512,
        command: ["/usr/local/bin/web", "--port", "8080"],
    });

    test("every hardening default of the core services, with the application's own limits", () => {
        const { args, deleteBeforeReplace, additionalSecretOutputs } = applicationSpec(full, CONTEXT);
        assert.deepEqual(args.capabilities, { drops: ["ALL"] });
        assert.deepEqual(args.securityOpts, [...SECURITY_OPTIONS]);
        assert.equal(args.privileged, false);
        assert.equal(args.readOnly, true);
        assert.deepEqual(args.tmpfs, { ...TMPFS_MOUNTS });
        assert.equal(args.memory, 512);
        assert.equal(args.cpuShares, APPLICATION_CPU_SHARES);
        assert.notEqual(APPLICATION_CPU_SHARES, 1024, "1024 counts as unset (CIS 5.12)");
        assert.equal(args.restart, RESTART_POLICY);
        assert.equal(args.logDriver, LOG_DRIVER);
        assert.deepEqual(args.networksAdvanced, [{ name: "replicated" }]);
        assert.equal(args.image, "sha256:0123");
        assert.equal(args.name, "app-web");
        assert.equal(deleteBeforeReplace, true);
        assert.deepEqual(additionalSecretOutputs, []);
    });

    test("volumes are bind mounts at the configured paths; ports bind to the private address; env sorted; command kept", () => {
        const { args } = applicationSpec(full, CONTEXT);
        assert.deepEqual(args.mounts, [
            { type: "bind", source: `${ROOT}/web`, target: "/data", readOnly: false },
            { type: "bind", source: `${ROOT}/config`, target: "/etc/web", readOnly: true },
        ]);
        assert.equal(args.volumes, undefined, "never a docker volume (a missing source would be created as root)");
        assert.deepEqual(args.ports, [
            { internal: 8080, external: 18080, ip: "10.0.0.11", protocol: "tcp" },
            { internal: 8125, external: 18125, ip: "10.0.0.11", protocol: "udp" },
        ]);
        assert.deepEqual(args.envs, ["A_VAR=1", "B_VAR=2"]);
        assert.deepEqual(args.command, ["/usr/local/bin/web", "--port", "8080"]);
    });

    test("labels: stack, host and replicated.application (not replicated.service); allowRoot only when set", () => {
        const labels = labelsOf(applicationSpec(full, CONTEXT).args);
        assert.deepEqual(labels, { "replicated.stack": "customer", "replicated.host": "primary-1", [LABEL_APPLICATION]: "app-web" });
    });

    test("no healthcheck unless configured (the image's own applies); a configured one is CMD-SHELL", () => {
        assert.equal("healthcheck" in applicationSpec(full, CONTEXT).args, false);
        const probed = applicationSpec(app({ user: "1234:1234", healthcheck: "wget -q -O /dev/null http://127.0.0.1:8080/" }), CONTEXT).args;
        assert.deepEqual((probed.healthcheck as { tests: string[] }).tests, ["CMD-SHELL", "wget -q -O /dev/null http://127.0.0.1:8080/"]);
    });

    test("the docker socket is never mounted: the spec refuses it even if validation were bypassed", () => {
        for (const source of [DOCKER_SOCKET]) {
            const sneaky = { ...full, volumes: [{ hostPath: source, containerPath: "/var/run/docker.sock", mode: "0750", readOnly: true }] };
            assert.throws(() => applicationSpec(sneaky, CONTEXT), /only replicated and replicated-operator may mount the Docker socket/);
        }
        // Config validation stops it first: not below a volume root, and /var/run is protected.
        const problems = appProblems([{ name: "app-web", image: "registry.example.com/acme/web:1.4.2", user: "1234:1234", volumes: [{ hostPath: DOCKER_SOCKET, containerPath: "/sock" }] }]);
        assert.ok(problems.some((p) => /volumes\[0\]\.hostPath: \/var\/run\/docker\.sock is not below an allowed root/.test(p)), problems.join("\n"));
    });

    test("a wildcard bind address is refused unless allowAllInterfaces", () => {
        assert.throws(() => applicationSpec(full, { ...CONTEXT, privateAddress: "0.0.0.0" }), /every interface/);
        assert.doesNotThrow(() => applicationSpec(full, { ...CONTEXT, privateAddress: "0.0.0.0", allowAllInterfaces: true }));
    });
});

describe("where applications run", () => {
    test("without hosts: the primary only; with hosts: exactly those", () => {
        assert.equal(runsOnHost(undefined, "primary-1", "primary-1"), true);
        assert.equal(runsOnHost(undefined, "node-1", "primary-1"), false);
        assert.equal(runsOnHost(["node-1"], "primary-1", "primary-1"), false);
        assert.equal(runsOnHost(["node-1", "primary-1"], "node-1", "primary-1"), true);
        const config = parse(
            baseConfig({
                applications: [
                    { name: "web", image: "registry.example.com/acme/web:1.0.0", user: "service" },
                    { name: "worker", image: "registry.example.com/acme/worker:1.0.0", user: "service", hosts: ["node-1"] },
                    { name: "agent", image: "registry.example.com/acme/agent:1.0.0", user: "service", hosts: ["primary-1", "node-1"] },
                    { name: "agent-2", image: "registry.example.com/acme/agent:1.0.0", user: "service", hosts: ["node-1"] },
                ],
            }),
        );
        assert.deepEqual(applicationsForHost(config, config.hosts[0]).map((a) => a.name), ["web", "agent"]);
        assert.deepEqual(applicationsForHost(config, config.hosts[1]).map((a) => a.name), ["worker", "agent", "agent-2"]);
        assert.deepEqual(applicationImageReferences(config, config.hosts[1]), ["registry.example.com/acme/worker:1.0.0", "registry.example.com/acme/agent:1.0.0"]);
    });

    test("Replicated's host ports: console, daemon, premkit and statsd on the primary; none on operators", () => {
        const ports = replicatedHostPorts("primary", 8800).map((p) => `${p.port}/${p.protocol}`);
        assert.deepEqual(ports.sort(), ["8800/tcp", ...DAEMON_PORTS.map((p) => `${p}/tcp`), `${PREMKIT_HOST_PORT}/tcp`, `${STATSD_PORT}/udp`].sort());
        assert.ok(replicatedHostPorts("primary", 8443).some((p) => p.port === 8443 && p.service === "replicated-ui"), "the configured uiPort, not a fixed 8800");
        assert.deepEqual(replicatedHostPorts("operator", 8800), []);
    });
});

describe("volume directories", () => {
    test("owner defaults: <uid>:<gid> → those ids, service → service uid and docker gid, image → explicit only", () => {
        const specs = applicationVolumeSpecs([
            app({ user: "1234:4321", volumes: [{ hostPath: `${ROOT}/a`, containerPath: "/a" }] }),
            { ...app({ user: "service", volumes: [{ hostPath: `${ROOT}/b`, containerPath: "/b", mode: "770" }] }), name: "b" },
            { ...app({ volumes: [{ hostPath: `${ROOT}/c`, containerPath: "/c", owner: 7, group: 8, mode: "0700" }] }), name: "c" },
            { ...app({ user: "1234:4321", volumes: [{ hostPath: `${ROOT}/d`, containerPath: "/d", owner: 0 }] }), name: "d" },
        ]);
        assert.deepEqual(specs, [
            { path: `${ROOT}/a`, owner: 1234, group: 4321, mode: "0750" },
            { path: `${ROOT}/b`, owner: "service-uid", group: "docker-gid", mode: "0770" },
            { path: `${ROOT}/c`, owner: 7, group: 8, mode: "0700" },
            { path: `${ROOT}/d`, owner: 0, group: 4321, mode: "0750" },
        ]);
    });

    test("image mode without an owner cannot be prepared; one directory with two specs is refused; the same spec twice is one item", () => {
        assert.throws(
            () => applicationVolumeSpecs([{ ...app({}), volumes: [{ hostPath: `${ROOT}/x`, containerPath: "/x", mode: "0750", readOnly: false }] }]),
            /needs owner and group/,
        );
        const one = app({ user: "1234:1234", volumes: [{ hostPath: `${ROOT}/shared`, containerPath: "/s" }] });
        assert.equal(applicationVolumeSpecs([one, { ...one, name: "other" }]).length, 1);
        assert.throws(() => applicationVolumeSpecs([one, { ...one, name: "other", user: "2000:2000" }]), /different owner, group or mode/);
    });

    test("the request id: apps-<16 hex>, stable for the same specs, new for any change; runAs counts only for service ids", () => {
        const a = [{ path: `${ROOT}/a`, owner: 1234, group: 1234, mode: "0750" }];
        const id = applicationVolumesRequest(a, "replicated");
        assert.match(id, /^apps-[0-9a-f]{16}$/);
        assert.equal(applicationVolumesRequest([...a], "replicated"), id);
        assert.equal(applicationVolumesRequest(a, "root"), id, "fixed ids do not depend on runAs");
        assert.notEqual(applicationVolumesRequest([{ ...a[0], mode: "0770" }], "replicated"), id);
        assert.notEqual(applicationVolumesRequest([{ ...a[0], owner: 1235 }], "replicated"), id);
        assert.notEqual(applicationVolumesRequest([{ ...a[0], path: `${ROOT}/b` }], "replicated"), id);
        const service = [{ path: `${ROOT}/a`, owner: "service-uid" as const, group: "docker-gid" as const, mode: "0750" }];
        assert.notEqual(applicationVolumesRequest(service, "replicated"), applicationVolumesRequest(service, "root"), "runAs decides the service uid");
        // The same directory written as 750 or 0750 is the same spec.
        const short = parse(baseConfig({ applications: [{ name: "w", image: "registry.example.com/acme/web:1.4.2", user: "1:1", volumes: [{ hostPath: `${ROOT}/a`, containerPath: "/a", mode: "750" }] }] }));
        const long = parse(baseConfig({ applications: [{ name: "w", image: "registry.example.com/acme/web:1.4.2", user: "1:1", volumes: [{ hostPath: `${ROOT}/a`, containerPath: "/a", mode: "0750" }] }] }));
        assert.equal(applicationVolumesRequest(applicationVolumeSpecs(short.applications), "replicated"), applicationVolumesRequest(applicationVolumeSpecs(long.applications), "replicated"));
    });

    test("roots in use and the resolved owners", async () => {
        const specs = [
            { path: `${ROOT}/a`, owner: "service-uid" as const, group: "docker-gid" as const, mode: "0750" },
            { path: "/srv/other/b", owner: 5, group: 6, mode: "0700" },
        ];
        assert.deepEqual(rootsInUse([ROOT, "/srv/other", "/srv/unused", ROOT], specs), [ROOT, "/srv/other"]);
        const items = volumeItems(specs, pulumi.output(1017), 999);
        assert.deepEqual(await resolved(pulumi.all(items.map((item) => pulumi.all({ ...item })))), [
            { path: `${ROOT}/a`, owner: 1017, group: 999, mode: "0750" },
            { path: "/srv/other/b", owner: 5, group: 6, mode: "0700" },
        ]);
    });
});

describe("config validation of applications", () => {
    const image = "registry.example.com/acme/web:1.4.2";
    const expectProblem = (problems: string[], pattern: RegExp): void => {
        assert.ok(problems.some((p) => pattern.test(p)), `expected ${String(pattern)} in:\n${problems.join("\n")}`);
    };

    test("defaults of a minimal application", () => {
        const parsed = app({ volumes: [{ hostPath: `${ROOT}/a`, containerPath: "/a", owner: 1, group: 1 }], ports: [{ internal: 80, external: 8080 }] });
        assert.equal(parsed.user, "image");
        assert.equal(parsed.allowRoot, false);
        assert.equal(parsed.memory, 256);
        assert.deepEqual({ ...parsed.env }, {});
        assert.equal(parsed.volumes[0].mode, "0750");
        assert.equal(parsed.volumes[0].readOnly, false);
        assert.equal(parsed.ports[0].protocol, "tcp");
        assert.equal(parsed.hosts, undefined);
        assert.equal(parsed.command, undefined);
        assert.equal(parsed.healthcheck, undefined);
        assert.ok(Object.isFrozen(parsed) && Object.isFrozen(parsed.volumes[0]));
    });

    test("an unknown user mode", () => {
        for (const user of ["root", "nobody", "1234", "01234:1", "abc:def"]) {
            expectProblem(appProblems([{ name: "a", image, user }]), /applications\[0\]\.user: must be "image" .* "service" .* "<uid>:<gid>"/);
        }
        expectProblem(appProblems([{ name: "a", image, user: "9999999999:1" }]), /applications\[0\]\.user: ids must be at most 2147483646/);
    });

    test("uid or gid 0 without allowRoot; allowRoot on a user that is not root", () => {
        expectProblem(appProblems([{ name: "a", image, user: "0:0" }]), /applications\[0\]\.user: "0:0" runs the container as root .* allowRoot: true/);
        expectProblem(appProblems([{ name: "a", image, user: "1234:0" }]), /applications\[0\]\.user: "1234:0" runs the container as root/);
        assert.equal(parse(baseConfig({ applications: [{ name: "a", image, user: "0:0", allowRoot: true }] })).applications[0].allowRoot, true);
        expectProblem(appProblems([{ name: "a", image, user: "1234:1234", allowRoot: true }]), /applications\[0\]\.allowRoot: .* not root, so there is no exception to record/);
        expectProblem(appProblems([{ name: "a", image, user: "service", allowRoot: true }]), /applications\[0\]\.allowRoot/);
        // image mode may run as root: allowRoot documents that.
        assert.doesNotThrow(() => parse(baseConfig({ applications: [{ name: "a", image, allowRoot: true }] })));
    });

    test("service in legacy root mode needs allowRoot; requireNonRootApplications refuses image mode without it", () => {
        expectProblem(appProblems([{ name: "a", image, user: "service" }], { runAs: "root" }), /"service" runs the container as uid 0 while replicated:runAs is "root"/);
        assert.doesNotThrow(() => parse(baseConfig({ runAs: "root", applications: [{ name: "a", image, user: "service", allowRoot: true }] })));
        expectProblem(appProblems([{ name: "a", image }], { requireNonRootApplications: true }), /"image" may run the container as root .* replicated:requireNonRootApplications is true/);
        assert.doesNotThrow(() => parse(baseConfig({ requireNonRootApplications: true, applications: [{ name: "a", image, allowRoot: true }, { name: "b", image, user: "1:1" }, { name: "c", image, user: "service" }] })));
    });

    test("a volume outside the allowed roots, or on a system path", () => {
        expectProblem(appProblems([{ name: "a", image, user: "1:1", volumes: [{ hostPath: "/data/a", containerPath: "/a" }] }]), /applications\[0\]\.volumes\[0\]\.hostPath: \/data\/a is not below an allowed root/);
        expectProblem(appProblems([{ name: "a", image, user: "1:1", volumes: [{ hostPath: ROOT, containerPath: "/a" }] }]), /hostPath: \/srv\/replicated-volumes is not below an allowed root/);
        expectProblem(appProblems([{ name: "a", image, user: "1:1", volumes: [{ hostPath: `${ROOT}/../etc`, containerPath: "/a" }] }]), /volumes\[0\]\.hostPath: must be an absolute path/);
        expectProblem(appProblems([{ name: "a", image, user: "1:1", volumes: [{ hostPath: "/etc/x", containerPath: "/a" }] }], { volumeRoots: ["/etc"] }), /volumeRoots\[0\]: \/etc is a system or Replicated path/);
    });

    test("container paths: not /, /tmp, /proc, /sys, /dev; one per volume", () => {
        for (const containerPath of ["/", "/tmp", "/proc", "/proc/1", "/sys/fs", "/dev/shm"]) {
            expectProblem(appProblems([{ name: "a", image, user: "1:1", volumes: [{ hostPath: `${ROOT}/a`, containerPath }] }]), /volumes\[0\]\.containerPath: must not be \/, \/tmp/);
        }
        expectProblem(
            appProblems([{ name: "a", image, user: "1:1", volumes: [{ hostPath: `${ROOT}/a`, containerPath: "/d" }, { hostPath: `${ROOT}/b`, containerPath: "/d" }] }]),
            /volumes\[1\]\.containerPath: \/d is already mounted by volumes\[0\]/,
        );
    });

    test("image mode: a volume needs an explicit owner and group", () => {
        expectProblem(appProblems([{ name: "a", image, volumes: [{ hostPath: `${ROOT}/a`, containerPath: "/a", owner: 4321 }] }]), /volumes\[0\]: with user "image" .* owner and group are required/);
        assert.doesNotThrow(() => parse(baseConfig({ applications: [{ name: "a", image, volumes: [{ hostPath: `${ROOT}/a`, containerPath: "/a", owner: 4321, group: 4321 }] }] })));
    });

    test("one directory, one owner: two applications (or operations.volumes) may not prepare it differently", () => {
        expectProblem(
            appProblems([
                { name: "a", image, user: "1:1", volumes: [{ hostPath: `${ROOT}/s`, containerPath: "/s" }] },
                { name: "b", image, user: "2:2", volumes: [{ hostPath: `${ROOT}/s`, containerPath: "/s" }] },
            ]),
            /applications\[1\]\.volumes\[0\]\.hostPath: \/srv\/replicated-volumes\/s is also prepared by replicated:applications\[0\]\.volumes\[0\] as 1:1 0750, here as 2:2 0750/,
        );
        assert.doesNotThrow(() =>
            parse(baseConfig({ applications: [
                { name: "a", image, user: "1:1", volumes: [{ hostPath: `${ROOT}/s`, containerPath: "/s" }] },
                { name: "b", image, user: "2:2", volumes: [{ hostPath: `${ROOT}/s`, containerPath: "/s", owner: 1, group: 1, mode: "750" }] },
            ] })),
        );
        expectProblem(
            appProblems([{ name: "a", image, user: "1:1", volumes: [{ hostPath: `${ROOT}/s`, containerPath: "/s" }] }], {
                operations: { volumes: { request: "v1", items: [{ path: `${ROOT}/s`, owner: 0, group: 0, mode: "0700" }] } },
            }),
            /is also prepared by replicated:operations\.volumes\.items as 0:0 0700/,
        );
    });

    test("duplicate and reserved container names", () => {
        expectProblem(appProblems([{ name: "a", image, user: "1:1" }, { name: "a", image, user: "1:1" }]), /applications\[1\]\.name: duplicate container name "a" \(also applications\[0\]\)/);
        for (const name of ["replicated", "replicated-ui", "replicated-operator", "replicated-statsd", "replicated-premkit", "replicated-op-volumes-x"]) {
            expectProblem(appProblems([{ name, image, user: "1:1" }]), /is reserved for a Replicated container/);
        }
        expectProblem(appProblems([{ name: "Web_App", image, user: "1:1" }]), /applications\[0\]\.name: must be a lowercase DNS label/);
    });

    test("host ports: once per host, never one Replicated publishes there", () => {
        const on = (ports: unknown[], hosts?: string[]) => ({ name: `p${Math.random().toString(16).slice(2, 8)}`, image, user: "1:1", ports, ...(hosts ? { hosts } : {}) });
        expectProblem(appProblems([on([{ internal: 80, external: 18080 }]), on([{ internal: 81, external: 18080 }])]), /applications\[1\]\.ports\[0\]\.external: 18080\/tcp on host primary-1 is already published by applications\[0\]/);
        expectProblem(appProblems([on([{ internal: 80, external: 18080 }, { internal: 81, external: 18080 }])]), /ports\[1\]\.external: 18080\/tcp on host primary-1 is already published/);
        for (const [external, protocol] of [[8800, "tcp"], [9874, "tcp"], [9879, "tcp"], [9880, "tcp"], [8125, "udp"]] as const) {
            expectProblem(appProblems([on([{ internal: 80, external, protocol }])]), new RegExp(`${external}/${protocol} on host primary-1 is already published by Replicated's replicated`));
        }
        expectProblem(appProblems([on([{ internal: 80, external: 8443 }])], { uiPort: 8443 }), /8443\/tcp on host primary-1 is already published by Replicated's replicated-ui/);
        // Not clashes: another protocol, other hosts, ports that live only inside Replicated's containers.
        assert.doesNotThrow(() =>
            parse(baseConfig({ applications: [
                on([{ internal: 80, external: 18080 }, { internal: 80, external: 18080, protocol: "udp" }, { internal: 8125, external: 8125 }, { internal: 2443, external: 2443 }, { internal: 2080, external: 2080 }, { internal: 80, external: 8800 }], ["node-1"]),
                on([{ internal: 80, external: 18080 }, { internal: 8125, external: 8125 }, { internal: 2443, external: 2443 }, { internal: 2080, external: 2080 }]),
                on([{ internal: 80, external: 9879 }], ["node-1"]),
            ] })),
        );
        expectProblem(appProblems([on([{ internal: 80, external: 18080 }], ["node-1"]), on([{ internal: 80, external: 18080 }], ["primary-1", "node-1"])]), /18080\/tcp on host node-1 is already published by applications\[0\]/);
    });

    test("hosts: known names, each once, at least one", () => {
        expectProblem(appProblems([{ name: "a", image, user: "1:1", hosts: ["node-9"] }]), /applications\[0\]\.hosts\[0\]: no host named "node-9"/);
        expectProblem(appProblems([{ name: "a", image, user: "1:1", hosts: ["node-1", "node-1"] }]), /hosts\[1\]: "node-1" is listed twice/);
        expectProblem(appProblems([{ name: "a", image, user: "1:1", hosts: [] }]), /applications\[0\]\.hosts: must list at least one host/);
    });

    test("air-gap: an application image may not load from the same tarball as another image", () => {
        const airgap = { airgap: { imagesDir: "/var/lib/replicated-images" } };
        expectProblem(appProblems([{ name: "a", image: "registry.example.com/acme/replicated-ui:1.0.0", user: "1:1" }], airgap), /applications\[0\]\.image: in air-gap mode .* would load from replicated-ui\.tar, like a Replicated image/);
        expectProblem(
            appProblems([{ name: "a", image: "registry.example.com/acme/web:1.0.0", user: "1:1" }, { name: "b", image: "registry.example.com/other/web:2.0.0", user: "1:1" }], airgap),
            /applications\[1\]\.image: .* would load from web\.tar, like registry\.example\.com\/acme\/web:1\.0\.0/,
        );
        assert.doesNotThrow(() => parse(baseConfig({ ...airgap, applications: [{ name: "a", image: "registry.example.com/acme/web:1.0.0", user: "1:1" }, { name: "b", image: "registry.example.com/acme/web:1.0.0", user: "2:2" }] })));
        // A custom helper image reserves its own tarball name instead of replicated-helper.
        const helper = { ...airgap, images: { helper: "registry.example.com/tools/op-helper:1.0.0" } };
        expectProblem(appProblems([{ name: "a", image: "registry.example.com/acme/op-helper:2.0.0", user: "1:1" }], helper), /would load from op-helper\.tar, like a Replicated image/);
        assert.doesNotThrow(() => parse(baseConfig({ ...helper, applications: [{ name: "a", image: "registry.example.com/acme/replicated-helper:2.0.0", user: "1:1" }] })));
        // Online, the same names are fine (nothing is loaded from tarballs).
        assert.doesNotThrow(() => parse(baseConfig({ applications: [{ name: "a", image: "registry.example.com/acme/replicated-ui:1.0.0", user: "1:1" }] })));
    });

    test("field rules: image with a tag, env names and values, command, healthcheck, memory, unknown keys", () => {
        expectProblem(appProblems([{ name: "a", image: "registry.example.com/acme/web", user: "1:1" }]), /applications\[0\]\.image: must be an image reference with an explicit tag/);
        expectProblem(appProblems([{ name: "a", image, user: "1:1", env: { "BAD-NAME": "x" } }]), /applications\[0\]\.env\.BAD-NAME: environment variable names must match/);
        expectProblem(appProblems([{ name: "a", image, user: "1:1", env: { OK: "a\nb" } }]), /env\.OK: must not contain a newline, carriage return or NUL/);
        expectProblem(appProblems([{ name: "a", image, user: "1:1", command: [] }]), /applications\[0\]\.command: must have at least one element/);
        expectProblem(appProblems([{ name: "a", image, user: "1:1", command: ["sh", "-c", "a\nb"] }]), /command\[2\]: must not contain a newline/);
        expectProblem(appProblems([{ name: "a", image, user: "1:1", command: ["/app", ""] }]), /command\[1\]: must not be an empty string \(the docker provider refuses empty command arguments\)/);
        expectProblem(appProblems([{ name: "a", image, user: "1:1", healthcheck: "  " }]), /healthcheck: must not be empty/);
        expectProblem(appProblems([{ name: "a", image, user: "1:1", memory: 8 }]), /memory: must be at least 16 MiB/);
        expectProblem(appProblems([{ name: "a", image, user: "1:1", privileged: true }]), /applications\[0\]\.privileged: unknown key/);
        expectProblem(appProblems([{ name: "a", image, user: "1:1", volumes: [{ hostPath: `${ROOT}/a`, containerPath: "/a", mode: "4750" }] }]), /mode: must be an octal mode/);
    });

    test("every problem of one config is reported at once", () => {
        const problems = appProblems([
            { name: "a", image, user: "root" },
            { name: "a", image, user: "0:0" },
            { name: "b", image, user: "1:1", volumes: [{ hostPath: "/data/x", containerPath: "/x" }] },
        ]);
        expectProblem(problems, /applications\[0\]\.user: must be/);
        expectProblem(problems, /applications\[1\]\.name: duplicate/);
        expectProblem(problems, /applications\[1\]\.user: "0:0" runs the container as root/);
        expectProblem(problems, /applications\[2\]\.volumes\[0\]\.hostPath/);
    });
});

// ---------------------------------------------------------------------------------------------
// The program under mocks

/** acme-online (one host, acme-1) with an application per user mode, volumes, and an operations block. */
const APPLICATIONS = [...APPLICATIONS_PER_USER_MODE];

/** acme-online's config with the applications, their volume root and a support bundle requested. */
function withApplications(applications: unknown[] = APPLICATIONS, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return { volumeRoots: [ROOT], operations: { supportBundle: { request: "bundle-1" } }, applications, ...extra };
}

function programConfig(applications: unknown[] = APPLICATIONS, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return stackConfigForTest("acme-online", withApplications(applications, extra));
}

let recording: Recording;
let again: Recording;
let changed: Recording;
let airgapped: Recording;
before(async () => {
    // acme-online's one host, acme-1, built with plain args from that config: as it is, once more,
    // with one volume's mode changed, and air-gapped.
    const hostWith = (applications: unknown[], extra: Record<string, unknown> = {}) => () => buildHosts(stackHostArgs("acme-online", withApplications(applications, extra)));
    const modeChanged = APPLICATIONS.map((a) => (a.name === "app-service" ? { ...a, volumes: [{ ...a.volumes![0], mode: "0750" }] } : a));
    [recording, again, changed, airgapped] = await Promise.all([
        recordComponent(hostWith(APPLICATIONS)),
        recordComponent(hostWith(APPLICATIONS)),
        recordComponent(hostWith(modeChanged)),
        recordComponent(hostWith(APPLICATIONS, { airgap: { imagesDir: "/var/lib/replicated-images" } })),
    ]);
});

function appContainer(rec: Recording, name: string): RecordedResource {
    return rec.find(CONTAINER, `acme-1-apps-${name}`);
}

function volumesCommand(rec: Recording): RecordedResource {
    return rec.find(COMMAND, "acme-1-apps-volumes-run");
}

describe("a host with applications", () => {
    test("one container per application under ApplicationContainers, with the user and groupAdds of its mode", () => {
        const component = recording.find("replicated:apps:ApplicationContainers", "acme-1-apps");
        assert.equal(component.parent, "replicated:index:ReplicatedHost::acme-1");
        const expected: Record<string, { user?: string; groupAdds?: string[] }> = {
            "app-explicit": { user: "1234:1234" },
            "app-service": { user: `${CANNED_UID}:${CANNED_DOCKER_GID}`, groupAdds: [String(CANNED_DOCKER_GID)] },
            "app-image": {},
            "app-plain": { user: "2000:2000" },
        };
        for (const [name, want] of Object.entries(expected)) {
            const c = appContainer(recording, name);
            assert.equal(c.parent, "replicated:apps:ApplicationContainers::acme-1-apps");
            assert.equal(c.inputs.name, name);
            assert.equal(c.inputs.user, want.user, `${name} user`);
            assert.deepEqual(c.inputs.groupAdds, want.groupAdds, `${name} groupAdds`);
            assert.equal(c.options.provider, "pulumi:providers:docker::acme-1-docker");
            assert.deepEqual(c.inputs.networksAdvanced, [{ name: "replicated" }]);
            assert.equal(c.options.deleteBeforeReplace, true);
            assert.equal(labelsOf(c.inputs)[LABEL_APPLICATION], name);
            assert.ok(c.options.dependsOn.includes("replicated:host:HostDirectories::acme-1") || c.options.dependsOn.some((d) => d.endsWith("-directories")), `${name} waits for the directories`);
        }
    });

    test("the volumes run: an elevated operation with the owners of each mode, request id apps-<hash> in args and triggers", () => {
        const cmd = volumesCommand(recording);
        assert.equal(cmd.parent, "replicated:ops:ElevatedOperation::acme-1-apps-volumes", "run through the ElevatedOperation component");
        assert.equal(recording.find("replicated:ops:ElevatedOperation", "acme-1-apps-volumes").parent, "replicated:apps:ApplicationContainers::acme-1-apps");
        assert.equal(scriptNameOf(cmd), "elevated-run");
        const config = parse(baseConfig({ applications: APPLICATIONS }));
        const request = applicationVolumesRequest(applicationVolumeSpecs(config.applications), "replicated");
        const args = scriptArgsOf(cmd);
        assert.deepEqual(args.slice(0, 5), ["volumes", request, "acme-online", helperImageReference({ images: { registry: "quay.io/replicated" }, channel: "stable", version: "2.53.2" }), "300"]);
        assert.deepEqual(args.slice(5, 7), ["-", "/srv:/data"], "helper not pinned; the default data prefixes");
        assert.deepEqual(args.slice(7), [
            "1", ROOT,
            `${ROOT}/explicit`, "1234", "1234", "0750",
            `${ROOT}/image`, "4321", "4321", "0750",
            `${ROOT}/service`, String(CANNED_UID), String(CANNED_DOCKER_GID), "0770",
        ]);
        assert.deepEqual(cmd.inputs.triggers, ["volumes", request]);
        assert.equal(cmd.inputs.delete, undefined, "destroy never deletes application data");
        assert.equal(cmd.inputs.update, undefined);
        assert.equal(cmd.inputs.addPreviousOutputInEnv, false);
        assert.ok(String(cmd.inputs.stdin).includes("# replicated-script: op-volumes"));
        const deps = cmd.options.dependsOn;
        assert.ok(deps.some((d) => d.endsWith("-directories")), deps.join(", "));
        assert.ok(deps.includes(`${IMAGE}::acme-1-images-replicated-helper`), "waits for the helper image");
        assert.ok(deps.includes(`${COMMAND}::acme-1-op-support-bundle-run`), "runs after the host's other elevated operations");
    });

    test("containers with volumes start after the volumes run; a container without volumes does not wait for it", () => {
        for (const name of ["app-explicit", "app-service", "app-image"]) {
            assert.ok(appContainer(recording, name).options.dependsOn.includes(`${COMMAND}::acme-1-apps-volumes-run`), name);
        }
        assert.equal(appContainer(recording, "app-plain").options.dependsOn.includes(`${COMMAND}::acme-1-apps-volumes-run`), false);
    });

    test("no application container mounts the docker socket or anything but its configured volumes", () => {
        for (const c of recording.byType(CONTAINER).filter((r) => labelsOf(r.inputs)[LABEL_APPLICATION] !== undefined)) {
            const mounts = (c.inputs.mounts ?? []) as Array<{ source: string; target: string; readOnly: boolean }>;
            assert.ok(!mounts.some((m) => m.source === DOCKER_SOCKET || DOCKER_SOCKET.startsWith(`${m.source}/`)), c.name);
            for (const m of mounts) {
                assert.ok(m.source.startsWith(`${ROOT}/`), `${c.name}: ${m.source}`);
            }
        }
        assert.deepEqual(appContainer(recording, "app-image").inputs.mounts, [{ type: "bind", source: `${ROOT}/image`, target: "/data", readOnly: true }]);
    });

    test("application images come through the host's Images component, as image ids", () => {
        for (const a of APPLICATIONS) {
            const image = recording.byType(IMAGE).find((i) => i.inputs.name === a.image);
            assert.ok(image, `RemoteImage for ${a.image}`);
            assert.equal(image.parent, "replicated:docker:Images::acme-1-images");
            assert.equal(image.inputs.keepLocally, true);
            assert.equal(appContainer(recording, a.name).inputs.image, image.state.imageId, "image from the resource's imageId");
        }
        const load = airgapped.find(COMMAND, "acme-1-images-load");
        for (const a of APPLICATIONS) {
            assert.ok(String(load.inputs.create).includes(`'${a.image}'`), `${a.image} is loaded from its tarball in air-gap mode`);
        }
    });

    test("evaluating the same config again gives identical inputs (nothing to update); a changed volume spec changes only the volumes run", () => {
        const inputsOf = (rec: Recording) => Object.fromEntries(rec.resources.map((r) => [`${r.type}::${r.name}`, JSON.stringify(r.inputs)]));
        assert.deepEqual(inputsOf(again), inputsOf(recording));
        const before = inputsOf(recording);
        const after = inputsOf(changed);
        const differing = Object.keys(before).filter((key) => before[key] !== after[key]);
        assert.deepEqual(differing, [`${COMMAND}::acme-1-apps-volumes-run`], "the containers keep their inputs: no container is recreated");
        assert.notDeepEqual(volumesCommand(changed).inputs.triggers, volumesCommand(recording).inputs.triggers, "a new request id: it runs once");
    });

    test("the example stack initech-apps: service-mode applications on the hosts they name", async () => {
        const rec = await recordCanned({ stack: "initech-apps", config: stackConfigForTest("initech-apps") });
        assert.equal(rec.find(CONTAINER, "initech-1-apps-reports-web").inputs.user, `${CANNED_UID}:${CANNED_DOCKER_GID}`);
        assert.equal(rec.find(CONTAINER, "initech-2-apps-tps-worker").inputs.user, `${CANNED_UID}:${CANNED_DOCKER_GID}`);
        assert.equal(rec.byType(CONTAINER).filter((c) => labelsOf(c.inputs)[LABEL_APPLICATION] !== undefined).length, 2, "each application on its host only");
    });
});

describe("bad input never reaches a host", () => {
    const cases: Array<[string, unknown[], RegExp]> = [
        ["an unknown user mode", [{ ...APPLICATIONS[0], user: "nobody" }], /applications\[0\]\.user: must be "image"/],
        ["uid 0 without allowRoot", [{ ...APPLICATIONS[0], user: "0:0" }], /applications\[0\]\.user: "0:0" runs the container as root/],
        ["a volume outside the allowed root", [{ ...APPLICATIONS[0], volumes: [{ hostPath: "/opt/data", containerPath: "/data" }] }], /hostPath: \/opt\/data is not below an allowed root/],
        ["a duplicate container name", [APPLICATIONS[0], { ...APPLICATIONS[3], name: "app-explicit" }], /applications\[1\]\.name: duplicate container name "app-explicit"/],
    ];
    /** Evaluate the program, counting every custom resource that reaches the engine (remote commands included). */
    async function evaluateCounting(applications: unknown[]): Promise<{ error?: string; registered: string[] }> {
        const registered: string[] = [];
        try {
            await recordProgramQueued({
                stack: "acme-online",
                config: programConfig(applications),
                resolve: (resource) => {
                    if (resource.custom) {
                        registered.push(`${resource.type}::${resource.name}`);
                    }
                    return cannedResolver(resource);
                },
                sdkStackTraces: false,
            });
        } catch (err) {
            return { error: (err as Error).message, registered };
        }
        return { registered };
    }
    const results = new Map<string, Awaited<ReturnType<typeof evaluateCounting>>>();
    before(async () => {
        for (const [label, applications] of cases) {
            results.set(label, await evaluateCounting(applications));
        }
    });
    after(() => results.clear());

    test("control: a valid config does register resources and remote commands", async () => {
        const valid = await evaluateCounting([APPLICATIONS[0]]);
        assert.equal(valid.error, undefined);
        assert.ok(valid.registered.some((ref) => ref.startsWith(`${COMMAND}::`)));
    });

    for (const [label, , pattern] of cases) {
        test(`${label}: the program fails on config, with zero remote calls and no resource`, () => {
            const result = results.get(label);
            assert.ok(result);
            assert.match(result.error ?? "", pattern);
            assert.deepEqual(result.registered, [], "no resource (and so no remote command) reached the engine");
        });
    }
});
