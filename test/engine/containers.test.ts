/**
 * Engine tier: the containers the program defines, started on real Docker engines.
 *
 * Two test hosts (primary + operator). Stand-in images named like the real ones are built on
 * each host, saved as air-gap tarballs and removed; then the whole program is applied in
 * dependency order: the remote commands (account, directories, ownership repair, image load) run
 * over SSH (host-runner), the docker provider's recorded SSH settings are dialled for real, and
 * networks and containers are created from their recorded inputs (container-runner). The
 * stand-ins then report from inside what they got.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { SOCKET_SERVICES } from "../../components/docker/container-spec";
import { imagesForHost, replicatedImageReference } from "../../components/docker/image-refs";
import { dockerSshOptions, knownHostsLine, sshDockerHost } from "../../components/docker/provider";
import { parseAccountSummary } from "../../components/host/service-account";
import { parseSummaryLine } from "../../components/shell";
import { scriptNameOf } from "../support/canned-outputs";
import { runCisChecks, type ContainerInspect } from "../support/cis-docker-bench";
import { dockerEngineResolver, pingEngineOverSsh, previewAfterRefresh, waitHealthy, type EngineEvent } from "../support/container-runner";
import { diffResource } from "../../tools/docker-provider-model";
import { hostResolver, testHostConfig, type CommandRun } from "../support/host-runner";
import { recordProgram, type RecordedResource, type Recording } from "../support/mock-recorder";
import { hostTierAvailability, requireHostTier } from "../support/preflight";
import { buildStandinImages, standinsFor, waitForStandinReport } from "../support/standin-images";
import { docker, restartHost, run, startHosts, stopHosts, type TestHost } from "../support/testhost";

const IMAGES_DIR = "/var/lib/replicated-images";
const VERSION = "2.53.2";
const CORE = ["replicated", "replicated-ui", "replicated-operator"];
const SIDECARS = ["replicated-statsd", "replicated-premkit"];
const PRIMARY_CONTAINERS = [...CORE, ...SIDECARS];

/** Directories each service may write (besides its tmpfs /tmp); everything else must be denied. */
const WRITABLE: Readonly<Record<string, string[]>> = {
    replicated: ["/tmp", "/var/lib/replicated", "/var/run/replicated"],
    "replicated-ui": ["/tmp", "/var/run/replicated"],
    "replicated-operator": ["/tmp", "/var/lib/replicated-operator", "/var/run/replicated-operator"],
    "replicated-statsd": ["/data", "/tmp"],
    "replicated-premkit": ["/data", "/tmp"],
};
/** Where each service's probe file lands on the host. */
const PROBE_ON_HOST: Readonly<Record<string, string[]>> = {
    replicated: ["/var/lib/replicated", "/var/run/replicated"],
    "replicated-ui": ["/var/run/replicated"],
    "replicated-operator": ["/var/lib/replicated-operator", "/var/run/replicated-operator"],
    "replicated-statsd": ["/var/lib/replicated/statsd"],
    "replicated-premkit": ["/var/lib/replicated/premkit"],
};

interface Setup {
    hosts: TestHost[];
    primary: TestHost;
    operator: TestHost;
    recording: Recording;
    runs: CommandRun[];
    events: EngineEvent[];
    uid: Record<string, number>;
    dockerGid: Record<string, number>;
    token: string;
    timings: Record<string, number>;
}

let setup: Setup | undefined;
let hosts: TestHost[] = [];

function seconds(since: number): number {
    return Math.round((performance.now() - since) / 100) / 10;
}

