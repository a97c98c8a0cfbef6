/**
 * Host tier: the ownership repair raced by an attacker who controls what the trees' writers
 * control, against the current repair-ownership.sh and against the one the security review broke
 * (commit e61b47a, kept as test/support/attacks/repair-ownership-e61b47a.sh).
 *
 * The attacker (test/support/attacks/attacker.c, compiled here with `gcc -static -O2`) runs with
 * the identity of a writer of the trees:
 *
 * - swap, in the legacy `replicated` container the program created (user 0:<docker gid>, every
 *   capability dropped, /var/lib/replicated mounted), the binary in the writable tree: exchanges
 *   a directory holding files named like /etc's with a symbolic link to /etc (and one holding
 *   "etc" with a link to /), with renameat2(RENAME_EXCHANGE), woken by inotify;
 * - swap, as a host process with the service uid (a change of the docker gid: the service's own
 *   processes still write with the old gid). No container runs it, so stopping the writers does
 *   not stop it: only the walk itself defends;
 * - relink, as a host process with uid 0 and no capabilities (the legacy containers' identity):
 *   a hard link to an outside root-only file, moved, re-made or carried along with its directory
 *   whenever the repair has read the directory holding it. Inside a container link(2) to a file
 *   outside the bind mount fails with EXDEV, so this runs on the host;
 * - exchange, same identity and same reason: each time the repair re-owns a file, a hard link to
 *   the outside file takes the name of a file a few places ahead.
 *
 * Every attack runs ROUNDS rounds against each script on a prepared tree (the script run
 * directly), each with a logged seed (REPAIR_ATTACK_SEED replays a run), then once more through
 * the full opt-in of the legacy install (pulumi up with runAs: root, then runAs: replicated). After
 * every round /, /etc, /etc/shadow, /etc/passwd, the other files the bait is named after and a
 * canary outside the trees must keep owner, mode and content; an attacker who changed any of them
 * won the round (the test host is restored before the next). The old script must lose at least
 * one round of every attack (so the attacks catch the bug; its rounds stop there); the current
 * script none of the ROUNDS.
 */
import assert from "node:assert/strict";
import { randomInt } from "node:crypto";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, test, type TestContext } from "node:test";
import { imagesForHost, replicatedImageReference } from "../../components/docker/image-refs";
import { parseAccountSummary, parseRepairSummary, type RepairSummary } from "../../components/host";
import { loadScript } from "../../components/shell";
import { sh, testHostConfig } from "../support/host-runner";
import type { RecordedResource } from "../support/mock-recorder";
import { hostTierAvailability, requireHostTier } from "../support/preflight";
import { pulumiUp } from "../support/pulumi-up";
import { buildStandinImages, standinsFor } from "../support/standin-images";
import { copyFile, docker, run, startHosts, stopHosts, type TestHost } from "../support/testhost";

const ROUNDS = 20;
const SEED_BASE = Number(process.env.REPAIR_ATTACK_SEED ?? randomInt(1, 2 ** 31));
const SERVICE_UID = 1017;
/** The docker gid before the change the swap-host attack models. */
const OLD_GID = 4242;
const VERSION = "2.53.2";
const IMAGES_DIR = "/var/lib/replicated-images";
const STACK = "repair-attacks";
const ATTACK_DIR = "/var/lib/replicated/attack";
/** Where the in-container attacker's binary and log live: the writable tree. */
const ATTACKER_IN_TREE = "/var/lib/replicated/attacker";
const ATTACKER_ON_HOST = "/usr/local/bin/repair-attacker";
const CANARY = "/srv/repair-canary";
const TREES = "/var/lib/replicated /var/run/replicated /var/lib/replicated-operator /var/run/replicated-operator";
const CANDIDATES = ["/", "/etc", "/etc/shadow", "/etc/passwd", "/etc/group", "/etc/gshadow", "/etc/hostname", "/etc/sudoers", CANARY];
const OLD_SCRIPT = fs.readFileSync(path.join(__dirname, "..", "support", "attacks", "repair-ownership-e61b47a.sh"), "utf8");
const NEW_SCRIPT = loadScript("repair-ownership");

