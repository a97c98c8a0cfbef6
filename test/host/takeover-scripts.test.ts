/**
 * Host tier: the takeover scripts run directly (the exact invocations the components build) on
 * test hosts installed the way Replicated's own install script installs them
 * (test/support/script-install.ts).
 *
 * - A host that boots systemd as PID 1, installed by the 2.5+ script (`replicated` user, uid
 *   1001), units enabled and running: detection reports it and refuses every disagreement with
 *   the stack without changing anything; the takeover masks the units and removes the script's
 *   containers; the fallback restores them when this program's containers never become healthy;
 *   with healthy containers the confirmation disarms it and a second run of every script
 *   changes nothing on the host; a hand-back restores the script's units.
 * - Hosts without systemd (tini as PID 1): a sysvinit install (update-rc.d) before 2.5.0 and an
 *   upstart install (files only: this machine has no upstart), taken over and restored by the
 *   fallback's detached process.
 * - A fresh host: nothing to take over, nothing written; containers holding Replicated's names
 *   without any unit: refused.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { parseInstallSummary, parseTakeoverConfirmSummary, parseTakeoverSummary } from "../../components/host";
import { loadScript, remoteInvocation } from "../../components/shell";
import { sh } from "../support/host-runner";
import { hostTierAvailability, requireHostTier } from "../support/preflight";
import { dataFingerprint, installLikeScript, systemdUnitStates, type ScriptInstall } from "../support/script-install";
import { restartHost, run, startHosts, stopHosts, type RunResult, type TestHost } from "../support/testhost";

const VERSION = "2.53.2";
const TOKEN = "0f4c2e6a-57b1-4a3e-9d7e-2c1b8e9f6a51";
const UNITS = ["replicated", "replicated-ui", "replicated-operator"];
const TAKEOVER_DIR = "/var/lib/replicated-deploy/takeover";

let systemdHost: TestHost | undefined;
let sysvHost: TestHost | undefined;
let upstartHost: TestHost | undefined;
let freshHost: TestHost | undefined;
let install: ScriptInstall | undefined;
const started: TestHost[] = [];

before(async () => {
    if (!(await hostTierAvailability()).ok) {
        return;
    }
    const [systemd] = await startHosts(1, { boot: "systemd" });
    started.push(systemd);
    const tini = await startHosts(3);
    started.push(...tini);
    [sysvHost, upstartHost, freshHost] = tini;
    systemdHost = systemd;
    install = await installLikeScript(systemd, {
        role: "primary",
        mode: "service",
        version: VERSION,
        privateAddress: systemd.privateAddress,
        primaryAddress: systemd.privateAddress,
        daemonToken: TOKEN,
    });
});

after(async () => {
    await stopHosts(started);
});

async function script(host: TestHost, name: string, args: string[]): Promise<RunResult> {
    const invocation = remoteInvocation(loadScript(name), args, "none");
    return run(host, invocation.command, { stdin: invocation.stdin, timeoutMs: 300_000 });
}

/** Everything a disagreement must leave as it was. */
async function hostState(host: TestHost): Promise<Record<string, unknown>> {
    return {
        units: await systemdUnitStates(host, UNITS),
        containers: await sh(host, "docker ps -a --format '{{.Names}} {{.ID}} {{.Status}}' | sed 's/Up .*/Up/' | sort"),
        unitFiles: await sh(host, "stat -c '%n %i %Z' /etc/systemd/system/replicated*.service /etc/systemd/system/docker.service.wants/* 2>/dev/null | sort"),
        takeoverDir: await sh(host, `ls -a ${TAKEOVER_DIR} 2>/dev/null || echo absent`),
        data: await dataFingerprint(host),
    };
}

async function waitFor(what: string, timeoutSeconds: number, check: () => Promise<boolean>): Promise<number> {
    const startedAt = performance.now();
    while ((performance.now() - startedAt) / 1000 < timeoutSeconds) {
        if (await check()) {
            return (performance.now() - startedAt) / 1000;
        }
        await new Promise((done) => setTimeout(done, 1000));
    }
    throw new Error(`${what} not within ${timeoutSeconds} s`);
}

const stateOf = async (host: TestHost): Promise<string> => sh(host, `cat ${TAKEOVER_DIR}/state 2>/dev/null || true`);
const phaseOf = async (host: TestHost): Promise<string> => /^phase=(.*)$/m.exec(await stateOf(host))?.[1] ?? "";

