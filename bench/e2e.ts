/**
 * Benchmark 6: a fresh primary, end to end. Everything `pulumi up` runs for one fresh primary
 * through the runner (test/support/pulumi-up.ts: one SSH connection per remote command, the
 * docker provider's dial-stdio connections kept alive and reused as its client does, the
 * provider's own dial check), from the first host command to the health gate's end, against one hand-written shell session over a single SSH connection that
 * does the same work in the same order (bench/lib/e2e-session.ts, generated from the runner's
 * own recording of the same round). Each side gets a fresh test host with the air-gap images
 * staged; after each side a fingerprint of the host must match the other side's. Method and
 * results: bench/fresh-host.md.
 */
import { spawnSync } from "node:child_process";
import { imagesForHost, replicatedImageReference } from "../components/docker/image-refs";
import { testHostConfig } from "../test/support/host-runner";
import { closeEngineConnections, engineApi } from "../test/support/engine-api";
import { pulumiUp, type UpResult } from "../test/support/pulumi-up";
import { buildStandinImages, standinsFor } from "../test/support/standin-images";
import { run, startHosts, stopHosts, type TestHost } from "../test/support/testhost";
import { fingerprintDifference, hostFingerprint } from "./lib/e2e-fingerprint";
import { COMMAND_TYPE, CONTAINER_TYPE, IMAGE_TYPE, NETWORK_TYPE, PROVIDER_TYPE, parseSession, sessionScript, type SessionTiming } from "./lib/e2e-session";
import { checkTarget, formatSeconds, median, ratio, round, side, type BenchPlan, type Side, type TargetCheck } from "./lib/stats";

const IMAGES_DIR = "/var/lib/replicated-images";
const VERSION = "2.53.2";
const ACCOUNT = "replicated";
/** Samples of each per-request cost. */
const COST_SAMPLES = 15;

/** The parts of one side's window, in seconds. */
export interface Parts {
    readonly window: number;
    readonly imageLoad: number;
    readonly containerStarts: number;
    readonly healthWait: number;
    readonly rest: number;
}

export interface SideResult {
    readonly window: Side;
    readonly imageLoad: Side;
    readonly containerStarts: Side;
    readonly healthWait: Side;
    readonly rest: Side;
    /** SSH connections the host's sshd accepted inside the window, per round. */
    readonly sshConnections: number[];
}

export interface E2eResult {
    readonly rounds: number;
    readonly images: { readonly count: number; readonly bytes: number };
    readonly runner: SideResult;
    readonly baseline: SideResult;
    /** Median runner window / median session window. */
    readonly ratio: number;
    /** Each round's runner window / the same round's session window. */
    readonly roundRatios: number[];
    /** Remote commands inside the window: runner seconds (SSH exec, connect included) vs the session's on-host seconds, medians. */
    readonly commands: Array<{ readonly name: string; readonly runnerSeconds: number; readonly sessionSeconds: number; readonly difference: number }>;
    /**
     * The short remote commands (all but the image load and the health gate, whose own work
     * dominates them): how many, and the sum of their differences (the runner's SSH exec minus
     * the session's on-host time): each command's own connection and script transfer, plus
     * contention with what the runner runs alongside.
     */
    readonly commandOverhead: { readonly commands: number; readonly seconds: number };
    /** What one connection costs here. */
    readonly connectionCosts: {
        /** `true` over a new SSH connection (ssh2, as the runner's commands). */
        readonly sshExec: Side;
        /** `GET /_ping` through the runner's Engine API client on a connection it dials for it (`docker system dial-stdio`). */
        readonly engineRequestNewConnection: Side;
        /** `GET /_ping` through the runner's Engine API client on a connection it keeps alive. */
        readonly engineRequestReusedConnection: Side;
        /** `GET /_ping` on one open engine socket on the host, no SSH: the engine's own time. */
        readonly engineRequestOnHost: Side;
        /** Connections the runner's Engine API client opened per apply (UpResult.engineConnections), median. */
        readonly engineConnections: number;
        /** The same from sshd: connections in the window minus the remote commands and the provider's dial check, median. */
        readonly engineConnectionsFromSshd: number;
        /** engineConnections x (new - reused connection request): the client's dials, partly in parallel. */
        readonly engineDialSeconds: number;
    };
    /** Every round's fingerprints matched. */
    readonly fingerprintsIdentical: true;
    readonly targets: TargetCheck[];
}

