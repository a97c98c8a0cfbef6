/**
 * Elevated operations on a real test host (its own sshd and dockerd), reached over SSH as the
 * sudo user `deploy`, exactly as remote.Command would:
 *
 * - the program runs under mocks with every remote command of the account, directories, ownership
 *   repair and the three operations executed on the host in dependency order (a `pulumi up`);
 * - a stand-in helper image named like the real one (busybox with a /bin/sh that first reports
 *   the container's uid, capabilities, no-new-privileges, network and mounts on stderr) proves
 *   the confinement from inside;
 * - a second stand-in whose /bin/sh sleeps proves the hard timeout;
 * - hostile arguments that bypass the TypeScript validation prove the host-side re-checks;
 * - an attacker that owns a directory on the way to a new volume root or snapshot destination
 *   swaps the new directory for a symlink while elevated-run works (finding 5 of issue 11);
 * - roots and destinations in trees the old deny-list let through are refused (finding 6);
 * - the daemon token, which only the containers' env holds, is redacted by value (finding 9).
 *
 * Every refusal is checked on the host itself: a fingerprint (owner, mode, size, times, link
 * target of every path in the trees an operation could touch, sha256 of /etc, /srv and /data)
 * is the same before and after.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import {
    AUDIT_LOG,
    containerName,
    elevatedRunStdin,
    operationInvocation,
    type OperationName,
    type OperationRequest,
} from "../../components/ops";
import { parseSummaryLine, remoteInvocation } from "../../components/shell";
import { CANNED_DAEMON_TOKEN, cannedResolver, scriptArgsOf, scriptNameOf } from "../support/canned-outputs";
import { recordProgram, type RecordedResource, type Recording } from "../support/mock-recorder";
import { hostTierAvailability, requireHostTier } from "../support/preflight";
import { docker, run, shQuote, startHosts, stopHosts, type RunResult, type TestHost } from "../support/testhost";

const HELPER = "quay.io/replicated/replicated-helper:stable-2.53.2";
const HANGING_HELPER = "example.test/replicated-helper:hangs";
const STACK = "dev";
const VOLUME_ROOT = "/srv/replicated-volumes";
const SNAPSHOT_DIR = "/srv/replicated-snapshots";
const TOKEN = `tok${randomBytes(16).toString("hex")}`;
const ROOT_ONLY_MARKER = `root-only-${randomBytes(8).toString("hex")}`;
const REQUESTS = { bundle: "bundle-1", volumes: "volumes-1", snapshot: "snapshot-1" } as const;
/** Scripts the program runs on the host; the rest (image pulls) stay canned. */
const RUN_ON_HOST = new Set(["account", "directories", "repair-ownership", "elevated-run"]);

/** CapEff bits: CHOWN 0, DAC_OVERRIDE 1, DAC_READ_SEARCH 2, FOWNER 3. */
const CAP_EFF: Record<OperationName, string> = {
    "support-bundle": "0000000000000003",
    volumes: "000000000000000b",
    snapshot: "000000000000000b",
};

let host: TestHost | undefined;
let recording: Recording | undefined;
let setupError: unknown;

async function root(script: string): Promise<string> {
    const result = await run(requireHost(), script, { user: "root" });
    if (result.code !== 0) {
        throw new Error(`host command failed (exit ${result.code}): ${script}\n${result.stderr}`);
    }
    return result.stdout;
}

function requireHost(): TestHost {
    if (host === undefined) {
        throw new Error(`no test host: ${setupError instanceof Error ? setupError.message : String(setupError)}`);
    }
    return host;
}

function requireRecording(): Recording {
    if (recording === undefined) {
        throw setupError instanceof Error ? setupError : new Error(String(setupError));
    }
    return recording;
}

/** Runs an invocation as the sudo user, the way remote.Command runs `create` with `stdin`. */
function runInvocation(invocation: { command: string; stdin: string }): Promise<RunResult> {
    return run(requireHost(), invocation.command, { user: "deploy", stdin: invocation.stdin, timeoutMs: 180_000 });
}

/** elevated-run with arguments that skip the TypeScript validation (hostile input). */
function runRaw(operation: OperationName, args: string[]): Promise<RunResult> {
    const { command } = remoteInvocation("", args, "sudo");
    return runInvocation({ command, stdin: elevatedRunStdin(operation) });
}

/** The arguments elevated-run takes before the operation's own: the default data prefixes, no pin. */
function hostArgs(operation: OperationName, request: string, ...rest: string[]): string[] {
    return [operation, request, STACK, HELPER, "60", "-", "/srv:/data", ...rest];
}

/**
 * What an operation could have changed, as text: owner, mode, size, mtime, ctime and link target
 * of every path below the trees a root operation may touch (the audit log excepted, which every
 * run appends to), and the sha256 of every file in /etc, /srv and /data.
 */