before(async () => {
    if (!(await hostTierAvailability()).ok) {
        return;
    }
    const timings: Record<string, number> = {};
    let started = performance.now();
    hosts = await startHosts(2);
    timings.startHosts = seconds(started);
    const [primary, operator] = hosts;

    started = performance.now();
    const references = (role: "primary" | "operator"): string[] =>
        imagesForHost(role, { statsd: true, premkit: true }).map((name) => replicatedImageReference("quay.io/replicated", name, "stable", VERSION));
    await Promise.all([
        buildStandinImages(primary, standinsFor(references("primary")), IMAGES_DIR),
        buildStandinImages(operator, standinsFor(references("operator")), IMAGES_DIR),
    ]);
    timings.standins = seconds(started);

    const token = randomBytes(16).toString("hex");
    const runs: CommandRun[] = [];
    const events: EngineEvent[] = [];
    started = performance.now();
    const recording = await recordProgram({
        stack: "engine",
        config: testHostConfig(hosts, { overrides: { airgap: { imagesDir: IMAGES_DIR }, version: VERSION } }),
        resolve: hostResolver({
            hosts,
            onRun: (r) => runs.push(r),
            fallback: dockerEngineResolver({ hosts, daemonToken: token, onEvent: (e) => events.push(e) }),
        }),
    });
    timings.apply = seconds(started);

    const uid: Record<string, number> = {};
    const dockerGid: Record<string, number> = {};
    for (const host of hosts) {
        const account = runs.find((r) => r.host === host.name && r.script === "account");
        assert.ok(account, `the account script ran on ${host.name}`);
        const summary = parseAccountSummary(account.stdout);
        uid[host.name] = summary.uid;
        dockerGid[host.name] = summary.dockerGid;
    }
    setup = { hosts, primary, operator, recording, runs, events, uid, dockerGid, token, timings };
});

after(async () => {
    if (setup) {
        console.log(`engine tier timings (s): ${JSON.stringify(setup.timings)}`);
    }
    await stopHosts(hosts);
});

/** The setup, or undefined (test skipped / failed in CI) when the tier cannot run. */
async function ready(t: Parameters<typeof requireHostTier>[0]): Promise<Setup | undefined> {
    if (!(await requireHostTier(t))) {
        return undefined;
    }
    assert.ok(setup, "setup did not complete (see the before hook's error)");
    return setup;
}

function containersOn(s: Setup, host: TestHost): string[] {
    return host === s.primary ? PRIMARY_CONTAINERS : ["replicated-operator"];
}

function recordedContainer(s: Setup, host: TestHost, service: string): RecordedResource {
    const found = s.recording
        .byType("docker:index/container:Container")
        .find((c) => c.inputs.name === service && c.name.startsWith(`${host.name}-`));
    assert.ok(found, `recorded container ${service} on ${host.name}`);
    return found;
}

async function inspect(host: TestHost, container: string): Promise<ContainerInspect & Record<string, unknown>> {
    const result = await docker(host, ["inspect", container]);
    assert.equal(result.code, 0, result.stderr);
    return (JSON.parse(result.stdout) as Array<ContainerInspect & Record<string, unknown>>)[0];
}

