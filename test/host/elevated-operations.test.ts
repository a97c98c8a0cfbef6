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
 * - hostile arguments that bypass the TypeScript validation prove the host-side re-checks.
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
import { cannedResolver, scriptArgsOf, scriptNameOf } from "../support/canned-outputs";
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
            // prints the token to its log: the snapshot must pause it, the bundle must redact it.
            const daemon = await docker(host, [
                "run", "-d", "--name", "replicated", "-v", "/var/lib/replicated:/var/lib/replicated:ro", "--entrypoint", "/bin/busybox",
                HELPER, "sh", "-c", `echo "daemon token ${TOKEN}"; exec sleep 3600`,
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
        const common = (request: string) => ["volumes", request, STACK, HELPER, "60"];
        const cases: Array<[string, string[], number, RegExp]> = [
            ["outside the root", [...common("hostile-1"), "1", VOLUME_ROOT, "/etc/evil", "0", "0", "0777"], 2, /path \/etc\/evil is not below an allowed root/],
            ["with '..'", [...common("hostile-2"), "1", VOLUME_ROOT, `${VOLUME_ROOT}/../../etc/evil`, "0", "0", "0777"], 2, /not a clean absolute path/],
            ["a system root", [...common("hostile-3"), "1", "/etc", "/etc/evil", "0", "0", "0777"], 2, /root \/etc is a system or Replicated path/],
            ["through an absolute symlink", [...common("hostile-4"), "1", VOLUME_ROOT, `${VOLUME_ROOT}/escape/evil`, "0", "0", "0777"], 1, /escape is a symlink that leads outside the allowed root \/srv\/replicated-volumes \(to \/etc\)/],
            ["through a relative symlink", [...common("hostile-5"), "1", VOLUME_ROOT, `${VOLUME_ROOT}/relative-escape/evil`, "0", "0", "0777"], 1, /relative-escape is a symlink that leads outside/],
            ["a symlink as the volume", [...common("hostile-6"), "1", VOLUME_ROOT, `${VOLUME_ROOT}/inside-link`, "0", "0", "0777"], 1, /inside-link is a symlink; a volume must be a real directory/],
            ["an injected request id", ["volumes", "x;touch /tmp/pwned", STACK, HELPER, "60", "1", VOLUME_ROOT, `${VOLUME_ROOT}/a`, "0", "0", "0700"], 2, /invalid request id/],
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
        const seconds = (performance.now() - started) / 1000;
        console.log(`hanging operation ended after ${seconds.toFixed(1)} s (timeout 5 s)`);
        assert.equal(result.code, 124, result.stderr);
        assert.match(result.stderr, /volumes request hangs-1 timed out after 5 s; its container replicated-op-volumes-hangs-1 was killed and removed/);
        assert.ok(seconds >= 5 && seconds < 25, `ended after ${seconds} s`);
        assert.equal(await leftoverOpContainers(), "", "docker ps -a shows no operation container");
        const line = (await auditLines()).find((l) => l.request === "hangs-1");
        assert.equal(line?.result, "timeout");
        assert.equal(line?.status, 124);
        assert.equal((await root(`ls -d ${VOLUME_ROOT}/never 2>/dev/null || true`)).trim(), "", "nothing was done");
        // Not recorded as done: the next `pulumi up` may try again.
        assert.equal((await root("ls /var/lib/replicated-elevated/volumes")).split("\n").includes("hangs-1.json"), false);
    });
});
