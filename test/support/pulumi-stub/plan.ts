/**
 * The plan the stand-in `pulumi` follows: the exact invocations it expects, in order, and what it
 * answers to each. A value is matched exactly, or by a regular expression (`{ match }`) where the
 * Automation API inserts something that changes per run (an event-log port, a temp directory).
 */
import * as fs from "node:fs";

export type Expected = string | { readonly match: string };

export interface StubCall {
    /** Which Automation API call makes this invocation (for the failure message). */
    readonly why: string;
    /** Arguments after `pulumi`. */
    readonly argv: readonly Expected[];
    /** Working directory; unchecked when absent. */
    readonly cwd?: Expected;
    /** Environment variables that must be set to these values. */
    readonly env?: Readonly<Record<string, Expected>>;
    readonly stdout?: string;
    readonly stderr?: string;
    readonly exitCode?: number;
    /** Engine events sent to the `--event-log` endpoint (gRPC `tcp://` address or file) before exiting. */
    readonly events?: readonly object[];
}

export interface StubPlan {
    readonly calls: readonly StubCall[];
}

/** One line of the stub's log, per invocation. */
export interface StubLogEntry {
    readonly index: number;
    readonly argv: readonly string[];
    readonly cwd: string;
    /** Why the invocation was refused; absent when it was the expected one. */
    readonly problem?: string;
}

/** Environment variables naming the plan and the log. */
export const PLAN_ENV = "PULUMI_STUB_PLAN";
export const LOG_ENV = "PULUMI_STUB_LOG";
/** Exit code of a refused invocation. */
export const UNEXPECTED_EXIT_CODE = 97;

export function matches(expected: Expected, actual: string | undefined): boolean {
    if (actual === undefined) {
        return false;
    }
    return typeof expected === "string" ? expected === actual : new RegExp(expected.match).test(actual);
}

export function describeExpected(expected: Expected): string {
    return typeof expected === "string" ? expected : `/${expected.match}/`;
}

/** Why `argv` run in `cwd` with `env` is not `call`, or undefined when it is. */
export function mismatch(call: StubCall, argv: readonly string[], cwd: string, env: Readonly<Record<string, string | undefined>>): string | undefined {
    if (argv.length !== call.argv.length || call.argv.some((expected, i) => !matches(expected, argv[i]))) {
        return `expected \`pulumi ${call.argv.map(describeExpected).join(" ")}\` (${call.why})`;
    }
    if (call.cwd !== undefined && !matches(call.cwd, cwd)) {
        return `expected working directory ${describeExpected(call.cwd)} (${call.why}), got ${cwd}`;
    }
    for (const [name, expected] of Object.entries(call.env ?? {})) {
        if (!matches(expected, env[name])) {
            return `expected ${name}=${describeExpected(expected)} (${call.why}), got ${env[name] === undefined ? "unset" : JSON.stringify(env[name])}`;
        }
    }
    return undefined;
}

/** The log's entries (empty when it does not exist yet). */
export function readStubLog(file: string): StubLogEntry[] {
    if (!fs.existsSync(file)) {
        return [];
    }
    return fs
        .readFileSync(file, "utf8")
        .split("\n")
        .filter(Boolean)
        .map((line) => JSON.parse(line) as StubLogEntry);
}