type Attack = "swap-container" | "swap-host" | "relink" | "exchange";
type Script = "old" | "new";

let hosts: TestHost[] = [];
let host: TestHost;
let dockerGid = 0;
let protectedPaths: string[] = [];
/** Owner, mode and (for files) sha256 of every protected path, before any round. */
let baseline: Record<string, string> = {};
let state: RecordedResource[] = [];
/** Per attack and script: what the summary prints at the end. */
const wins: Record<string, string> = {};

before(async () => {
    if (!(await hostTierAvailability()).ok) {
        return;
    }
    hosts = await startHosts(1);
    [host] = hosts;
    const binary = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "repair-attacker-")), "attacker");
    const built = spawnSync("sh", [path.join(__dirname, "..", "support", "attacks", "build.sh"), binary], { encoding: "utf8" });
    assert.equal(built.status, 0, `building the attacker failed: ${built.stderr}`);
    await copyFile(host, binary, ATTACKER_ON_HOST, { mode: 0o755 });
    const references = imagesForHost("primary", { statsd: true, premkit: true }).map((name) => replicatedImageReference("quay.io/replicated", name, "stable", VERSION));
    await buildStandinImages(host, standinsFor(references), IMAGES_DIR);
    // The legacy install whose containers the swap-container attacker lives in.
    const legacy = await pulumiUp({ stack: STACK, config: config("root"), hosts, previous: [] });
    assert.equal(legacy.error, undefined, `legacy install failed: ${legacy.error}`);
    state = legacy.state;
    const account = legacy.runs.find((r) => r.script === "account");
    assert.ok(account);
    dockerGid = parseAccountSummary(account.stdout).dockerGid;
    await sh(host, `head -c 64 /dev/urandom | base64 > ${CANARY} && chmod 600 ${CANARY} && cat /proc/sys/fs/protected_hardlinks`);
    protectedPaths = (await sh(host, `for p in ${CANDIDATES.join(" ")}; do [ -e "$p" ] && echo "$p"; done; true`)).trim().split("\n");
    baseline = await protectedState();
});

after(async () => {
    const lines = Object.entries(wins).map(([key, line]) => `${key}: ${line}`);
    console.log(`repair attacks (seed base ${SEED_BASE}):\n  ${lines.join("\n  ")}`);
    if (hosts.length > 0) {
        await stopHosts(hosts);
    }
});

function config(runAs: "root" | "replicated"): Record<string, unknown> {
    return testHostConfig(hosts, {
        overrides: { runAs, airgap: { imagesDir: IMAGES_DIR }, version: VERSION, serviceUser: { name: "replicated", uid: SERVICE_UID } },
    });
}

/**
 * A command on the test host through the outer engine (docker exec into its container), not SSH:
 * a round the attacker won may have re-owned / or /etc, and then sshd (StrictModes) refuses every
 * login until they are restored.
 */
function onConsole(command: string): string {
    const result = spawnSync("docker", ["exec", host.containerId, "sh", "-c", command], { encoding: "utf8" });
    assert.equal(result.status, 0, `${command}: ${result.stderr}`);
    return result.stdout;
}

/** "path uid:gid mode [sha256]" of every protected path, keyed by path. */
async function protectedState(): Promise<Record<string, string>> {
    const out = onConsole(`for p in ${protectedPaths.join(" ")}; do s=$(stat -c '%u:%g %a' -- "$p"); if [ -f "$p" ]; then s="$s $(sha256sum < "$p" | cut -d' ' -f1)"; fi; printf '%s\\t%s\\n' "$p" "$s"; done`);
    return Object.fromEntries(
        out
            .trim()
            .split("\n")
            .map((line) => line.split("\t") as [string, string]),
    );
}

/** The protected paths that differ from the baseline; each is put back to it (owner and mode). */
async function changedAndRestore(): Promise<string[]> {
    const now = await protectedState();
    const changed = protectedPaths.filter((p) => now[p] !== baseline[p]);
    for (const p of changed) {
        const [owner, mode, sum] = baseline[p].split(" ");
        onConsole(`chown -h ${owner} -- ${p} && chmod ${mode} -- ${p}`);
        assert.equal(sum, now[p].split(" ")[2], `${p}: the content changed, which no repair may do (${now[p]})`);
    }
    return changed;
}

