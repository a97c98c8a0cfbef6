/**
 * Engine tier: application containers with a custom user, on a real test host.
 *
 * One test host. Stand-ins for the Replicated images and three tiny application images (busybox
 * plus /app/run.sh, which reports who it runs as and whether it can write its volume) are built
 * on the host, saved as air-gap tarballs and removed. The program is then applied three times,
 * each time in a fresh process (Pulumi's runtime is per process; this file is also that
 * process's entry point):
 *
 * 1. create: every remote command runs over SSH (host-runner), docker resources are created on
 *    the host's engine from their recorded inputs (container-runner);
 * 2. again, same config: every remote command runs again (they must be idempotent), the
 *    containers and the network are only looked up; every recorded input must equal apply 1's,
 *    so `pulumi up` would change nothing;
 * 3. one volume's mode changed: a new request id, the volumes run applies it once, and no
 *    container is recreated.
 *
 * Applications: `app-explicit` (user "1234:1234", volume owned by its ids), `app-imageuser`
 * (user image, the image says USER 4321:4321), `app-imageroot` (user image, no USER: root), and
 * `app-service` (user service).
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { after, before, describe, test } from "node:test";
import { imagesForHost, replicatedImageReference } from "../../components/docker/image-refs";
import { parseAccountSummary } from "../../components/host/service-account";
import { parseSummaryLine } from "../../components/shell";
import { packConfigForStack, validateResource } from "../../policy/rules";
import { plannedState } from "../../tools/docker-provider-model";
import { dockerEngineResolver, previewAfterRefresh, type EngineEvent } from "../support/container-runner";
import { hostResolver, testHostConfig, type CommandRun } from "../support/host-runner";
import { recordProgram, type RecordedResource, type Resolver } from "../support/mock-recorder";
import { hostTierAvailability, requireHostTier } from "../support/preflight";
import { buildStandinImages, standinsFor } from "../support/standin-images";
import { docker, run, startHosts, stopHosts, type TestHost } from "../support/testhost";

const STACK = "engine-apps";
const VERSION = "2.53.2";
const IMAGES_DIR = "/var/lib/replicated-images";
const ROOT = "/srv/replicated-volumes";
const SIDECARS = { statsd: false, premkit: false };
const CONTAINER = "docker:index/container:Container";
const NETWORK = "docker:index/network:Network";
const COMMAND = "command:remote:Command";

/** Application images: reference, tarball, the USER baked into the image ("-": none). */
const APP_IMAGES = [
    { reference: "registry.example.com/acme/explicit:1.0.0", tarball: "explicit.tar", user: "-" },
    { reference: "registry.example.com/acme/imageuser:1.0.0", tarball: "imageuser.tar", user: "4321:4321" },
    { reference: "registry.example.com/acme/imageroot:1.0.0", tarball: "imageroot.tar", user: "-" },
];

function applications(explicitMode = "0750"): Record<string, unknown>[] {
    return [
        {
            name: "app-explicit",
            image: APP_IMAGES[0].reference,
            user: "1234:1234",
            volumes: [{ hostPath: `${ROOT}/explicit`, containerPath: "/data", mode: explicitMode }],
            env: { APP_DATA: "/data" },
        },
        {
            name: "app-imageuser",
            image: APP_IMAGES[1].reference,
            volumes: [{ hostPath: `${ROOT}/imageuser`, containerPath: "/data", owner: 4321, group: 4321, mode: "0700" }],
            env: { APP_DATA: "/data" },
        },
        { name: "app-imageroot", image: APP_IMAGES[2].reference },
        {
            name: "app-service",
            image: APP_IMAGES[0].reference,
            user: "service",
            volumes: [{ hostPath: `${ROOT}/service`, containerPath: "/data", mode: "0770" }],
            env: { APP_DATA: "/data" },
        },
    ];
}

