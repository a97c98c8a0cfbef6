/**
 * Runs the program's remote commands on real test hosts, the way `pulumi up` would.
 *
 * {@link hostResolver} is a `resolve` hook for {@link recordProgram}: every recorded
 * `command:remote:Command` is matched to a {@link TestHost} by its `connection.host` and
 * `connection.port`, its `create` command runs there over real SSH as `connection.user` with
 * `stdin` on standard input (testhost.run: exec, no PTY, host key pinned), and the hook returns
 * `{ stdout, stderr }` so dependent resources see real uids and gids. A non-zero exit throws
 * with the exit status, stdout and stderr, as the command provider fails a resource. Other
 * resources get the `fallback` resolver's outputs (canned by default).
 *
 * Pulumi's runtime is process-global and records once per process, so {@link recordOnHosts}
 * runs one recording in a child process (this file is also that child's entry point) and
 * returns the recording, every command it ran (with timings) and the error, if any. Use it to
 * run several scenarios from one test file.
 *
 * ```ts
 * const result = await recordOnHosts({ stack: "dev", config: hostConfig(host) }, [host], { scripts: ["account"] });
 * assert.equal(result.error, undefined);
 * assert.equal(result.runs[0].code, 0);
 * ```
 */
import { spawn } from "node:child_process";
import * as path from "node:path";
import { cannedResolver, scriptArgsOf, scriptNameOf } from "./canned-outputs";
import { makeRecording, recordProgram, type RecordedResource, type RecordOptions, type Recording, type Resolver } from "./mock-recorder";
import { run, shQuote, type TestHost } from "./testhost";

/** One remote command run on a test host. */
export interface CommandRun {
    /** Resource name (e.g. `primary-account`). */
    readonly resource: string;
    /** Test host name. */
    readonly host: string;
    /** SSH user the command ran as (`connection.user`). */
    readonly user: string;
    /** Script name from its `# replicated-script:` header, when it has one. */
    readonly script?: string;
    /** Its positional arguments. */
    readonly args: string[];
    /** Exit status (null: killed by a signal or the channel closed without one). */
    readonly code: number | null;
    readonly stdout: string;
    readonly stderr: string;
    /** Wall-clock seconds of the SSH exec (connect included). */
    readonly seconds: number;
}

export interface HostResolverOptions {
    /** The hosts commands may run on, matched by address and SSH port. */
    readonly hosts: readonly TestHost[];
    /** Outputs of every resource not run on a host. Default: {@link cannedResolver}. */
    readonly fallback?: Resolver;
    /**
     * Which commands run on a host; the others get `fallback`'s outputs. Default: every
     * `command:remote:Command`.
     */
    readonly shouldRun?: (resource: RecordedResource) => boolean;
    /** Budget per command (connect + run), default 300 000 ms. */
    readonly timeoutMs?: number;
    /** Called after every command, also a failing one. */
    readonly onRun?: (run: CommandRun) => void;
    /** Called for every command resource the hook sees, run or not. */
    readonly onCommand?: (resource: RecordedResource) => void;
}

const COMMAND_TYPE = "command:remote:Command";

function connectionOf(resource: RecordedResource): { host: string; port: number; user: string; hostKey?: string } {
    const connection = (resource.inputs.connection ?? {}) as Record<string, unknown>;
    const host = connection.host;
    const port = connection.port ?? 22;
    if (typeof host !== "string" || typeof port !== "number") {
        throw new Error(`${resource.name}: connection.host/port missing or unknown in the recorded inputs`);
    }
    return {
        host,
        port,
        user: typeof connection.user === "string" ? connection.user : "root",
        hostKey: typeof connection.hostKey === "string" ? connection.hostKey : undefined,
    };
}

/** The resolve hook: run each remote command on the matching test host. */
export function hostResolver(options: HostResolverOptions): Resolver {
    const fallback = options.fallback ?? cannedResolver;
    const shouldRun = options.shouldRun ?? (() => true);
    return async (resource) => {
        if (resource.type !== COMMAND_TYPE) {
            return fallback(resource);
        }
        options.onCommand?.(resource);
        if (!shouldRun(resource)) {
            return fallback(resource);
        }
        const connection = connectionOf(resource);
        const host = options.hosts.find((h) => h.address === connection.host && h.sshPort === connection.port);
        if (!host) {
            const known = options.hosts.map((h) => `${h.address}:${h.sshPort}`).join(", ");
            throw new Error(`${resource.name}: no test host at ${connection.host}:${connection.port} (known: ${known || "none"})`);
        }
        // The provider refuses a host whose key differs from the pinned one; so does this hook.
        if (connection.hostKey !== undefined && connection.hostKey.trim() !== host.hostKey.trim()) {
            throw new Error(`${resource.name}: pinned host key ${connection.hostKey} does not match ${host.name}'s ${host.hostKey}`);
        }
        const create = resource.inputs.create;
        if (typeof create !== "string") {
            throw new Error(`${resource.name}: create is missing or unknown in the recorded inputs`);
        }
        const stdin = typeof resource.inputs.stdin === "string" ? resource.inputs.stdin : undefined;
        const started = performance.now();
        const result = await run(host, create, { user: connection.user, stdin, timeoutMs: options.timeoutMs ?? 300_000 });
        const record: CommandRun = {
            resource: resource.name,
            host: host.name,
            user: connection.user,
            script: scriptNameOf(resource),
            args: scriptArgsOf(resource),
            code: result.code,
            stdout: result.stdout,
            stderr: result.stderr,
            seconds: (performance.now() - started) / 1000,
        };
        options.onRun?.(record);
        if (result.code !== 0) {
            const status = result.code === null ? `signal ${result.signal ?? "unknown"}` : `status ${result.code}`;
            throw new Error(
                `${resource.name}: Process exited with ${status} on ${host.name} as ${connection.user}\n` +
                    `stdout: ${result.stdout.trim()}\nstderr: ${result.stderr.trim()}`,
            );
        }
        // The command provider drops one trailing newline from its outputs.
        return { stdout: result.stdout.replace(/\n$/, ""), stderr: result.stderr.replace(/\n$/, "") };
    };
}

