/**
 * Engine tier: `pulumi up` (test/support/pulumi-up.ts) takes over hosts that boot systemd as
 * PID 1 and were installed the way Replicated's own install script installs them
 * (test/support/script-install.ts), then the program's containers run on their engines.
 *
 * - A 2.5+ install (`replicated` user, uid 1001) of a primary, with an operator node of the same
 *   install left out of the stack: the takeover keeps the uid, the data and the daemon token
 *   (the operator node not yet taken over still connects), the program's containers are the same
 *   containers 30 s later, a second `pulumi up` changes nothing, and after a reboot the script's
 *   units stay inactive and not enabled while the program's containers run.
 * - An air-gap install whose takeover is killed midway, then completed by the next `pulumi up`.
 * - The docker provider's rule, as the runner applies it: a container name held by a container
 *   the program did not create is a conflict, never something to remove.
 *
 * Every scenario compares the checksums of the data before and after.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { imagesForHost, replicatedImageReference } from "../../components/docker/image-refs";
import { parseInstallSummary, parseTakeoverConfirmSummary, parseTakeoverSummary } from "../../components/host";
import { scriptNameOf } from "../support/canned-outputs";
import { sh, testHostConfig, type CommandRun } from "../support/host-runner";
import { hostTierAvailability, requireHostTier } from "../support/preflight";
import { pulumiUp, type UpResult } from "../support/pulumi-up";
import { dataFingerprint, installLikeScript, systemdUnitStates, type ScriptInstall } from "../support/script-install";
import { buildStandinImages, standinsFor, waitForStandinReport } from "../support/standin-images";
import { restartHost, startHosts, stopHosts, type TestHost } from "../support/testhost";
import { waitHealthy } from "../support/container-runner";

const VERSION = "2.53.2";
const REGISTRY = "quay.io/replicated";
const UNITS = ["replicated", "replicated-ui", "replicated-operator"];
const PRIMARY_CONTAINERS = [...UNITS, "replicated-statsd", "replicated-premkit"];
const AIRGAP_DIR = "/var/lib/replicated-airgap";

const started: TestHost[] = [];
after(async () => {
    await stopHosts(started);
});

/** The images the program needs on `host` that the install script did not bring: the helper. */
async function provideHelperImage(host: TestHost, role: "primary" | "operator", imagesDir?: string): Promise<void> {
    const helper = imagesForHost(role, { statsd: true, premkit: true })
        .filter((name) => name === "replicated-helper")
        .map((name) => replicatedImageReference(REGISTRY, name, "stable", VERSION));
    const dir = imagesDir ?? "/root/program-images";
    await buildStandinImages(host, standinsFor(helper), dir);
    if (imagesDir === undefined) {
        // Registry mode: the program would pull it; the test hosts have no registry, so it is loaded.
        await sh(host, `docker load -i ${dir}/replicated-helper.tar >/dev/null && rm -rf ${dir}`, { timeoutMs: 300_000 });
    }
}

function runsOf(up: UpResult, script: string, host?: TestHost): CommandRun[] {
    return up.runs.filter((r) => r.script === script && (host === undefined || r.host === host.name));
}

async function programContainers(host: TestHost): Promise<Record<string, string>> {
    const out = await sh(host, "docker ps -a --filter label=replicated.stack --format '{{.Names}} {{.ID}} {{.State}}' | sort");
    return Object.fromEntries(out.trim().split("\n").filter(Boolean).map((line) => [line.split(" ")[0], line.split(" ").slice(1).join(" ")]));
}

async function containerEnv(host: TestHost, name: string, key: string): Promise<string | undefined> {
    const env = (await sh(host, `docker inspect -f '{{range .Config.Env}}{{println .}}{{end}}' ${name}`)).split("\n");
    return env.find((line) => line.startsWith(`${key}=`))?.slice(key.length + 1);
}