/** The stand-in application: reports its ids, capabilities and what it may write, then idles. */
const APP_SCRIPT = `#!/bin/sh
report=/tmp/app-report
{
	echo "uid=$(id -u)"
	echo "gid=$(id -g)"
	echo "groups=$(id -G)"
	echo "capeff=$(awk '/^CapEff/ { print $2 }' /proc/self/status)"
	echo "nonewprivs=$(awk '/^NoNewPrivs/ { print $2 }' /proc/self/status)"
	if [ -n "\${APP_DATA:-}" ]; then
		if echo "written by $(id -u):$(id -g)" >"$APP_DATA/probe" 2>/dev/null; then echo "write=ok"; else echo "write=denied"; fi
	fi
	if touch /rootfs-probe 2>/dev/null; then echo "rootfs=rw"; else echo "rootfs=ro"; fi
} >"$report.partial"
mv "$report.partial" "$report"
exec sleep 2147483647
`;

/** Builds the application images on the host (busybox + run.sh), saves them as tarballs, removes them. */
const BUILD_APP_IMAGES = `set -eu
images_dir=$1
shift
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/rootfs
mkdir -p "$root/bin" "$root/app" "$root/tmp" "$root/proc" "$root/sys" "$root/dev" "$root/etc" "$root/data"
cp /bin/busybox "$root/bin/busybox"
for applet in $(/bin/busybox --list); do
	[ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
done
cat >"$root/app/run.sh" <<'APP_SCRIPT'
${APP_SCRIPT}APP_SCRIPT
chmod 0755 "$root/app/run.sh"
printf 'root:x:0:0:root:/:/bin/sh\\n' >"$root/etc/passwd"
printf 'root:x:0:\\n' >"$root/etc/group"
chmod 1777 "$root/tmp"
tar --numeric-owner -C "$root" -cf "$work/rootfs.tar" .
mkdir -p "$images_dir"
while [ "$#" -ge 3 ]; do
	if [ "$3" = - ]; then
		docker import --change 'CMD ["/bin/sh", "/app/run.sh"]' "$work/rootfs.tar" "$1" >/dev/null
	else
		docker import --change "USER $3" --change 'CMD ["/bin/sh", "/app/run.sh"]' "$work/rootfs.tar" "$1" >/dev/null
	fi
	docker save -o "$images_dir/$2" "$1"
	chmod 0644 "$images_dir/$2"
	docker rmi "$1" >/dev/null
	shift 3
done
`;

// ---------------------------------------------------------------------------------------------
// One apply, in a child process

type ApplyMode = "create" | "converged";

interface ApplyRequest {
    readonly hosts: TestHost[];
    readonly config: Record<string, unknown>;
    readonly token: string;
    readonly mode: ApplyMode;
}

interface ApplyResult {
    readonly resources: RecordedResource[];
    readonly runs: CommandRun[];
    readonly events: EngineEvent[];
    readonly error?: string;
    readonly seconds: number;
}

const CHILD_ENV = "REPLICATED_APPS_ENGINE_APPLY";
const REPLY_MARKER = "\n@@apps-engine-reply@@";

/**
 * The docker resolver of a converged host: containers and the network already exist and
 * `pulumi up` would leave them alone (the test checks their inputs did not change), so they are
 * only looked up; everything else goes to the engine resolver (provider check, images).
 */
function convergedResolver(host: TestHost, engine: Resolver): Resolver {
    return async (resource) => {
        if (resource.type !== CONTAINER && resource.type !== NETWORK) {
            return engine(resource);
        }
        const name = String(resource.inputs.name);
        // `docker inspect replicated` would find the daemon container of that name, not the network.
        const inspected = await docker(host, [resource.type === NETWORK ? "network" : "container", "inspect", "--format", "{{.Id}}", name]);
        if (inspected.code !== 0) {
            throw new Error(`${resource.type} ${name} should exist on ${host.name} after the first apply: ${inspected.stderr.trim()}`);
        }
        const id = inspected.stdout.trim();
        return resource.type === CONTAINER ? { id, containerId: id } : { id };
    };
}

