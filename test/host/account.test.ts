/**
 * Host tier: the service account on real test hosts, through the exact remote invocations the
 * program builds (recordOnHosts runs index.ts under mocks and every account / directories /
 * repair command over real SSH, as `pulumi up` would).
 *
 * Hosts (shared by the tests of this file, which run in order and build on each other):
 *   A: root login, no pinned uid;  B: deploy + sudo, uid pinned to 1234;  C: faults and legacy mode.
 * State is checked independently of the scripts' own reports: id, getent, stat, sha256.
 */
import assert from "node:assert/strict";
import { after, before, test, type TestContext } from "node:test";
import { directoryPaths } from "../../components/host";
import { recordOnHosts, sh, sha256Files, statPaths, testHostConfig, type CommandRun, type HostRecordingResult } from "../support/host-runner";
import { hostTierAvailability, requireHostTier } from "../support/preflight";
import { run, startHosts, stopHosts, type TestHost } from "../support/testhost";

const SCRIPTS = ["account", "directories", "repair-ownership"];
const ACCOUNT_FILES = ["/etc/passwd", "/etc/group", "/etc/shadow", "/etc/gshadow"];
const SOCKET = "/var/run/docker.sock";
const PRIMARY_DIRS = directoryPaths("primary");

let hosts: TestHost[] = [];
let hostA: TestHost;
let hostB: TestHost;
let hostC: TestHost;
const socketBefore = new Map<string, string>();

before(async () => {
    if (!(await hostTierAvailability()).ok) {
        return;
    }
    hosts = await startHosts(3);
    [hostA, hostB, hostC] = hosts;
    for (const host of hosts) {
        socketBefore.set(host.name, await sh(host, `stat -c '%u:%g %a %F' ${SOCKET}`));
    }
});

after(async () => {
    if (hosts.length > 0) {
        await stopHosts(hosts);
    }
});

type Login = "root" | "sudo" | "promptingSudo";

/** One `pulumi up` of a one-host stack on `host`, running only the host scripts. */
function up(host: TestHost, login: Login, overrides: Record<string, unknown> = {}, scripts = SCRIPTS): Promise<HostRecordingResult> {
    return recordOnHosts({ stack: "hosttest", config: testHostConfig([host], { login, overrides }) }, [host], {
        scripts,
        commandTimeoutMs: 60_000,
    });
}

function runOf(result: HostRecordingResult, script: string): CommandRun {
    const found = result.runs.find((r) => r.script === script);
    assert.ok(found, `no ${script} run; runs: ${result.runs.map((r) => r.resource).join(", ")}; error: ${result.error ?? "none"}`);
    return found;
}

function summaryOf(result: HostRecordingResult, script: string): Record<string, unknown> {
    const lines = runOf(result, script).stdout.trim().split("\n");
    return JSON.parse(lines[lines.length - 1]) as Record<string, unknown>;
}

function assertConverged(result: HostRecordingResult): void {
    assert.equal(result.error, undefined, `program failed: ${result.error}`);
    for (const script of SCRIPTS) {
        assert.equal(runOf(result, script).code, 0);
    }
}

function timings(t: TestContext, label: string, result: HostRecordingResult): number {
    const total = result.runs.reduce((sum, r) => sum + r.seconds, 0);
    t.diagnostic(`${label}: ${result.runs.map((r) => `${r.script} ${r.seconds.toFixed(2)}s`).join(", ")}; account+directories+repair ${total.toFixed(2)}s over SSH`);
    return total;
}

/** Independent check of a converged service account and its directories. */
async function assertAccount(host: TestHost, user: string, expected: { uid?: number; dockerGid: number; dirs: readonly string[] }): Promise<number> {
    const passwd = (await sh(host, `getent passwd ${user}`)).trim().split(":");
    const uid = Number(passwd[2]);
    if (expected.uid !== undefined) {
        assert.equal(uid, expected.uid, "pinned uid");
    } else {
        assert.ok(uid >= 100 && uid < 1000, `a system uid, got ${uid}`);
    }
    assert.equal(Number(passwd[3]), expected.dockerGid, "primary group = docker gid");
    assert.equal(passwd[5], "/var/lib/replicated", "home");
    assert.equal(passwd[6], "/usr/sbin/nologin", "shell");
    const shadow = (await sh(host, `getent shadow ${user}`)).trim().split(":");
    assert.match(shadow[1], /^[!*]/, "password locked");
    const groups = (await sh(host, `id -G ${user}`)).trim().split(" ").map(Number);
    assert.ok(groups.includes(expected.dockerGid), `member of ${expected.dockerGid}: ${groups.join(",")}`);
    const members = (await sh(host, `getent group ${expected.dockerGid} | cut -d: -f4`)).trim().split(",");
    assert.ok(members.includes(user), `supplementary member of ${expected.dockerGid}: ${members.join(",")}`);
    const stats = await statPaths(host, expected.dirs);
    for (const dir of expected.dirs) {
        assert.match(stats[dir], new RegExp(`^${uid}:${expected.dockerGid} 750 directory `), dir);
    }
    assert.equal(await sh(host, `stat -c '%u:%g %a %F' ${SOCKET}`), socketBefore.get(host.name), "docker socket untouched");
    return uid;
}

