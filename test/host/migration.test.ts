/**
 * Host tier: a legacy (pre-2.5.0, `runAs: root`) install on a real test host, its opt-in
 * migration to the service account at scale, and version upgrades through the version guard.
 *
 * The real program is applied the way `pulumi up` applies it, state carried from one apply to
 * the next (support/pulumi-up): remote commands run over SSH, containers start from stand-in
 * images loaded the air-gap way, changed resources are updated or replaced as their providers
 * do it (containers with deleteBeforeReplace). One host, shared by the tests in order:
 *
 * 1. legacy install: no account, root-owned directories, containers as 0:<docker gid>;
 * 2. about 100,000 legacy entries (10,000+ files with content in nested directories, symlinks
 *    including one to /etc/shadow, hard links, 0600 root files, and a bulk tree) are recorded:
 *    content, mode, inode, link count, symlink target;
 * 3. opt-in (`runAs: replicated`) killed with SIGKILL in the middle of the migration, then run
 *    again: account created, legacy containers stopped by the repair, repair converges, then
 *    containers replaced; nothing lost;
 * 4. upgrade: only the guard, the image load, the images and the containers change;
 * 5. downgrade: refused without allowDowngrade (nothing changes), done with it;
 * 6. the guard without a record reads the running containers' version; a tampered record
 *    directory is refused.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { imagesForHost, replicatedImageReference } from "../../components/docker/image-refs";
import { VERSION_RECORD, parseVersionGuardSummary, versionGuardScriptArgs } from "../../components/host/version-guard";
import { accountScriptArgs, parseAccountSummary, parseRepairSummary } from "../../components/host";
import { loadScript, remoteInvocation } from "../../components/shell";
import { sh, testHostConfig, type CommandRun } from "../support/host-runner";
import type { RecordedResource } from "../support/mock-recorder";
import { hostTierAvailability, requireHostTier } from "../support/preflight";
import { pulumiUp, type UpResult } from "../support/pulumi-up";
import { buildStandinImages, standinsFor } from "../support/standin-images";
import { docker, run, startHosts, stopHosts, type TestHost } from "../support/testhost";

const IMAGES_DIR = "/var/lib/replicated-images";
/** Where the next release's air-gap tarballs wait until the operator puts them in place. */
const NEXT_IMAGES_DIR = "/root/replicated-images-next";
const V1 = "2.53.2";
const V2 = "2.54.0";
const SERVICE_UID = 1017;
const CONTAINERS = ["replicated", "replicated-ui", "replicated-operator", "replicated-statsd", "replicated-premkit"];
const TREES = ["/var/lib/replicated", "/var/run/replicated", "/var/lib/replicated-operator", "/var/run/replicated-operator"];
const STACK = "migration";

let host: TestHost;
let hosts: TestHost[] = [];
let dockerGid = 0;
/** State after the last successful apply, carried to the next. */
let state: RecordedResource[] = [];
const timings: Record<string, number> = {};
/** Entries in the trees before the opt-in, and how many files carry content. */
let legacyEntries = 0;

before(async () => {
    if (!(await hostTierAvailability()).ok) {
        return;
    }
    let started = performance.now();
    hosts = await startHosts(1);
    [host] = hosts;
    timings.startHost = seconds(started);
    started = performance.now();
    const references = (version: string) =>
        imagesForHost("primary", { statsd: true, premkit: true }).map((name) => replicatedImageReference("quay.io/replicated", name, "stable", version));
    await buildStandinImages(host, standinsFor(references(V1)), IMAGES_DIR);
    await buildStandinImages(host, standinsFor(references(V2)), NEXT_IMAGES_DIR);
    timings.standins = seconds(started);
});

after(async () => {
    console.log(`migration tier timings (s): ${JSON.stringify(timings)}`);
    await stopHosts(hosts);
});

function seconds(since: number): number {
    return Math.round((performance.now() - since) / 100) / 10;
}

/** The stack config for this host (namespace stripped): air-gap, pinned uid, root login. */
function config(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    return testHostConfig([host], {
        overrides: { airgap: { imagesDir: IMAGES_DIR }, version: V1, serviceUser: { name: "replicated", uid: SERVICE_UID }, ...overrides },
    });
}