async function childMain(): Promise<void> {
    const request = JSON.parse(process.env[CHILD_ENV] ?? "{}") as ApplyRequest;
    const started = performance.now();
    const runs: CommandRun[] = [];
    const events: EngineEvent[] = [];
    const errors: string[] = [];
    process.on("unhandledRejection", (reason) => errors.push(reason instanceof Error ? reason.message : String(reason)));
    const engine = dockerEngineResolver({ hosts: request.hosts, daemonToken: request.token, onEvent: (e) => events.push(e) });
    const resolver = hostResolver({
        hosts: request.hosts,
        onRun: (r) => runs.push(r),
        fallback: request.mode === "create" ? engine : convergedResolver(request.hosts[0], engine),
    });
    let resources: RecordedResource[] = [];
    let error: string | undefined;
    try {
        resources = (await recordProgram({ stack: STACK, config: request.config, resolve: resolver })).resources;
    } catch (err) {
        error = err instanceof Error ? err.message : String(err);
    }
    const reply: ApplyResult = { resources, runs, events, error: error ?? errors[0], seconds: (performance.now() - started) / 1000 };
    // Exit only once the reply is flushed: a pipe write is asynchronous, and exit would cut it.
    process.stdout.write(REPLY_MARKER + JSON.stringify(reply), () => process.exit(0));
}

/** Apply the program once in a fresh process; throws when it fails. */
async function apply(request: ApplyRequest): Promise<ApplyResult> {
    const env: NodeJS.ProcessEnv = { ...process.env, [CHILD_ENV]: JSON.stringify(request) };
    delete env.NODE_TEST_CONTEXT;
    const child = spawn(process.execPath, ["--import", "tsx", __filename], { env, stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => err.push(chunk));
    const code = await new Promise<number | null>((resolve) => {
        const timer = setTimeout(() => child.kill("SIGKILL"), 600_000);
        child.on("close", (exitCode) => {
            clearTimeout(timer);
            resolve(exitCode);
        });
    });
    const stdout = Buffer.concat(out).toString("utf8");
    const at = stdout.lastIndexOf(REPLY_MARKER);
    if (at < 0) {
        throw new Error(`apply (${request.mode}) exited ${code} without a reply\nstdout: ${stdout.slice(-3000)}\nstderr: ${Buffer.concat(err).toString("utf8").slice(-3000)}`);
    }
    const result = JSON.parse(stdout.slice(at + REPLY_MARKER.length)) as ApplyResult;
    if (result.error !== undefined) {
        throw new Error(`apply (${request.mode}) failed: ${result.error}`);
    }
    return result;
}

// ---------------------------------------------------------------------------------------------
// The tests

interface Setup {
    host: TestHost;
    first: ApplyResult;
    second: ApplyResult;
    third: ApplyResult;
    uid: number;
    dockerGid: number;
    /** Container id and StartedAt by application, after each apply. */
    containers: Array<Record<string, string>>;
    /** `stat` of the volume directories after each apply. */
    volumes: Array<Record<string, string>>;
    /** After each apply: what the next preview would change (provider model over docker inspect). */
    previews: string[][];
    timings: Record<string, number>;
}

const APP_NAMES = ["app-explicit", "app-imageuser", "app-imageroot", "app-service"];
const VOLUME_DIRS = ["explicit", "imageuser", "service"].map((d) => `${ROOT}/${d}`);

function seconds(since: number): number {
    return Math.round((performance.now() - since) / 100) / 10;
}

async function containerStates(host: TestHost): Promise<Record<string, string>> {
    const states: Record<string, string> = {};
    for (const name of APP_NAMES) {
        const inspected = await docker(host, ["inspect", "--format", "{{.Id}} {{.State.StartedAt}} {{.State.Status}}", name]);
        assert.equal(inspected.code, 0, inspected.stderr);
        states[name] = inspected.stdout.trim();
    }
    return states;
}

async function volumeStats(host: TestHost): Promise<Record<string, string>> {
    // Owner, group, mode, inode change time: a chown or chmod, even to the same values, moves ctime.
    const result = await run(host, `stat -c '%n %u:%g %a %Z' ${VOLUME_DIRS.join(" ")}`);
    assert.equal(result.code, 0, result.stderr);
    return Object.fromEntries(result.stdout.trim().split("\n").map((line) => [line.split(" ")[0], line.split(" ").slice(1).join(" ")]));
}

async function appReport(host: TestHost, container: string, timeoutSeconds = 60): Promise<Record<string, string>> {
    const deadline = Date.now() + timeoutSeconds * 1000;
    while (Date.now() < deadline) {
        const result = await docker(host, ["exec", container, "cat", "/tmp/app-report"]);
        if (result.code === 0) {
            return Object.fromEntries(result.stdout.trim().split("\n").map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]));
        }
        await new Promise((done) => setTimeout(done, 500));
    }
    const logs = await docker(host, ["logs", "--tail", "20", container]);
    throw new Error(`${container} wrote no report within ${timeoutSeconds} s: ${logs.stdout}${logs.stderr}`);
}