async function accountState(host: TestHost): Promise<{ hashes: Record<string, string>; stats: Record<string, string> }> {
    return {
        hashes: await sha256Files(host, [...ACCOUNT_FILES, "/etc/tmpfiles.d/replicated.conf"]),
        stats: await statPaths(host, [...PRIMARY_DIRS, SOCKET, "/etc/tmpfiles.d/replicated.conf"]),
    };
}

const dockerGidOf = async (host: TestHost) => Number((await sh(host, "getent group docker | cut -d: -f3")).trim());

// ---------------------------------------------------------------------------------------------
// Host A: root login

let uidA = 0;

test("A: a fresh host converges as root (account, directories, repair)", async (t) => {
    if (!(await requireHostTier(t))) return;
    assert.equal((await run(hostA, "getent passwd replicated")).code, 2, "no account before");
    const result = await up(hostA, "root");
    assertConverged(result);
    timings(t, "fresh (root)", result);
    const dockerGid = await dockerGidOf(hostA);
    uidA = await assertAccount(hostA, "replicated", { dockerGid, dirs: PRIMARY_DIRS });
    assert.deepEqual(summaryOf(result, "account"), { user: "replicated", uid: uidA, gid: dockerGid, dockerGid, changed: 2 });
    assert.equal(summaryOf(result, "directories").changed, PRIMARY_DIRS.length + 1, "every directory and the tmpfiles entry");
    assert.equal(summaryOf(result, "repair-ownership").changed, 0, "nothing to repair on a fresh host");
    const outputs = result.recording.outputs.hosts as Record<string, { uid: number; dockerGid: number }>;
    assert.deepEqual({ uid: outputs[hostA.name].uid, dockerGid: outputs[hostA.name].dockerGid }, { uid: uidA, dockerGid }, "the program saw the real ids");
    assert.equal(
        await sh(hostA, "cat /etc/tmpfiles.d/replicated.conf | grep '^d '"),
        `d /run/replicated 0750 ${uidA} ${dockerGid} -\nd /run/replicated-operator 0750 ${uidA} ${dockerGid} -\n`,
    );
});

test("A: a second run changes nothing (changed 0, account files and every stat identical)", async (t) => {
    if (!(await requireHostTier(t))) return;
    const before_ = await accountState(hostA);
    const result = await up(hostA, "root");
    assertConverged(result);
    timings(t, "no-change (root)", result);
    for (const script of SCRIPTS) {
        assert.equal(summaryOf(result, script).changed, 0, `${script} changed nothing`);
    }
    assert.deepEqual(await accountState(hostA), before_);
});

test("A: an existing user with another uid fails clearly and nothing changes", async (t) => {
    if (!(await requireHostTier(t))) return;
    const before_ = await accountState(hostA);
    const result = await up(hostA, "root", { serviceUser: { name: "replicated", uid: uidA + 1 } });
    assert.ok(result.error, "the run must fail");
    assert.match(result.error, new RegExp(`user "replicated" already exists with uid ${uidA}, but serviceUser\\.uid is ${uidA + 1}`));
    assert.match(result.error, /A uid is never changed/);
    assert.match(result.error, new RegExp(`set serviceUser\\.uid to ${uidA}`));
    assert.equal(runOf(result, "account").code, 1);
    assert.equal(result.runs.length, 1, "nothing ran after the failed account");
    assert.deepEqual(await accountState(hostA), before_);
});

// ---------------------------------------------------------------------------------------------
// Host B: deploy + sudo, pinned uid

test("B: a fresh host converges through sudo with a pinned uid, and a second run changes nothing", async (t) => {
    if (!(await requireHostTier(t))) return;
    const overrides = { serviceUser: { name: "replicated", uid: 1234 } };
    const first = await up(hostB, "sudo", overrides);
    assertConverged(first);
    timings(t, "fresh (sudo)", first);
    assert.ok(first.runs.every((r) => r.user === "deploy"), "ran as the SSH user deploy");
    const dockerGid = await dockerGidOf(hostB);
    assert.equal(await assertAccount(hostB, "replicated", { uid: 1234, dockerGid, dirs: PRIMARY_DIRS }), 1234);

    const before_ = await accountState(hostB);
    const second = await up(hostB, "sudo", overrides);
    assertConverged(second);
    timings(t, "no-change (sudo)", second);
    for (const script of SCRIPTS) {
        assert.equal(summaryOf(second, script).changed, 0, `${script} changed nothing`);
    }
    assert.deepEqual(await accountState(hostB), before_);
});

