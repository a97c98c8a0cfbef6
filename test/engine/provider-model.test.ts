/**
 * Engine tier: `pulumi up` as the runner emulates it with the docker provider model, on a test
 * host whose engine has daemon-wide defaults that Docker merges into what the provider reads
 * back: `log-opts` (compress, mode) and `default-network-opts` (an MTU for bridge networks).
 *
 * One host (primary, both sidecars), applied five times with pulumiUp:
 *
 * 1. a container no stack created holds the name `replicated-ui`, and no install script's unit
 *    explains it: the program's install detection stops the apply before any docker resource
 *    is created, naming the container and the fix, and the container is left alone (the
 *    runner's own create conflict, as the provider reports it, is tested in takeover.test.ts);
 * 2. the foreign container gone (this test made it), the same config again: the rest is created;
 *    the next preview is empty (the provider's Read of every container and network diffed with
 *    the bridge's rules against the inputs, after the create and after a refresh);
 * 3. the same config again: every docker resource is unchanged, nothing runs;
 * 4. an upgrade from a state written before this program set a stop grace period: the old
 *    containers are stopped with timeout 0 (SIGKILL) and removed with their anonymous volumes,
 *    as the provider does from the OLD state (the premkit stand-in needs 3 s to stop and
 *    declares a volume, so both show);
 * 5. an upgrade whose operator image exits 1: the health gate fails the apply, naming the
 *    container, with its last log lines in the error and the daemon token redacted; the
 *    containers replaced on the way out were stopped with their grace period (SIGTERM, exit 0).
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { imagesForHost, replicatedImageReference } from "../../components/docker/image-refs";
import { STOP_GRACE_SECONDS } from "../../components/docker/service-catalog";
import { CONTAINER, NETWORK, diffResource } from "../../tools/docker-provider-model";
import { previewAfterRefresh } from "../support/container-runner";
import { testHostConfig } from "../support/host-runner";
import type { RecordedResource } from "../support/mock-recorder";
import { hostTierAvailability, requireHostTier } from "../support/preflight";
import { pulumiUp, type UpResult } from "../support/pulumi-up";
import { buildStandinImages, standinsFor } from "../support/standin-images";
import { docker, run, shQuote, startHosts, stopHosts, type TestHost } from "../support/testhost";

const STACK = "engine-model";
const VERSIONS = { first: "2.53.2", upgrade: "2.53.3", crashing: "2.53.4" } as const;
const IMAGES_ROOT = "/var/lib/replicated-images";
const PRIMARY_CONTAINERS = ["replicated", "replicated-ui", "replicated-operator", "replicated-statsd", "replicated-premkit"];

/** The tuned engine: daemon-wide log options and network defaults the read-back includes. */
const TUNED_DAEMON_JSON = `{
  "bip": "10.213.0.1/24",
  "default-address-pools": [{ "base": "10.214.0.0/16", "size": 24 }],
  "log-opts": { "compress": "true", "mode": "non-blocking" },
  "default-network-opts": { "bridge": { "com.docker.network.driver.mtu": "1400" } }
}
`;

/** Builds REFERENCE as an image whose entrypoint logs its token and exits 1, saved to TARBALL. */
const BUILD_CRASHING_IMAGE = `set -eu
ref=$1
tarball=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin" "$work/tmp"
cp /bin/busybox "$work/bin/busybox"
for applet in sh echo; do ln -s busybox "$work/bin/$applet"; done
cat >"$work/crash.sh" <<'CRASH'
echo "standin-crash: connecting to \${DAEMON_ENDPOINT:-nowhere} with token \${DAEMON_TOKEN:-none}"
echo "standin-crash: fatal: cannot open /var/lib/replicated-operator/state.db"
exit 1
CRASH
chmod 0644 "$work/crash.sh"
tar --numeric-owner -C "$work" -cf "$work/rootfs.tar" bin tmp crash.sh
docker import --change 'ENTRYPOINT ["/bin/sh", "/crash.sh"]' "$work/rootfs.tar" "$ref" >/dev/null
rm -f "$tarball"
docker save -o "$tarball" "$ref"
chmod 0644 "$tarball"
docker rmi "$ref" >/dev/null
`;

