/**
 * One real fleet rollout of the dev stack, through the real Pulumi CLI against the sandbox host:
 * `fleet rollout`'s Automation API runner (tools/fleet-automation.ts) writes a version into the
 * stack's config, previews and updates; the file holds the version and the sandbox runs it; the
 * same rollout again skips the stack; the next preview is empty; destroy. It runs on a copy of
 * the project through the cli tier's driver (driver.ts), which skips it, with the reason
 * printed, where the CLI, its plugins or the sandbox are missing.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { parse } from "yaml";
import { automationRunner } from "../../tools/fleet-automation";
import { renderSummary, rollout, type RolloutSummary } from "../../tools/fleet-rollout";
import { parseAssignment } from "../../tools/plan-diff-core";
import { STACK, nextPatch, runCliTier, type TierContext, type TierStep } from "./driver";
import { sandboxHost } from "./sandbox-host";

function stackVersion(context: TierContext): string {
    const file = path.join(context.workspace.workDir, "stacks", `Pulumi.${STACK}.yaml`);
    const doc = parse(fs.readFileSync(file, "utf8")) as { config: Record<string, unknown> };
    return String(doc.config["replicated:version"]);
}

/** `fleet rollout version=<v> --waves dev --yes` on the tier's copy of the project. */
async function rolloutDev(context: TierContext, version: string): Promise<RolloutSummary> {
    const runner = await automationRunner({
        assignments: [parseAssignment(`version=${version}`)],
        envVars: context.workspace.envVars,
        projectDir: context.workspace.workDir,
        // The tier's host is the sandbox it manages itself.
        startSandbox: false,
    });
    return rollout([[STACK]], runner, { log: (line) => context.onOutput(line) });
}

function steps(): TierStep[] {
    let target = "";
    return [
        {
            name: "images of the rolled-out version",
            async run(context) {
                target = nextPatch(context.versions.initial);
                await context.host.prepareVersion(target);
                return target;
            },
        },
        {
            name: "fleet rollout of the dev stack",
            async run(context) {
                const summary = await rolloutDev(context, target);
                const text = renderSummary(summary, (stack) => `stacks/Pulumi.${stack}.yaml`);
                assert.deepEqual(summary.stacks.map((s) => s.outcome), ["updated"], text);
                assert.equal(stackVersion(context), target, "the CLI wrote the version into the stack file");
                await context.host.verify({ applied: target });
                return `updated to ${target}`;
            },
        },
        {
            name: "the same rollout again",
            async run(context) {
                const summary = await rolloutDev(context, target);
                assert.deepEqual(summary.stacks.map((s) => s.outcome), ["skipped"], renderSummary(summary, (stack) => stack));
                return "skipped: holds the version, last update succeeded";
            },
        },
        {
            name: "preview --expect-no-changes after the rollout",
            async run({ stack, onOutput }) {
                await stack.preview({ expectNoChanges: true, diff: true, onOutput });
                return "no changes";
            },
        },
        {
            name: "destroy",
            async run({ stack, host, onOutput }) {
                const result = await stack.destroy({ onOutput });
                assert.equal(result.summary.result, "succeeded");
                await host.verify("destroyed");
                return "destroyed";
            },
        },
    ];
}

test("fleet rollout of the dev stack through the Pulumi CLI against the sandbox", { timeout: 60 * 60_000 }, async (t) => {
    const outcome = await runCliTier({ host: sandboxHost, steps: steps() });
    if (outcome.status === "skipped") {
        console.log(`SKIPPED cli tier fleet rollout (real Pulumi CLI): ${outcome.reason}`);
        t.skip(outcome.reason);
        return;
    }
    console.log(`fleet rollout with pulumi ${outcome.cliVersion}:`);
    for (const step of outcome.steps) {
        console.log(`  ${step.name.padEnd(48)} ${step.seconds.toFixed(1).padStart(7)} s  ${step.summary}`);
    }
    assert.equal(outcome.steps.length, 5);
});