async function fingerprint(): Promise<string> {
    return root(String.raw`
set -eu
for tree in /etc /srv /data /opt /home /root /var/lib /var/spool /var/backups /var/cache /var/tmp /var/log; do
	[ -e "$tree" ] || continue
	find "$tree" -xdev \( -path /var/lib/docker -o -path /var/lib/containerd -o -path /var/log/replicated -o -path /var/log/journal -o -path /var/log/dockerd.log -o -path /var/log/wtmp -o -path /var/log/btmp -o -path /var/log/lastlog \) -prune -o -printf '%p %U:%G %m %s %T@ %C@ %l\n'
done | LC_ALL=C sort
for tree in /etc /srv /data; do [ -e "$tree" ] && find "$tree" -xdev -type f -exec sha256sum {} +; done | LC_ALL=C sort
`);
}

/** Lines that differ between two fingerprints, for a readable failure. */
function changedLines(before: string, after: string): string[] {
    const a = new Set(before.split("\n"));
    const b = new Set(after.split("\n"));
    return [...[...a].filter((l) => !b.has(l)).map((l) => `- ${l}`), ...[...b].filter((l) => !a.has(l)).map((l) => `+ ${l}`)];
}

async function auditLines(): Promise<Array<Record<string, unknown>>> {
    const text = await root(`cat ${AUDIT_LOG}`);
    return text
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line) as Record<string, unknown>);
}

async function leftoverOpContainers(): Promise<string> {
    const result = await docker(requireHost(), ["ps", "-a", "--filter", "name=replicated-op-", "--format", "{{.Names}}"]);
    assert.equal(result.code, 0, result.stderr);
    return result.stdout.trim();
}

/**
 * Stand-in helper images: busybox and its applets. `/bin/sh` of the probe reports what the
 * container really got, then behaves as sh; `/bin/sh` of the hanging one never returns.
 */
const BUILD_STANDINS = String.raw`
set -eu
build() {
	dir=$(mktemp -d)
	mkdir -p "$dir/bin" "$dir/tmp" "$dir/etc"
	cp /bin/busybox "$dir/bin/busybox"
	for applet in $(/bin/busybox --list); do
		case $applet in busybox | sh) ;; *) ln -s busybox "$dir/bin/$applet" ;; esac
	done
	printf '%s\n' "$2" >"$dir/bin/sh"
	chmod 0755 "$dir/bin/sh"
	tar -C "$dir" -c . | docker import - "$1" >/dev/null
	rm -rf "$dir"
}
build "$1" "$2"
build "$3" "$4"
`;
const PROBE_SH = String.raw`#!/bin/busybox sh
{
	grep -E '^(Uid|CapEff|NoNewPrivs):' /proc/self/status | tr -s '\t' ' ' | sed 's/^/probe /'
	printf 'probe net: %s\n' "$(ls /sys/class/net | tr '\n' ' ')"
	awk '$5 ~ /^\/(host|state|source|srv)/ { split($6, o, ","); print "probe mount:", $5, o[1] }' /proc/self/mountinfo
} >&2
exec /bin/busybox sh "$@"`;
const HANG_SH = `#!/bin/busybox sh
exec /bin/busybox sleep 3600`;

/**
 * The attacker of finding 5 (python3 on the test host, started as root, running as UID): owner
 * of the parent, it swaps TARGET for a symlink to VICTIM the moment elevated-run created it,
 * until STATE.stop appears (at most 60 s), then writes how many swaps it made to STATE.swaps.
 * STATE.ready tells the test it is running.
 */
const SWAPPER_PY = String.raw`
import os, sys, time
uid, target, victim, state = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
os.setgroups([]); os.setgid(uid); os.setuid(uid)
parent, n, swaps, end = os.path.dirname(target), 0, 0, time.time() + 60
open(state + ".ready", "w").close()
while time.time() < end and not os.path.exists(state + ".stop"):
    try:
        if os.path.isdir(target) and not os.path.islink(target):
            os.rename(target, "%s/.moved-%d" % (parent, n)); n += 1
            os.symlink(victim, target); swaps += 1
    except OSError:
        pass
with open(state + ".swaps", "w") as out:
    out.write(str(swaps))
`;

/** Host state before the first `pulumi up`: an env file with the token, root-only logs, some state. */
const PREPARE_HOST = String.raw`
set -eu
token=$1
marker=$2
install -d -m 0755 /etc/default
printf 'DAEMON_TOKEN=%s\nLOG_LEVEL=info\nRELEASE_CHANNEL=stable\n' "$token" >/etc/default/replicated
chmod 0600 /etc/default/replicated
printf '2026-11-28 secret line %s\n' "$marker" >/var/log/root-only.log
chmod 0600 /var/log/root-only.log
printf 'replicated connected with token %s\nREGISTRY_PASSWORD=hunter2hunter2\n' "$token" >/var/log/replicated-daemon.log
cat >/var/log/shapes.log <<'SHAPES'
{"msg":"config","body":"{\"password\":\"shapeJsonA1\\\"shapeJsonA2\"}"}
db: {host: keephost, password: shapeFlowB1, port: 5432}
DATABASE_URL=postgres://keepuser:shapeUrlC1@db.example:5432/app
Authorization: shapeAuthD1
Cookie: session=shapeCookieE1; theme=dark
X-Api-Key: shapeKeyF1
shapePemG1AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
shapePemG2BBBBBBBBBBBBBBBBBBBB==
-----END RSA PRIVATE KEY-----
SHAPES
chmod 0640 /var/log/replicated-daemon.log
install -d -m 0755 /var/lib/replicated /var/lib/replicated/db
install -d -m 0700 /var/lib/replicated/db/keys
head -c 200000 /dev/urandom >/var/lib/replicated/db/replicated.db
printf '{"state":"ok"}\n' >"/var/lib/replicated/db/app state.json"
printf 'private\n' >/var/lib/replicated/db/keys/signing
chmod 0600 /var/lib/replicated/db/replicated.db /var/lib/replicated/db/keys/signing
ln -s db/replicated.db /var/lib/replicated/current
`;

