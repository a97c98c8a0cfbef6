/**
 * Host tier: which existing accounts the account step adopts, and which directories the
 * directories step refuses, on a real test host through the exact commands the program builds.
 *
 * Adding an account to the docker group makes every process of it root-equivalent, so an
 * existing account of the configured name is adopted only when it is this program's own (its
 * GECOS marker, or the shape it had before the marker) or the one Replicated's install script
 * makes (`useradd -g <docker gid>`: regular uid, default shell), or when
 * serviceUser.adoptExisting names it. Each refusal is checked for its message and for leaving the
 * account database and the directories exactly as they were.
 */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { recordOnHosts, sh, sha256Files, statPaths, testHostConfig, type HostRecordingResult } from "../support/host-runner";
import { hostTierAvailability, requireHostTier } from "../support/preflight";
import { startHosts, stopHosts, type TestHost } from "../support/testhost";

const ACCOUNT_FILES = ["/etc/passwd", "/etc/group", "/etc/shadow", "/etc/gshadow"];
const MARKER = "Replicated service account (managed by Pulumi)";

let host: TestHost;
let hosts: TestHost[] = [];

before(async () => {
    if (!(await hostTierAvailability()).ok) {
        return;
    }
    hosts = await startHosts(1);
    [host] = hosts;
});

after(async () => {
    if (hosts.length > 0) {
        await stopHosts(hosts);
    }
});

function up(serviceUser: Record<string, unknown>, scripts = ["account", "directories"]): Promise<HostRecordingResult> {
    return recordOnHosts({ stack: "hosttest", config: testHostConfig([host], { overrides: { serviceUser } }) }, [host], { scripts, commandTimeoutMs: 60_000 });
}

function accountSummary(result: HostRecordingResult): Record<string, unknown> {
    const run = result.runs.find((r) => r.script === "account");
    assert.ok(run, `no account run: ${result.error ?? ""}`);
    return JSON.parse(run.stdout.trim().split("\n").pop() ?? "{}") as Record<string, unknown>;
}

/** Run `serviceUser` against the host and assert a refusal matching `message` that changes nothing. */
async function assertRefusedUnchanged(serviceUser: Record<string, unknown>, message: RegExp): Promise<void> {
    const before_ = await sha256Files(host, ACCOUNT_FILES);
    const dirsBefore = await statPaths(host, ["/var/lib/replicated", "/var/lib/replicated-operator"]);
    const result = await up(serviceUser);
    assert.ok(result.error, "the run must fail");
    assert.match(result.error, message);
    assert.deepEqual(result.runs.map((r) => r.script), ["account"], "nothing runs after the refused account step");
    assert.deepEqual(await sha256Files(host, ACCOUNT_FILES), before_, "the account database is unchanged");
    assert.deepEqual(await statPaths(host, ["/var/lib/replicated", "/var/lib/replicated-operator"]), dirsBefore, "no directory was created or changed");
}

test("an existing account of another kind is refused and left alone; serviceUser.adoptExisting adopts it deliberately", async (t) => {
    if (!(await requireHostTier(t))) return;
    await sh(host, "useradd --create-home --shell /bin/bash svc");
    await assertRefusedUnchanged(
        { name: "svc" },
        /user "svc" already exists \(uid \d+, primary gid \d+, home \/home\/svc, shell \/bin\/bash\) and is neither an account this program created nor the one Replicated's install script creates\. Adding it to the docker group \(gid \d+\) would make every process of that account root-equivalent, so nothing was changed\. Fix: .*adoptExisting' svc/,
    );
    const adopted = await up({ name: "svc", adoptExisting: "svc" });
    assert.equal(adopted.error, undefined, adopted.error);
    assert.equal(accountSummary(adopted).user, "svc");
    assert.match(await sh(host, "id -nG svc"), /\bdocker\b/, "the adopted account is in the docker group");
    await sh(host, "userdel -r svc 2>/dev/null; rm -rf /var/lib/replicated /var/lib/replicated-operator /var/run/replicated-operator /var/run/replicated");
});