describe("a primary installed by the 2.5+ script, with an operator node left to the script", () => {
    let primary: TestHost;
    let operatorNode: TestHost;
    let install: ScriptInstall;
    let dataBefore: Record<string, string>;
    let up: UpResult;
    const token = `${Math.random().toString(16).slice(2)}-${Date.now().toString(16)}`;

    before(async () => {
        if (!(await hostTierAvailability()).ok) return;
        const hosts = await startHosts(2, { boot: "systemd" });
        started.push(...hosts);
        [primary, operatorNode] = hosts;
        [install] = await Promise.all([
            installLikeScript(primary, { role: "primary", mode: "service", version: VERSION, privateAddress: primary.privateAddress, primaryAddress: primary.privateAddress, daemonToken: token }),
            installLikeScript(operatorNode, { role: "operator", mode: "service", version: VERSION, privateAddress: operatorNode.privateAddress, primaryAddress: primary.privateAddress, daemonToken: token }),
        ]);
        await provideHelperImage(primary, "primary");
        dataBefore = await dataFingerprint(primary);
        up = await pulumiUp({ stack: "takeover", config: testHostConfig([primary]), hosts: [primary] });
    });

    test("pulumi up takes the host over: detection, then the takeover right before the containers, then the confirmation", async (t) => {
        if (!(await requireHostTier(t))) return;
        assert.equal(up.error, undefined, up.error);
        const [detection] = runsOf(up, "detect-install");
        const summary = parseInstallSummary(detection.stdout);
        assert.deepEqual({ install: summary.install, mode: summary.mode, uid: summary.serviceUid }, { install: "script", mode: "service", uid: 1001 });
        const takeover = parseTakeoverSummary(runsOf(up, "takeover")[0].stdout);
        assert.deepEqual({ install: takeover.install, units: takeover.units, removed: takeover.containersRemoved }, { install: "script", units: 3, removed: install.containers.length });
        // Without a record, the version guard reads the install's version from its :current image's tags.
        const guard = JSON.parse(runsOf(up, "version-guard")[0].stdout.trim().split("\n").pop() ?? "{}") as Record<string, unknown>;
        assert.deepEqual({ previous: guard.previous, source: guard.previousSource, direction: guard.direction }, { previous: VERSION, source: "containers", direction: "same" });
        const confirmation = parseTakeoverConfirmSummary(runsOf(up, "takeover-confirm")[0].stdout);
        assert.equal(confirmation.phase, "confirmed");
        assert.ok(confirmation.gapSeconds !== null);
        // The order on the host, as pulumi up ran it.
        const at = (name: string): { started: number; finished: number } => {
            const step = up.steps.find((s) => s.name === name && s.op === "create");
            assert.ok(step, `${name} ran`);
            return step;
        };
        const host = primary.name;
        assert.ok(at(`${host}-detect-install`).finished <= at(`${host}-account`).started, "detection before the account");
        for (const image of up.steps.filter((s) => s.type === "docker:index/remoteImage:RemoteImage")) {
            assert.ok(image.finished <= at(`${host}-takeover`).started, `${image.name} present before the takeover`);
        }
        for (const container of up.steps.filter((s) => s.type === "docker:index/container:Container")) {
            assert.ok(at(`${host}-takeover`).finished <= container.started, `${container.name} after the takeover`);
            assert.ok(container.finished <= at(`${host}-takeover-confirm`).started, `${container.name} before the confirmation`);
        }
        const takeoverFinished = at(`${host}-takeover`).finished;
        const healthy = at(`${host}-takeover-confirm`).finished;
        t.diagnostic(
            `gap, units stopped -> every program container healthy: ${confirmation.gapSeconds} s as the host measured it; ` +
                `takeover step done -> confirmation done: ${((healthy - takeoverFinished) / 1000).toFixed(1)} s (healthcheck interval 15 s; machine shared, timings noisy)`,
        );
    });

    test("the script's user and uid are reused, its data kept, its units masked and its containers replaced by the program's", async (t) => {
        if (!(await requireHostTier(t))) return;
        assert.equal(up.error, undefined);
        assert.equal((await sh(primary, "getent passwd | grep -c ':x:1001:' || true")).trim(), "1", "no second account");
        assert.equal((await sh(primary, "id -u replicated")).trim(), "1001");
        assert.deepEqual(await dataFingerprint(primary), dataBefore, "every data file keeps its content, owner and mode");
        assert.deepEqual(await systemdUnitStates(primary, UNITS), Object.fromEntries(UNITS.map((u) => [u, "masked inactive"])));
        const containers = await programContainers(primary);
        assert.deepEqual(Object.keys(containers).sort(), [...PRIMARY_CONTAINERS].sort());
        for (const name of PRIMARY_CONTAINERS) {
            assert.equal((await sh(primary, `docker inspect -f '{{.Config.User}}' ${name}`)).trim(), `1001:${install.dockerGid}`, `${name} runs as the script's uid`);
        }
        assert.equal(await sh(primary, "docker ps -a --filter 'label!=replicated.stack' --format '{{.Names}}' | grep -c '^replicated' || true"), "0\n", "none of the script's containers is left");
    });

    test("the daemon token is carried over: the operator node not yet taken over still connects", async (t) => {
        if (!(await requireHostTier(t))) return;
        assert.equal(up.error, undefined);
        assert.equal(await containerEnv(primary, "replicated", "DAEMON_TOKEN"), token, "the program's daemon uses the script's token");
        assert.equal(await containerEnv(primary, "replicated-operator", "DAEMON_TOKEN"), token);
        const operatorToken = /^DAEMON_TOKEN=(.*)$/m.exec(await sh(operatorNode, "cat /etc/default/replicated-operator"))?.[1];
        assert.equal(operatorToken, token, "the operator node holds the same token");
        // The node's own operator (still the script's unit) connects again to the new daemon.
        const previous = (await sh(operatorNode, "docker inspect -f '{{.Id}}' replicated-operator")).trim();
        await sh(operatorNode, "systemctl restart replicated-operator");
        await new Promise((done) => setTimeout(done, 3000));
        assert.notEqual((await sh(operatorNode, "docker inspect -f '{{.Id}}' replicated-operator")).trim(), previous, "a new operator container");
        const report = await waitForStandinReport(operatorNode, "replicated-operator");
        assert.equal(report.daemon, "accepted", "the program's daemon accepts the operator node's token");
        assert.equal(report.daemon_wrong_token, "rejected");
        // The token is in no command string and in no other command's output.
        const read = up.resources.find((r) => scriptNameOf(r) === "read-daemon-token");
        assert.ok(read);
        assert.ok(read.options.additionalSecretOutputs.includes("stdout") && read.inputs.logging === "none");
        for (const resource of up.resources) {
            assert.ok(!JSON.stringify([resource.inputs.create, resource.inputs.stdin]).includes(token), `${resource.name}: no token in its command`);
        }
        for (const run of up.runs.filter((r) => r.script !== "read-daemon-token")) {
            assert.ok(!run.stdout.includes(token) && !run.stderr.includes(token), `${run.resource}: no token in its output`);
        }
    });

    test("30 s later the program's containers are still the same containers, and a second pulumi up changes nothing", async (t) => {
        if (!(await requireHostTier(t))) return;
        assert.equal(up.error, undefined);
        const first = await programContainers(primary);
        await new Promise((done) => setTimeout(done, 30_000));
        const later = await programContainers(primary);
        assert.deepEqual(later, first, "same ids, still running");
        assert.equal((await sh(primary, "docker inspect -f '{{.RestartCount}}' replicated replicated-ui replicated-operator")).trim(), "0\n0\n0");
        const second = await pulumiUp({ stack: "takeover", config: testHostConfig([primary]), hosts: [primary], previous: up.state });
        assert.equal(second.error, undefined, second.error);
        assert.deepEqual(second.steps.filter((s) => s.op !== "same").map((s) => `${s.op} ${s.name}`), [], "every resource unchanged");
        assert.deepEqual(second.runs.map((r) => r.resource), [], "nothing ran on the host");
        assert.deepEqual(await programContainers(primary), first);
    });

    test("after a reboot the script's units are inactive and not enabled, and the program's containers run", async (t) => {
        if (!(await requireHostTier(t))) return;
        assert.equal(up.error, undefined);
        const { seconds } = await restartHost(primary);
        t.diagnostic(`reboot took ${seconds.toFixed(1)} s`);
        for (const name of PRIMARY_CONTAINERS) {
            await waitHealthy(primary, name, 120);
        }
        assert.deepEqual(await systemdUnitStates(primary, UNITS), Object.fromEntries(UNITS.map((u) => [u, "masked inactive"])));
        assert.equal(await sh(primary, "systemctl is-enabled replicated-takeover-fallback.timer 2>/dev/null; true"), "not-found\n", "no fallback left armed");
        assert.deepEqual(await dataFingerprint(primary), dataBefore);
    });
});