function programConfig(testHost: TestHost): Record<string, unknown> {
    return {
        version: "2.53.2",
        channel: "stable",
        runAs: "replicated",
        sshPrivateKeyPath: testHost.privateKeyPath,
        hosts: [
            {
                name: "ops-host",
                address: testHost.address,
                port: testHost.sshPort,
                user: testHost.users.sudo,
                become: "sudo",
                role: "primary",
                privateAddress: testHost.privateAddress,
                hostKey: testHost.hostKey,
            },
        ],
        volumeRoots: [VOLUME_ROOT],
        operations: {
            timeoutSeconds: 120,
            supportBundle: { request: REQUESTS.bundle },
            volumes: { request: REQUESTS.volumes, items: [{ path: `${VOLUME_ROOT}/app-data`, owner: 1234, group: 1234, mode: "0700" }] },
            snapshot: { request: REQUESTS.snapshot, destination: SNAPSHOT_DIR },
        },
    };
}

/** Runs a recorded remote command on the host, or fails like `pulumi up` would. */
async function resolveOnHost(resource: RecordedResource): Promise<Record<string, unknown> | undefined> {
    const script = scriptNameOf(resource);
    if (resource.type !== "command:remote:Command" || script === undefined || !RUN_ON_HOST.has(script)) {
        return cannedResolver(resource);
    }
    const result = await run(requireHost(), String(resource.inputs.create), {
        user: "deploy",
        stdin: String(resource.inputs.stdin ?? ""),
        timeoutMs: 300_000,
    });
    if (result.code !== 0) {
        throw new Error(`${resource.name} (${script}) failed with exit ${result.code}:\n${result.stderr}`);
    }
    return { stdout: result.stdout, stderr: result.stderr };
}

function opCommand(operation: OperationName): RecordedResource {
    return requireRecording().find("command:remote:Command", `ops-host-op-${operation}-run`);
}

function probeLines(stderr: string): string[] {
    return stderr.split("\n").filter((line) => line.startsWith("probe "));
}

async function serviceIds(): Promise<{ uid: string; gid: string }> {
    const [uid, gid] = (await root("id -u replicated; getent group docker | cut -d: -f3")).trim().split("\n");
    return { uid, gid };
}