function primaryReferences(): string[] {
    return imagesForHost("primary", { statsd: true, premkit: true }).map((name) => replicatedImageReference("quay.io/replicated", name, "stable", VERSION));
}

/** A fresh test host with the primary's stand-in images saved as air-gap tarballs (and removed from its engine). */
async function freshHost(prefix: string): Promise<{ host: TestHost; images: { images: number; bytes: number } }> {
    const [host] = await startHosts(1, { namePrefix: prefix });
    try {
        const images = await buildStandinImages(host, standinsFor(primaryReferences()), IMAGES_DIR);
        return { host, images };
    } catch (error) {
        await stopHosts([host]);
        throw error;
    }
}

/** Times (ms since the epoch) at which the host's sshd accepted a connection, from its log on this machine's engine. */
function acceptedConnections(host: TestHost): number[] {
    const logs = spawnSync("docker", ["logs", "-t", host.containerId], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
    if (logs.status !== 0) throw new Error(`docker logs ${host.name}: ${logs.stderr}`);
    const times: number[] = [];
    for (const line of `${logs.stdout}\n${logs.stderr}`.split("\n")) {
        const match = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?Z .*Accepted publickey/.exec(line);
        if (match) times.push(Date.parse(`${match[1]}${(match[2] ?? ".0").slice(0, 4)}Z`));
    }
    return times;
}

function countWithin(times: readonly number[], start: number, end: number): number {
    return times.filter((time) => time >= start && time <= end).length;
}

interface RunnerRound {
    readonly up: UpResult;
    readonly parts: Parts;
    readonly windowStart: number;
    readonly windowEnd: number;
    readonly connections: number;
    /** Connections the Engine API client opened in the apply (its own count). */
    readonly engineConnections: number;
    readonly commandSeconds: Map<string, number>;
}

async function runnerSide(host: TestHost): Promise<RunnerRound> {
    const up = await pulumiUp({
        stack: "e2e",
        hosts: [host],
        config: testHostConfig([host], { overrides: { airgap: { imagesDir: IMAGES_DIR }, version: VERSION } }),
    });
    if (up.error !== undefined) throw new Error(`the runner apply failed: ${up.error}`);
    const hostSteps = up.steps.filter((step) => [COMMAND_TYPE, CONTAINER_TYPE, NETWORK_TYPE, IMAGE_TYPE, PROVIDER_TYPE].includes(step.type));
    const one = (suffix: string) => {
        const found = up.steps.find((step) => step.type === COMMAND_TYPE && step.name.endsWith(suffix));
        if (found === undefined) throw new Error(`the runner apply has no ${suffix} step`);
        return found;
    };
    const health = one("-health");
    const load = one("-images-load");
    const containers = up.steps.filter((step) => step.type === CONTAINER_TYPE);
    const windowStart = Math.min(...hostSteps.map((step) => step.started));
    const windowEnd = health.finished;
    const seconds = (ms: number) => ms / 1000;
    const window = seconds(windowEnd - windowStart);
    const imageLoad = seconds(load.finished - load.started);
    const containerStarts = seconds(Math.max(...containers.map((s) => s.finished)) - Math.min(...containers.map((s) => s.started)));
    const healthWait = seconds(health.finished - health.started);
    const parts = { window, imageLoad, containerStarts, healthWait, rest: window - imageLoad - containerStarts - healthWait };
    const commandSeconds = new Map(up.runs.map((r) => [withoutHostName(r.resource, host), r.seconds]));
    // sshd logs a connection after its handshake, on this machine's clock (the host is a container here).
    const connections = countWithin(acceptedConnections(host), windowStart, windowEnd);
    return { up, parts, windowStart, windowEnd, connections, engineConnections: up.engineConnections, commandSeconds };
}

interface SessionRound {
    readonly parts: Parts;
    readonly connections: number;
    readonly commandSeconds: Map<string, number>;
}

async function sessionSide(host: TestHost, runnerHost: TestHost, runner: RunnerRound): Promise<SessionRound> {
    const imageIds = new Map(
        runner.up.state.filter((r) => r.type === IMAGE_TYPE).map((r) => [String(r.state.imageId), String(r.state.name)]),
    );
    const session = sessionScript({
        resources: runner.up.resources,
        steps: runner.up.steps,
        imageIds,
        swap: { from: { name: runnerHost.name, privateAddress: runnerHost.privateAddress }, to: { name: host.name, privateAddress: host.privateAddress } },
    });
    // The window opens when the session's one connection starts (its handshake is part of it);
    // the host's clock is this machine's (the test host is a container here).
    const opened = Date.now();
    const result = await run(host, "sh -s", { user: session.user, stdin: session.script, timeoutMs: 600_000 });
    const closed = Date.now();
    if (result.code !== 0) {
        throw new Error(`the session failed on ${host.name} (exit ${result.code}):\nstdout: ${result.stdout.slice(-3000)}\nstderr: ${result.stderr.slice(-3000)}`);
    }
    const parsed = parseSession(result.stdout);
    const byLabel = new Map<string, SessionTiming>(parsed.steps.map((step) => [step.label, step]));
    const named = (suffix: string) => {
        const found = parsed.steps.find((step) => step.label.endsWith(suffix));
        if (found === undefined) throw new Error(`the session has no ${suffix} step`);
        return found;
    };
    // The same account as on the runner's host, or the comparison is void.
    const runnerAccount = runner.up.runs.find((r) => r.script === "account")?.stdout.trim().split("\n").pop();
    const sessionAccount = named("-account").stdout.trim().split("\n").pop();
    const ids = (line: string | undefined) => {
        const summary = JSON.parse(line ?? "{}") as { uid?: number; gid?: number; dockerGid?: number };
        return `${summary.uid}:${summary.gid}:${summary.dockerGid}`;
    };
    if (ids(runnerAccount) !== ids(sessionAccount)) {
        throw new Error(`the session's account got ${ids(sessionAccount)}, the runner's ${ids(runnerAccount)}: the recorded commands do not fit this host`);
    }
    const containerSteps = session.steps.filter((step) => step.kind === "container").map((step) => byLabel.get(step.resources.join(" ")));
    if (containerSteps.some((step) => step === undefined) || containerSteps.length === 0) throw new Error("the session did not time every container");
    const timed = containerSteps as SessionTiming[];
    const window = parsed.windowEnd - opened / 1000;
    const imageLoad = named("-images-load").seconds;
    const containerStarts = Math.max(...timed.map((s) => s.end)) - Math.min(...timed.map((s) => s.start));
    const healthWait = named("-health").seconds;
    const parts = { window, imageLoad, containerStarts, healthWait, rest: window - imageLoad - containerStarts - healthWait };
    const commandSeconds = new Map(
        session.steps.filter((step) => step.kind === "command").map((step) => [withoutHostName(step.resources[0], runnerHost), byLabel.get(step.resources[0])?.seconds ?? NaN]),
    );
    const connections = countWithin(acceptedConnections(host), opened, closed);
    return { parts, connections, commandSeconds };
}

/** Keep-alive `GET /_ping` on one engine connection, on the host: seconds per request. */
const REUSED_PING = [
    "import socket, sys, time",
    "s = socket.socket(socket.AF_UNIX)",
    's.connect("/var/run/docker.sock")',
    "def ping():",
    '    s.sendall(b"GET /_ping HTTP/1.1\\r\\nHost: docker\\r\\n\\r\\n")',
    '    data = b""',
    '    while b"\\r\\n\\r\\n" not in data:',
    "        data += s.recv(65536)",
    '    head, body = data.split(b"\\r\\n\\r\\n", 1)',
    '    length = int([l for l in head.split(b"\\r\\n") if l.lower().startswith(b"content-length:")][0].split(b":")[1])',
    "    while len(body) < length:",
    "        body += s.recv(65536)",
    "ping()",
    "for _ in range(int(sys.argv[1])):",
    "    t = time.perf_counter(); ping(); print(time.perf_counter() - t)",
].join("\n");

async function connectionCosts(host: TestHost): Promise<{ sshExec: number[]; newConnection: number[]; reusedConnection: number[]; onHost: number[] }> {
    const sshExec: number[] = [];
    const newConnection: number[] = [];
    const reusedConnection: number[] = [];
    const seconds = async (step: () => Promise<unknown>): Promise<number> => {
        const started = performance.now();
        await step();
        return (performance.now() - started) / 1000;
    };
    try {
        for (let i = 0; i < COST_SAMPLES; i++) {
            sshExec.push(
                await seconds(async () => {
                    const result = await run(host, "true");
                    if (result.code !== 0) throw new Error(`ssh true on ${host.name} exited ${result.code}`);
                }),
            );
            // No idle connection left: the client dials one for the request, then keeps it.
            closeEngineConnections();
            newConnection.push(await seconds(() => engineApi(host, "GET", "/_ping")));
            reusedConnection.push(await seconds(() => engineApi(host, "GET", "/_ping")));
        }
    } finally {
        closeEngineConnections();
    }
    const onHost = await run(host, `python3 -c '${REUSED_PING.replace(/'/g, `'\\''`)}' ${COST_SAMPLES}`);
    if (onHost.code !== 0) throw new Error(`keep-alive ping on ${host.name} failed: ${onHost.stderr}`);
    return { sshExec, newConnection, reusedConnection, onHost: onHost.stdout.trim().split("\n").map(Number) };
}

function summarise(rounds: readonly Parts[], connections: readonly number[]): SideResult {
    return {
        window: side(rounds.map((r) => r.window)),
        imageLoad: side(rounds.map((r) => r.imageLoad)),
        containerStarts: side(rounds.map((r) => r.containerStarts)),
        healthWait: side(rounds.map((r) => r.healthWait)),
        rest: side(rounds.map((r) => r.rest)),
        sshConnections: [...connections],
    };
}

export async function benchE2e(plan: BenchPlan, log: (line: string) => void): Promise<E2eResult> {
    const rounds = plan.quick ? 1 : 3;
    const runnerRounds: RunnerRound[] = [];
    const sessionRounds: SessionRound[] = [];
    let images = { count: 0, bytes: 0 };
    let costs: Awaited<ReturnType<typeof connectionCosts>> | undefined;
    for (let round_ = 1; round_ <= rounds; round_++) {
        // A: the runner on a fresh host.
        const a = await freshHost("re2e");
        let runner: RunnerRound;
        let runnerFingerprint: string;
        const runnerHost = a.host;
        try {
            images = { count: a.images.images, bytes: a.images.bytes };
            runner = await runnerSide(runnerHost);
            runnerFingerprint = await hostFingerprint(runnerHost, ACCOUNT, containerNames(runner.up));
        } finally {
            await stopHosts([runnerHost]);
        }
        // B: the session on another fresh host, from the runner's recording of this round.
        const b = await freshHost("rsess");
        let session: SessionRound;
        try {
            session = await sessionSide(b.host, runnerHost, runner);
            const sessionFingerprint = await hostFingerprint(b.host, ACCOUNT, containerNames(runner.up));
            const difference = fingerprintDifference(runnerFingerprint, sessionFingerprint);
            if (difference.length > 0) {
                throw new Error(`round ${round_}: the session left another host than the runner:\n${difference.join("\n")}`);
            }
            if (round_ === rounds) {
                costs = await connectionCosts(b.host);
            }
        } finally {
            await stopHosts([b.host]);
        }
        runnerRounds.push(runner);
        sessionRounds.push(session);
        log(
            `  e2e ${round_}/${rounds}: runner ${formatSeconds(runner.parts.window)} (${runner.connections} SSH connections), ` +
                `session ${formatSeconds(session.parts.window)} (${session.connections}); health wait ${formatSeconds(runner.parts.healthWait)} / ${formatSeconds(session.parts.healthWait)}`,
        );
    }
    if (costs === undefined) throw new Error("the connection costs were not measured");

    const runner = summarise(runnerRounds.map((r) => r.parts), runnerRounds.map((r) => r.connections));
    const baseline = summarise(sessionRounds.map((r) => r.parts), sessionRounds.map((r) => r.connections));
    const headline = ratio(runner.window.median, baseline.window.median);

    const names = [...runnerRounds[0].commandSeconds.keys()].filter((name) => sessionRounds[0].commandSeconds.has(name));
    const commands = names.map((name) => {
        const runnerSeconds = median(runnerRounds.map((r) => r.commandSeconds.get(name) ?? NaN));
        const sessionSeconds = median(sessionRounds.map((r) => r.commandSeconds.get(name) ?? NaN));
        if (!Number.isFinite(runnerSeconds) || !Number.isFinite(sessionSeconds)) throw new Error(`command ${name} was not timed in every round on both sides`);
        return { name, runnerSeconds: round(runnerSeconds, 3), sessionSeconds: round(sessionSeconds, 3), difference: round(runnerSeconds - sessionSeconds, 3) };
    });

    const overheadCommands = commands.filter((command) => command.name !== "health" && command.name !== "images-load");
    const commandOverhead = { commands: overheadCommands.length, seconds: round(overheadCommands.reduce((sum, command) => sum + command.difference, 0), 3) };

    const sshExec = side(costs.sshExec);
    const newConnection = side(costs.newConnection);
    const reusedConnection = side(costs.reusedConnection);
    const onHost = side(costs.onHost);
    const commandsInWindow = names.length;
    const engineConnections = median(runnerRounds.map((r) => r.engineConnections));
    // sshd's count covers the commands, the provider's dial check and the Engine API connections.
    const engineConnectionsFromSshd = median(runnerRounds.map((r) => r.connections - commandsInWindow - 1));
    const engineDialSeconds = engineConnections * (newConnection.median - reusedConnection.median);

    const targets = [
        checkTarget("e2e.fresh.vsSession", "fresh primary end to end: runner / one shell session over one SSH connection", headline, 1.3, "ratio", () =>
            `The runner's window is ${formatSeconds(runner.window.median - baseline.window.median)} longer. ` +
                `Container starts ${formatSeconds(runner.containerStarts.median)} vs ${formatSeconds(baseline.containerStarts.median)}, ` +
                `the rest (commands, network, image reads) ${formatSeconds(runner.rest.median)} vs ${formatSeconds(baseline.rest.median)}. ` +
                `Each remote command opens its own SSH connection (${formatSeconds(sshExec.median)} for a bare one here), as the command provider does; ` +
                `the Engine API client opened ${engineConnections} dial-stdio connections (${formatSeconds(newConnection.median)} for a request on a new one, ` +
                `${formatSeconds(reusedConnection.median)} on a kept one).`,
        ),
    ];
    return {
        rounds,
        images,
        runner,
        baseline,
        ratio: headline,
        roundRatios: runnerRounds.map((r, i) => ratio(r.parts.window, sessionRounds[i].parts.window)),
        commands,
        commandOverhead,
        connectionCosts: {
            sshExec,
            engineRequestNewConnection: newConnection,
            engineRequestReusedConnection: reusedConnection,
            engineRequestOnHost: onHost,
            engineConnections,
            engineConnectionsFromSshd,
            engineDialSeconds: round(engineDialSeconds, 3),
        },
        fingerprintsIdentical: true,
        targets,
    };
}

/** A resource name without its host's name: the same across rounds, whose hosts differ. */
function withoutHostName(resource: string, host: TestHost): string {
    return resource.startsWith(`${host.name}-`) ? resource.slice(host.name.length + 1) : resource;
}

function containerNames(up: UpResult): string[] {
    return up.resources.filter((r) => r.type === CONTAINER_TYPE).map((r) => String(r.inputs.name));
}