/** What one child-process recording on test hosts produced. */
export interface HostRecordingResult {
    /** The recording, when the program finished; resources registered so far when it failed. */
    readonly recording: Recording;
    /** The program's error (a config error, a failed command, ...), undefined on success. */
    readonly error?: string;
    /** Every command that ran on a host, in completion order. */
    readonly runs: CommandRun[];
    /** Names of all command resources the hook saw (run or canned). */
    readonly commands: string[];
    /** Wall-clock seconds of the whole child process. */
    readonly seconds: number;
}

export interface RecordOnHostsOptions {
    /** Only commands running these scripts (`# replicated-script: <name>`) run on hosts. Default: all. */
    readonly scripts?: readonly string[];
    /** A module whose export (default: `default`) is the program to run instead of index.ts. */
    readonly programModule?: string;
    readonly programExport?: string;
    /** Budget per remote command, default 300 000 ms. */
    readonly commandTimeoutMs?: number;
    /** Budget for the whole child process, default 900 000 ms. */
    readonly timeoutMs?: number;
}

interface ChildRequest {
    readonly options: Omit<RecordOptions, "resolve" | "program">;
    readonly hosts: readonly TestHost[];
    readonly run: RecordOnHostsOptions;
}

interface ChildReply {
    resources: RecordedResource[];
    outputs: Record<string, unknown>;
    error?: string;
    runs: CommandRun[];
    commands: string[];
}

const REQUEST_ENV = "REPLICATED_HOST_RUNNER_REQUEST";
const REPLY_MARKER = "\n@@host-runner-reply@@";

/**
 * Record the program (or `run.programModule`) in a child process with {@link hostResolver} over
 * `hosts`. Never throws for a program failure: it is returned as `error`, with the commands
 * that ran before it.
 */
