/**
 * Engine tier, continued: takeovers that must not simply proceed.
 *
 * - A 2.4 root install of a primary and an operator node (systemd as PID 1): taken over in
 *   `runAs: root` with nothing re-owned, the operator joining the program's daemon with the
 *   carried-over token; then the opt-in to `runAs: replicated` works as for a legacy host the
 *   program made itself (service account, ownership repair, containers replaced).
 * - A 2.5+ install under a stack that says `runAs: root`: `pulumi up` stops at detection, with
 *   the message, before anything changes on the host. Then the same host with program images
 *   that never become healthy: the takeover's fallback restores the script's units.
 *
 * Every scenario compares the checksums of the data before and after.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { imagesForHost, replicatedImageReference } from "../../components/docker/image-refs";
import { parseAccountSummary, parseInstallSummary } from "../../components/host";
import { sh, testHostConfig, type CommandRun } from "../support/host-runner";
import { hostTierAvailability, requireHostTier } from "../support/preflight";
import { pulumiUp, type UpResult } from "../support/pulumi-up";
import { dataFingerprint, installLikeScript, systemdUnitStates, type ScriptInstall } from "../support/script-install";
import { buildStandinImages, standinsFor, waitForStandinReport } from "../support/standin-images";
import { startHosts, stopHosts, type TestHost } from "../support/testhost";

const REGISTRY = "quay.io/replicated";
const UNITS = ["replicated", "replicated-ui", "replicated-operator"];

const started: TestHost[] = [];
after(async () => {
    await stopHosts(started);
});

async function provideHelperImage(host: TestHost, version: string): Promise<void> {
    const helper = replicatedImageReference(REGISTRY, "replicated-helper", "stable", version);
    await buildStandinImages(host, standinsFor([helper]), "/root/program-images");
    await sh(host, "docker load -i /root/program-images/replicated-helper.tar >/dev/null && rm -rf /root/program-images", { timeoutMs: 300_000 });
}

function runsOf(up: UpResult, script: string, host?: TestHost): CommandRun[] {
    return up.runs.filter((r) => r.script === script && (host === undefined || r.host === host.name));
}

async function containerUsers(host: TestHost): Promise<string[]> {
    return (await sh(host, "docker ps --filter label=replicated.stack --format '{{.Names}}' | sort | xargs -r docker inspect -f '{{.Name}} {{.Config.User}}'")).trim().split("\n");
}

/** Owners of every file of the data trees (content checked separately). */
function owners(fingerprint: Record<string, string>): Record<string, string> {
    return Object.fromEntries(Object.entries(fingerprint).map(([file, value]) => [file, value.split(" ")[1]]));
}
function contents(fingerprint: Record<string, string>): Record<string, string> {
    return Object.fromEntries(Object.entries(fingerprint).map(([file, value]) => [file, value.split(" ")[0]]));
}