test("uid 0 is refused whatever the configuration says; uid 65534 without allowNobodyUid", async (t) => {
    if (!(await requireHostTier(t))) return;
    await sh(host, "useradd --non-unique --uid 0 --no-create-home toor");
    await assertRefusedUnchanged({ name: "toor", adoptExisting: "toor" }, /user "toor" has uid 0 \(root\)\. Nothing was changed/);
    await sh(host, "userdel toor 2>/dev/null || sed -i '/^toor:/d' /etc/passwd /etc/shadow; groupdel toor 2>/dev/null; true");

    await sh(host, "useradd --non-unique --uid 65534 --no-create-home nob");
    await assertRefusedUnchanged({ name: "nob", adoptExisting: "nob" }, /user "nob" has uid 65534 \("nobody"\), which unrelated daemons share\. Nothing was changed\. Fix: .*allowNobodyUid/);
    await sh(host, "userdel nob 2>/dev/null || sed -i '/^nob:/d' /etc/passwd /etc/shadow; groupdel nob 2>/dev/null; true");
});

test("the account Replicated's install script made (useradd -g docker) is adopted unchanged, with its uid", async (t) => {
    if (!(await requireHostTier(t))) return;
    // What the 2.5.0+ install script runs: a plain useradd into the docker group, then usermod -a -G.
    await sh(host, "useradd -g docker replicated && usermod -a -G docker replicated");
    const uid = Number((await sh(host, "id -u replicated")).trim());
    assert.ok(uid >= 1000, `a regular uid (${uid})`);
    const before_ = await sha256Files(host, ACCOUNT_FILES);
    const result = await up({});
    assert.equal(result.error, undefined, result.error);
    const summary = accountSummary(result);
    assert.equal(summary.uid, uid, "the script's uid is reused");
    assert.equal(summary.changed, 0);
    assert.match(result.runs[0].stderr, /adopting "replicated" \(uid \d+\) made by Replicated's install script, unchanged/);
    assert.deepEqual(await sha256Files(host, ACCOUNT_FILES), before_, "the account database is unchanged");
    await sh(host, "userdel replicated; rm -rf /var/lib/replicated /var/lib/replicated-operator /var/run/replicated-operator /var/run/replicated");
});

test("the program's own account keeps passing on every re-run, with a uid pinned above the system range, and so does one made before the marker", async (t) => {
    if (!(await requireHostTier(t))) return;
    const first = await up({ uid: 1017 });
    assert.equal(first.error, undefined, first.error);
    assert.equal(accountSummary(first).changed, 2, "created, and added to the docker group");
    assert.equal((await sh(host, "getent passwd replicated | cut -d: -f5")).trim(), MARKER);
    const before_ = await sha256Files(host, ACCOUNT_FILES);
    const second = await up({ uid: 1017 });
    assert.equal(second.error, undefined, second.error);
    assert.equal(accountSummary(second).changed, 0);
    assert.deepEqual(await sha256Files(host, ACCOUNT_FILES), before_);

    // An account created by an earlier version of this program: same shape, no marker.
    await sh(host, "userdel replicated && useradd --system --no-create-home --home-dir /var/lib/replicated --shell /usr/sbin/nologin --gid docker --uid 1017 replicated && usermod -a -G docker replicated");
    const earlier = await sha256Files(host, ACCOUNT_FILES);
    const third = await up({ uid: 1017 });
    assert.equal(third.error, undefined, third.error);
    assert.equal(accountSummary(third).changed, 0);
    assert.deepEqual(await sha256Files(host, ACCOUNT_FILES), earlier);
});

test("a service directory that belongs to another user is refused before anything changes", async (t) => {
    if (!(await requireHostTier(t))) return;
    // The account exists from the previous test (uid 1017). Hand one directory to someone else.
    await sh(host, "useradd --no-create-home other4242 --uid 4242 && chown 4242:4242 /var/lib/replicated/db");
    const paths = ["/var/lib/replicated", "/var/lib/replicated/db", "/var/lib/replicated/tmp", "/var/run/replicated"];
    await sh(host, "chmod 0700 /var/lib/replicated/tmp");
    const before_ = await statPaths(host, paths);
    const result = await up({ uid: 1017 });
    assert.ok(result.error);
    assert.match(
        result.error,
        /\/var\/lib\/replicated\/db belongs to uid 4242 \(user other4242\), which is neither root, the service account \(uid 1017\) nor an earlier Replicated service account\. Nothing was changed\. Fix: /,
    );
    assert.deepEqual(await statPaths(host, paths), before_, "nothing was changed, not even the mode of a directory listed before it");
    await sh(host, "chown 1017 /var/lib/replicated/db && userdel other4242");
    const fixed = await up({ uid: 1017 });
    assert.equal(fixed.error, undefined, fixed.error);
});