test("B: a pinned uid that belongs to another user fails clearly", async (t) => {
    if (!(await requireHostTier(t))) return;
    const before_ = await accountState(hostB);
    const deployUid = Number((await sh(hostB, "id -u deploy")).trim());
    const result = await up(hostB, "sudo", { serviceUser: { name: "svcother", uid: deployUid } });
    assert.ok(result.error);
    assert.match(result.error, new RegExp(`uid ${deployUid} \\(serviceUser\\.uid\\) already belongs to user "deploy", so "svcother" cannot get it`));
    assert.equal((await run(hostB, "getent passwd svcother")).code, 2, "no account created");
    assert.deepEqual(await accountState(hostB), before_);
});

test("B: an SSH user whose sudo needs a password fails at once with exit 97, never hangs", async (t) => {
    if (!(await requireHostTier(t))) return;
    const started = performance.now();
    const result = await up(hostB, "promptingSudo");
    const seconds = (performance.now() - started) / 1000;
    assert.ok(result.error);
    assert.match(result.error, /cannot run sudo without a password \(sudo -n failed\)/);
    assert.match(result.error, /NOPASSWD/);
    const account = runOf(result, "account");
    assert.equal(account.code, 97);
    assert.equal(account.user, "prompter");
    assert.ok(account.seconds < 15, `failed fast (${account.seconds.toFixed(1)} s)`);
    assert.ok(seconds < 60, `whole run bounded (${seconds.toFixed(1)} s)`);
});

test("B: two runs at once both succeed (or one fails cleanly) and a re-run converges", async (t) => {
    if (!(await requireHostTier(t))) return;
    const overrides = { serviceUser: { name: "concurrent" } };
    const results = await Promise.all([up(hostB, "sudo", overrides), up(hostB, "sudo", overrides)]);
    const failures = results.filter((r) => r.error !== undefined);
    for (const failure of failures) {
        // A clean failure names what happened; it never leaves a half-made account behind.
        assert.match(failure.error ?? "", /replicated (account|directories|repair-ownership): /);
    }
    assert.ok(failures.length < 2, `at most one run may fail: ${failures.map((f) => f.error).join(" | ")}`);
    t.diagnostic(`concurrent runs: ${results.map((r) => (r.error ? "failed" : "ok")).join(", ")}`);
    const uids = results.filter((r) => !r.error).map((r) => summaryOf(r, "account").uid);
    assert.ok(uids.every((uid) => uid === uids[0]), "both saw the same account");
    assert.equal((await sh(hostB, "getent passwd concurrent | wc -l")).trim(), "1", "exactly one account");

    const rerun = await up(hostB, "sudo", overrides);
    assertConverged(rerun);
    for (const script of SCRIPTS) {
        assert.equal(summaryOf(rerun, script).changed, 0, `${script}: converged`);
    }
    await assertAccount(hostB, "concurrent", { dockerGid: await dockerGidOf(hostB), dirs: PRIMARY_DIRS });
});

// ---------------------------------------------------------------------------------------------
// Host C: docker group faults, legacy root mode, an interrupted run, a socket with its own group

test("C: no docker group and a root:root socket fail clearly before anything is created", async (t) => {
    if (!(await requireHostTier(t))) return;
    const dockerGid = await dockerGidOf(hostC);
    try {
        // A docker group that exists while the socket is still root:root (group added after dockerd started).
        await sh(hostC, `chgrp 0 ${SOCKET}`);
        const stale = await up(hostC, "root");
        assert.ok(stale.error);
        assert.match(stale.error, new RegExp(`belongs to group root \\(gid 0\\), not to the docker group \\(gid ${dockerGid}\\).*restart Docker`));

        await sh(hostC, "groupdel docker");
        const before_ = await accountState(hostC);
        const result = await up(hostC, "root");
        assert.ok(result.error);
        assert.match(result.error, /no docker group: \/var\/run\/docker\.sock belongs to group root \(gid 0\) and there is no "docker" group\. Refusing to run the service with gid 0/);
        assert.equal(result.runs.length, 1, "nothing ran after the account");
        assert.deepEqual(await accountState(hostC), before_, "no account, no directory");
        assert.equal((await run(hostC, "getent passwd replicated")).code, 2);

        // Legacy root mode needs the docker gid too, and refuses the same way.
        const legacy = await up(hostC, "root", { runAs: "root" });
        assert.match(legacy.error ?? "", /no docker group/);
    } finally {
        await run(hostC, `getent group docker || groupadd -g ${dockerGid} docker; chgrp ${dockerGid} ${SOCKET}`);
    }
    assert.equal(await sh(hostC, `stat -c '%u:%g %a %F' ${SOCKET}`), socketBefore.get(hostC.name));
});