describe("a 2.4 root install of a primary and an operator node", () => {
    const version = "2.4.2";
    let primary: TestHost;
    let operator: TestHost;
    let installs: ScriptInstall[];
    let dataBefore: Array<Record<string, string>>;
    let up: UpResult;
    const token = "2f1d0c3b-aa55-4e17-b0c4-0123456789ab";

    before(async () => {
        if (!(await hostTierAvailability()).ok) return;
        const hosts = await startHosts(2, { boot: "systemd" });
        started.push(...hosts);
        [primary, operator] = hosts;
        installs = await Promise.all([
            installLikeScript(primary, { role: "primary", mode: "root", version, privateAddress: primary.privateAddress, primaryAddress: primary.privateAddress, daemonToken: token }),
            installLikeScript(operator, { role: "operator", mode: "root", version, privateAddress: operator.privateAddress, primaryAddress: primary.privateAddress, daemonToken: token }),
        ]);
        await Promise.all([provideHelperImage(primary, version), provideHelperImage(operator, version)]);
        dataBefore = await Promise.all([dataFingerprint(primary), dataFingerprint(operator)]);
        up = await pulumiUp({ stack: "takeover-root", config: testHostConfig([primary, operator], { overrides: { version, runAs: "root" } }), hosts: [primary, operator] });
    });

    test("taken over in runAs root: containers as 0:<docker gid>, nothing re-owned, the operator joins with the script's token", async (t) => {
        if (!(await requireHostTier(t))) return;
        assert.equal(up.error, undefined, up.error);
        assert.deepEqual(installs.map((i) => i.uid), [0, 0]);
        for (const [index, host] of [primary, operator].entries()) {
            const detection = parseInstallSummary(runsOf(up, "detect-install", host)[0].stdout);
            assert.deepEqual({ install: detection.install, mode: detection.mode }, { install: "script", mode: "root" });
            assert.deepEqual(await dataFingerprint(host), dataBefore[index], `${host.name}: content, owners and modes kept`);
            assert.equal((await sh(host, "getent passwd replicated || echo none")).trim(), "none", `${host.name}: no account created`);
            for (const line of await containerUsers(host)) {
                assert.match(line, new RegExp(` 0:${installs[index].dockerGid}$`), line);
            }
            const units = index === 0 ? UNITS : ["replicated-operator"];
            assert.deepEqual(await systemdUnitStates(host, units), Object.fromEntries(units.map((u) => [u, "masked inactive"])));
        }
        const report = await waitForStandinReport(operator, "replicated-operator");
        assert.equal(report.daemon, "accepted", "the program's operator reaches the program's daemon with the script's token");
    });

    test("the opt-in to runAs replicated then works as for a legacy host the program made", async (t) => {
        if (!(await requireHostTier(t))) return;
        assert.equal(up.error, undefined);
        const config = testHostConfig([primary, operator], { overrides: { version, runAs: "replicated" } });
        const optIn = await pulumiUp({ stack: "takeover-root", config, hosts: [primary, operator], previous: up.state });
        assert.equal(optIn.error, undefined, optIn.error);
        for (const [index, host] of [primary, operator].entries()) {
            const account = parseAccountSummary(runsOf(optIn, "account", host)[0].stdout);
            assert.ok(account.uid > 0, "a service account");
            const takeover = runsOf(optIn, "takeover", host);
            assert.equal(takeover.length, 0, "the takeover does not run again");
            const detection = runsOf(optIn, "detect-install", host);
            assert.equal(parseInstallSummary(detection[0].stdout).install, "taken-over", "detection re-runs with the new runAs and checks nothing");
            const after_ = await dataFingerprint(host);
            assert.deepEqual(contents(after_), contents(dataBefore[index]), `${host.name}: no byte lost`);
            for (const owner of Object.values(owners(after_))) {
                assert.equal(owner, `${account.uid}:${account.dockerGid}`, `${host.name}: re-owned by the repair`);
            }
            for (const line of await containerUsers(host)) {
                assert.match(line, new RegExp(` ${account.uid}:${account.dockerGid}$`), line);
            }
        }
        const replaced = optIn.steps.filter((s) => s.op === "replace" && s.type === "docker:index/container:Container").length;
        t.diagnostic(`opt-in replaced ${replaced} containers`);
        assert.equal(replaced, 6);
    });
});