/** Starts the attacker; resolves once it has its watches in place. Returns how to stop it. */
async function startAttacker(attack: Attack, seed: number): Promise<{ stop: () => Promise<string> }> {
    const mode = attack.startsWith("swap") ? "swap" : attack;
    if (attack === "swap-container") {
        await sh(host, `rm -rf ${ATTACKER_IN_TREE} && mkdir -m 0777 ${ATTACKER_IN_TREE} && cp ${ATTACKER_ON_HOST} ${ATTACKER_IN_TREE}/attacker && chmod 0755 ${ATTACKER_IN_TREE}/attacker`);
        const started = await docker(host, ["exec", "-d", "replicated", "sh", "-c", `exec ${ATTACKER_IN_TREE}/attacker swap ${ATTACK_DIR} ${seed} > ${ATTACKER_IN_TREE}/log 2>&1`]);
        assert.equal(started.code, 0, started.stderr);
        const pid = await waitReady(`${ATTACKER_IN_TREE}/log`);
        return {
            stop: async () => {
                await docker(host, ["exec", "replicated", "kill", pid]);
                return (await run(host, `cat ${ATTACKER_IN_TREE}/log`)).stdout;
            },
        };
    }
    // uid 0 without any capability (bounding set emptied before exec), or the service uid.
    const identity = attack === "swap-host" ? `--reuid=${SERVICE_UID} --regid=${OLD_GID}` : `--reuid=0 --regid=${dockerGid}`;
    const log = `/tmp/attacker-${attack}.log`;
    const pid = (
        await sh(
            host,
            `setsid setpriv ${identity} --clear-groups --inh-caps=-all --bounding-set=-all --no-new-privs ${ATTACKER_ON_HOST} ${mode} ${ATTACK_DIR} ${seed} ${CANARY} </dev/null >${log} 2>&1 & echo $!`,
        )
    ).trim();
    await waitReady(log);
    const caps = await sh(host, `grep -E '^(Uid|Gid|CapEff|CapPrm):' /proc/${pid}/status | tr -s '\\t ' ' '`);
    assert.match(caps, /CapEff: 0000000000000000/, `the attacker must run without capabilities: ${caps}`);
    return {
        stop: async () => {
            await run(host, `kill ${pid} 2>/dev/null; true`);
            return (await run(host, `cat ${log}`)).stdout;
        },
    };
}