describe("engine tier: hardened containers on real Docker", () => {
    test("the docker provider's recorded SSH settings reach each host's engine", async (t) => {
        const s = await ready(t);
        if (!s) return;
        const checks = s.events.filter((e) => e.type === "pulumi:providers:docker");
        assert.deepEqual(checks.map((e) => e.host).sort(), s.hosts.map((h) => h.name).sort());
        for (const check of checks) {
            assert.match(check.detail, /^200 OK OK$/, `${check.name}: GET /_ping over ssh + docker system dial-stdio`);
        }
    });

    test("a sudo login reaches the engine only once it is in the docker group (as the README says)", async (t) => {
        const s = await ready(t);
        if (!s) return;
        const host = s.primary;
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "engine-provider-"));
        try {
            const knownHostsFile = path.join(dir, "known_hosts");
            fs.writeFileSync(knownHostsFile, `${knownHostsLine(host.address, host.sshPort, host.hostKey)}\n`, { mode: 0o600 });
            const url = sshDockerHost({ user: host.users.sudo, address: host.address, port: host.sshPort });
            const opts = dockerSshOptions({ hostKey: host.hostKey }, { identityFile: host.privateKeyPath, knownHostsFile });
            await assert.rejects(pingEngineOverSsh(url, opts), /permission denied/i);
            const added = await run(host, `usermod -a -G docker ${host.users.sudo}`);
            assert.equal(added.code, 0, added.stderr);
            try {
                assert.equal(await pingEngineOverSsh(url, opts), "200 OK OK");
            } finally {
                await run(host, `gpasswd -d ${host.users.sudo} docker`);
            }
            // A host key other than the pinned one is refused.
            fs.writeFileSync(knownHostsFile, `${knownHostsLine(host.address, host.sshPort, s.operator.hostKey)}\n`);
            await assert.rejects(pingEngineOverSsh(sshDockerHost({ user: "root", address: host.address, port: host.sshPort }), opts), /host key/i);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    test("air-gap: the load command loaded every image from its tarball, and a second run loads nothing", async (t) => {
        const s = await ready(t);
        if (!s) return;
        for (const host of s.hosts) {
            const load = s.runs.find((r) => r.host === host.name && r.script === "load-images");
            assert.ok(load, `load-images ran on ${host.name}`);
            const first = parseSummaryLine(load.stdout) as { loaded: string[]; present: string[]; changed: number };
            const role: "primary" | "operator" = host === s.primary ? "primary" : "operator";
            const expected: string[] = imagesForHost(role, { statsd: true, premkit: true }).map((name) => replicatedImageReference("quay.io/replicated", name, "stable", VERSION));
            assert.deepEqual([...first.loaded].sort(), [...expected].sort());
            assert.deepEqual(first.present, []);
            assert.equal(first.changed, expected.length);

            const command = s.recording.byType("command:remote:Command").find((c) => scriptNameOf(c) === "load-images" && c.name.startsWith(`${host.name}-`));
            assert.ok(command);
            const again = await run(host, String(command.inputs.create), { stdin: String(command.inputs.stdin) });
            assert.equal(again.code, 0, again.stderr);
            const second = parseSummaryLine(again.stdout) as { loaded: string[]; present: string[]; changed: number };
            assert.deepEqual(second.loaded, []);
            assert.deepEqual([...second.present].sort(), [...expected].sort());
            assert.equal(second.changed, 0);
        }
    });

    // The loader's refusals (missing or foreign tarballs, directories and files others could
    // change, archives with other tags, pins) are proven in test/host/airgap.test.ts.

    test("every container runs as <service uid>:<docker gid> with the docker group, no capabilities, no_new_privs", async (t) => {
        const s = await ready(t);
        if (!s) return;
        for (const host of s.hosts) {
            const uid: number = s.uid[host.name];
            const gid: number = s.dockerGid[host.name];
            assert.ok(uid > 0, `the service uid on ${host.name} is not root (${uid})`);
            for (const service of containersOn(s, host)) {
                const report = await waitForStandinReport(host, service);
                assert.equal(report.uid, `${uid} ${uid} ${uid} ${uid}`, `${host.name}/${service} real/effective/saved/fs uid`);
                assert.equal(report.gid, `${gid} ${gid} ${gid} ${gid}`, `${host.name}/${service} gids`);
                assert.equal(report.groups, String(gid), `${host.name}/${service} supplementary groups`);
                assert.equal(report.capeff, "0000000000000000", `${host.name}/${service} effective capabilities`);
                assert.equal(report.nonewprivs, "1", `${host.name}/${service} no_new_privs`);
                const inspected = await inspect(host, service);
                assert.equal(inspected.Config?.User, `${uid}:${gid}`);
            }
        }
    });

    test("each container can write its own directories and nothing else; files it creates belong to uid:docker gid", async (t) => {
        const s = await ready(t);
        if (!s) return;
        for (const host of s.hosts) {
            const owner: string = `${s.uid[host.name]}:${s.dockerGid[host.name]}`;
            for (const service of containersOn(s, host)) {
                const report = await waitForStandinReport(host, service);
                assert.deepEqual(report.writable.split(" ").sort(), WRITABLE[service], `${host.name}/${service} writable`);
                assert.equal(report.rootfs, "ro", `${service}: the root file system is mounted read-only`);
                assert.ok(report.denied.split(" ").includes("/standin/scratch"), `${service}: even a world-writable image directory is read-only`);
                for (const dir of PROBE_ON_HOST[service]) {
                    const stat = await run(host, `stat -c '%u:%g' ${dir}/standin-${service}.probe`);
                    assert.equal(stat.code, 0, `${dir}/standin-${service}.probe on ${host.name}: ${stat.stderr}`);
                    assert.equal(stat.stdout.trim(), owner, `${dir}/standin-${service}.probe owner`);
                }
            }
        }
        const ui = await waitForStandinReport(s.primary, "replicated-ui");
        assert.ok(ui.denied.split(" ").includes("/var/lib/replicated"), "the console cannot write (or create) /var/lib/replicated");
    });

    test("replicated and replicated-operator reach the Docker API through the socket by group membership; the others have no socket", async (t) => {
        const s = await ready(t);
        if (!s) return;
        for (const host of s.hosts) {
            // root:docker 0660: only the docker group lets a non-root uid in.
            const socket = await run(host, "stat -c '%u:%g %a' /var/run/docker.sock");
            assert.equal(socket.stdout.trim(), `0:${s.dockerGid[host.name]} 660`);
            for (const service of containersOn(s, host)) {
                const report = await waitForStandinReport(host, service);
                if (SOCKET_SERVICES.includes(service)) {
                    assert.match(report.docker_api, /^ok \S+/, `${host.name}/${service}: ${report.docker_api}`);
                    // The read-only host views: the daemon also reads the host's os-release there.
                    if (service === "replicated") assert.match(report.os_release, /^PRETTY_NAME=/);
                    assert.equal(report.sockets, "/host/var/run/docker.sock");
                } else {
                    assert.equal(report.docker_api, "absent", `${service}`);
                    assert.equal(report.sockets, "", `${service} sees no socket`);
                    assert.equal(report.socket_mounts, "0", `${service} has no socket mount`);
                }
            }
        }
    });

    test("published ports answer on the private address only, never on the host's loopback", async (t) => {
        const s = await ready(t);
        if (!s) return;
        const address = s.primary.privateAddress;
        const tcp: number[] = [];
        for (const service of PRIMARY_CONTAINERS) {
            const ports = (recordedContainer(s, s.primary, service).inputs.ports ?? []) as Array<{ external: number; ip: string; protocol: string }>;
            for (const port of ports) {
                assert.equal(port.ip, address, `${service} binds ${port.external}/${port.protocol} to the private address`);
                if (port.protocol === "tcp") tcp.push(port.external);
            }
        }
        assert.deepEqual([...tcp].sort(), [8800, 9874, 9875, 9876, 9877, 9878, 9879, 9880]);
        const probe = (target: string): string =>
            tcp.map((port) => `if busybox nc -w 3 ${target} ${port} </dev/null >/dev/null 2>&1; then echo "${port} open"; else echo "${port} closed"; fi`).join("; ");
        const onPrivate = await run(s.primary, probe(address));
        assert.deepEqual(onPrivate.stdout.trim().split("\n"), tcp.map((port) => `${port} open`));
        const onLoopback = await run(s.primary, probe("127.0.0.1"));
        assert.deepEqual(onLoopback.stdout.trim().split("\n"), tcp.map((port) => `${port} closed`));
        const fromOperator = await run(s.operator, probe(address));
        assert.deepEqual(fromOperator.stdout.trim().split("\n"), tcp.map((port) => `${port} open`));
        const statsd = await docker(s.primary, ["port", "replicated-statsd"]);
        assert.equal(statsd.stdout.trim(), `8125/udp -> ${address}:8125`);
    });

    test("the operator on the second host reaches the primary's 9879 with the token (a wrong token is rejected)", async (t) => {
        const s = await ready(t);
        if (!s) return;
        for (const host of s.hosts) {
            const report = await waitForStandinReport(host, "replicated-operator");
            assert.equal(report.daemon, "accepted", `${host.name}: the daemon accepted DAEMON_TOKEN`);
            assert.equal(report.daemon_wrong_token, "rejected", `${host.name}: the daemon checks the token`);
        }
        const env = (await inspect(s.operator, "replicated-operator")).Config as { Env?: string[] };
        assert.ok(env.Env?.includes(`DAEMON_ENDPOINT=${s.primary.privateAddress}:9879`));
        assert.ok(env.Env?.includes(`DAEMON_TOKEN=${s.token}`));
        const operator = recordedContainer(s, s.operator, "replicated-operator");
        assert.ok(operator.secretPaths.includes("envs"), "the recorded envs are a secret");
    });

    test("CIS Docker Benchmark 1.6 checks pass for every container; 5.32 only fails where the socket is needed", async (t) => {
        const s = await ready(t);
        if (!s) return;
        const failures: string[] = [];
        for (const host of s.hosts) {
            for (const service of containersOn(s, host)) {
                for (const check of runCisChecks(await inspect(host, service))) {
                    const expectedToFail = check.id === "5.32" && SOCKET_SERVICES.includes(service);
                    if (check.pass === expectedToFail) {
                        failures.push(`${host.name}/${service} ${check.id} ${check.pass ? "passed" : "failed"} unexpectedly: ${check.detail}`);
                    }
                }
            }
        }
        assert.deepEqual(failures, []);
    });

    test("the next preview is empty: the provider's Read of every container and network, diffed against the inputs", async (t) => {
        const s = await ready(t);
        if (!s) return;
        const changes: string[] = [];
        for (const resource of [...s.recording.byType("docker:index/container:Container"), ...s.recording.byType("docker:index/network:Network")]) {
            const host = s.hosts.find((h) => resource.name.startsWith(`${h.name}-`));
            assert.ok(host, resource.name);
            // What the next `pulumi preview` diffs: the state stored after the create ...
            const stored = diffResource(resource.type, resource.state, resource.inputs, { ignoreChanges: resource.options.ignoreChanges });
            // ... and after a refresh: Read of what the engine holds now.
            const refreshed = await previewAfterRefresh(host, resource);
            for (const [when, diff] of [["stored", stored], ["refreshed", refreshed]] as const) {
                for (const change of diff.attributes) {
                    changes.push(`${when} ${resource.name}: ${change.path} ${JSON.stringify(change.old)} -> ${JSON.stringify(change.new)}${change.requiresNew ? " (replace)" : ""}`);
                }
            }
        }
        assert.deepEqual(changes, []);
    });

    test("the health gate ran once per host and saw every container healthy", async (t) => {
        const s = await ready(t);
        if (!s) return;
        for (const host of s.hosts) {
            const gate = s.runs.find((r) => r.host === host.name && r.script === "container-health");
            assert.ok(gate, `the health gate ran on ${host.name}`);
            const summary = parseSummaryLine(gate.stdout) as { healthy: string[]; failed: string[] };
            assert.deepEqual([...summary.healthy].sort(), [...containersOn(s, host)].sort());
            assert.deepEqual(summary.failed, []);
        }
    });

    test("every container turns healthy", async (t) => {
        const s = await ready(t);
        if (!s) return;
        const started = performance.now();
        await Promise.all(s.hosts.flatMap((host) => containersOn(s, host).map((service) => waitHealthy(host, service, 90))));
        s.timings.healthy = seconds(started);
    });

    // Last: it reboots the primary. The restart policy must bring every service back, and the
    // run directories must exist with the right owner before the containers start again.
    test("after a reboot every service runs again, on run directories recreated with the right owner", async (t) => {
        const s = await ready(t);
        if (!s) return;
        const host = s.primary;
        const reboot = await restartHost(host);
        s.timings.reboot = reboot.seconds;
        const addresses = (await run(host, "hostname -I")).stdout.trim().split(/\s+/);
        assert.ok(addresses.includes(host.privateAddress), `the test host kept ${host.privateAddress} (ports bind to it): ${addresses.join(" ")}`);
        const owner = await run(host, "stat -c '%u:%g %a' /var/run/replicated /var/run/replicated-operator");
        const expected = `${s.uid[host.name]}:${s.dockerGid[host.name]} 750`;
        assert.deepEqual(owner.stdout.trim().split("\n"), [expected, expected], owner.stderr);
        await Promise.all(containersOn(s, host).map((service) => waitHealthy(host, service, 90)));
        for (const service of containersOn(s, host)) {
            const inspected = await inspect(host, service);
            const state = inspected.State as { Running: boolean; RestartCount: number };
            assert.equal(state.Running, true, `${service} runs again after the reboot`);
        }
    });
});
