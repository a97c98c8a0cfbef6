/**
 * Runs a Node process with tsx loaded (a command line of tools/, or a program given with `-e`) in
 * the project directory, to its end, without blocking the calling process. A non-zero exit is a
 * result to assert on, not an exception.
 */
import { spawn } from "node:child_process";
import * as path from "node:path";

export const PROJECT_DIR = path.resolve(__dirname, "..", "..");

export interface ProcessResult {
    /** The exit status; -1 when a signal (the timeout among them) ended the process. */
    readonly code: number;
    readonly stdout: string;
    readonly stderr: string;
}

export interface RunOptions {
    readonly env?: NodeJS.ProcessEnv;
    /** Milliseconds before the process is killed; two minutes unless given. */
    readonly timeout?: number;
}

/** `node --import tsx <args...>` in PROJECT_DIR. */
export function runNodeWithTsx(args: readonly string[], options: RunOptions = {}): Promise<ProcessResult> {
    return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, ["--import", "tsx", ...args], {
            cwd: PROJECT_DIR,
            env: options.env ?? process.env,
            stdio: ["ignore", "pipe", "pipe"],
            timeout: options.timeout ?? 120_000,
        });
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
        child.on("error", reject);
        child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });
}

/** The command line `tools/<tool>.ts` with `args`. */
export function runTool(tool: string, args: readonly string[], options: RunOptions = {}): Promise<ProcessResult> {
    return runNodeWithTsx([path.join(PROJECT_DIR, "tools", `${tool}.ts`), ...args], options);
}