/** Apply `cfg` on top of the current state; on success the state moves on. */
async function up(label: string, cfg: Record<string, unknown>, extra: { interrupt?: { resource: string; afterSeconds: number } } = {}): Promise<UpResult> {
    const started = performance.now();
    const result = await pulumiUp({ stack: STACK, config: cfg, hosts, previous: state, ...extra });
    timings[label] = seconds(started);
    if (result.error === undefined || extra.interrupt !== undefined) {
        state = result.state;
    }
    return result;
}

function assertOk(result: UpResult): void {
    assert.equal(result.error, undefined, `pulumi up failed: ${result.error}`);
}

function runsOf(result: UpResult, script: string): CommandRun[] {
    return result.runs.filter((r) => r.script === script);
}

function onlyRun(result: UpResult, script: string): CommandRun {
    const found = runsOf(result, script);
    assert.equal(found.length, 1, `${script} ran ${found.length} times; runs: ${result.runs.map((r) => r.script).join(", ")}`);
    return found[0];
}

function stepsOf(result: UpResult, type: string) {
    return result.steps.filter((s) => s.type === type);
}

async function inspectContainer(name: string): Promise<{ id: string; user: string; image: string }> {
    const out = await docker(host, ["inspect", "--format", "{{.Id}} {{.Config.User}} {{.Image}}", name]);
    assert.equal(out.code, 0, out.stderr);
    const [id, user, image] = out.stdout.trim().split(" ");
    return { id, user, image };
}

/** Uid and Gid lines of PID 1 inside a container, as the kernel reports them. */
async function processIds(name: string): Promise<{ uid: string; gid: string; groups: string }> {
    const out = await docker(host, ["exec", name, "cat", "/proc/1/status"]);
    assert.equal(out.code, 0, out.stderr);
    const field = (key: string) => (new RegExp(`^${key}:\\s*(.*)$`, "m").exec(out.stdout)?.[1] ?? "").trim().replace(/\s+/g, " ");
    return { uid: field("Uid"), gid: field("Gid"), groups: field("Groups") };
}

async function imageId(reference: string): Promise<string> {
    const out = await docker(host, ["image", "inspect", "--format", "{{.Id}}", reference]);
    assert.equal(out.code, 0, `${reference}: ${out.stderr}`);
    return out.stdout.trim();
}

async function containersRunAs(uid: number, version: string): Promise<void> {
    for (const name of CONTAINERS) {
        const inspected = await inspectContainer(name);
        assert.equal(inspected.user, `${uid}:${dockerGid}`, `${name}: Config.User`);
        assert.equal(inspected.image, await imageId(replicatedImageReference("quay.io/replicated", name as never, "stable", version)), `${name} runs ${version}`);
        const ids = await processIds(name);
        assert.equal(ids.uid, `${uid} ${uid} ${uid} ${uid}`, `${name}: real/effective/saved/fs uid of PID 1`);
        assert.equal(ids.gid, `${dockerGid} ${dockerGid} ${dockerGid} ${dockerGid}`, `${name}: gids of PID 1`);
        assert.equal(ids.groups, String(dockerGid), `${name}: supplementary groups`);
    }
}

async function containerRunning(name: string): Promise<boolean> {
    const out = await docker(host, ["inspect", "--format", "{{.State.Running}}", name]);
    assert.equal(out.code, 0, out.stderr);
    return out.stdout.trim() === "true";
}

async function containerIds(): Promise<Record<string, string>> {
    const ids: Record<string, string> = {};
    for (const name of CONTAINERS) {
        ids[name] = (await inspectContainer(name)).id;
    }
    return ids;
}

async function record(): Promise<string> {
    return sh(host, `cat ${VERSION_RECORD}; stat -c '%u:%g %a %i %Y' ${VERSION_RECORD} /var/lib/replicated-deploy`);
}

