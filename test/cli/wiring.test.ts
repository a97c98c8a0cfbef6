/**
 * The cli tier's driver, run against the stand-in `pulumi` (test/support/pulumi-stub) on PATH:
 * proves the wiring only, on every machine including CI. The stand-in deploys nothing; it checks
 * that the driver, through the real Automation API, makes exactly the CLI invocations written
 * down from the Automation API's source (expected-invocations.ts), in order, with the backend,
 * passphrase and working directory the tier promises, and answers as the CLI would. That the
 * real CLI and providers then do the right thing is only shown by dev-stack.test.ts on a machine
 * that has them.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, test } from "node:test";
import { LOG_ENV, PLAN_ENV, readStubLog, type StubCall, type StubLogEntry } from "../support/pulumi-stub/plan";
import { devStackSteps, nextPatch, runCliTier, type TierHost, type TierOutcome } from "./driver";
import { devLifecycleInvocations } from "./expected-invocations";

const STUB_DIR = path.join(__dirname, "..", "support", "pulumi-stub");
const WORK_DIR = { match: `^${os.tmpdir().replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/replicated-cli-tier-[^/]+/project$` };
const VERSIONS = { initial: "2.53.2", bumped: nextPatch("2.53.2") };

/** A host that does nothing but record which hooks the driver called, in order. */
function recordingHost(calls: string[]): TierHost {
    return {
        async prepareVersion(version) {
            calls.push(`prepare ${version}`);
        },
        async verify(state) {
            calls.push(state === "destroyed" ? "verify destroyed" : `verify ${state.applied}`);
        },
        async dispose() {
            calls.push("dispose");
        },
    };
}

interface StubRun {
    readonly outcome?: TierOutcome;
    readonly error?: Error;
    readonly log: StubLogEntry[];
    readonly hostCalls: string[];
}