describe("elevated operations on a test host", () => {
    before(async () => {
        if (!(await hostTierAvailability()).ok) {
            return;
        }
        try {
            [host] = await startHosts(1, { namePrefix: "rtest-ops" });
            const built = await run(host, `sh -s -- ${[HELPER, PROBE_SH, HANGING_HELPER, HANG_SH].map(shQuote).join(" ")}`, {
                user: "root",
                stdin: BUILD_STANDINS,
            });
            assert.equal(built.code, 0, built.stderr);
            await root(`sh -s -- ${shQuote(TOKEN)} ${shQuote(ROOT_ONLY_MARKER)} <<'EOF'\n${PREPARE_HOST}\nEOF`);
            // A stand-in daemon that mounts the state (read-only, so the state stays still) and
            // prints the tokens to its log: the snapshot must pause it, the bundle must redact
            // them. The program's generated token (the canned one under mocks) is in its env only,
            // as in a real install: no file on the host holds it.
            const daemon = await docker(host, [
                "run", "-d", "--name", "replicated", "-v", "/var/lib/replicated:/var/lib/replicated:ro", "--entrypoint", "/bin/busybox",
                "-e", `DAEMON_TOKEN=${CANNED_DAEMON_TOKEN}`,
                HELPER, "sh", "-c", `echo "daemon token ${TOKEN}"; echo "operator joined with $DAEMON_TOKEN"; exec sleep 3600`,
            ]);
            assert.equal(daemon.code, 0, daemon.stderr);
            const started = performance.now();
            recording = await recordProgram({ stack: STACK, config: programConfig(host), resolve: resolveOnHost });
            console.log(`program run (account, directories, repair, 3 operations) on the host: ${((performance.now() - started) / 1000).toFixed(1)} s`);
        } catch (err) {
            setupError = err;
        }
    });

    after(async () => {
        if (host !== undefined) {
            await stopHosts([host]);
        }
    });

    test("every operation ran once, in a confined root container, and left no container behind", async (t) => {
        if (!(await requireHostTier(t))) return;
        requireRecording();
        for (const operation of ["support-bundle", "volumes", "snapshot"] as const) {
            const cmd = opCommand(operation);
            const summary = parseSummaryLine(String(cmd.state.stdout));
            assert.equal(summary.operation, operation);
            assert.equal(summary.changed === 0, false, `${operation} changed something on a fresh host`);
            const probe = probeLines(String(cmd.state.stderr));
            assert.ok(probe.includes("probe Uid: 0 0 0 0"), `${operation} runs as uid 0: ${probe.join(" | ")}`);
            assert.ok(probe.includes(`probe CapEff: ${CAP_EFF[operation]}`), `${operation} has exactly its capabilities: ${probe.join(" | ")}`);
            assert.ok(probe.includes("probe NoNewPrivs: 1"), `${operation}: no-new-privileges`);
            assert.ok(probe.includes("probe net: lo "), `${operation}: no network but loopback: ${probe.join(" | ")}`);
        }
        assert.deepEqual(
            probeLines(String(opCommand("support-bundle").state.stderr)).filter((l) => l.startsWith("probe mount:")).sort(),
            [
                "probe mount: /host/collected ro",
                "probe mount: /host/etc/default/replicated ro",
                "probe mount: /host/var/log ro",
                "probe mount: /state rw",
            ],
        );
        assert.deepEqual(
            probeLines(String(opCommand("snapshot").state.stderr)).filter((l) => l.startsWith("probe mount:")).sort(),
            ["probe mount: /source ro", `probe mount: ${SNAPSHOT_DIR} rw`],
        );
        assert.deepEqual(
            probeLines(String(opCommand("volumes").state.stderr)).filter((l) => l.startsWith("probe mount:")),
            [`probe mount: ${VOLUME_ROOT} rw`],
        );
        assert.equal(await leftoverOpContainers(), "", "docker ps -a shows no operation container");
    });

    test("the support bundle holds the root-only log, belongs to the service user (0640) and holds no token", async (t) => {
        if (!(await requireHostTier(t))) return;
        const summary = parseSummaryLine(String(opCommand("support-bundle").state.stdout));
        const bundle = `/var/lib/replicated/support-bundles/${REQUESTS.bundle}.tar.gz`;
        assert.equal(summary.path, bundle);
        const { uid, gid } = await serviceIds();
        assert.equal((await root(`stat -c '%u %g %a' ${bundle}`)).trim(), `${uid} ${gid} 640`);
        assert.equal((await root(`sha256sum ${bundle} | cut -d' ' -f1`)).trim(), summary.sha256);
        // Unpack as the service user: the owner can read it.
        const listing = await run(requireHost(), `d=$(mktemp -d) && tar -C "$d" -xzf ${bundle} && cd "$d/${REQUESTS.bundle}" && find . -type f | sort && echo ---- && cat var/log/root-only.log etc/default/replicated var/log/replicated-daemon.log host/docker-logs/replicated.log && echo ---- && zcat ${bundle} | grep -c -F ${shQuote(TOKEN)} || true`, { user: "root" });
        assert.equal(listing.code, 0, listing.stderr);
        const [files, contents, tokenCount] = listing.stdout.split("----\n");
        for (const expected of ["./README.txt", "./var/log/root-only.log", "./etc/default/replicated", "./host/docker-info.txt", "./host/docker-ps.txt", "./host/docker-logs/replicated.log", "./host/journal.txt"]) {
            assert.ok(files.split("\n").includes(expected), `${expected} in the bundle:\n${files}`);
        }
        assert.match(contents, new RegExp(`secret line ${ROOT_ONLY_MARKER}`), "the 0600 root-only log is collected");
        assert.match(contents, /DAEMON_TOKEN=<redacted>\nLOG_LEVEL=info/, "the env file's token value is redacted, the rest kept");
        assert.match(contents, /replicated connected with token <redacted>/, "the token is redacted where it appears without a name");
        assert.match(contents, /REGISTRY_PASSWORD=<redacted>/);
        assert.match(contents, /daemon token <redacted>/, "the container log is redacted too");
        assert.equal(tokenCount.trim(), "0", "the token occurs nowhere in the archive");
        assert.ok(!contents.includes("hunter2hunter2"));
    });

    test("the generated daemon token, in no file on the host, is redacted by value; so are the shapes that leaked", async (t) => {
        if (!(await requireHostTier(t))) return;
        const cmd = opCommand("support-bundle");
        assert.ok(!String(cmd.inputs.create).includes(CANNED_DAEMON_TOKEN), "the token is not on the command line");
        assert.ok(String(cmd.inputs.stdin).includes(CANNED_DAEMON_TOKEN) && cmd.secretPaths.includes("stdin"), "it is on stdin, a Pulumi secret");
        assert.equal((await root(`grep -rlF ${shQuote(CANNED_DAEMON_TOKEN)} /etc /var/log /var/lib/replicated 2>/dev/null || true`)).trim(), "", "no file on the host holds it");
        const bundle = `/var/lib/replicated/support-bundles/${REQUESTS.bundle}.tar.gz`;
        const text = await root(`d=$(mktemp -d) && tar -C "$d" -xzf ${bundle} && cat "$d/${REQUESTS.bundle}/host/docker-logs/replicated.log" "$d/${REQUESTS.bundle}/var/log/shapes.log" && rm -rf "$d"`);
        assert.match(text, /operator joined with <redacted>/, "the container log line is kept, the token redacted");
        assert.equal((await root(`zcat ${bundle} | grep -c -F ${shQuote(CANNED_DAEMON_TOKEN)} || true`)).trim(), "0", "the generated token occurs nowhere in the archive");
        for (const marker of ["shapeJsonA1", "shapeJsonA2", "shapeFlowB1", "shapeUrlC1", "shapeAuthD1", "shapeCookieE1", "shapeKeyF1", "shapePemG1", "shapePemG2"]) {
            assert.ok(!text.includes(marker), `${marker} leaked:\n${text}`);
        }
        for (const kept of ["db: {host: keephost, password: <redacted>, port: 5432}", "postgres://keepuser:<redacted>@db.example:5432/app"]) {
            assert.ok(text.includes(kept), `${kept} is kept:\n${text}`);
        }
        assert.ok(Number(parseSummaryLine(String(cmd.state.stdout)).secretValues) >= 2, "the passed token and the env file's are both counted");
    });

    test("every run appends one audit line to a root-only log", async (t) => {
        if (!(await requireHostTier(t))) return;
        assert.equal((await root(`stat -c '%U %G %a' /var/log/replicated ${AUDIT_LOG}`)).trim(), "root root 750\nroot root 640");
        const lines = await auditLines();
        for (const [operation, request] of [["support-bundle", REQUESTS.bundle], ["volumes", REQUESTS.volumes], ["snapshot", REQUESTS.snapshot]]) {
            const matching = lines.filter((line) => line.operation === operation && line.request === request);
            assert.equal(matching.length, 1, `one audit line for ${operation} ${request}: ${JSON.stringify(lines)}`);
            const [line] = matching;
            assert.equal(line.stack, STACK);
            assert.equal(line.status, 0);
            assert.equal(line.result, "ok");
            assert.equal(line.container, containerName(operation as OperationName, request));
            assert.equal(typeof line.durationSeconds, "number");
            assert.match(String(line.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
        }
    });

    test("a volume gets exactly owner 1234 and mode 0700; running again changes nothing", async (t) => {
        if (!(await requireHostTier(t))) return;
        const volume = `${VOLUME_ROOT}/app-data`;
        const before = (await root(`stat -c '%u %g %a %Z' ${volume}`)).trim();
        assert.match(before, /^1234 1234 700 /);
        const summary = parseSummaryLine(String(opCommand("volumes").state.stdout));
        assert.deepEqual(summary.paths, [volume]);
        // A new request id with the same volumes: the script runs, finds everything converged.
        const again = await runInvocation(
            operationInvocation(
                { operation: "volumes", request: "volumes-2", roots: [VOLUME_ROOT], items: [{ path: volume, owner: 1234, group: 1234, mode: "0700" }] },
                { stack: STACK, helperImage: HELPER, timeoutSeconds: 60 },
                "sudo",
            ),
        );
        assert.equal(again.code, 0, again.stderr);
        const second = parseSummaryLine(again.stdout);
        assert.equal(second.changed, 0, again.stdout);
        assert.equal(second.alreadyDone, undefined, "it really ran");
        assert.equal((await root(`stat -c '%u %g %a %Z' ${volume}`)).trim(), before, "owner, mode and ctime untouched");
    });

    test("a path outside the root, '..', or a symlink leading outside is refused on the host", async (t) => {
        if (!(await requireHostTier(t))) return;
        await root(`ln -sfn /etc ${VOLUME_ROOT}/escape && ln -sfn ../../../etc ${VOLUME_ROOT}/relative-escape && mkdir -p ${VOLUME_ROOT}/real && ln -sfn ${VOLUME_ROOT}/real ${VOLUME_ROOT}/inside-link`);
        const common = (request: string) => hostArgs("volumes", request);
        const cases: Array<[string, string[], number, RegExp]> = [
            ["outside the root", [...common("hostile-1"), "1", VOLUME_ROOT, "/etc/evil", "0", "0", "0777"], 2, /path \/etc\/evil is not below an allowed root/],
            ["with '..'", [...common("hostile-2"), "1", VOLUME_ROOT, `${VOLUME_ROOT}/../../etc/evil`, "0", "0", "0777"], 2, /not a clean absolute path/],
            ["a system root", [...common("hostile-3"), "1", "/etc", "/etc/evil", "0", "0", "0777"], 2, /root \/etc is a system or Replicated path/],
            ["through an absolute symlink", [...common("hostile-4"), "1", VOLUME_ROOT, `${VOLUME_ROOT}/escape/evil`, "0", "0", "0777"], 1, /escape is a symlink that leads outside the allowed root \/srv\/replicated-volumes \(to \/etc\)/],
            ["through a relative symlink", [...common("hostile-5"), "1", VOLUME_ROOT, `${VOLUME_ROOT}/relative-escape/evil`, "0", "0", "0777"], 1, /relative-escape is a symlink that leads outside/],
            ["a symlink as the volume", [...common("hostile-6"), "1", VOLUME_ROOT, `${VOLUME_ROOT}/inside-link`, "0", "0", "0777"], 1, /inside-link is a symlink; a volume must be a real directory/],
            ["an injected request id", hostArgs("volumes", "x;touch /tmp/pwned", "1", VOLUME_ROOT, `${VOLUME_ROOT}/a`, "0", "0", "0700"), 2, /invalid request id/],
        ];
        for (const [what, args, code, message] of cases) {
            const result = await runRaw("volumes", args);
            assert.equal(result.code, code, `${what}: exit ${result.code}\n${result.stderr}`);
            assert.match(result.stderr, message, what);
        }
        assert.equal((await root("ls -d /etc/evil /tmp/pwned 2>/dev/null || true")).trim(), "", "nothing was created outside the root");
        assert.equal((await root(`stat -c '%U %a' /etc`)).trim(), "root 755", "/etc untouched");
        assert.equal(await leftoverOpContainers(), "");
        const refused = (await auditLines()).filter((line) => String(line.request).startsWith("hostile-"));
        assert.deepEqual(refused.map((line) => line.result), ["refused", "refused", "refused", "failed", "failed", "failed"], "each refusal is audited too");
    });

    test("a snapshot matches the source checksum for checksum, and the daemon was paused only meanwhile", async (t) => {
        if (!(await requireHostTier(t))) return;
        const cmd = opCommand("snapshot");
        const summary = parseSummaryLine(String(cmd.state.stdout));
        const target = `${SNAPSHOT_DIR}/${REQUESTS.snapshot}`;
        assert.equal(summary.path, target);
        assert.equal(summary.verified, true);
        const source = await root("cd /var/lib/replicated && find . -path ./support-bundles -prune -o -type f -exec sha256sum {} + | LC_ALL=C sort -k 2");
        const manifest = await root(`cat ${target}/SHA256SUMS`);
        assert.equal(manifest, source, "SHA256SUMS lists exactly the source's files and checksums");
        assert.ok(source.includes("./db/replicated.db") && source.includes("./db/keys/signing") && source.includes("./db/app state.json"), source);
        const verify = await run(requireHost(), `cd ${target} && sha256sum -c SHA256SUMS`, { user: "root" });
        assert.equal(verify.code, 0, verify.stdout + verify.stderr);
        const { uid, gid } = await serviceIds();
        assert.equal((await root(`stat -c '%u %g %a' ${target} ${target}/db/keys/signing`)).trim(), `${uid} ${gid} 750\n${uid} ${gid} 600`, "owned by the service user, modes kept");
        assert.equal((await root(`readlink ${target}/current`)).trim(), "db/replicated.db", "symlinks copied as links");
        assert.equal(summary.sha256, (await root(`sha256sum ${target}/SHA256SUMS | cut -d' ' -f1`)).trim());
        assert.match(String(cmd.state.stderr), /paused container [0-9a-f]+ during the snapshot/);
        const state = await docker(requireHost(), ["inspect", "--format", "{{.State.Running}} {{.State.Paused}}", "replicated"]);
        assert.equal(state.stdout.trim(), "true false", "the daemon runs again, unpaused");
    });

    test("the same request id runs nothing again: the host keeps a record per request", async (t) => {
        if (!(await requireHostTier(t))) return;
        const bundle = `/var/lib/replicated/support-bundles/${REQUESTS.bundle}.tar.gz`;
        const mtime = (await root(`stat -c %Y ${bundle}`)).trim();
        const linesBefore = (await auditLines()).length;
        const hostBefore = await fingerprint();
        for (const operation of ["support-bundle", "volumes", "snapshot"] as const) {
            // Exactly what remote.Command would run if an unrelated input change re-ran `create`.
            const cmd = opCommand(operation);
            const result = await runInvocation({ command: String(cmd.inputs.create), stdin: String(cmd.inputs.stdin) });
            assert.equal(result.code, 0, result.stderr);
            const summary = parseSummaryLine(result.stdout);
            assert.equal(summary.changed, 0, `${operation}: ${result.stdout}`);
            assert.equal(summary.alreadyDone, true);
            assert.equal(summary.request, scriptArgsOf(cmd)[1]);
            assert.match(result.stderr, /already ran on .*nothing to do/);
            assert.equal(probeLines(result.stderr).length, 0, `${operation}: no container was started`);
        }
        assert.equal((await root(`stat -c %Y ${bundle}`)).trim(), mtime, "the bundle was not rewritten");
        assert.deepEqual(changedLines(hostBefore, await fingerprint()), [], "the second run changed nothing on the host");
        const lines = (await auditLines()).slice(linesBefore);
        assert.deepEqual(lines.map((line) => line.result), ["already-done", "already-done", "already-done"]);
        assert.equal((await root("stat -c '%U %a' /var/lib/replicated-elevated")).trim(), "root 700");
    });

    test("an operation that hangs is killed at the timeout, its container removed, and the error says so", async (t) => {
        if (!(await requireHostTier(t))) return;
        const request: OperationRequest = {
            operation: "volumes",
            request: "hangs-1",
            roots: [VOLUME_ROOT],
            items: [{ path: `${VOLUME_ROOT}/never`, owner: 1, group: 1, mode: "0700" }],
        };
        const started = performance.now();
        const result = await runInvocation(operationInvocation(request, { stack: STACK, helperImage: HANGING_HELPER, timeoutSeconds: 5 }, "sudo"));
        console.log(`hanging operation ended after ${((performance.now() - started) / 1000).toFixed(1)} s (timeout 5 s)`);
        assert.equal(result.code, 124, result.stderr);
        assert.match(result.stderr, /volumes request hangs-1 timed out after 5 s; its container replicated-op-volumes-hangs-1 was killed and removed/);
        assert.equal(await leftoverOpContainers(), "", "docker ps -a shows no operation container");
        const line = (await auditLines()).find((l) => l.request === "hangs-1");
        assert.equal(line?.result, "timeout");
        assert.equal(line?.status, 124);
        assert.equal((await root(`ls -d ${VOLUME_ROOT}/never 2>/dev/null || true`)).trim(), "", "nothing was done");
        // Not recorded as done: the next `pulumi up` may try again.
        assert.equal((await root("ls /var/lib/replicated-elevated/volumes")).split("\n").includes("hangs-1.json"), false);
    });
    test("roots and destinations in trees the old deny-list let through are refused on the host; nothing changes", async (t) => {
        if (!(await requireHostTier(t))) return;
        await root("mkdir -p /var/spool/cron /var/lib/dpkg /var/lib/sudo /var/cache /var/backups && ls -ld /var/lock");
        const before = await fingerprint();
        const roots = ["/var/spool/cron", "/var/lib/dpkg", "/var/lib/sudo", "/var/cache", "/var/backups", "/var/lock", "/opt/replicated-volumes"];
        for (const [index, volumeRoot] of roots.entries()) {
            const volumes = await runRaw("volumes", hostArgs("volumes", `deny-v${index}`, "1", volumeRoot, `${volumeRoot}/replicated-app`, "4242", "4242", "0777"));
            assert.equal(volumes.code, 2, `${volumeRoot}: exit ${volumes.code}\n${volumes.stderr}`);
            assert.match(volumes.stderr, new RegExp(`root ${volumeRoot} is not below a data prefix \\(/srv /data\\)\\. Fix: .*replicated:dataPrefixes`));
            const snapshot = await runRaw("snapshot", hostArgs("snapshot", `deny-s${index}`, `${volumeRoot}/replicated-snapshots`, "4242", "4242"));
            assert.equal(snapshot.code, 2, `${volumeRoot}: exit ${snapshot.code}\n${snapshot.stderr}`);
            assert.match(snapshot.stderr, /is not below a data prefix/);
        }
        const wide = await runRaw("volumes", hostArgs("volumes", "deny-wide", "1", "/var/spool/cron", "/var/spool/cron/x", "0", "0", "0700").map((arg) => (arg === "/srv:/data" ? "/var:/srv" : arg)));
        assert.equal(wide.code, 2);
        assert.match(wide.stderr, /data prefix \/var is a system or Replicated path \(replicated:dataPrefixes\)/);
        assert.deepEqual(changedLines(before, await fingerprint()), [], "nothing changed on the host");
        assert.equal(await leftoverOpContainers(), "");
        // An operator who wants such a tree says so explicitly, in replicated:dataPrefixes.
        const prefix = await runRaw("volumes", hostArgs("volumes", "deny-prefix", "1", "/var/spool/cron", "/var/spool/cron/x", "0", "0", "0700").map((arg) => (arg === "/srv:/data" ? "/var/spool:/srv" : arg)));
        assert.equal(prefix.code, 0, `an operator may extend the prefixes: ${prefix.stderr}`);
        await root("rmdir /var/spool/cron/x");
    });

    test("a directory on the way that another user could change is refused before anything is created; nothing changes", async (t) => {
        if (!(await requireHostTier(t))) return;
        await root(String.raw`
set -e
install -d -o 4242 -g 4242 -m 0755 /srv/user-owned
install -d -m 0775 /srv/group-writable
install -d -m 1777 /srv/world-writable
install -d -m 0755 /srv/real-target
ln -sfn /srv/real-target /srv/symlinked
ln -sfn /etc /data 2>/dev/null || true
`);
        const before = await fingerprint();
        const cases: Array<[string, RegExp]> = [
            ["/srv/user-owned/volumes", /\/srv\/user-owned is owned by uid 4242, not root, so that user could swap what lies below it\. Fix: chown root:root \/srv\/user-owned/],
            ["/srv/group-writable/volumes", /\/srv\/group-writable is writable by group 0 \(mode 775\).*Fix: chmod g-w \/srv\/group-writable/],
            ["/srv/world-writable/volumes", /\/srv\/world-writable is writable by every user \(mode 1777\).*Fix: chmod o-w/],
            ["/srv/symlinked/volumes", /\/srv\/symlinked is a symlink; a root operation never follows one/],
            ["/data/volumes", /\/data is a symlink; a root operation never follows one/],
        ];
        for (const [index, [target, message]] of cases.entries()) {
            const volumes = await runRaw("volumes", hostArgs("volumes", `parent-v${index}`, "1", target, `${target}/app`, "0", "0", "0700"));
            assert.equal(volumes.code, 2, `${target}: exit ${volumes.code}\n${volumes.stderr}`);
            assert.match(volumes.stderr, message, target);
            const snapshot = await runRaw("snapshot", hostArgs("snapshot", `parent-s${index}`, target, "4242", "4242"));
            assert.equal(snapshot.code, 2, `${target}: exit ${snapshot.code}\n${snapshot.stderr}`);
            assert.match(snapshot.stderr, message, target);
        }
        assert.deepEqual(changedLines(before, await fingerprint()), [], "nothing changed on the host");
        await root("rm -f /data && rm -rf /srv/user-owned /srv/group-writable /srv/world-writable /srv/real-target /srv/symlinked");
        // The audit directory itself swapped for a symlink: nothing runs.
        await root("mv /var/log/replicated /var/log/replicated.real && ln -s /etc /var/log/replicated");
        try {
            const audit = await runRaw("volumes", hostArgs("volumes", "audit-link", "1", VOLUME_ROOT, `${VOLUME_ROOT}/audit-link`, "0", "0", "0700"));
            assert.equal(audit.code, 1, audit.stderr);
            assert.match(audit.stderr, /\/var\/log\/replicated is a symlink; a root operation never follows one.*refusing to run without the audit log/s);
            assert.equal((await root(`ls -d ${VOLUME_ROOT}/audit-link /etc/elevated.log 2>/dev/null || true`)).trim(), "", "nothing ran, nothing written through the link");
        } finally {
            await root("rm /var/log/replicated && mv /var/log/replicated.real /var/log/replicated");
        }
    });

    test("an attacker who owns a parent and swaps the new directory for a symlink gains nothing (seeded rounds)", async (t) => {
        if (!(await requireHostTier(t))) return;
        const rounds = Number(process.env.ELEVATED_ATTACK_ROUNDS ?? 10);
        const wins: string[] = [];
        const unexpected: string[] = [];
        for (let round = 0; round < rounds; round++) {
            for (const operation of ["snapshot", "volumes"] as const) {
                const seed = randomBytes(4).toString("hex");
                const parent = `/srv/attack-${seed}`;
                const target = `${parent}/${operation === "snapshot" ? "snapshots" : "volumes"}`;
                const victim = `/etc/victim-${seed}`;
                console.log(`attack round ${round} ${operation} seed ${seed}`);
                await root(`install -d -o 4242 -g 4242 -m 0755 ${parent} && printf 'victim %s\\n' ${seed} >${victim} && chmod 0600 ${victim}`);
                const victimBefore = await root(`stat -c '%u:%g %a %s' ${victim} /etc/shadow /etc/passwd /etc && sha256sum ${victim} /etc/shadow /etc/passwd`);
                const state = `/tmp/swapper-${seed}`;
                await root(`install -d -o 4242 -m 0700 ${state}.d; nohup python3 -c ${shQuote(SWAPPER_PY)} 4242 ${target} ${victim} ${state}.d/s </dev/null >/dev/null 2>&1 & while [ ! -e ${state}.d/s.ready ]; do sleep 0.05; done`);
                const args =
                    operation === "snapshot"
                        ? hostArgs("snapshot", `attack-${seed}`, target, "4242", "4242")
                        : hostArgs("volumes", `attack-${seed}`, "1", target, `${target}/app`, "4242", "4242", "0700");
                const result = await runRaw(operation, args);
                const swaps = (await root(`touch ${state}.d/s.stop && while [ ! -e ${state}.d/s.swaps ]; do sleep 0.05; done; cat ${state}.d/s.swaps; rm -rf ${state}.d`)).trim();
                const victimAfter = await root(`stat -c '%u:%g %a %s' ${victim} /etc/shadow /etc/passwd /etc && sha256sum ${victim} /etc/shadow /etc/passwd`);
                if (victimAfter !== victimBefore) {
                    wins.push(`${operation} seed ${seed}: ${victimBefore.split("\n")[0]} -> ${victimAfter.split("\n")[0]} (swaps ${swaps})`);
                }
                if (result.code !== 2 || !result.stderr.includes(`${parent} is owned by uid 4242, not root`)) {
                    unexpected.push(`${operation} seed ${seed}: exit ${result.code}: ${result.stderr.trim()}`);
                }
                await root(`rm -rf ${parent} ${victim}`);
            }
        }
        console.log(`attacker wins: ${wins.length} of ${2 * rounds} rounds`);
        assert.deepEqual(wins, [], "the attacker never changed /etc, /etc/shadow, /etc/passwd or the victim file");
        assert.deepEqual(unexpected, [], "every round was refused before anything was created, naming the untrusted parent");
    });
});
