/**
 * Timing on the test host: over SSH from this machine (what an operator waits for), or on the
 * host itself (`date +%s.%N` around the work, so the SSH session is not part of the figure).
 */
import { run, type RunResult, type TestHost } from "../../test/support/testhost";

const MARKER = "@@bench-time@@";

/**
 * Wrap a shell command line so the host measures it: prints `@@bench-time@@ <start> <end>` on
 * stderr and exits with the command's status. The command keeps the session's stdin.
 */
export function timedCommand(commandLine: string): string {
    return (
        `bench_t0=$(date +%s.%N); { ${commandLine}\n}; bench_rc=$?; bench_t1=$(date +%s.%N); ` +
        `printf '\\n${MARKER} %s %s\\n' "$bench_t0" "$bench_t1" >&2; exit $bench_rc`
    );
}

/** Seconds between the two stamps of {@link timedCommand}'s marker line; throws when it is missing. */
export function parseHostSeconds(stderr: string): number {
    const match = new RegExp(`${MARKER} ([0-9]+\\.[0-9]+) ([0-9]+\\.[0-9]+)`).exec(stderr);
    if (!match) {
        throw new Error(`no timing line in the command's stderr: ${stderr.slice(-500)}`);
    }
    return Number(match[2]) - Number(match[1]);
}

/** The command's stderr without the timing line. */
export function withoutTimingLine(stderr: string): string {
    return stderr.replace(new RegExp(`\\n?${MARKER} .*\\n?`), "");
}

export interface TimedRun {
    readonly result: RunResult;
    /** Seconds measured on the host. */
    readonly hostSeconds: number;
    /** Seconds measured here around the SSH exec (connect included). */
    readonly wallSeconds: number;
}

/** Run `commandLine` as `user` with `stdin`, timed on the host; throws on a non-zero exit. */
export async function runTimedOnHost(
    host: TestHost,
    what: string,
    commandLine: string,
    opts: { user?: string; stdin?: string; timeoutMs?: number } = {},
): Promise<TimedRun> {
    const started = performance.now();
    const result = await run(host, timedCommand(commandLine), { user: opts.user, stdin: opts.stdin, timeoutMs: opts.timeoutMs ?? 600_000 });
    const wallSeconds = (performance.now() - started) / 1000;
    if (result.code !== 0) {
        throw new Error(`${what} failed on ${host.name} (exit ${result.code}):\nstdout: ${result.stdout.trim()}\nstderr: ${withoutTimingLine(result.stderr).trim()}`);
    }
    return { result: { ...result, stderr: withoutTimingLine(result.stderr) }, hostSeconds: parseHostSeconds(result.stderr), wallSeconds };
}

/** Run a setup or reset step (not timed); throws with its output on failure. */
export async function mustRun(host: TestHost, what: string, command: string, opts: { stdin?: string; timeoutMs?: number } = {}): Promise<RunResult> {
    const result = await run(host, command, { stdin: opts.stdin, timeoutMs: opts.timeoutMs ?? 600_000 });
    if (result.code !== 0) {
        throw new Error(`${what} failed on ${host.name} (exit ${result.code}):\nstdout: ${result.stdout.trim()}\nstderr: ${result.stderr.trim()}`);
    }
    return result;
}

/** Seconds of an async step, measured here. */
export async function timed<T>(step: () => Promise<T>): Promise<{ value: T; seconds: number }> {
    const started = performance.now();
    const value = await step();
    return { value, seconds: (performance.now() - started) / 1000 };
}