const TREE_LIST = TREES.join(" ");
/** Entries in the trees whose owner or group is not `uid:gid`. */
async function mismatches(uid: number, gid: number): Promise<number> {
    return Number((await sh(host, `find ${TREE_LIST} -xdev \\( ! -user ${uid} -o ! -group ${gid} \\) 2>/dev/null | wc -l`)).trim());
}

/**
 * A manifest of the trees on the host: per entry path, type, mode, inode, link count, size and
 * symlink target, plus the sha256 of every regular file (owners left out: they are what the
 * migration changes). The stand-ins' probe files are left out too (the new containers rewrite
 * them).
 */
const MANIFEST = `manifest() {
  for t in ${TREE_LIST}; do [ -d "$t" ] && find "$t" -xdev ! -name 'standin-*.probe' ! -name '.standin-probe-*' -printf '%p\\t%y\\t%m\\t%i\\t%n\\t%s\\t%l\\n'; done | LC_ALL=C sort > "$1.meta"
  for t in ${TREE_LIST}; do [ -d "$t" ] && find "$t" -xdev -type f ! -name 'standin-*.probe' -print0; done | xargs -0 -r sha256sum | LC_ALL=C sort -k 2 > "$1.sums"
  wc -l < "$1.meta"
}`;

async function writeManifest(name: string): Promise<number> {
    return Number((await sh(host, `${MANIFEST}; manifest /root/${name}`, { timeoutMs: 300_000 })).trim());
}

/** `diff` of two manifests on the host; empty when identical. */
async function manifestDiff(a: string, b: string): Promise<string> {
    const result = await run(host, `diff /root/${a}.meta /root/${b}.meta | head -n 20; diff /root/${a}.sums /root/${b}.sums | head -n 20`, { timeoutMs: 120_000 });
    return result.stdout;
}

/**
 * /etc/shadow as far as the migration may not change it: owner, group, mode, and every line but
 * the service account's own (useradd adds that one, rewriting the file).
 */
const SHADOW = "stat -c '%u:%g %a' /etc/shadow && grep -v '^replicated:' /etc/shadow | sha256sum";

/** Generates the legacy data (python3 on the host): nested directories, content, links. */
const GENERATOR = `
import os, random, sys
random.seed(20251128)
root, nfiles = sys.argv[1], int(sys.argv[2])
os.makedirs(root)
dirs = [root]
for i in range(400):
    d = os.path.join(random.choice(dirs), "d%d" % i)
    os.mkdir(d)
    if i % 11 == 0:
        os.chmod(d, 0o700)
    dirs.append(d)
files = []
for i in range(nfiles):
    p = os.path.join(random.choice(dirs), "f%d%s" % (i, " with space" if i % 997 == 0 else ""))
    with open(p, "wb") as fh:
        fh.write(os.urandom(random.randint(0, 600)))
    if i % 7 == 0:
        os.chmod(p, 0o600)
    files.append(p)
for i in range(300):
    os.link(random.choice(files), os.path.join(random.choice(dirs), "hl%d" % i))
for i in range(200):
    target = random.choice(files + dirs)
    link = os.path.join(random.choice(dirs), "sl%d" % i)
    os.symlink(os.path.relpath(target, os.path.dirname(link)) if i % 2 else target, link)
os.symlink("/etc/shadow", os.path.join(root, "shadow-link"))
os.symlink("/etc", os.path.join(root, "etc-link"))
os.symlink("/nonexistent/target", os.path.join(root, "dangling-link"))
print(len(files))
`;

