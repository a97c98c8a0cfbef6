/**
 * The provisioning lock (components/scripts/lib/provision-lock.sh, inlined into the account,
 * directories and ownership-repair scripts) on a test host: many runs started at once, with and
 * without flock, and with a stale lock left by a killed run. A probe script takes the lock and
 * marks its critical section with an atomic mkdir, so two runs inside at once are counted.
 *
 * The old flock-less fallback (a directory lock with a pid, taken over when that pid is gone) let
 * two runs that found the same stale lock both remove it and both go on: finding 10 of issue 11.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { SCRIPTS_DIR } from "../../components/shell";
import { hostTierAvailability, requireHostTier } from "../support/preflight";
import { run, startHosts, stopHosts, type TestHost } from "../support/testhost";

const WORK = "/root/lock-test";
const RUNS = 20;

let host: TestHost | undefined;
let setupError: unknown;

async function root(command: string, stdin?: string): Promise<string> {
    if (host === undefined) throw new Error(`no test host: ${String(setupError)}`);
    const result = await run(host, command, { user: "root", stdin, timeoutMs: 240_000 });
    if (result.code !== 0) throw new Error(`exit ${result.code}: ${command}\n${result.stderr}`);
    return result.stdout;
}

/** A host script as loadScript builds one: its own die/note, the inlined lock, a marked critical section. */
function probeScript(holder = false): string {
    const library = fs.readFileSync(path.join(SCRIPTS_DIR, "lib", "provision-lock.sh"), "utf8").replace(/^#!.*\n/, "");
    return `#!/bin/sh
set -eu
die() { printf 'die: %s\\n' "$*" >&2; exit 1; }
note() { printf 'note: %s\\n' "$*" >&2; }
${library}
trap release_lock EXIT
acquire_lock
${holder ? `touch ${WORK}/holder.ready\nexec sleep 600\n` : ""}if mkdir ${WORK}/inside 2>/dev/null; then
	sleep 0.05
	rmdir ${WORK}/inside
else
	echo overlap >>${WORK}/overlaps
fi
echo done >>${WORK}/done
`;
}

/** Starts RUNS probes at once (PATH as given) and reports how many finished and how many overlapped. */
async function race(pathValue: string): Promise<{ done: number; overlaps: number; failures: string }> {
    const out = await root(String.raw`
set -u
cd ${WORK}
rm -f overlaps done failures; rmdir inside 2>/dev/null || true
i=0
while [ "$i" -lt ${RUNS} ]; do
	PATH=${pathValue} /bin/sh ./probe.sh 2>>failures &
	i=$((i + 1))
done
wait
printf '%s %s\n' "$(cat done 2>/dev/null | wc -l)" "$(cat overlaps 2>/dev/null | wc -l)"
sort failures | uniq -c | head -n 5
`);
    const [counts, ...failures] = out.split("\n");
    const [done, overlaps] = counts.trim().split(/\s+/).map(Number);
    return { done, overlaps, failures: failures.join("\n").trim() };
}

describe("the provisioning lock on a test host", () => {
    before(async () => {
        if (!(await hostTierAvailability()).ok) return;
        try {
            [host] = await startHosts(1, { namePrefix: "rtest-lock" });
            await root(`rm -rf ${WORK} && mkdir -p ${WORK}/noflock && cat >${WORK}/probe.sh`, probeScript());
            await root(`cat >${WORK}/holder.sh`, probeScript(true));
            // Every tool the lock and the probe use, but no flock.
            await root(`for tool in sh cat mkdir rmdir rm sleep kill wc; do ln -sf "$(command -v $tool)" ${WORK}/noflock/$tool; done`);
        } catch (err) {
            setupError = err;
        }
    });

    after(async () => {
        if (host !== undefined) await stopHosts([host]);
    });

    test(`${RUNS} runs started at once take the lock one at a time`, async (t) => {
        if (!(await requireHostTier(t))) return;
        const result = await race("/usr/sbin:/usr/bin:/sbin:/bin");
        assert.deepEqual(result, { done: RUNS, overlaps: 0, failures: "" });
    });

    test("a stale lock left by a killed run never lets two runs in at once; without flock a run refuses clearly", async (t) => {
        if (!(await requireHostTier(t))) return;
        // What a killed run of the old fallback left: a lock directory naming a process that is gone.
        await root("mkdir -p /run/replicated-provision.lock.d && echo 999999 >/run/replicated-provision.lock.d/pid");
        try {
            const result = await race(`${WORK}/noflock`);
            assert.equal(result.overlaps, 0, `runs were inside at the same time: ${JSON.stringify(result)}`);
            assert.equal(result.done, 0, "no run went ahead without the lock");
            assert.match(result.failures, new RegExp(`${RUNS} die: flock is not installed on this host, and one provisioning run at a time needs it\\. Fix: install util-linux`));
        } finally {
            await root("rm -rf /run/replicated-provision.lock.d");
        }
    });

    test("a run killed while it holds the lock releases it at once", async (t) => {
        if (!(await requireHostTier(t))) return;
        const out = await root(String.raw`
set -eu
cd ${WORK}
rm -f holder.ready done overlaps
/bin/sh ./holder.sh </dev/null >/dev/null 2>&1 &
holder=$!
while [ ! -e holder.ready ]; do sleep 0.05; done
kill -9 "$holder"
wait "$holder" 2>/dev/null || true
timeout 20 /bin/sh ./probe.sh && cat done
`);
        assert.equal(out.trim(), "done", "the next run took the lock without waiting for a timeout");
    });

    test("a lock file that is not a regular file is refused, naming the fix", async (t) => {
        if (!(await requireHostTier(t))) return;
        await root("mv /run/replicated-provision.lock /run/replicated-provision.lock.aside 2>/dev/null || true; ln -s /etc/shadow /run/replicated-provision.lock");
        try {
            const shadow = await root("stat -c '%s %Y' /etc/shadow");
            const result = await run(host as TestHost, `/bin/sh ${WORK}/probe.sh`, { user: "root" });
            assert.equal(result.code, 1);
            assert.match(result.stderr, /\/run\/replicated-provision\.lock is not a regular file\. Fix: remove it/);
            assert.equal(await root("stat -c '%s %Y' /etc/shadow"), shadow, "/etc/shadow untouched");
        } finally {
            await root("rm -f /run/replicated-provision.lock; mv /run/replicated-provision.lock.aside /run/replicated-provision.lock 2>/dev/null || true");
        }
    });
});