/** Containers labelled as this program's, healthy within seconds (stand-ins of the script's images). */
async function startProgramContainers(host: TestHost): Promise<void> {
    const image = (name: string): string => `quay.io/replicated/${name}:stable-${VERSION}`;
    const health: Record<string, string> = {
        replicated: "nc -w 3 127.0.0.1 9879 </dev/null",
        "replicated-ui": "nc -w 3 127.0.0.1 8800 </dev/null",
        "replicated-operator": "true",
    };
    for (const name of UNITS) {
        await sh(
            host,
            `docker run -d --name ${name} --label replicated.stack=takeover-test --label replicated.service=${name} ` +
                `--health-cmd '${health[name]}' --health-interval 2s --health-start-period 30s --restart unless-stopped ${image(name)} >/dev/null`,
        );
    }
}

describe("a systemd host installed by the 2.5+ script", () => {
    test("detection reports the install and never the token's value", async (t) => {
        if (!(await requireHostTier(t)) || !systemdHost || !install) return;
        assert.equal(install.uid, 1001, "plain useradd gives the script's user uid 1001 here");
        const result = await script(systemdHost, "detect-install", ["replicated", "replicated", "", "primary"]);
        assert.equal(result.code, 0, result.stderr);
        const summary = parseInstallSummary(result.stdout);
        assert.equal(summary.init, "systemd");
        assert.equal(summary.install, "script");
        assert.equal(summary.mode, "service");
        assert.equal(summary.serviceUid, 1001);
        assert.equal(summary.version, VERSION);
        assert.equal(summary.takeOver, true);
        assert.deepEqual(
            summary.units.map((u) => `${u.name} ${u.form} ${u.enabled} ${u.running} ${u.uid}`),
            UNITS.map((u) => `${u} systemd true true 1001`),
        );
        assert.deepEqual(summary.user, { name: "replicated", uid: 1001, gid: install.dockerGid });
        assert.deepEqual(summary.envFiles, [
            { path: "/etc/default/replicated", daemonToken: true },
            { path: "/etc/default/replicated-operator", daemonToken: true },
        ]);
        assert.deepEqual(summary.containers.map((c) => `${c.name} ${c.program}`).sort(), install.containers.map((c) => `${c} false`).sort());
        assert.deepEqual([...summary.images].sort(), UNITS.map((u) => `quay.io/replicated/${u}:current`).sort());
        assert.equal(summary.dataOwners["/var/lib/replicated"], `1001:${install.dockerGid}`);
        assert.ok(!result.stdout.includes(TOKEN) && !result.stderr.includes(TOKEN), "the token's value is in no output");
    });

    test("every disagreement with the stack stops with a message naming the fix, and changes nothing", async (t) => {
        if (!(await requireHostTier(t)) || !systemdHost) return;
        const before_ = await hostState(systemdHost);
        const cases: Array<[string[], RegExp]> = [
            [["root", "replicated", "", "primary"], /runs this host as uid 1001 \(an install of 2\.5\.0 or later.*but replicated:runAs is root.*Nothing was changed\. Fix: pulumi config set replicated:runAs replicated/],
            [["replicated", "replicated", "1017", "primary"], /runs this host as uid 1001 \(user "replicated"\), but serviceUser\.uid is 1017.*Fix: remove the pin \(pulumi config rm --path 'replicated:serviceUser\.uid'\)/],
            [["replicated", "svc", "", "primary"], /runs this host as user "replicated" \(uid 1001\), but serviceUser\.name is "svc".*Fix: pulumi config set --path 'replicated:serviceUser\.name' replicated/],
            [["replicated", "replicated", "", "operator"], /runs Replicated's daemon .*but the stack gives it role operator.*Fix: give this host role primary/],
        ];
        for (const [args, message] of cases) {
            const result = await script(systemdHost, "detect-install", args);
            assert.equal(result.code, 1, `${args.join(" ")}: refused`);
            assert.match(result.stderr, message);
            // The summary is still printed, so the operator sees what was found.
            assert.equal(parseInstallSummary(result.stdout).install, "script");
        }
        assert.deepEqual(await hostState(systemdHost), before_);
    });

    test("the token is read from REPLICATED_OPTS, else replicated.conf, else the operator's file; none when absent", async (t) => {
        if (!(await requireHostTier(t)) || !systemdHost) return;
        const read = async (): Promise<unknown> => JSON.parse((await script(systemdHost!, "read-daemon-token", [])).stdout.trim().split("\n").pop() ?? "");
        assert.deepEqual(await read(), { found: true, source: "/etc/default/replicated", token: TOKEN, changed: 0 });
        await sh(systemdHost, "cp -p /etc/default/replicated /root/replicated.env && sed -i 's/ -e DAEMON_TOKEN=[^ \"]*//' /etc/default/replicated");
        try {
            assert.deepEqual(await read(), { found: true, source: "/etc/default/replicated-operator", token: TOKEN, changed: 0 });
            await sh(systemdHost, `printf '{\\n  "DaemonToken": "conf-token-1",\\n  "ReleaseChannel": "stable"\\n}\\n' > /etc/replicated.conf`);
            assert.deepEqual(await read(), { found: true, source: "/etc/replicated.conf", token: "conf-token-1", changed: 0 });
            await sh(systemdHost, "rm /etc/replicated.conf && cp -p /etc/default/replicated-operator /root/operator.env && sed -i 's/^DAEMON_TOKEN=.*/DAEMON_TOKEN=/' /etc/default/replicated-operator");
            assert.deepEqual(await read(), { found: false, source: null, token: null, changed: 0 });
            await sh(systemdHost, "sed -i 's/^DAEMON_TOKEN=.*/DAEMON_TOKEN=bad$(token)/' /etc/default/replicated-operator");
            const bad = await script(systemdHost, "read-daemon-token", []);
            assert.equal(bad.code, 1);
            assert.match(bad.stderr, /the daemon token in \/etc\/default\/replicated-operator holds characters other than/);
            assert.ok(!bad.stderr.includes("bad$(token)") && !bad.stdout.includes("bad$(token)"), "the bad value is not shown");
        } finally {
            await sh(systemdHost, "cp -p /root/replicated.env /etc/default/replicated; [ -f /root/operator.env ] && cp -p /root/operator.env /etc/default/replicated-operator; rm -f /etc/replicated.conf");
        }
        assert.deepEqual(await read(), { found: true, source: "/etc/default/replicated", token: TOKEN, changed: 0 });
    });

    test("takeover masks the units (files kept byte for byte), removes the script's containers, and the fallback restores them when no healthy container appears", async (t) => {
        if (!(await requireHostTier(t)) || !systemdHost || !install) return;
        const data = await dataFingerprint(systemdHost);
        const unitSums = await sh(systemdHost, "cd /etc/systemd/system && sha256sum replicated.service replicated-ui.service replicated-operator.service");
        const result = await script(systemdHost, "takeover", ["primary", "30"]);
        assert.equal(result.code, 0, result.stderr);
        const summary = parseTakeoverSummary(result.stdout);
        assert.deepEqual(
            { install: summary.install, units: summary.units, stopped: summary.stopped, removed: summary.containersRemoved, armed: summary.fallbackArmed },
            { install: "script", units: 3, stopped: 3, removed: install.containers.length, armed: true },
        );
        assert.deepEqual(await systemdUnitStates(systemdHost, UNITS), Object.fromEntries(UNITS.map((u) => [u, "masked inactive"])));
        assert.equal(await sh(systemdHost, "docker ps -aq | wc -l"), "0\n", "no container of the script is left");
        assert.equal(await sh(systemdHost, `cd ${TAKEOVER_DIR}/units/systemd && sha256sum replicated.service replicated-ui.service replicated-operator.service`), unitSums);
        assert.equal(await sh(systemdHost, "readlink /etc/systemd/system/replicated.service"), "/dev/null\n");
        assert.equal(await sh(systemdHost, "ls /etc/systemd/system/docker.service.wants/ | grep -c replicated || true"), "0\n", "no enablement link left");
        assert.match(await sh(systemdHost, "systemctl is-active replicated-takeover-fallback.timer"), /^active/);
        // A start by hand is refused while the unit is masked: nothing can fight this program.
        const start = await run(systemdHost, "systemctl start replicated");
        assert.notEqual(start.code, 0);
        assert.match(start.stderr, /masked/);
        assert.equal(await phaseOf(systemdHost), "armed");

        // An interrupted run taken again re-arms the fallback and touches nothing else.
        const again = parseTakeoverSummary((await script(systemdHost, "takeover", ["primary", "30"])).stdout);
        assert.deepEqual({ install: again.install, armed: again.fallbackArmed, changed: again.changed }, { install: "taken-over", armed: true, changed: 1 });

        // No container of this program ever becomes healthy: the confirmation gives up at the
        // fallback's bound, and the fallback restores the install script's units.
        const confirm = await script(systemdHost, "takeover-confirm", ["primary"]);
        assert.equal(confirm.code, 1);
        assert.match(confirm.stderr, /not all healthy after the fallback's bound \(30s \+ 30s\): replicated: absent, replicated-ui: absent, replicated-operator: absent/);
        const restoredAfter = await waitFor("the fallback restoring the units", 120, async () => (await phaseOf(systemdHost!)) === "fallback-fired");
        t.diagnostic(`fallback fired ${restoredAfter.toFixed(1)} s after the confirmation gave up`);
        await waitFor("the script's containers running again", 90, async () => /^(true\n){3}$/.test(await sh(systemdHost!, "for n in replicated replicated-ui replicated-operator; do docker inspect -f '{{.State.Running}}' $n 2>/dev/null || echo false; done")));
        assert.deepEqual(await systemdUnitStates(systemdHost, UNITS), Object.fromEntries(UNITS.map((u) => [u, "enabled active"])));
        assert.equal(await sh(systemdHost, "cd /etc/systemd/system && sha256sum replicated.service replicated-ui.service replicated-operator.service"), unitSums);
        assert.equal(await sh(systemdHost, "systemctl is-active replicated-takeover-fallback.timer || true"), "inactive\n", "the fallback timer is gone");
        assert.match(await sh(systemdHost, "journalctl -t replicated-takeover --no-pager -o cat"), /not all healthy .*restoring Replicated's install-script units/);
        assert.deepEqual(await dataFingerprint(systemdHost), data, "the data is unchanged");

        const late = await script(systemdHost, "takeover-confirm", ["primary"]);
        assert.equal(late.code, 1);
        assert.match(late.stderr, /the takeover's fallback restored Replicated's install-script units on this host \(fallback-fired at .* UTC\).*Fix: .*pulumi up --refresh --replace/);
    });

    test("with healthy containers the confirmation disarms the fallback; a second run of every script changes nothing; a hand-back restores the units", async (t) => {
        if (!(await requireHostTier(t)) || !systemdHost) return;
        const data = await dataFingerprint(systemdHost);
        const taken = parseTakeoverSummary((await script(systemdHost, "takeover", ["primary", "300"])).stdout);
        assert.equal(taken.install, "script");
        await startProgramContainers(systemdHost);
        const confirmed = await script(systemdHost, "takeover-confirm", ["primary"]);
        assert.equal(confirmed.code, 0, confirmed.stderr);
        const summary = parseTakeoverConfirmSummary(confirmed.stdout);
        assert.equal(summary.phase, "confirmed");
        assert.equal(summary.changed, 1);
        assert.ok(summary.gapSeconds !== null && summary.gapSeconds > 0, "the gap is measured");
        t.diagnostic(`gap (units stopped -> stand-in containers healthy, health interval 2 s): ${summary.gapSeconds} s`);
        assert.equal(await sh(systemdHost, "systemctl is-active replicated-takeover-fallback.timer || true"), "inactive\n");

        // Second runs: nothing reported, nothing touched (the state file keeps its ctime).
        const stamp = async (): Promise<string> => sh(systemdHost!, `stat -c '%n %i %Z' ${TAKEOVER_DIR} ${TAKEOVER_DIR}/* ${TAKEOVER_DIR}/units/systemd/* /etc/systemd/system/replicated*.service | sort`);
        const before_ = await stamp();
        const ids = await sh(systemdHost, "docker ps -q --no-trunc | sort");
        const retake = parseTakeoverSummary((await script(systemdHost, "takeover", ["primary", "300"])).stdout);
        assert.deepEqual({ install: retake.install, changed: retake.changed, armed: retake.fallbackArmed }, { install: "taken-over", changed: 0, armed: false });
        assert.equal(parseTakeoverConfirmSummary((await script(systemdHost, "takeover-confirm", ["primary"])).stdout).changed, 0);
        const detected = parseInstallSummary((await script(systemdHost, "detect-install", ["replicated", "replicated", "", "primary"])).stdout);
        assert.deepEqual({ install: detected.install, takeOver: detected.takeOver, phase: detected.takeoverPhase }, { install: "taken-over", takeOver: false, phase: "confirmed" });
        // Once taken over, detection checks nothing: the opt-in of a root install changes runAs.
        assert.equal((await script(systemdHost, "detect-install", ["root", "replicated", "", "primary"])).code, 0);
        assert.equal(await stamp(), before_);
        assert.equal(await sh(systemdHost, "docker ps -q --no-trunc | sort"), ids);

        // Hand-back: this program's containers go, the install script's units come back as they were.
        const handBack = await run(systemdHost, `sh ${TAKEOVER_DIR}/fallback.sh --hand-back`);
        assert.equal(handBack.code, 0, handBack.stderr);
        assert.deepEqual(await systemdUnitStates(systemdHost, UNITS), Object.fromEntries(UNITS.map((u) => [u, "enabled active"])));
        await waitFor("the script's containers after the hand-back", 90, async () => (await sh(systemdHost!, "docker ps --filter label=replicated.stack --format x | wc -l")) === "0\n" && /^(true\n){3}$/.test(await sh(systemdHost!, "for n in replicated replicated-ui replicated-operator; do docker inspect -f '{{.State.Running}}' $n 2>/dev/null || echo false; done")));
        assert.equal(await phaseOf(systemdHost), "handed-back");
        assert.deepEqual(await dataFingerprint(systemdHost), data);
        const confirm = await script(systemdHost, "takeover-confirm", ["primary"]);
        assert.equal(confirm.code, 1);
        assert.match(confirm.stderr, /handed back to Replicated's install script/);
    });
});

describe("a reboot inside the fallback's bound", () => {
    test("the fallback timer survives it and restores the units after the boot", async (t) => {
        if (!(await requireHostTier(t)) || !systemdHost) return;
        const data = await dataFingerprint(systemdHost);
        const taken = parseTakeoverSummary((await script(systemdHost, "takeover", ["primary", "60"])).stdout);
        assert.equal(taken.install, "script");
        const { seconds } = await restartHost(systemdHost);
        t.diagnostic(`rebooted in ${seconds.toFixed(1)} s`);
        // Masked: the boot does not start them; the persistent timer is still there.
        assert.deepEqual(await systemdUnitStates(systemdHost, UNITS), Object.fromEntries(UNITS.map((u) => [u, "masked inactive"])));
        assert.match(await sh(systemdHost, "systemctl is-active replicated-takeover-fallback.timer"), /^active/);
        await waitFor("the fallback after the reboot", 180, async () => (await phaseOf(systemdHost!)) === "fallback-fired");
        assert.deepEqual(await systemdUnitStates(systemdHost, UNITS), Object.fromEntries(UNITS.map((u) => [u, "enabled active"])));
        await waitFor("the script's containers after the reboot", 90, async () => /^(true\n){3}$/.test(await sh(systemdHost!, "for n in replicated replicated-ui replicated-operator; do docker inspect -f '{{.State.Running}}' $n 2>/dev/null || echo false; done")));
        assert.deepEqual(await dataFingerprint(systemdHost), data);
    });
});

describe("hosts without systemd", () => {
    test("a sysvinit install before 2.5.0: unregistered and moved aside, then restored by the fallback's detached process", async (t) => {
        if (!(await requireHostTier(t)) || !sysvHost) return;
        const installed = await installLikeScript(sysvHost, {
            role: "primary",
            mode: "root",
            version: "2.4.2",
            form: "sysvinit",
            privateAddress: sysvHost.privateAddress,
            primaryAddress: sysvHost.privateAddress,
            daemonToken: TOKEN,
        });
        assert.equal(installed.uid, 0);
        const links = async (): Promise<string> => sh(sysvHost!, "ls /etc/rc2.d /etc/rc3.d /etc/rc0.d | grep replicated | sort");
        const linksBefore = await links();
        assert.match(linksBefore, /S\d\dreplicated\n/);
        const scripts = await sh(sysvHost, "cd /etc/init.d && sha256sum replicated replicated-ui replicated-operator");
        const data = await dataFingerprint(sysvHost);

        const detected = parseInstallSummary((await script(sysvHost, "detect-install", ["root", "replicated", "", "primary"])).stdout);
        assert.deepEqual({ init: detected.init, install: detected.install, mode: detected.mode, uid: detected.serviceUid }, { init: "sysvinit", install: "script", mode: "root", uid: 0 });
        assert.deepEqual(detected.units.map((u) => `${u.name} ${u.form} ${u.enabled} ${u.running}`), UNITS.map((u) => `${u} sysvinit true true`));
        const refused = await script(sysvHost, "detect-install", ["replicated", "replicated", "", "primary"]);
        assert.equal(refused.code, 1);
        assert.match(refused.stderr, /runs this host as root \(an install from before 2\.5\.0.*Fix: pulumi config set replicated:runAs root, run pulumi up, then opt in/);

        const result = await script(sysvHost, "takeover", ["primary", "30"]);
        assert.equal(result.code, 0, result.stderr);
        assert.equal(parseTakeoverSummary(result.stdout).install, "script");
        assert.equal(await links(), "", "no rc link is left");
        assert.equal(await sh(sysvHost, "ls /etc/init.d | grep -c replicated || true"), "0\n");
        assert.equal(await sh(sysvHost, "docker ps -aq | wc -l"), "0\n");
        const sleeper = /^sleeper_pid=(\d+)$/m.exec(await stateOf(sysvHost))?.[1];
        assert.ok(sleeper, "a detached fallback process is armed");
        assert.match(await sh(sysvHost, `tr '\\0' ' ' < /proc/${sleeper}/cmdline`), /fallback\.sh --watch/);

        await waitFor("the detached fallback restoring the units", 150, async () => (await phaseOf(sysvHost!)) === "fallback-fired");
        assert.equal(await links(), linksBefore, "registered again as before");
        assert.equal(await sh(sysvHost, "cd /etc/init.d && sha256sum replicated replicated-ui replicated-operator"), scripts);
        await waitFor("the script's containers again", 60, async () => /^(true\n){3}$/.test(await sh(sysvHost!, "for n in replicated replicated-ui replicated-operator; do docker inspect -f '{{.State.Running}}' $n 2>/dev/null || echo false; done")));
        assert.deepEqual(await dataFingerprint(sysvHost), data);
    });

    test("an upstart install: both job files of each unit moved aside, the --restart always containers removed, the files restored by the fallback", async (t) => {
        if (!(await requireHostTier(t)) || !upstartHost) return;
        await installLikeScript(upstartHost, {
            role: "operator",
            mode: "service",
            version: VERSION,
            form: "upstart",
            privateAddress: upstartHost.privateAddress,
            primaryAddress: "10.213.0.1",
            daemonToken: TOKEN,
        });
        const files = "replicated-operator.conf replicated-operator-stop.conf";
        const sums = await sh(upstartHost, `cd /etc/init && sha256sum ${files}`);
        assert.equal(await sh(upstartHost, "docker inspect -f '{{.HostConfig.RestartPolicy.Name}}' replicated-operator"), "always\n");
        const detected = parseInstallSummary((await script(upstartHost, "detect-install", ["replicated", "replicated", "", "operator"])).stdout);
        assert.deepEqual(detected.units.map((u) => `${u.name} ${u.form} ${u.enabled} ${u.running} ${u.uid}`), ["replicated-operator upstart true true 1001"]);
        const primaryRefused = await script(upstartHost, "detect-install", ["replicated", "replicated", "", "primary"]);
        assert.equal(primaryRefused.code, 1);
        assert.match(primaryRefused.stderr, /runs only Replicated's operator .*but the stack gives it role primary/);

        const result = await script(upstartHost, "takeover", ["operator", "30"]);
        assert.equal(result.code, 0, result.stderr);
        assert.equal(await sh(upstartHost, "ls /etc/init 2>/dev/null | grep -c replicated || true"), "0\n");
        assert.equal(await sh(upstartHost, `cd ${TAKEOVER_DIR}/units/upstart && sha256sum ${files}`), sums);
        assert.equal(await sh(upstartHost, "docker ps -aq | wc -l"), "0\n");
        await waitFor("the fallback restoring the job files", 150, async () => (await phaseOf(upstartHost!)) === "fallback-fired");
        assert.equal(await sh(upstartHost, `cd /etc/init && sha256sum ${files}`), sums);
        // Without upstart nothing can start the jobs again: the files are back, the container is not.
        assert.equal(await sh(upstartHost, "docker ps -aq | wc -l"), "0\n");
    });

    test("the takeover scripts refuse hostile arguments themselves (quoted literally, validated again)", async (t) => {
        if (!(await requireHostTier(t)) || !freshHost) return;
        const marker = "/tmp/takeover-hostile-marker";
        const hostile = [
            `a;touch ${marker}`,
            `$(touch ${marker})`,
            `\`touch ${marker}\``,
            "replicated\nroot",
            "-rf",
            "..",
            "x".repeat(33),
            "0",
            "",
        ];
        const attempts: Array<[string, string[], RegExp]> = [];
        for (const value of hostile) {
            attempts.push(["detect-install", [value, "replicated", "", "primary"], /runAs must be/]);
            attempts.push(["detect-install", ["replicated", value, "", "primary"], /invalid user name/]);
            if (value !== "") {
                attempts.push(["detect-install", ["replicated", "replicated", value, "primary"], /invalid uid/]);
            }
            attempts.push(["detect-install", ["replicated", "replicated", "", value], /role must be/]);
            attempts.push(["takeover", [value, "300"], /role must be/]);
            attempts.push(["takeover", ["primary", value], /fallback seconds must be an integer from 30 to 3600/]);
            attempts.push(["takeover-confirm", [value], /role must be/]);
            attempts.push(["read-daemon-token", [value], /no arguments/]);
        }
        attempts.push(["takeover", ["primary", "29"], /fallback seconds must be/]);
        attempts.push(["takeover", ["primary", "3601"], /fallback seconds must be/]);
        attempts.push(["takeover", ["primary"], /usage: takeover\.sh/]);
        for (const [name, args, expected] of attempts) {
            const result = await script(freshHost, name, args);
            assert.equal(result.code, 1, `${name} ${JSON.stringify(args)}: exit ${result.code}, stderr ${result.stderr}`);
            assert.match(result.stderr, expected, `${name} ${JSON.stringify(args)}`);
            assert.equal(result.stdout, "", `${name} ${JSON.stringify(args)}: no summary line for a refused run`);
        }
        assert.equal(await sh(freshHost, `ls ${marker} 2>/dev/null || echo none`), "none\n", "no marker file");
        assert.equal(await sh(freshHost, "ls /var/lib/replicated-deploy 2>/dev/null || echo absent"), "absent\n");
        t.diagnostic(`${attempts.length} hostile invocations refused`);
    });

    test("a fresh host: nothing to take over, nothing written; Replicated's names held without any unit are refused", async (t) => {
        if (!(await requireHostTier(t)) || !freshHost) return;
        const detected = parseInstallSummary((await script(freshHost, "detect-install", ["replicated", "replicated", "1017", "primary"])).stdout);
        assert.deepEqual({ install: detected.install, takeOver: detected.takeOver, units: detected.units.length }, { install: "none", takeOver: false, units: 0 });
        assert.equal(parseTakeoverSummary((await script(freshHost, "takeover", ["primary", "300"])).stdout).install, "none");
        assert.equal(parseTakeoverConfirmSummary((await script(freshHost, "takeover-confirm", ["primary"])).stdout).phase, null);
        assert.equal(await sh(freshHost, "ls /var/lib/replicated-deploy 2>/dev/null || echo absent"), "absent\n", "nothing was written");

        // A container of Replicated's name that neither this program nor the script made.
        await sh(freshHost, "mkdir -p /root/bb/bin && cp /bin/busybox /root/bb/bin/ && ln -sf busybox /root/bb/bin/sleep && tar -C /root/bb -c . | docker import - local/bb:1 >/dev/null && docker run -d --name replicated local/bb:1 /bin/sleep 3600 >/dev/null");
        const foreign = await script(freshHost, "detect-install", ["replicated", "replicated", "", "primary"]);
        assert.equal(foreign.code, 1);
        assert.match(foreign.stderr, /containers replicated hold Replicated's names but were not created by this program, and no unit of Replicated's install script .* was found.*Fix: .*docker rm -f replicated/);
        const takeover = await script(freshHost, "takeover", ["primary", "300"]);
        assert.equal(takeover.code, 1);
        assert.equal(await sh(freshHost, "docker inspect -f '{{.State.Running}}' replicated"), "true\n", "the foreign container stays");
    });
});
