/* global process, require */
// Preloaded into a benchmarked command (NODE_OPTIONS=--require <this file>): when the process
// exits, its peak resident set and CPU time go to the file named by BENCH_RUSAGE_FILE, so the
// command itself is measured as it is, without a wrapper.
"use strict";
// eslint-disable-next-line @typescript-eslint/no-require-imports
const fs = require("node:fs");

const file = process.env.BENCH_RUSAGE_FILE;
if (file) {
    process.on("exit", () => {
        const usage = process.resourceUsage();
        fs.writeFileSync(file, JSON.stringify({ maxRssKiB: usage.maxRSS, userSeconds: usage.userCPUTime / 1e6, systemSeconds: usage.systemCPUTime / 1e6 }));
    });
}