describe("legacy root mode and the opt-in migration", () => {
    test("legacy install (runAs: root): no account, root-owned directories, containers as 0:<docker gid>, version recorded", async (t) => {
        if (!(await requireHostTier(t))) return;
        const result = await up("legacyInstall", config({ runAs: "root" }));
        assertOk(result);
        const account = parseAccountSummary(onlyRun(result, "account").stdout);
        assert.deepEqual(onlyRun(result, "account").args, accountScriptArgs("root", "root"));
        assert.equal(account.uid, 0);
        dockerGid = account.dockerGid;
        assert.ok(dockerGid > 0);
        assert.equal(runsOf(result, "repair-ownership").length, 0, "no migration in root mode");
        assert.equal((await run(host, "getent passwd replicated")).code, 2, "no replicated user");
        for (const dir of ["/var/lib/replicated", "/var/lib/replicated/db", "/var/run/replicated", "/var/lib/replicated-operator", "/var/run/replicated-operator"]) {
            assert.equal(await sh(host, `stat -c '%u:%g %a' ${dir}`), `0:${dockerGid} 750\n`, dir);
        }
        await containersRunAs(0, V1);
        const guard = parseVersionGuardSummary(onlyRun(result, "version-guard").stdout);
        assert.deepEqual([guard.direction, guard.previous, guard.version, guard.changed], ["install", null, V1, 1]);
        assert.match(await record(), new RegExp(`^version=${V1}\\nchannel=stable\\n0:0 644 \\d+ \\d+\\n0:0 755 `));
        t.diagnostic(`legacy install applied in ${timings.legacyInstall} s (${result.runs.length} commands, ${result.steps.length} steps)`);
    });

    test("legacy data: 10,000+ files with content, links and 0600 files, plus a 90,000-entry bulk tree, recorded", async (t) => {
        if (!(await requireHostTier(t))) return;
        const started = performance.now();
        const files = Number(
            (await sh(host, `cat > /root/generate.py && python3 /root/generate.py /var/lib/replicated/legacy 12000`, { stdin: GENERATOR, timeoutMs: 300_000 })).trim(),
        );
        assert.equal(files, 12_000);
        await sh(
            host,
            [
                "mkdir /var/lib/replicated/bulk && cd /var/lib/replicated/bulk && seq 0 89 | xargs mkdir",
                "for d in $(seq 0 89); do (cd $d && seq 1 999 | xargs touch); done",
                "mkdir -p /var/lib/replicated-operator/state && for i in $(seq 1 500); do head -c $((i % 300)) /dev/urandom > /var/lib/replicated-operator/state/s$i; done",
                "printf pid > /var/run/replicated/daemon.pid && chmod 600 /var/run/replicated/daemon.pid",
                // Legacy: everything below the directories belongs to root.
                "chown -R -h 0:0 /var/lib/replicated/legacy /var/lib/replicated/bulk /var/lib/replicated-operator/state /var/run/replicated/daemon.pid",
            ].join(" && "),
            { timeoutMs: 300_000 },
        );
        timings.populate = seconds(started);
        const counts = (await sh(host, "cd /var/lib/replicated/legacy && find . -type f | wc -l; find . -type l | wc -l; find . -type f -links +1 | wc -l; find . -type f -perm 600 | wc -l; find . -type d | wc -l")).trim().split("\n").map(Number);
        const [regular, symlinks, hardlinked, private_, directories] = counts;
        assert.ok(regular >= 12_000 && symlinks >= 200 && hardlinked >= 300 && private_ >= 1_000 && directories >= 400, `legacy tree: ${counts.join(", ")}`);
        assert.equal(await sh(host, "readlink /var/lib/replicated/legacy/shadow-link"), "/etc/shadow\n");
        const startedManifest = performance.now();
        legacyEntries = await writeManifest("before");
        timings.manifest = seconds(startedManifest);
        await sh(host, `{ ${SHADOW}; } > /root/shadow.before`);
        assert.ok(legacyEntries > 100_000, `${legacyEntries} entries`);
        t.diagnostic(`${legacyEntries} entries: ${regular} files (${hardlinked} hard-linked, ${private_} mode 0600), ${symlinks} symlinks, ${directories} directories in the legacy tree, 90,000 bulk files; generated in ${timings.populate} s`);
    });

    test("opt-in killed mid-migration (SIGKILL), then run again: converges, nothing lost, containers replaced only after the repair", async (t) => {
        if (!(await requireHostTier(t))) return;
        const legacyIds = await containerIds();
        const optIn = config({ runAs: "replicated" });

        // 1. pulumi up killed while the repair runs: shorten or lengthen the delay until the kill
        //    lands in the middle (some entries re-owned, some not).
        let delay = 0.5;
        let killed: UpResult | undefined;
        let left = 0;
        let done = 0;
        for (let attempt = 1; attempt <= 8; attempt++) {
            killed = await up(`killedOptIn${attempt}`, optIn, { interrupt: { resource: `${host.name}-ownership`, afterSeconds: delay } });
            // "exit 0": the repair finished before the kill (the apply still stops there).
            const wasKilled = /interrupted while .*-ownership ran \(exit 137\)/.test(killed.error ?? "");
            left = await mismatches(SERVICE_UID, dockerGid);
            done = Number((await sh(host, `find ${TREE_LIST} -xdev -user ${SERVICE_UID} -group ${dockerGid} | wc -l`)).trim());
            t.diagnostic(`attempt ${attempt}: ${wasKilled ? "killed" : "finished before the kill"} after ${delay} s: ${done} entries re-owned, ${left} left`);
            if (wasKilled && left > 1000 && done > 1000) {
                break;
            }
            if (!wasKilled || left <= 1000) {
                // Too late: put the legacy owner back and kill sooner.
                await sh(host, "chown -R -h 0:0 /var/lib/replicated/legacy /var/lib/replicated/bulk /var/lib/replicated-operator/state", { timeoutMs: 300_000 });
                delay /= 2;
            } else {
                delay *= 2;
            }
        }
        assert.ok(killed);
        assert.match(killed.error ?? "", /interrupted while .*-ownership ran \(exit 137\)/);
        assert.ok(left > 1000 && done > 1000, `the kill landed mid-migration (${done} re-owned, ${left} left)`);
        // The killed run got as far as the account and the directories; no container was touched.
        assert.equal((await sh(host, "id -u replicated")).trim(), String(SERVICE_UID));
        assert.deepEqual(await containerIds(), legacyIds, "the legacy containers are still there");
        assert.equal(stepsOf(killed, "docker:index/container:Container").filter((s) => s.op !== "same").length, 0);
        // The repair stopped every one of them before its walk (they write the trees), and a kill
        // leaves them stopped: nothing writes the half-migrated trees until they are replaced.
        for (const name of CONTAINERS) {
            assert.equal(await containerRunning(name), false, `${name} was stopped by the repair`);
        }
        assert.equal(await writeManifest("killed"), legacyEntries);
        assert.equal(await manifestDiff("before", "killed"), "", "nothing lost or altered at the kill");

        // 2. pulumi up again: the repair runs to completion, then the containers are replaced.
        const again = await up("optInRerun", optIn);
        assertOk(again);
        assert.deepEqual(
            again.runs.map((r) => r.script),
            ["repair-ownership", "container-health"],
            "only the repair runs (the account and directories were done by the killed run, the version is unchanged), then the health gate for the replaced containers",
        );
        const repair = parseRepairSummary(onlyRun(again, "repair-ownership").stdout);
        assert.equal(repair.changed, left, "the re-run re-owns exactly what the killed run left");
        assert.equal(repair.skipped, 0);
        assert.deepEqual(repair.stoppedContainers, [], "the killed run had stopped them already");
        assert.equal(await mismatches(SERVICE_UID, dockerGid), 0, "every entry in the trees belongs to the service user and the docker group");

        // Containers: each replaced (delete before replace), every one after the repair finished.
        const repairStep = again.steps.find((s) => s.name === `${host.name}-ownership`);
        assert.ok(repairStep && repairStep.op === "create" && repairStep.error === undefined);
        const replaced = stepsOf(again, "docker:index/container:Container");
        assert.equal(replaced.length, CONTAINERS.length);
        for (const step of replaced) {
            assert.equal(step.op, "replace", step.name);
            assert.deepEqual(step.changed, ["user"], `${step.name}: only the user changes`);
            assert.ok(step.oldDeleted !== undefined && step.started >= repairStep.finished, `${step.name} replaced after the repair finished`);
        }
        const newIds = await containerIds();
        for (const name of CONTAINERS) {
            assert.notEqual(newIds[name], legacyIds[name], `${name} is a new container`);
        }
        await containersRunAs(SERVICE_UID, V1);

        // Nothing lost: content, modes, inodes, link counts, symlink targets; /etc/shadow untouched.
        assert.equal(await writeManifest("after"), legacyEntries);
        assert.equal(await manifestDiff("before", "after"), "");
        assert.equal(await sh(host, `{ ${SHADOW}; } | diff /root/shadow.before -`), "", "/etc/shadow: owner, mode and every other account's line");
        assert.match(await sh(host, "grep '^replicated:' /etc/shadow"), /^replicated:[!*]/, "the service account has a locked password");
        assert.equal(await sh(host, "stat -c '%U:%G' /var/lib/replicated/legacy/shadow-link; readlink /var/lib/replicated/legacy/shadow-link"), `replicated:${(await sh(host, `getent group ${dockerGid} | cut -d: -f1`)).trim()}\n/etc/shadow\n`);
        assert.equal(await sh(host, "find /var/lib/replicated/legacy -type f -perm 600 ! -user replicated | wc -l"), "0\n", "0600 files belong to the service user (and stay 0600)");

        // Re-running the repair by hand changes nothing.
        const repairCommand = state.find((r) => r.name === `${host.name}-ownership`);
        assert.ok(repairCommand);
        const byHand = await run(host, String(repairCommand.inputs.create), { stdin: String(repairCommand.inputs.stdin), timeoutMs: 300_000 });
        assert.equal(byHand.code, 0, byHand.stderr);
        assert.equal(parseRepairSummary(byHand.stdout).changed, 0);
        t.diagnostic(
            `${legacyEntries} entries: killed run ${timings[Object.keys(timings).filter((k) => k.startsWith("killedOptIn")).pop() ?? ""]} s, ` +
                `re-run (repair of ${left} entries + 5 container replacements) ${timings.optInRerun} s, repair alone ${onlyRun(again, "repair-ownership").seconds.toFixed(1)} s`,
        );
    });

    test("migration time: the recorded repair over 100,000+ root-owned entries, and a run with nothing to change", async (t) => {
        if (!(await requireHostTier(t))) return;
        const repairCommand = state.find((r) => r.name === `${host.name}-ownership`);
        assert.ok(repairCommand);
        // Reset to root, then 2 s so that the reset is not "just now" for the hard-linked files
        // (the repair decides those right away only when their ctime is 2 s older than its walk).
        await sh(host, "chown -R -h 0:0 /var/lib/replicated/legacy /var/lib/replicated/bulk /var/lib/replicated-operator/state /var/run/replicated/daemon.pid && sleep 2", { timeoutMs: 300_000 });
        const toChange = await mismatches(SERVICE_UID, dockerGid);
        assert.ok(toChange > 100_000, `${toChange} entries to re-own`);
        const timed = async (): Promise<{ seconds: number; changed: number }> => {
            const out = await sh(
                host,
                `s=$(date +%s%N); ${String(repairCommand.inputs.create)} >/root/timed.out 2>/root/timed.err; e=$(date +%s%N); tail -n 1 /root/timed.out; echo $(( (e - s) / 1000000 ))`,
                { stdin: String(repairCommand.inputs.stdin), timeoutMs: 600_000 },
            );
            const [summary, millis] = out.trim().split("\n");
            return { seconds: Number(millis) / 1000, changed: parseRepairSummary(summary).changed };
        };
        const first = await timed();
        assert.equal(first.changed, toChange);
        const second = await timed();
        assert.equal(second.changed, 0);
        assert.equal(await mismatches(SERVICE_UID, dockerGid), 0);
        assert.equal(await manifestDiff("before", "after"), "");
        timings.migration100k = first.seconds;
        timings.migrationNoChange = second.seconds;
        const load = (await sh(host, "cut -d' ' -f1 /proc/loadavg")).trim();
        t.diagnostic(
            `repair (host side): ${toChange} entries re-owned in ${first.seconds.toFixed(2)} s (${((first.seconds * 100_000) / toChange).toFixed(2)} s per 100,000), ` +
                `nothing to change ${second.seconds.toFixed(2)} s; load average ${load} on ${(await sh(host, "nproc")).trim()} cores`,
        );
    });

    test("a second pulumi up after the opt-in changes nothing", async (t) => {
        if (!(await requireHostTier(t))) return;
        const ids = await containerIds();
        const result = await up("optInSecond", config({ runAs: "replicated" }));
        assertOk(result);
        assert.deepEqual(result.runs, []);
        assert.deepEqual(result.steps.filter((s) => s.op !== "same").map((s) => `${s.op} ${s.name}`), []);
        assert.deepEqual(await containerIds(), ids);
    });
});