test("C: legacy root mode creates no account and keeps root-owned directories", async (t) => {
    if (!(await requireHostTier(t))) return;
    const hashes = await sha256Files(hostC, ACCOUNT_FILES);
    const dockerGid = await dockerGidOf(hostC);
    const result = await up(hostC, "root", { runAs: "root" });
    assert.equal(result.error, undefined, result.error);
    assert.deepEqual(
        result.runs.map((r) => r.resource).sort(),
        [`${hostC.name}-directories`, `${hostC.name}-docker-group`],
        "no account, no repair in root mode",
    );
    assert.deepEqual(summaryOf(result, "account"), { user: "root", uid: 0, gid: 0, dockerGid, changed: 0 });
    assert.deepEqual(await sha256Files(hostC, ACCOUNT_FILES), hashes, "passwd, group, shadow untouched");
    const stats = await statPaths(hostC, PRIMARY_DIRS);
    for (const dir of PRIMARY_DIRS) {
        assert.match(stats[dir], new RegExp(`^0:${dockerGid} 750 directory `), dir);
    }
    const again = await up(hostC, "root", { runAs: "root" });
    assert.equal(summaryOf(again, "directories").changed, 0);
    assert.deepEqual(await statPaths(hostC, PRIMARY_DIRS), stats);
});

test("C: a run stopped after the account, before the directories, converges on the next run", async (t) => {
    if (!(await requireHostTier(t))) return;
    const dockerGid = await dockerGidOf(hostC);
    // Only the account runs (the directories and the repair never happen): the state a run
    // killed between the two steps leaves.
    const partial = await up(hostC, "root", {}, ["account"]);
    assert.equal(partial.error, undefined, partial.error);
    assert.equal(summaryOf(partial, "account").changed, 2);
    const stats = await statPaths(hostC, ["/var/lib/replicated"]);
    assert.match(stats["/var/lib/replicated"], new RegExp(`^0:${dockerGid} `), "directories still from root mode");
    // A file written in root mode, to be re-owned by the repair.
    await sh(hostC, "touch /var/lib/replicated/db/legacy.db && chown 0:0 /var/lib/replicated/db/legacy.db");

    const result = await up(hostC, "root");
    assertConverged(result);
    assert.equal(summaryOf(result, "account").changed, 0, "the account was already there");
    assert.ok(Number(summaryOf(result, "directories").changed) >= PRIMARY_DIRS.length, "directories re-owned");
    assert.equal(summaryOf(result, "repair-ownership").changed, 1, "the root-owned file re-owned");
    const uid = await assertAccount(hostC, "replicated", { dockerGid, dirs: PRIMARY_DIRS });
    assert.equal(await sh(hostC, "stat -c '%u:%g' /var/lib/replicated/db/legacy.db"), `${uid}:${dockerGid}\n`);

    const again = await up(hostC, "root");
    for (const script of SCRIPTS) {
        assert.equal(summaryOf(again, script).changed, 0, script);
    }
});

test("C: a socket whose group differs from the docker group: the socket's gid wins", async (t) => {
    if (!(await requireHostTier(t))) return;
    const dockerGid = await dockerGidOf(hostC);
    try {
        await sh(hostC, `groupadd -g 2345 dockersock && chgrp 2345 ${SOCKET}`);
        socketBefore.set(hostC.name, await sh(hostC, `stat -c '%u:%g %a %F' ${SOCKET}`));
        const result = await up(hostC, "root");
        assertConverged(result);
        const summary = summaryOf(result, "account");
        assert.equal(summary.dockerGid, 2345);
        assert.equal(summary.gid, dockerGid, "an existing account keeps its primary group");
        assert.match(runOf(result, "account").stderr, new RegExp(`the docker group has gid ${dockerGid} but /var/run/docker.sock belongs to gid 2345; using the socket's gid 2345`));
        assert.match(await sh(hostC, "getent group 2345"), /^dockersock:x:2345:replicated$/m);
        const uid = Number(summary.uid);
        const stats = await statPaths(hostC, PRIMARY_DIRS);
        for (const dir of PRIMARY_DIRS) {
            assert.match(stats[dir], new RegExp(`^${uid}:2345 750 directory `), dir);
        }
    } finally {
        await run(hostC, `chgrp ${dockerGid} ${SOCKET}`);
    }
});