function volumesRun(result: ApplyResult): CommandRun {
    const found = result.runs.find((r) => r.resource.endsWith("-apps-volumes-run"));
    assert.ok(found, `the application volumes run is among ${result.runs.map((r) => r.resource).join(", ")}`);
    return found;
}

function inputsByResource(result: ApplyResult): Record<string, string> {
    return Object.fromEntries(result.resources.map((r) => [`${r.type}::${r.name}`, JSON.stringify(r.inputs)]));
}

if (process.env[CHILD_ENV] !== undefined) {
    childMain().catch((error: unknown) => {
        process.stdout.write(REPLY_MARKER + JSON.stringify({ resources: [], runs: [], events: [], error: String(error), seconds: 0 }), () => process.exit(0));
    });
} else {
    let setup: Setup | undefined;
    let hosts: TestHost[] = [];

    before(async () => {
        if (!(await hostTierAvailability()).ok) {
            return;
        }
        const timings: Record<string, number> = {};
        let started = performance.now();
        hosts = await startHosts(1);
        const host = hosts[0];
        timings.startHost = seconds(started);

        started = performance.now();
        const references = imagesForHost("primary", SIDECARS).map((name) => replicatedImageReference("quay.io/replicated", name, "stable", VERSION));
        await buildStandinImages(host, standinsFor(references), IMAGES_DIR);
        const args = [IMAGES_DIR, ...APP_IMAGES.flatMap((i) => [i.reference, i.tarball, i.user])].map((a) => `'${a}'`).join(" ");
        const built = await run(host, `sh -s -- ${args}`, { stdin: BUILD_APP_IMAGES, timeoutMs: 180_000 });
        assert.equal(built.code, 0, `building the application images: ${built.stderr}`);
        timings.images = seconds(started);

        const token = randomBytes(16).toString("hex");
        const config = (explicitMode?: string) =>
            testHostConfig(hosts, {
                overrides: { version: VERSION, airgap: { imagesDir: IMAGES_DIR }, sidecars: SIDECARS, volumeRoots: [ROOT], applications: applications(explicitMode) },
            });
        const containers: Array<Record<string, string>> = [];
        const volumes: Array<Record<string, string>> = [];
        const previews: string[][] = [];
        /** The provider's Read of every container and network now, diffed against the apply's inputs. */
        const nextPreview = async (result: ApplyResult): Promise<string[]> => {
            const changes: string[] = [];
            for (const resource of result.resources.filter((r) => r.type === CONTAINER || r.type === NETWORK)) {
                // A converged apply only looked the resource up: its stored state is the planned
                // state the first apply's Read started from, with the id.
                const stored = { ...resource, state: { ...plannedState(resource.type, resource.inputs), id: resource.state.id } };
                const diff = await previewAfterRefresh(host, stored);
                changes.push(...diff.attributes.map((c) => `${resource.name}: ${c.path} ${JSON.stringify(c.old)} -> ${JSON.stringify(c.new)}`));
            }
            return changes;
        };

        started = performance.now();
        const first = await apply({ hosts, config: config(), token, mode: "create" });
        timings.apply1 = seconds(started);
        // Every application has written its report before the state is compared.
        for (const name of APP_NAMES) await appReport(host, name);
        containers.push(await containerStates(host));
        volumes.push(await volumeStats(host));
        previews.push(await nextPreview(first));

        started = performance.now();
        const second = await apply({ hosts, config: config(), token, mode: "converged" });
        timings.apply2 = seconds(started);
        containers.push(await containerStates(host));
        volumes.push(await volumeStats(host));
        previews.push(await nextPreview(second));

        started = performance.now();
        const third = await apply({ hosts, config: config("0770"), token, mode: "converged" });
        timings.apply3 = seconds(started);
        containers.push(await containerStates(host));
        volumes.push(await volumeStats(host));
        previews.push(await nextPreview(third));

        const account = first.runs.find((r) => r.script === "account");
        assert.ok(account, "the account script ran");
        const summary = parseAccountSummary(account.stdout);
        setup = { host, first, second, third, uid: summary.uid, dockerGid: summary.dockerGid, containers, volumes, previews, timings };
    });

    after(async () => {
        if (setup) {
            console.log(`application engine tier timings (s): ${JSON.stringify(setup.timings)}`);
        }
        await stopHosts(hosts);
    });

    async function ready(t: Parameters<typeof requireHostTier>[0]): Promise<Setup | undefined> {
        if (!(await requireHostTier(t))) {
            return undefined;
        }
        assert.ok(setup, "setup did not complete (see the before hook's error)");
        return setup;
    }

    async function inspect(host: TestHost, container: string): Promise<{ Config: { User: string }; HostConfig: { GroupAdd: string[] | null; CapDrop: string[] | null; ReadonlyRootfs: boolean; Binds: string[] | null } }> {
        const result = await docker(host, ["inspect", container]);
        assert.equal(result.code, 0, result.stderr);
        return (JSON.parse(result.stdout) as Array<{ Config: { User: string }; HostConfig: { GroupAdd: string[] | null; CapDrop: string[] | null; ReadonlyRootfs: boolean; Binds: string[] | null } }>)[0];
    }

    describe("engine tier: application containers and their user modes", () => {
        test('user "1234:1234": runs as 1234:1234 without the docker group and writes its volume, owned 1234:1234 with the configured mode', async (t) => {
            const s = await ready(t);
            if (!s) return;
            const report = await appReport(s.host, "app-explicit");
            assert.equal(report.uid, "1234");
            assert.equal(report.gid, "1234");
            assert.equal(report.groups, "1234", "no supplementary groups: not in the docker group");
            assert.equal(report.write, "ok");
            assert.equal(report.capeff, "0000000000000000");
            assert.equal(report.nonewprivs, "1");
            assert.equal(report.rootfs, "ro");
            assert.equal(s.volumes[0][`${ROOT}/explicit`].split(" ").slice(0, 2).join(" "), "1234:1234 750");
            const probe = await run(s.host, `stat -c '%u:%g' ${ROOT}/explicit/probe`);
            assert.equal(probe.stdout.trim(), "1234:1234", "what it writes belongs to 1234:1234");
            const inspected = await inspect(s.host, "app-explicit");
            assert.equal(inspected.Config.User, "1234:1234");
            assert.equal(inspected.HostConfig.GroupAdd, null);
        });

        test("user image: the image's USER 4321:4321 applies, and it writes the volume created for it", async (t) => {
            const s = await ready(t);
            if (!s) return;
            const recorded = s.first.resources.find((r) => r.type === CONTAINER && r.inputs.name === "app-imageuser");
            assert.ok(recorded);
            assert.equal(recorded.inputs.user, undefined, "the program sets no user");
            assert.equal(recorded.inputs.groupAdds, undefined);
            const report = await appReport(s.host, "app-imageuser");
            assert.equal(report.uid, "4321");
            assert.equal(report.gid, "4321");
            assert.equal(report.write, "ok");
            assert.equal(report.capeff, "0000000000000000");
            assert.equal(s.volumes[0][`${ROOT}/imageuser`].split(" ").slice(0, 2).join(" "), "4321:4321 700");
            assert.equal((await inspect(s.host, "app-imageuser")).Config.User, "4321:4321", "inherited from the image");
        });

        test("user image without USER in the image: root (still without capabilities), and flagged by the policy pack", async (t) => {
            const s = await ready(t);
            if (!s) return;
            const report = await appReport(s.host, "app-imageroot");
            assert.equal(report.uid, "0");
            assert.equal(report.capeff, "0000000000000000", "uid 0 but no capability");
            assert.equal(report.nonewprivs, "1");
            assert.equal(report.rootfs, "ro");
            const urnOf = (r: RecordedResource) => `urn:pulumi:${STACK}::replicated::${r.type}::${r.name}`;
            const judge = (name: string, requireNonRoot: boolean) => {
                const recorded = s.first.resources.find((r) => r.type === CONTAINER && r.inputs.name === name);
                assert.ok(recorded);
                const pack = packConfigForStack(STACK, { requireNonRootApplications: requireNonRoot });
                return validateResource({ type: recorded.type, props: recorded.inputs, name: recorded.name, urn: urnOf(recorded) }, pack).map((v) => `${v.rule}/${v.enforcementLevel}`);
            };
            assert.deepEqual(judge("app-imageroot", false), ["application-containers-non-root/advisory"]);
            assert.deepEqual(judge("app-imageroot", true).sort(), ["application-containers-non-root-required/mandatory", "application-containers-non-root/advisory"]);
            // The pack judges the declared user, not the image: image mode is always reported.
            assert.deepEqual(judge("app-imageuser", false), ["application-containers-non-root/advisory"]);
            for (const name of ["app-explicit", "app-service"]) {
                assert.deepEqual(judge(name, true), [], name);
            }
        });

        test("user service: the service uid and the docker gid, which own its volume", async (t) => {
            const s = await ready(t);
            if (!s) return;
            assert.ok(s.uid > 0);
            const report = await appReport(s.host, "app-service");
            assert.equal(report.uid, String(s.uid));
            assert.equal(report.gid, String(s.dockerGid));
            assert.equal(report.groups, String(s.dockerGid));
            assert.equal(report.write, "ok");
            assert.equal(s.volumes[0][`${ROOT}/service`].split(" ").slice(0, 2).join(" "), `${s.uid}:${s.dockerGid} 770`);
            const inspected = await inspect(s.host, "app-service");
            assert.equal(inspected.Config.User, `${s.uid}:${s.dockerGid}`);
            assert.deepEqual(inspected.HostConfig.GroupAdd, [String(s.dockerGid)]);
        });

        test("the volumes run went first, as an elevated operation with the apps-<hash> request, and created every directory", async (t) => {
            const s = await ready(t);
            if (!s) return;
            const volumes = volumesRun(s.first);
            assert.equal(volumes.script, "elevated-run");
            const summary = parseSummaryLine(volumes.stdout) as { request: string; volumes: number; created: number; changed: number };
            assert.match(summary.request, /^apps-[0-9a-f]{16}$/);
            assert.equal(summary.volumes, 3);
            assert.equal(summary.created, 3);
            assert.equal(summary.changed, 3);
            // The recorded order: every container with a volume depends on the run.
            for (const name of ["app-explicit", "app-imageuser", "app-service"]) {
                const recorded = s.first.resources.find((r) => r.type === CONTAINER && r.inputs.name === name);
                assert.ok(recorded?.options.dependsOn.some((d) => d.endsWith("-apps-volumes-run")), name);
            }
            const recorded = s.first.resources.find((r) => r.type === COMMAND && r.name.endsWith("-apps-volumes-run"));
            assert.deepEqual(recorded?.inputs.triggers, ["volumes", summary.request], "the request id the program derived is the one that ran");
            const audit = await run(s.host, "cat /var/log/replicated/elevated.log");
            assert.match(audit.stdout, new RegExp(`"request":"${summary.request}"`), "the run is in the audit log");
        });

        test("a second apply changes nothing: identical inputs, the volumes run is already done, no directory touched, no container recreated", async (t) => {
            const s = await ready(t);
            if (!s) return;
            assert.deepEqual(inputsByResource(s.second), inputsByResource(s.first), "pulumi up would plan no change");
            const again = parseSummaryLine(volumesRun(s.second).stdout) as { changed: number; alreadyDone?: boolean };
            assert.equal(again.changed, 0);
            assert.equal(again.alreadyDone, true);
            for (const r of s.second.runs) {
                const summary = parseSummaryLine(r.stdout) as { changed?: number };
                assert.equal(summary.changed, 0, `${r.resource} (${r.script ?? "?"}) changed nothing on the converged host`);
            }
            assert.deepEqual(s.volumes[1], s.volumes[0], "owner, mode and ctime of every volume directory unchanged");
            assert.deepEqual(s.containers[1], s.containers[0], "same container ids and StartedAt");
        });

        test("a changed volume mode runs the volumes operation once more, re-mode only that directory, and recreates no container", async (t) => {
            const s = await ready(t);
            if (!s) return;
            const before = inputsByResource(s.second);
            const after = inputsByResource(s.third);
            const differing = Object.keys(after).filter((key) => after[key] !== before[key]);
            assert.deepEqual(differing, [`${COMMAND}::${s.host.name}-apps-volumes-run`]);
            const summary = parseSummaryLine(volumesRun(s.third).stdout) as { request: string; changed: number; updated: number; created: number };
            assert.notEqual(summary.request, (parseSummaryLine(volumesRun(s.first).stdout) as { request: string }).request);
            assert.deepEqual([summary.created, summary.updated, summary.changed], [0, 1, 1]);
            assert.equal(s.volumes[2][`${ROOT}/explicit`].split(" ").slice(0, 2).join(" "), "1234:1234 770");
            for (const dir of [`${ROOT}/imageuser`, `${ROOT}/service`]) {
                assert.equal(s.volumes[2][dir], s.volumes[0][dir], `${dir} untouched`);
            }
            const probe = await run(s.host, `cat ${ROOT}/explicit/probe`);
            assert.equal(probe.stdout.trim(), "written by 1234:1234", "the data stays");
            assert.deepEqual(s.containers[2], s.containers[0], "no container recreated");
        });

        test("after every apply the next preview is empty: the provider's Read of every container and network matches the inputs", async (t) => {
            const s = await ready(t);
            if (!s) return;
            assert.deepEqual(s.previews, [[], [], []]);
        });

        test("no application container sees the docker socket; each runs read-only with every capability dropped", async (t) => {
            const s = await ready(t);
            if (!s) return;
            for (const name of APP_NAMES) {
                const inspected = await inspect(s.host, name);
                assert.deepEqual(inspected.HostConfig.CapDrop, ["ALL"], name);
                assert.equal(inspected.HostConfig.ReadonlyRootfs, true, name);
                const sockets = await docker(s.host, ["exec", name, "sh", "-c", "ls /var/run/docker.sock /run/docker.sock 2>/dev/null | wc -l"]);
                assert.equal(sockets.stdout.trim(), "0", `${name} has no socket`);
                const mounts = await docker(s.host, ["inspect", "--format", "{{range .Mounts}}{{.Source}} {{end}}", name]);
                for (const source of mounts.stdout.trim().split(" ").filter(Boolean)) {
                    assert.ok(source.startsWith(`${ROOT}/`), `${name} mounts only its volumes, not ${source}`);
                }
            }
        });
    });
}