async function waitReady(log: string): Promise<string> {
    for (let attempt = 0; attempt < 100; attempt++) {
        const out = (await run(host, `cat ${log} 2>/dev/null`)).stdout;
        const ready = /^ready (\d+)/m.exec(out);
        if (ready) return ready[1];
        if (/^error /m.test(out)) throw new Error(`the attacker failed to start: ${out}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`the attacker did not get ready: ${(await run(host, `cat ${log}`)).stdout}`);
}

/**
 * The tree every round starts from: an empty attack directory, the trees owned as legacy mode
 * left them (0:<docker gid>), or for swap-host as the service left them before the docker gid
 * changed (<service uid>:<old gid>).
 */
async function prepareRound(attack: Attack): Promise<void> {
    const owner = attack === "swap-host" ? `${SERVICE_UID}:${OLD_GID}` : `0:${dockerGid}`;
    await sh(host, `rm -rf ${ATTACK_DIR} && chown -R -h ${owner} ${TREES} && mkdir -m 0777 ${ATTACK_DIR} && chown ${owner} ${ATTACK_DIR}`, { timeoutMs: 120_000 });
    if (attack === "swap-container") {
        const started = await docker(host, ["start", "replicated"]);
        assert.equal(started.code, 0, started.stderr);
    }
}

interface RoundResult {
    readonly won: string[];
    readonly code: number | null;
    readonly summary?: Partial<RepairSummary>;
    readonly stderr: string;
}

async function round(t: TestContext, attack: Attack, script: Script, seed: number): Promise<RoundResult> {
    await prepareRound(attack);
    const attacker = await startAttacker(attack, seed);
    const repair = await run(host, `sh -s -- ${SERVICE_UID} ${dockerGid}`, { stdin: script === "old" ? OLD_SCRIPT : NEW_SCRIPT, timeoutMs: 300_000 });
    // Restored first: stopping the attacker needs SSH, which a re-owned /etc would refuse.
    const won = await changedAndRestore();
    const log = await attacker.stop();
    // The old script's summary has no container fields: counts only.
    const summary = repair.code === 0 ? (script === "new" ? parseRepairSummary(repair.stdout) : (JSON.parse(repair.stdout.trim().split("\n").pop() ?? "{}") as Partial<RepairSummary>)) : undefined;
    const moves = log.split("\n").filter((line) => /^(moved|linked|exchanged|exchanges|woken)/.test(line)).length;
    t.diagnostic(
        `${attack} vs ${script} script, seed ${seed}: ${won.length > 0 ? `ATTACKER WON (${won.join(", ")} changed)` : "held"}; ` +
            `repair exit ${repair.code}${summary ? `, changed ${summary.changed}, skipped ${summary.skipped}` : ""}; attacker: ${log.split("\n")[0]}, ${moves} action lines`,
    );
    return { won, code: repair.code, summary, stderr: repair.stderr };
}

async function attackRounds(t: TestContext, attack: Attack, check?: (result: RoundResult) => void): Promise<void> {
    const won: Record<Script, number> = { old: 0, new: 0 };
    // The old script only has to lose once to show that the attack catches the bug, so its
    // rounds stop at its first loss; the current script faces every round.
    let oldRounds = 0;
    for (let index = 0; index < ROUNDS; index++) {
        const seed = SEED_BASE + index;
        const scripts: Script[] = won.old === 0 ? ["old", "new"] : ["new"];
        for (const script of scripts) {
            const result = await round(t, attack, script, seed);
            if (result.won.length > 0) won[script]++;
            if (script === "old") oldRounds++;
            if (script === "new") check?.(result);
        }
    }
    wins[`${attack} vs the old script (e61b47a)`] = `the attacker won ${won.old} of ${oldRounds} rounds (stopped at its first win)`;
    wins[`${attack} vs the current script`] = `the attacker won ${won.new} of ${ROUNDS} rounds`;
    t.diagnostic(
        `${attack}: the attacker won ${won.old} of ${oldRounds} rounds against the old script (stopped at its first win) and ${won.new} of ${ROUNDS} against the current one (seeds ${SEED_BASE}..${SEED_BASE + ROUNDS - 1})`,
    );
    assert.ok(won.old >= 1, `${attack}: the attack never won against the old script in ${ROUNDS} rounds, so it would not catch the bug`);
    assert.equal(won.new, 0, `${attack}: the attacker won against the current script`);
}

const LEGACY_CONTAINERS = ["replicated", "replicated-ui", "replicated-operator", "replicated-statsd", "replicated-premkit"];

async function running(name: string): Promise<string> {
    const out = await docker(host, ["inspect", "--format", "{{.State.Running}} {{.State.StartedAt}}", name]);
    assert.equal(out.code, 0, out.stderr);
    return out.stdout.trim();
}

async function startContainers(names: readonly string[]): Promise<void> {
    const started = await docker(host, ["start", ...names]);
    assert.equal(started.code, 0, started.stderr);
}

function repairNew(): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return run(host, `sh -s -- ${SERVICE_UID} ${dockerGid}`, { stdin: NEW_SCRIPT, timeoutMs: 300_000 });
}

describe("writers are stopped before the walk", () => {
    // Besides the five legacy containers: one that writes inside a tree, one that mounts a
    // directory above the trees (under the /run spelling of /var/run), one that mounts neither.
    const image = () => replicatedImageReference("quay.io/replicated", "replicated-ui", "stable", VERSION);
    const extra = [
        { name: "repair-writer", mounts: ["/var/lib/replicated/writer:/w", "/srv/writer-extra:/extra"] },
        { name: "repair-above", mounts: ["/run:/hostrun"] },
        { name: "repair-unrelated", mounts: ["/srv/unrelated:/u"] },
    ];
    const marker = "/var/lib/replicated/db/legacy-marker";

    test("docker not answering: refused before anything changes; a failed walk starts every stopped container again, and says which it could not", async (t) => {
        if (!(await requireHostTier(t))) return;
        await sh(host, `mkdir -p /var/lib/replicated/writer /srv/writer-extra /srv/unrelated && printf legacy > ${marker} && chown 0:0 ${marker}`);
        for (const container of extra) {
            const mounts = container.mounts.flatMap((m) => ["--mount", `type=bind,source=${m.split(":")[0]},target=${m.split(":")[1]}`]);
            const created = await docker(host, ["run", "-d", "--init", "--name", container.name, ...mounts, "--entrypoint", "sleep", image(), "3600"]);
            assert.equal(created.code, 0, created.stderr);
        }

        // Docker down: it cannot tell who writes the trees, so it refuses.
        await sh(host, "dockerctl stop");
        try {
            const refused = await repairNew();
            assert.equal(refused.code, 1);
            assert.match(refused.stderr, /docker is installed but does not answer .*so the repair cannot tell which containers write the trees; refusing\. Nothing was changed\. Fix: start Docker/);
            assert.equal(await sh(host, `stat -c '%u:%g' ${marker}`), "0:0\n", "nothing re-owned");
        } finally {
            await sh(host, "dockerctl start");
        }
        await startContainers([...LEGACY_CONTAINERS, ...extra.map((c) => c.name)]);
        const unrelatedBefore = await running("repair-unrelated");

        // A tree the walk cannot change (a read-only file system at /var/run/replicated-operator):
        // the repair fails after stopping the writers and starts every one of them again.
        await sh(host, "mount -t tmpfs -o size=1m tmpfs /var/run/replicated-operator && touch /var/run/replicated-operator/stuck && mount -o remount,ro /var/run/replicated-operator");
        try {
            const failed = await repairNew();
            assert.equal(failed.code, 1, failed.stdout);
            assert.match(failed.stderr, /stopping the containers that write the trees before re-owning them: /);
            assert.match(failed.stderr, /cannot re-own \/run\/replicated-operator: Read-only file system/);
            assert.match(failed.stderr, /started again the containers it had stopped: /);
            for (const name of [...LEGACY_CONTAINERS, "repair-writer", "repair-above"]) {
                assert.match(await running(name), /^true /, `${name} runs again`);
            }
            assert.equal(await running("repair-unrelated"), unrelatedBefore, "a container that mounts no tree is never stopped");

            // The same failure, with a container that cannot start any more (its bind source is
            // gone): the error names it and gives the command.
            await sh(host, "rmdir /srv/writer-extra");
            const stuck = await repairNew();
            assert.equal(stuck.code, 1);
            assert.match(stuck.stderr, /these containers were stopped for the repair and could not be started again: repair-writer \(.*\)\. They are stopped\. Start them with: docker start repair-writer/);
            for (const name of LEGACY_CONTAINERS) {
                assert.match(await running(name), /^true /, `${name} runs again`);
            }
        } finally {
            await run(host, "umount /var/run/replicated-operator; mkdir -p /srv/writer-extra");
        }
    });

    test("a walk that succeeds leaves the program's containers whose user changes stopped (pulumi up replaces them) and starts the others again", async (t) => {
        if (!(await requireHostTier(t))) return;
        await startContainers([...LEGACY_CONTAINERS, ...extra.map((c) => c.name)]);
        const unrelatedBefore = await running("repair-unrelated");
        const done = await repairNew();
        assert.equal(done.code, 0, done.stderr);
        const summary = parseRepairSummary(done.stdout);
        assert.deepEqual([...summary.stoppedContainers].sort(), [...LEGACY_CONTAINERS, "repair-above", "repair-writer"].sort());
        assert.deepEqual([...summary.restartedContainers].sort(), ["repair-above", "repair-writer"]);
        assert.match(done.stderr, /left stopped \(they run as another user than 1017:\d+, so pulumi up replaces them next\): /);
        for (const name of LEGACY_CONTAINERS) {
            assert.match(await running(name), /^false /, `${name} stays stopped`);
        }
        assert.match(await running("repair-writer"), /^true /);
        assert.equal(await running("repair-unrelated"), unrelatedBefore);
        assert.equal(await sh(host, `stat -c '%u:%g' ${marker}`), `${SERVICE_UID}:${dockerGid}\n`);
        await docker(host, ["rm", "-f", ...extra.map((c) => c.name)]);
        await run(host, `rm -f ${marker}; rm -rf /var/lib/replicated/writer /srv/writer-extra /srv/unrelated`);
    });
});

describe("the ownership repair under attack", () => {
    test("swap inside the legacy replicated container: the old script follows the exchanged link, the current one stops the container first", async (t) => {
        if (!(await requireHostTier(t))) return;
        await attackRounds(t, "swap-container", (result) => {
            assert.ok(result.summary?.stoppedContainers?.includes("replicated"), `the attacker's container was stopped before the walk: ${result.stderr}`);
        });
    });

    test("swap by a host process with the service uid (no container to stop): the walk itself is not redirected", async (t) => {
        if (!(await requireHostTier(t))) return;
        await attackRounds(t, "swap-host");
    });

    test("hard links to an outside file moved while the repair counts them: never re-owned", async (t) => {
        if (!(await requireHostTier(t))) return;
        await attackRounds(t, "relink");
    });

    test("a hard link to an outside file exchanged with the name about to be re-owned: never re-owned", async (t) => {
        if (!(await requireHostTier(t))) return;
        await attackRounds(t, "exchange");
    });

    test("the full opt-in of the legacy install with the attacker racing in its replicated container", async (t) => {
        if (!(await requireHostTier(t))) return;
        await prepareRound("swap-container");
        // The legacy containers as the legacy install left them: all running.
        for (const name of ["replicated", "replicated-ui", "replicated-operator", "replicated-statsd", "replicated-premkit"]) {
            const started = await docker(host, ["start", name]);
            assert.equal(started.code, 0, started.stderr);
        }
        const shadowBefore = await sh(host, "for f in /etc/passwd /etc/shadow /etc/group /etc/gshadow; do grep -v -e '^replicated:' -e '^docker:' \"$f\" | sha256sum; done");
        const seed = SEED_BASE + ROUNDS;
        const attacker = await startAttacker("swap-container", seed);
        const optIn = await pulumiUp({ stack: STACK, config: config("replicated"), hosts, previous: state });
        const log = await attacker.stop().catch((error: unknown) => String(error));
        assert.equal(optIn.error, undefined, `the opt-in failed: ${optIn.error}`);
        const repairRun = optIn.runs.find((r) => r.script === "repair-ownership");
        assert.ok(repairRun);
        const summary = parseRepairSummary(repairRun.stdout);
        assert.deepEqual(
            [...summary.stoppedContainers].sort(),
            ["replicated", "replicated-operator", "replicated-premkit", "replicated-statsd", "replicated-ui"],
            "every legacy container was stopped before the walk",
        );
        // useradd and usermod rewrite these files (the service account's lines, the docker group's
        // member list); every other line, and every owner and mode, stays.
        const now = await protectedState();
        const rewritten = ["/etc/passwd", "/etc/shadow", "/etc/group", "/etc/gshadow"];
        for (const p of protectedPaths) {
            const compare = (value: string) => (rewritten.includes(p) ? value.split(" ").slice(0, 2).join(" ") : value);
            assert.equal(compare(now[p]), compare(baseline[p]), `${p} after the opt-in (seed ${seed})`);
        }
        assert.equal(await sh(host, "for f in /etc/passwd /etc/shadow /etc/group /etc/gshadow; do grep -v -e '^replicated:' -e '^docker:' \"$f\" | sha256sum; done"), shadowBefore);
        const user = await docker(host, ["inspect", "--format", "{{.Config.User}} {{.State.Running}}", "replicated"]);
        assert.equal(user.stdout.trim(), `${SERVICE_UID}:${dockerGid} true`, "the replacement runs as the service user");
        t.diagnostic(`opt-in with the attacker in the legacy container (seed ${seed}): held; repair changed ${summary.changed}; attacker: ${log.split("\n")[0]}`);
    });
});