describe("version upgrades and the downgrade guard", () => {
    test("upgrade: the guard records the new version; images and containers are replaced; account, directories and repair do not run", async (t) => {
        if (!(await requireHostTier(t))) return;
        // The operator puts the new release's air-gap tarballs in place.
        await sh(host, `cp ${NEXT_IMAGES_DIR}/*.tar ${IMAGES_DIR}/`);
        const ids = await containerIds();
        const result = await up("upgrade", config({ version: V2 }));
        assertOk(result);
        // The health gate runs again for the replaced containers.
        assert.deepEqual(result.runs.map((r) => r.script).sort(), ["container-health", "load-images", "version-guard"]);
        const guard = parseVersionGuardSummary(onlyRun(result, "version-guard").stdout);
        assert.deepEqual([guard.direction, guard.previous, guard.previousSource, guard.version, guard.changed], ["upgrade", V1, "record", V2, 1]);
        assert.match(await record(), new RegExp(`^version=${V2}\\nchannel=stable\\n0:0 644 `));
        const guardStep = result.steps.find((s) => s.name === `${host.name}-version-guard`);
        assert.equal(guardStep?.op, "update", "the guard is updated, not replaced");
        for (const step of result.steps.filter((s) => s.type === "docker:index/container:Container" || s.type === "docker:index/remoteImage:RemoteImage")) {
            assert.equal(step.op, "replace", step.name);
            assert.ok(guardStep && step.started >= guardStep.finished, `${step.name} after the guard`);
        }
        const loadStep = result.steps.find((s) => s.name === `${host.name}-images-load`);
        assert.ok(loadStep && guardStep && loadStep.started >= guardStep.finished, "the image load after the guard");
        const changed = result.steps.filter((s) => s.op !== "same").map((s) => s.type);
        assert.deepEqual([...new Set(changed)].sort(), ["command:remote:Command", "docker:index/container:Container", "docker:index/remoteImage:RemoteImage"]);
        const newIds = await containerIds();
        for (const name of CONTAINERS) {
            assert.notEqual(newIds[name], ids[name], `${name} replaced`);
        }
        await containersRunAs(SERVICE_UID, V2);
        t.diagnostic(`upgrade ${V1} -> ${V2} applied in ${timings.upgrade} s`);
    });

    test("the guard run again on the same version changes nothing", async (t) => {
        if (!(await requireHostTier(t))) return;
        const before_ = await record();
        const guard = state.find((r) => r.name === `${host.name}-version-guard`);
        assert.ok(guard);
        const again = await run(host, String(guard.inputs.create), { stdin: String(guard.inputs.stdin) });
        assert.equal(again.code, 0, again.stderr);
        const summary = parseVersionGuardSummary(again.stdout);
        assert.deepEqual([summary.direction, summary.changed], ["same", 0]);
        assert.equal(await record(), before_, "record content, inode and mtime unchanged");
        const result = await up("upgradeSecond", config({ version: V2 }));
        assertOk(result);
        assert.deepEqual(result.runs, [], "an unchanged stack runs nothing");
    });

    test("downgrade without allowDowngrade: refused with the flag's name; nothing is loaded or replaced", async (t) => {
        if (!(await requireHostTier(t))) return;
        const ids = await containerIds();
        const before_ = await record();
        const stateBefore = state;
        const result = await up("downgradeRefused", config({ version: V1 }));
        assert.ok(result.error, "pulumi up fails");
        assert.match(
            result.error,
            new RegExp(`refusing to downgrade Replicated from ${V2} \\(found in ${VERSION_RECORD}\\) to ${V1}: a downgrade needs replicated:allowDowngrade\\. Nothing was changed on this host\\.`),
        );
        assert.deepEqual(result.runs.map((r) => `${r.script}:${r.code}`), ["version-guard:1"], "only the guard ran");
        assert.equal(result.steps.filter((s) => s.op !== "same" && s.error === undefined).length, 0, "no step succeeded");
        assert.deepEqual(await containerIds(), ids);
        await containersRunAs(SERVICE_UID, V2);
        assert.equal(await record(), before_);
        assert.equal(state, stateBefore, "a failed run leaves the state as it was");
    });

    test("downgrade with allowDowngrade: done; then unsetting the flag re-runs only the guard", async (t) => {
        if (!(await requireHostTier(t))) return;
        const ids = await containerIds();
        const result = await up("downgradeAllowed", config({ version: V1, allowDowngrade: true }));
        assertOk(result);
        const guard = parseVersionGuardSummary(onlyRun(result, "version-guard").stdout);
        assert.deepEqual([guard.direction, guard.previous, guard.version, guard.changed], ["downgrade", V2, V1, 1]);
        assert.match(onlyRun(result, "version-guard").stderr, new RegExp(`downgrading Replicated from ${V2} to ${V1} \\(replicated:allowDowngrade is set\\)`));
        assert.match(await record(), new RegExp(`^version=${V1}\\n`));
        // The health gate runs again for the replaced containers.
        assert.deepEqual(result.runs.map((r) => r.script).sort(), ["container-health", "load-images", "version-guard"]);
        const newIds = await containerIds();
        for (const name of CONTAINERS) {
            assert.notEqual(newIds[name], ids[name], `${name} replaced`);
        }
        await containersRunAs(SERVICE_UID, V1);

        const unset = await up("downgradeFlagUnset", config({ version: V1 }));
        assertOk(unset);
        assert.deepEqual(unset.runs.map((r) => r.script), ["version-guard"]);
        assert.deepEqual([parseVersionGuardSummary(unset.runs[0].stdout).direction, parseVersionGuardSummary(unset.runs[0].stdout).changed], ["same", 0]);
        assert.deepEqual(await containerIds(), newIds);
    });

    test("without a record the guard takes the version from the running containers; a record directory others can write is refused", async (t) => {
        if (!(await requireHostTier(t))) return;
        const guard = (version: string) => remoteInvocation(loadScript("version-guard"), versionGuardScriptArgs(version, "stable", false), "none");
        await sh(host, "rm -r /var/lib/replicated-deploy");
        const older = guard("2.50.0");
        const refused = await run(host, older.command, { stdin: older.stdin });
        assert.equal(refused.code, 1);
        assert.match(refused.stderr, new RegExp(`refusing to downgrade Replicated from ${V1} \\(found in the image tags of the running Replicated containers\\) to 2\\.50\\.0`));
        assert.equal((await run(host, "test -e /var/lib/replicated-deploy")).code, 1, "nothing written");

        const same = guard(V1);
        const adopted = await run(host, same.command, { stdin: same.stdin });
        assert.equal(adopted.code, 0, adopted.stderr);
        const summary = parseVersionGuardSummary(adopted.stdout);
        assert.deepEqual([summary.previousSource, summary.previous, summary.direction, summary.changed], ["containers", V1, "same", 1]);
        assert.match(await record(), new RegExp(`^version=${V1}\\nchannel=stable\\n0:0 644 \\d+ \\d+\\n0:0 755 `));

        await sh(host, "chmod 0777 /var/lib/replicated-deploy");
        try {
            const open = await run(host, same.command, { stdin: same.stdin });
            assert.equal(open.code, 1);
            assert.match(open.stderr, /\/var\/lib\/replicated-deploy belongs to uid 0 with mode 777; it must belong to root and be writable by root only\. Nothing was changed\./);
        } finally {
            await sh(host, "chmod 0755 /var/lib/replicated-deploy");
        }
    });
});