describe("a 2.5+ install that disagrees with the stack, then program containers that never become healthy", () => {
    let host: TestHost;
    let dataBefore: Record<string, string>;

    before(async () => {
        if (!(await hostTierAvailability()).ok) return;
        [host] = await startHosts(1, { boot: "systemd" });
        started.push(host);
        await installLikeScript(host, { role: "primary", mode: "service", version: "2.53.2", privateAddress: host.privateAddress, primaryAddress: host.privateAddress, daemonToken: "tok-disagree-1" });
        dataBefore = await dataFingerprint(host);
    });

    async function snapshot(): Promise<Record<string, unknown>> {
        return {
            units: await systemdUnitStates(host, UNITS),
            containers: await sh(host, "docker ps -a --format '{{.Names}} {{.ID}}' | sort"),
            networks: await sh(host, "docker network ls --format '{{.Name}}' | sort"),
            deploy: await sh(host, "ls -R /var/lib/replicated-deploy 2>/dev/null || echo absent"),
            dirs: await sh(host, "stat -c '%n %u:%g %a %Z' /var/lib/replicated /var/run/replicated /var/lib/replicated-operator /var/run/replicated-operator"),
            tmpfiles: await sh(host, "ls /etc/tmpfiles.d"),
            passwd: await sh(host, "sha256sum /etc/passwd /etc/group"),
            data: await dataFingerprint(host),
        };
    }

    test("runAs root over a 2.5+ install stops at detection, with its message, before anything changes", async (t) => {
        if (!(await requireHostTier(t))) return;
        const before_ = await snapshot();
        const result = await pulumiUp({ stack: "disagree", config: testHostConfig([host], { overrides: { runAs: "root" } }), hosts: [host] });
        assert.ok(result.error);
        assert.match(result.error, /runs this host as uid 1001 \(an install of 2\.5\.0 or later with a service account\), but replicated:runAs is root.*Nothing was changed\. Fix: pulumi config set replicated:runAs replicated/s);
        const ran = result.runs.map((r) => r.script).sort();
        assert.deepEqual(ran.filter((s) => s !== "read-daemon-token"), ["detect-install"], "only detection (and the token read, which changes nothing) ran");
        assert.deepEqual(
            result.steps.filter((s) => s.type === "docker:index/network:Network" || s.type === "docker:index/container:Container" || s.type === "docker:index/remoteImage:RemoteImage"),
            [],
            "no docker resource was touched",
        );
        assert.deepEqual(await snapshot(), before_);
    });

    test("program containers that never become healthy: the fallback restores the script's units, and the data is kept", async (t) => {
        if (!(await requireHostTier(t))) return;
        // 2.54.0 images that run but never answer their healthchecks.
        const version = "2.54.0";
        const references = imagesForHost("primary", { statsd: true, premkit: true }).map((name) => replicatedImageReference(REGISTRY, name, "stable", version));
        await sh(
            host,
            "set -e; d=$(mktemp -d); mkdir -p $d/bin; cp /bin/busybox $d/bin/; for a in sh sleep; do ln -s busybox $d/bin/$a; done; " +
                `tar -C $d -c . | docker import --change 'CMD ["/bin/sleep","3600"]' - local/unhealthy:1 >/dev/null; rm -rf $d; ` +
                references.map((ref) => `docker tag local/unhealthy:1 ${ref}`).join("; "),
        );
        const config = testHostConfig([host], { overrides: { version, takeover: { fallbackSeconds: 30 } } });
        const result = await pulumiUp({ stack: "never-healthy", config, hosts: [host] });
        assert.ok(result.error, "pulumi up fails");
        // The health gate (or, without it, the confirmation) gives up; the fallback does its own check.
        assert.match(result.error, /container replicated\S* is not healthy|not all healthy after the fallback's bound \(30s \+ 30s\)/);
        const phase = async (): Promise<string> => (await sh(host, "sed -n 's/^phase=//p' /var/lib/replicated-deploy/takeover/state")).trim();
        const deadline = Date.now() + 120_000;
        while ((await phase()) !== "fallback-fired" && Date.now() < deadline) {
            await new Promise((done) => setTimeout(done, 2000));
        }
        assert.equal(await phase(), "fallback-fired");
        const running = async (): Promise<string> => sh(host, "for n in replicated replicated-ui replicated-operator; do docker inspect -f '{{.Name}} {{.State.Running}} {{index .Config.Labels \"replicated.stack\"}}|{{.Config.Image}}' $n 2>/dev/null || echo \"/$n absent\"; done");
        const until = Date.now() + 90_000;
        while (!/^(\/\S+ true \|\S+:current\n){3}$/.test(await running()) && Date.now() < until) {
            await new Promise((done) => setTimeout(done, 2000));
        }
        assert.match(await running(), /^(\/\S+ true \|\S+:current\n){3}$/, "the script's own containers run again (no program label, the :current images)");
        assert.deepEqual(await systemdUnitStates(host, UNITS), Object.fromEntries(UNITS.map((u) => [u, "enabled active"])));
        assert.equal((await sh(host, "docker ps -a --filter label=replicated.stack -q | wc -l")).trim(), "0", "the program's containers are gone");
        assert.deepEqual(await dataFingerprint(host), dataBefore);
        t.diagnostic(`pulumi up failed after ${result.seconds.toFixed(0)} s; units restored by the fallback`);
    });
});