/** Run the driver with the stand-in first on PATH (or with `path` as the whole PATH), following `calls`. */
async function runWithStub(calls: readonly StubCall[], searchPath?: string): Promise<StubRun> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-stub-"));
    const planFile = path.join(dir, "plan.json");
    const logFile = path.join(dir, "log.jsonl");
    fs.writeFileSync(planFile, JSON.stringify({ calls }));
    const saved = { PATH: process.env.PATH, [PLAN_ENV]: process.env[PLAN_ENV], [LOG_ENV]: process.env[LOG_ENV] };
    process.env.PATH = searchPath ?? `${STUB_DIR}${path.delimiter}${process.env.PATH ?? ""}`;
    process.env[PLAN_ENV] = planFile;
    process.env[LOG_ENV] = logFile;
    const hostCalls: string[] = [];
    try {
        const outcome = await runCliTier({ host: async () => recordingHost(hostCalls), log: () => undefined });
        return { outcome, log: readStubLog(logFile), hostCalls };
    } catch (err) {
        return { error: err as Error, log: readStubLog(logFile), hostCalls };
    } finally {
        for (const [name, value] of Object.entries(saved)) {
            if (value === undefined) {
                delete process.env[name];
            } else {
                process.env[name] = value;
            }
        }
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

describe("cli tier driver against the stand-in pulumi (wiring only: nothing is deployed)", () => {
    test("the dev stack lifecycle makes exactly the expected CLI invocations, in order", { timeout: 180_000 }, async () => {
        console.log("cli tier wiring run: the stand-in pulumi records and answers the calls; the real CLI is not involved");
        const plan = devLifecycleInvocations({ workDir: WORK_DIR, versions: VERSIONS });
        const run = await runWithStub(plan);
        assert.equal(run.error, undefined, run.error?.message);
        assert.equal(run.outcome?.status, "passed");
        assert.deepEqual(
            run.log.filter((entry) => entry.problem !== undefined),
            [],
            "no invocation was refused",
        );
        assert.equal(run.log.length, plan.length, "every planned invocation was made");
        if (run.outcome?.status === "passed") {
            assert.deepEqual(
                run.outcome.steps.map((step) => step.name),
                devStackSteps().map((step) => step.name),
            );
            assert.equal(run.outcome.cliVersion, "3.248.0");
        }
        assert.deepEqual(run.hostCalls, [`prepare ${VERSIONS.initial}`, `verify ${VERSIONS.initial}`, `prepare ${VERSIONS.bumped}`, `verify ${VERSIONS.bumped}`, "verify destroyed", "dispose"]);
    });

    test("an invocation the plan does not expect fails the run, naming it and the expected one", { timeout: 180_000 }, async () => {
        // The plan says the second preview is a plain one: the driver's --expect-no-changes is then unexpected.
        const plan = devLifecycleInvocations({ workDir: WORK_DIR, versions: VERSIONS });
        const second = plan.findIndex((call, index) => index > 3 && call.argv[0] === "preview");
        plan[second] = { ...plan[second], argv: plan[second].argv.filter((arg) => arg !== "--expect-no-changes" && arg !== "--diff") };
        const run = await runWithStub(plan);
        assert.ok(run.error, "the run fails");
        assert.match(run.error.message, /step "preview --expect-no-changes" failed/);
        assert.match(run.error.message, /unexpected invocation #\d+ `pulumi preview --expect-no-changes --diff --exec-kind auto\.local --event-log tcp:\/\/127\.0\.0\.1:\d+ --stack dev --non-interactive`/);
        const refused = run.log.filter((entry) => entry.problem !== undefined);
        assert.equal(refused.length, 1);
        assert.equal(refused[0].index, second);
        // Kept for inspection after a failure.
        const kept = /kept in (\S+)\)/.exec(run.error.message)?.[1];
        assert.ok(kept !== undefined && fs.existsSync(kept));
        fs.rmSync(kept, { recursive: true, force: true });
    });

    test("a call after the plan's end is refused", { timeout: 180_000 }, async () => {
        const plan = devLifecycleInvocations({ workDir: WORK_DIR, versions: VERSIONS }).slice(0, -1);
        const run = await runWithStub(plan);
        assert.ok(run.error);
        assert.match(run.error.message, /the plan has only \d+ calls/);
        assert.equal(run.log.at(-1)?.argv.join(" "), "stack rm --yes dev --non-interactive");
    });

    test("missing provider plugins skip the tier with the commands that install them", async () => {
        const plan = devLifecycleInvocations({ workDir: WORK_DIR, versions: VERSIONS }).slice(0, 2);
        plan[1] = { ...plan[1], stdout: JSON.stringify([{ name: "random", kind: "resource", version: "4.21.2", size: 1 }]) };
        const run = await runWithStub(plan);
        assert.equal(run.error, undefined, run.error?.message);
        assert.deepEqual(run.outcome, {
            status: "skipped",
            reason: "provider plugins missing: pulumi plugin install resource command 1.2.1; pulumi plugin install resource docker 5.2.0",
        });
        assert.deepEqual(run.hostCalls, [], "no host is prepared");
    });

    test("a CLI older than the config rules Pulumi.yaml is written for skips the tier, saying so", async () => {
        const [version] = devLifecycleInvocations({ workDir: WORK_DIR, versions: VERSIONS });
        const run = await runWithStub([{ ...version, stdout: "v3.200.0\n" }]);
        assert.deepEqual(run.outcome, { status: "skipped", reason: "pulumi 3.200.0 is older than 3.213.0, the first release whose config rules Pulumi.yaml is written for" });
    });

    test("no pulumi on PATH: skipped with the reason, nothing run", async () => {
        const empty = fs.mkdtempSync(path.join(os.tmpdir(), "empty-path-"));
        try {
            const run = await runWithStub([], empty);
            assert.equal(run.outcome?.status, "skipped");
            assert.match(run.outcome?.status === "skipped" ? run.outcome.reason : "", /no `pulumi` executable on PATH/);
            assert.deepEqual(run.log, []);
        } finally {
            fs.rmSync(empty, { recursive: true, force: true });
        }
    });
});