/**
 * Builds REFERENCE as a premkit stand-in that needs 3 s to stop after SIGTERM and declares an
 * anonymous volume, saved to TARBALL: what a stop timeout of 0 and `removeVolumes` do shows on it.
 */
const BUILD_SLOW_STOPPING_IMAGE = `set -eu
ref=$1
tarball=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/bin" "$work/tmp" "$work/data" "$work/cache"
cp /bin/busybox "$work/bin/busybox"
for applet in sh sleep httpd nc; do ln -s busybox "$work/bin/$applet"; done
cat >"$work/slow.sh" <<'SLOW'
trap 'sleep 3; exit 0' TERM
httpd -f -p 2443 -h /tmp &
while :; do
	sleep 3600 &
	wait $!
done
SLOW
chmod 0644 "$work/slow.sh"
tar --numeric-owner -C "$work" -cf "$work/rootfs.tar" bin tmp data cache slow.sh
docker import --change 'VOLUME /cache' --change 'ENTRYPOINT ["/bin/sh", "/slow.sh"]' "$work/rootfs.tar" "$ref" >/dev/null
rm -f "$tarball"
docker save -o "$tarball" "$ref"
chmod 0644 "$tarball"
docker rmi "$ref" >/dev/null
`;

interface Setup {
    host: TestHost;
    token: string;
    foreignId: string;
    foreignAfter: string;
    conflict: UpResult;
    created: UpResult;
    again: UpResult;
    upgraded: UpResult;
    crashed: UpResult;
    /** `docker events` of the containers stopped in apply 4 and 5: container id -> signals and exit code. */
    stops: { upgrade: Record<string, StopEvents>; crash: Record<string, StopEvents> };
    /** The premkit stand-in's anonymous volume before each upgrade, and whether it still exists after ("" when gone). */
    volumes: { upgradeOld: string; upgradeOldAfter: string; crashOld: string; crashOldAfter: string };
    /** The next preview after apply 2, from the stored state and after a refresh. */
    previewChanges: string[];
    timings: Record<string, number>;
}

interface StopEvents {
    readonly signals: string[];
    readonly exitCode?: string;
}

let setup: Setup | undefined;
let hosts: TestHost[] = [];

function seconds(since: number): number {
    return Math.round((performance.now() - since) / 100) / 10;
}

function imagesDir(version: string): string {
    return `${IMAGES_ROOT}/${version}`;
}

function config(hostsOf: TestHost[], version: string): Record<string, unknown> {
    return testHostConfig(hostsOf, { overrides: { version, airgap: { imagesDir: imagesDir(version) } } });
}

async function sh(host: TestHost, script: string, stdin?: string): Promise<string> {
    const result = await run(host, script, { stdin, timeoutMs: 300_000 });
    assert.equal(result.code, 0, `${script}: ${result.stderr}`);
    return result.stdout.trim();
}

/** Kill and die events of the given containers since `since` (unix seconds). */
async function stopEvents(host: TestHost, ids: readonly string[], since: number): Promise<Record<string, StopEvents>> {
    const result = await docker(host, [
        "events",
        "--since",
        String(since),
        "--until",
        String(Math.floor(Date.now() / 1000) + 1),
        "--filter",
        "type=container",
        "--format",
        "{{.Actor.ID}} {{.Action}} {{index .Actor.Attributes \"signal\"}} {{index .Actor.Attributes \"exitCode\"}}",
    ]);
    assert.equal(result.code, 0, result.stderr);
    const events: Record<string, { signals: string[]; exitCode?: string }> = {};
    for (const line of result.stdout.trim().split("\n")) {
        const [id, action, signal, exitCode] = line.split(" ");
        if (!ids.includes(id)) continue;
        const entry = (events[id] ??= { signals: [] });
        if (action === "kill" && signal && signal !== "<no value>") entry.signals.push(signal);
        if (action === "die" && exitCode && exitCode !== "<no value>") entry.exitCode = exitCode;
    }
    return events;
}

function containerStates(result: UpResult): RecordedResource[] {
    return result.state.filter((r) => r.type === CONTAINER);
}

