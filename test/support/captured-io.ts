/** A command line's output kept for assertions when its `main` runs in the test's process. */
import type { CommandIo } from "../../tools/command-io";

export interface CapturedIo extends CommandIo {
    /** Everything written to standard output, joined. */
    readonly out: () => string;
    /** Everything written to standard error, joined. */
    readonly err: () => string;
}

export function capturedIo(): CapturedIo {
    const out: string[] = [];
    const err: string[] = [];
    return {
        stdout: (text) => out.push(text),
        stderr: (text) => err.push(text),
        out: () => out.join(""),
        err: () => err.join(""),
    };
}