describe("an air-gap install whose takeover is killed midway", () => {
    let host: TestHost;
    let dataBefore: Record<string, string>;
    let completedState: UpResult["state"] | undefined;

    before(async () => {
        if (!(await hostTierAvailability()).ok) return;
        [host] = await startHosts(1, { boot: "systemd" });
        started.push(host);
        await installLikeScript(host, { role: "primary", mode: "service", version: VERSION, privateAddress: host.privateAddress, primaryAddress: host.privateAddress, daemonToken: "airgap-token-1", airgapDir: AIRGAP_DIR });
        await provideHelperImage(host, "primary", AIRGAP_DIR);
        dataBefore = await dataFingerprint(host);
    });

    test("the next pulumi up completes it; the program's containers run and the data is kept", async (t) => {
        if (!(await requireHostTier(t))) return;
        const config = testHostConfig([host], { overrides: { airgap: { imagesDir: AIRGAP_DIR } } });
        const killed = await pulumiUp({ stack: "takeover-airgap", config, hosts: [host], interrupt: { resource: `${host.name}-takeover`, afterSeconds: 2 } });
        assert.match(killed.error ?? "", /interrupted while .*-takeover ran/);
        const midway = await sh(host, "systemctl is-active replicated replicated-ui replicated-operator || true; systemctl is-enabled replicated replicated-ui replicated-operator 2>/dev/null || true; docker ps -a --format '{{.Names}}' | sort | tr '\\n' ' '; echo; sed -n 's/^phase=//p' /var/lib/replicated-deploy/takeover/state 2>/dev/null");
        t.diagnostic(`killed after 2 s; host then: ${midway.replace(/\n/g, " | ")}`);
        assert.match(midway, /armed/, "the fallback was armed before anything stopped");

        const completed = await pulumiUp({ stack: "takeover-airgap", config, hosts: [host], previous: killed.state });
        assert.equal(completed.error, undefined, completed.error);
        completedState = completed.state;
        assert.equal(runsOf(completed, "detect-install").length, 0, "detection finished before the kill: not run again");
        const takeover = parseTakeoverSummary(runsOf(completed, "takeover")[0].stdout);
        assert.ok(["script", "taken-over"].includes(takeover.install));
        assert.equal(takeover.fallbackArmed, true, "re-armed for the new containers");
        assert.equal(parseTakeoverConfirmSummary(runsOf(completed, "takeover-confirm")[0].stdout).phase, "confirmed");
        const load = [...runsOf(killed, "load-images"), ...runsOf(completed, "load-images")][0];
        assert.ok(load, "the air-gap load ran (before the takeover)");
        const loaded = JSON.parse(load.stdout.trim().split("\n").pop() ?? "{}") as { loaded: string[]; present: string[] };
        assert.deepEqual(loaded.loaded, [`${REGISTRY}/replicated-helper:stable-${VERSION}`], "only the helper, which the install did not have, was loaded");
        assert.ok(loaded.present.includes(`${REGISTRY}/replicated:stable-${VERSION}`), "the install's own images were there already");
        assert.deepEqual(await systemdUnitStates(host, UNITS), Object.fromEntries(UNITS.map((u) => [u, "masked inactive"])));
        assert.deepEqual(Object.keys(await programContainers(host)).sort(), [...PRIMARY_CONTAINERS].sort());
        assert.equal(await containerEnv(host, "replicated", "AIRGAP"), "true");
        assert.equal(await containerEnv(host, "replicated", "DAEMON_TOKEN"), "airgap-token-1");
        assert.equal(await sh(host, "systemctl is-active replicated-takeover-fallback.timer || true"), "inactive\n", "disarmed");
        assert.deepEqual(await dataFingerprint(host), dataBefore);
    });

    test("the runner, like the docker provider, refuses a name held by a container it did not create and leaves that container alone", async (t) => {
        if (!(await requireHostTier(t))) return;
        // terraform-provider-docker resourceDockerContainerCreate: ContainerCreate with the
        // configured name; Docker answers 409 Conflict and the provider returns the error. It
        // never removes the other container. Here: a state that lacks the premkit container
        // (so pulumi up creates it) meets a premkit container that no stack made.
        assert.ok(completedState, "the takeover completed");
        await sh(host, "docker rm -f replicated-premkit >/dev/null && docker run -d --name replicated-premkit --entrypoint /bin/sh quay.io/replicated/replicated-premkit:stable-2.53.2 -c 'sleep 3600' >/dev/null");
        const before_ = await sh(host, "docker ps -a --format '{{.Names}} {{.ID}}' | sort");
        const config = testHostConfig([host], { overrides: { airgap: { imagesDir: AIRGAP_DIR } } });
        const previous = completedState.filter((resource) => !resource.name.endsWith("-sidecars-replicated-premkit"));
        const result = await pulumiUp({ stack: "takeover-airgap", config, hosts: [host], previous });
        assert.ok(result.error, "pulumi up fails");
        assert.match(result.error ?? "", /-sidecars-replicated-premkit: Unable to create container: .*Conflict\. The container name "\/replicated-premkit" is already in use/);
        assert.equal(await sh(host, "docker ps -a --format '{{.Names}} {{.ID}}' | sort"), before_, "every container is still there");
    });
});