before(async () => {
    if (!(await hostTierAvailability()).ok) {
        return;
    }
    const timings: Record<string, number> = {};
    let started = performance.now();
    hosts = await startHosts(1);
    const host = hosts[0];
    timings.startHost = seconds(started);

    started = performance.now();
    await sh(host, `cat >/etc/docker/daemon.json && dockerctl restart`, TUNED_DAEMON_JSON);
    const references = (version: string): string[] =>
        imagesForHost("primary", { statsd: true, premkit: true }).map((name) => replicatedImageReference("quay.io/replicated", name, "stable", version));
    for (const version of Object.values(VERSIONS)) {
        await buildStandinImages(host, standinsFor(references(version)), imagesDir(version));
    }
    for (const version of [VERSIONS.first, VERSIONS.upgrade]) {
        const premkit = replicatedImageReference("quay.io/replicated", "replicated-premkit", "stable", version);
        await sh(host, `sh -s -- ${shQuote(premkit)} ${shQuote(`${imagesDir(version)}/replicated-premkit.tar`)}`, BUILD_SLOW_STOPPING_IMAGE);
    }
    const crashing = replicatedImageReference("quay.io/replicated", "replicated-operator", "stable", VERSIONS.crashing);
    await sh(host, `sh -s -- ${shQuote(crashing)} ${shQuote(`${imagesDir(VERSIONS.crashing)}/replicated-operator.tar`)}`, BUILD_CRASHING_IMAGE);
    timings.images = seconds(started);

    const token = randomBytes(16).toString("hex");
    // 1. A container this test starts holds the name the console needs.
    const foreignId = await sh(
        host,
        "w=$(mktemp -d) && mkdir -p $w/bin && cp /bin/busybox $w/bin/ && ln -s busybox $w/bin/sleep && " +
            "tar -C $w -c . | docker import - foreign:1 >/dev/null && rm -rf $w && " +
            "docker run -d --name replicated-ui --label test.foreign=1 --log-opt max-size=1m --log-opt max-file=2 foreign:1 /bin/sleep 100000",
    );
    started = performance.now();
    const conflict = await pulumiUp({ stack: STACK, config: config(hosts, VERSIONS.first), hosts, daemonToken: token });
    timings.apply1 = seconds(started);
    const foreignAfter = await sh(host, `docker inspect --format '{{.Id}} {{.State.Status}}' replicated-ui`);
    await sh(host, "docker rm --force replicated-ui >/dev/null");

    // 2. The name is free: the rest of the program is created.
    started = performance.now();
    const created = await pulumiUp({ stack: STACK, config: config(hosts, VERSIONS.first), hosts, daemonToken: token, previous: conflict.state });
    timings.apply2 = seconds(started);
    const previewChanges: string[] = [];
    for (const resource of created.state.filter((r) => r.type === CONTAINER || r.type === NETWORK)) {
        const stored = diffResource(resource.type, resource.state, resource.inputs, { ignoreChanges: resource.options.ignoreChanges });
        const refreshed = await previewAfterRefresh(host, resource);
        for (const [when, diff] of [["stored", stored], ["refreshed", refreshed]] as const) {
            for (const change of diff.attributes) {
                previewChanges.push(`${when} ${resource.name}: ${change.path} ${JSON.stringify(change.old)} -> ${JSON.stringify(change.new)}${change.requiresNew ? " (replace)" : ""}`);
            }
        }
    }

    // 3. Nothing changed.
    started = performance.now();
    const again = await pulumiUp({ stack: STACK, config: config(hosts, VERSIONS.first), hosts, daemonToken: token, previous: created.state });
    timings.apply3 = seconds(started);

    // 4. The state as the previous program left it: no destroyGraceSeconds, removeVolumes at the
    // provider's default. The upgrade deletes the old containers with those settings.
    const oldState = again.state.map((r) => {
        if (r.type !== CONTAINER) return r;
        const { destroyGraceSeconds: _grace, ...state } = r.state;
        return { ...r, state: { ...state, removeVolumes: true } };
    });
    const upgradeIds = containerStates(again).map((r) => String(r.state.id));
    const premkitVolume = async (): Promise<string> =>
        sh(host, `docker inspect --format '{{range .Mounts}}{{if eq .Type "volume"}}{{.Name}}{{end}}{{end}}' replicated-premkit`);
    const volumes = { upgradeOld: await premkitVolume(), upgradeOldAfter: "", crashOld: "", crashOldAfter: "" };
    let since = Math.floor(Date.now() / 1000) - 1;
    started = performance.now();
    const upgraded = await pulumiUp({ stack: STACK, config: config(hosts, VERSIONS.upgrade), hosts, daemonToken: token, previous: oldState });
    timings.apply4 = seconds(started);
    const upgradeStops = await stopEvents(host, upgradeIds, since);
    volumes.upgradeOldAfter = (await docker(host, ["volume", "inspect", "--format", "{{.Name}}", volumes.upgradeOld])).stdout.trim();
    volumes.crashOld = await premkitVolume();

    // 5. The operator image of the next version exits 1 at once.
    const crashIds = containerStates(upgraded).map((r) => String(r.state.id));
    since = Math.floor(Date.now() / 1000) - 1;
    started = performance.now();
    const crashed = await pulumiUp({ stack: STACK, config: config(hosts, VERSIONS.crashing), hosts, daemonToken: token, previous: upgraded.state });
    timings.apply5 = seconds(started);
    const crashStops = await stopEvents(host, crashIds, since);
    volumes.crashOldAfter = (await docker(host, ["volume", "inspect", "--format", "{{.Name}}", volumes.crashOld])).stdout.trim();

    setup = {
        host,
        token,
        foreignId,
        foreignAfter,
        conflict,
        created,
        again,
        upgraded,
        crashed,
        stops: { upgrade: upgradeStops, crash: crashStops },
        volumes,
        previewChanges,
        timings,
    };
});

