/**
 * The unit tier in one process: every test file named on the command line (test/run.ts passes
 * each `test/unit/*.test.ts`, listed from the directory) is loaded inside a suite of its own, so
 * its top-level tests and hooks (`before`, `after`) belong to that file alone, and the SDKs, the
 * program's modules and each stack's recording are loaded or evaluated once for all of them.
 *
 * Files run at the same time, so one waiting on a child process (a build, a CLI run) does not
 * hold up the others; the tests inside a file run in order, as they do under `node --test`.
 * Recordings share the process-global Pulumi runtime and are queued one after another
 * (tools/offline/recorder.ts).
 *
 * Usage: node --import tsx --test-reporter=spec test/support/unit-entry.ts <file.test.ts>...
 */
import * as path from "node:path";
import { describe } from "node:test";

const files = process.argv.slice(2).map((file) => path.resolve(file));
if (files.length === 0) {
    console.error("usage: unit-entry.ts <file.test.ts>...");
    process.exit(2);
}

const UNIT_DIR = path.join(__dirname, "..", "unit");

describe("unit", { concurrency: true }, () => {
    for (const file of files) {
        describe(path.relative(UNIT_DIR, file), { concurrency: 1 }, () => {
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            require(file);
        });
    }
});