export async function recordOnHosts(
    options: Omit<RecordOptions, "resolve" | "program">,
    hosts: readonly TestHost[],
    runOptions: RecordOnHostsOptions = {},
): Promise<HostRecordingResult> {
    const started = performance.now();
    const request: ChildRequest = { options, hosts, run: runOptions };
    const child = spawn(process.execPath, ["--import", "tsx", __filename], {
        env: { ...process.env, [REQUEST_ENV]: JSON.stringify(request) },
        stdio: ["ignore", "pipe", "pipe"],
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
    const timeoutMs = runOptions.timeoutMs ?? 900_000;
    const code = await new Promise<number | null>((resolve) => {
        const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
        child.on("close", (exitCode) => {
            clearTimeout(timer);
            resolve(exitCode);
        });
    });
    const out = Buffer.concat(stdout).toString("utf8");
    const err = Buffer.concat(stderr).toString("utf8");
    const at = out.lastIndexOf(REPLY_MARKER);
    if (at < 0) {
        throw new Error(`host-runner child exited ${code} without a reply (timeout ${timeoutMs} ms?)\nstdout: ${out.slice(-4000)}\nstderr: ${err.slice(-4000)}`);
    }
    const reply = JSON.parse(out.slice(at + REPLY_MARKER.length)) as ChildReply;
    return {
        recording: makeRecording(reply.resources, reply.outputs),
        error: reply.error,
        runs: reply.runs,
        commands: reply.commands,
        seconds: (performance.now() - started) / 1000,
    };
}

function errorText(error: unknown): string {
    return error instanceof Error ? error.message : String(error);
}

/** Child side of {@link recordOnHosts}. */
async function childMain(): Promise<void> {
    const request = JSON.parse(process.env[REQUEST_ENV] ?? "{}") as ChildRequest;
    const runs: CommandRun[] = [];
    const commands: string[] = [];
    const errors: string[] = [];
    const inFlight = new Set<Promise<unknown>>();
    const scripts = request.run.scripts;
    const resolver = hostResolver({
        hosts: request.hosts,
        timeoutMs: request.run.commandTimeoutMs,
        shouldRun: scripts ? (resource) => scripts.includes(scriptNameOf(resource) ?? "") : undefined,
        onRun: (r) => runs.push(r),
        onCommand: (resource) => commands.push(resource.name),
    });
    // Track every resolution, so the reply waits for commands still running when the stack's
    // outputs are already known.
    const tracked: Resolver = (resource) => {
        const pending = Promise.resolve(resolver(resource));
        inFlight.add(pending);
        pending.then(
            () => inFlight.delete(pending),
            (error: unknown) => {
                inFlight.delete(pending);
                errors.push(errorText(error));
            },
        );
        return pending;
    };
    // A failed command rejects outputs nobody awaits; keep the first such error, do not crash.
    process.on("unhandledRejection", (reason) => errors.push(errorText(reason)));

    let program: (() => unknown) | undefined;
    if (request.run.programModule) {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const loaded = require(path.resolve(request.run.programModule)) as Record<string, unknown>;
        const exported = loaded[request.run.programExport ?? "default"];
        if (typeof exported !== "function") {
            throw new Error(`${request.run.programModule} has no function export ${request.run.programExport ?? "default"}`);
        }
        program = exported as () => unknown;
    }

    let recording: Recording | undefined;
    let failure: string | undefined;
    try {
        recording = await recordProgram({ ...request.options, resolve: tracked, program });
    } catch (error) {
        failure = errorText(error);
    }
    while (inFlight.size > 0) {
        await Promise.allSettled([...inFlight]);
    }
    const error = failure ?? errors[0];
    const reply: ChildReply = {
        resources: recording?.resources ?? [],
        outputs: recording?.outputs ?? {},
        error,
        runs,
        commands,
    };
    replyAndExit(reply);
}

/**
 * Print the reply and exit once it is flushed: stdout is a pipe, where writes are asynchronous,
 * and an immediate process.exit would cut a large reply short.
 */
function replyAndExit(reply: ChildReply): void {
    process.stdout.write(REPLY_MARKER + JSON.stringify(reply), () => process.exit(0));
}

if (require.main === module && process.env[REQUEST_ENV] !== undefined) {
    childMain().catch((error: unknown) => {
        replyAndExit({ resources: [], outputs: {}, error: errorText(error), runs: [], commands: [] });
    });
}

export interface TestHostConfigOptions {
    /** SSH login: `root` (become none) or the passwordless sudo user (become sudo). Default root. */
    readonly login?: "root" | "sudo" | "promptingSudo";
    /** Stack config overrides (without namespace), merged last. */
    readonly overrides?: Record<string, unknown>;
}

/**
 * A stack config (namespace stripped, as recordProgram takes it) whose hosts are `hosts`: the
 * first is the primary, the rest operators; address 127.0.0.1 and the published SSH port,
 * pinned host key, the test key file. Use a stack name other than "dev" so host keys are required.
 */
export function testHostConfig(hosts: readonly TestHost[], options: TestHostConfigOptions = {}): Record<string, unknown> {
    if (hosts.length === 0) {
        throw new Error("testHostConfig: no hosts");
    }
    const login = options.login ?? "root";
    return {
        version: "2.53.2",
        runAs: "replicated",
        sshPrivateKeyPath: hosts[0].privateKeyPath,
        hosts: hosts.map((host, index) => ({
            name: host.name,
            address: host.address,
            port: host.sshPort,
            user: host.users[login],
            become: login === "root" ? "none" : "sudo",
            role: index === 0 ? "primary" : "operator",
            privateAddress: host.privateAddress,
            hostKey: host.hostKey,
        })),
        ...(options.overrides ?? {}),
    };
}

/** Runs `command` as root on `host`; throws with its output unless it exits 0. Returns stdout. */
export async function sh(host: TestHost, command: string, opts: { user?: string; stdin?: string; timeoutMs?: number } = {}): Promise<string> {
    const result = await run(host, command, opts);
    if (result.code !== 0) {
        throw new Error(`${host.name}: \`${command}\` exited ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
    }
    return result.stdout;
}

/**
 * `stat` of each path on the host, without following symlinks: `uid:gid mode type inode
 * mtime ctime` (ctime moves on any chown/chmod, even to the same values, so equal snapshots
 * prove nothing was touched). Missing paths map to "absent".
 */
export async function statPaths(host: TestHost, paths: readonly string[]): Promise<Record<string, string>> {
    const quoted = paths.map(shQuote).join(" ");
    const out = await sh(host, `for p in ${quoted}; do if [ -e "$p" ] || [ -L "$p" ]; then stat -c '%u:%g %a %F %i %Y %Z' -- "$p"; else echo absent; fi; done`);
    const lines = out.split("\n").slice(0, paths.length);
    return Object.fromEntries(paths.map((p, index) => [p, lines[index] ?? "absent"]));
}

/** sha256 of each file on the host ("absent" when missing). */
export async function sha256Files(host: TestHost, paths: readonly string[]): Promise<Record<string, string>> {
    const quoted = paths.map(shQuote).join(" ");
    const out = await sh(host, `for p in ${quoted}; do if [ -f "$p" ]; then sha256sum -- "$p" | cut -d' ' -f1; else echo absent; fi; done`);
    const lines = out.split("\n").slice(0, paths.length);
    return Object.fromEntries(paths.map((p, index) => [p, lines[index] ?? "absent"]));
}