after(async () => {
    if (setup) {
        console.log(`provider model engine tier timings (s): ${JSON.stringify(setup.timings)}`);
    }
    await stopHosts(hosts);
});

async function ready(t: Parameters<typeof requireHostTier>[0]): Promise<Setup | undefined> {
    if (!(await requireHostTier(t))) {
        return undefined;
    }
    assert.ok(setup, "setup did not complete (see the before hook's error)");
    return setup;
}

describe("engine tier: the docker provider model on an engine with daemon-wide defaults", () => {
    test("the engine merges the daemon's log-opts and default-network-opts into what the provider reads back", async (t) => {
        const s = await ready(t);
        if (!s) return;
        const logConfig = await sh(s.host, "docker inspect --format '{{json .HostConfig.LogConfig.Config}}' replicated");
        assert.deepEqual(JSON.parse(logConfig), { compress: "true", mode: "non-blocking", "max-file": "3", "max-size": "10m" });
        const options = JSON.parse(await sh(s.host, "docker network inspect --format '{{json .Options}}' replicated")) as Record<string, string>;
        assert.equal(options["com.docker.network.driver.mtu"], "1400");
        assert.equal(options["com.docker.network.bridge.host_binding_ipv4"], s.host.privateAddress);
    });

    test("a name held by a container no stack created stops the apply at install detection, before any container; that container is left alone", async (t) => {
        const s = await ready(t);
        if (!s) return;
        assert.ok(s.conflict.error, "the apply failed");
        assert.match(s.conflict.error, /-detect-install: Process exited with status 1/);
        assert.match(s.conflict.error, /containers replicated-ui hold Replicated's names but were not created by this program/);
        assert.match(s.conflict.error, /Fix: .*docker rm -f replicated-ui/);
        assert.equal(s.foreignAfter, `${s.foreignId} running`, "the same container, still running");
        assert.ok(!s.conflict.steps.some((step) => step.op === "delete" || step.op === "replace"), "nothing was deleted");
        assert.ok(!s.conflict.state.some((r) => r.type === CONTAINER), "no container resource was created");
        assert.ok(!s.conflict.runs.some((r) => r.script === "container-health"), "the health gate never ran");
    });

    test("after the create the next preview is empty: stored state and refreshed read-back both match the inputs", async (t) => {
        const s = await ready(t);
        if (!s) return;
        assert.equal(s.created.error, undefined);
        assert.deepEqual(s.previewChanges, []);
        const containers = containerStates(s.created).map((r) => String(r.inputs.name)).sort();
        assert.deepEqual(containers, [...PRIMARY_CONTAINERS].sort());
        const gate = s.created.runs.find((r) => r.script === "container-health");
        assert.ok(gate, "the health gate ran");
        assert.match(gate.stdout, /"failed":\[\]/);
    });

    test("a second pulumi up with the same config changes nothing: every docker resource is the same, no remote command runs", async (t) => {
        const s = await ready(t);
        if (!s) return;
        assert.equal(s.again.error, undefined);
        const docker = s.again.steps.filter((step) => step.type.startsWith("docker:index/"));
        assert.ok(docker.length >= PRIMARY_CONTAINERS.length + 1);
        assert.deepEqual(docker.filter((step) => step.op !== "same").map((step) => `${step.op} ${step.name} ${(step.changed ?? []).join(",")}`), []);
        assert.deepEqual(s.again.runs.map((r) => r.resource), []);
    });

    test("the first upgrade after this change still stops the old containers at 0 s (SIGKILL) and removes their volumes: the OLD state decides", async (t) => {
        const s = await ready(t);
        if (!s) return;
        assert.equal(s.upgraded.error, undefined);
        const replaced = s.upgraded.steps.filter((step) => step.type === CONTAINER && step.op === "replace");
        assert.deepEqual(replaced.map((step) => step.name).sort(), containerStates(s.again).map((r) => r.name).sort());
        for (const step of replaced) {
            assert.deepEqual(step.deletion && { t: step.deletion.stopTimeoutSeconds, v: step.deletion.removeVolumes }, { t: 0, v: true }, step.name);
            assert.ok((step.oldDeleted ?? 0) <= step.finished, `${step.name}: deleted before the new one was created`);
        }
        // The premkit stand-in needs 3 s after SIGTERM: at timeout 0 Docker kills it.
        const premkit = containerStates(s.again).find((r) => r.inputs.name === "replicated-premkit");
        assert.ok(premkit);
        assert.deepEqual(s.stops.upgrade[String(premkit.state.id)], { signals: ["15", "9"], exitCode: "137" }, "SIGTERM, then SIGKILL at once");
        assert.equal(Object.keys(s.stops.upgrade).length, PRIMARY_CONTAINERS.length);
        assert.notEqual(s.volumes.upgradeOld, "", "the old premkit had an anonymous volume");
        assert.equal(s.volumes.upgradeOldAfter, "", "removed with the container (RemoveVolumes from the old state)");
        assert.ok(s.upgraded.runs.some((r) => r.script === "container-health"), "replaced containers run the health gate again");
    });

    test("a service that cannot start fails the apply: the gate names the container and shows its last log lines, the token redacted", async (t) => {
        const s = await ready(t);
        if (!s) return;
        const error = s.crashed.error ?? "";
        assert.match(error, /container replicated-operator is not healthy: it keeps crashing \(restarted \d+ times\)/);
        assert.match(error, /standin-crash: fatal: cannot open \/var\/lib\/replicated-operator\/state\.db/);
        assert.match(error, /standin-crash: connecting to \S+ with token <redacted>/);
        assert.ok(!error.includes(s.token), "the daemon token is not in the error");
        const gate = s.crashed.runs.find((r) => r.script === "container-health");
        assert.ok(gate);
        assert.notEqual(gate.code, 0);
        assert.match(gate.stdout, /"failed":\["replicated-operator"\]/);
    });

    test("with the grace period in the state, the replaced containers got SIGTERM and their grace period, and exited by themselves", async (t) => {
        const s = await ready(t);
        if (!s) return;
        const replaced = s.crashed.steps.filter((step) => step.type === CONTAINER && step.op === "replace");
        assert.equal(replaced.length, PRIMARY_CONTAINERS.length);
        for (const step of replaced) {
            const service = PRIMARY_CONTAINERS.find((name) => step.name.endsWith(`-${name}`));
            assert.ok(service, step.name);
            assert.deepEqual(step.deletion && { t: step.deletion.stopTimeoutSeconds, v: step.deletion.removeVolumes }, { t: STOP_GRACE_SECONDS[service], v: false }, step.name);
        }
        for (const [id, events] of Object.entries(s.stops.crash)) {
            assert.deepEqual(events, { signals: ["15"], exitCode: "0" }, `${id}: stopped gracefully`);
        }
        assert.equal(Object.keys(s.stops.crash).length, PRIMARY_CONTAINERS.length, "the slow premkit stand-in included: it got its 10 s");
        assert.notEqual(s.volumes.crashOld, "");
        assert.equal(s.volumes.crashOldAfter, s.volumes.crashOld, "the anonymous volume is kept (removeVolumes: false)");
    });
});
