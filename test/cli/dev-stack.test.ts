/**
 * The cli tier proper: the dev stack through the real Pulumi CLI and provider plugins, against the
 * sandbox host — preview, up, preview --expect-no-changes, up after a version bump, preview
 * --expect-no-changes again, destroy (driver.ts). This is where the real engine proves what the
 * runner models. Where the CLI, its plugins or the sandbox's needs are missing it is skipped with
 * the reason printed, also under CI=true (CI has no CLI; wiring.test.ts covers the driver there).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { runCliTier } from "./driver";
import { sandboxHost } from "./sandbox-host";

test("dev stack lifecycle through the Pulumi CLI against the sandbox", { timeout: 60 * 60_000 }, async (t) => {
    const outcome = await runCliTier({ host: sandboxHost });
    if (outcome.status === "skipped") {
        console.log(`SKIPPED cli tier (real Pulumi CLI): ${outcome.reason}`);
        t.skip(outcome.reason);
        return;
    }
    console.log(`cli tier with pulumi ${outcome.cliVersion}:`);
    for (const step of outcome.steps) {
        console.log(`  ${step.name.padEnd(44)} ${step.seconds.toFixed(1).padStart(7)} s  ${step.summary}`);
    }
    assert.equal(outcome.steps.length, 8);
});
