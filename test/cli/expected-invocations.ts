/**
 * The CLI invocations the cli tier's driver makes through the Automation API, in order, written
 * from pulumi/pulumi v3.248.0 sdk/nodejs/automation (not from the driver): which function builds
 * each argument list is named in `why`. With the answers a real CLI would give, they are the plan
 * of the stand-in `pulumi` the wiring test puts on PATH.
 *
 * - cmd.ts PulumiCommand.get: `pulumi version`, env PULUMI_SKIP_UPDATE_CHECK, no working directory;
 * - every other call runs in the workspace directory with the workspace's envVars and
 *   PULUMI_AUTOMATION_API=true, and ends with `--non-interactive` unless it has it already
 *   (cmd.ts PulumiCommand.run);
 * - Stack calls append `--stack <name>` (stack.ts Stack.runPulumiCmd); LocalWorkspace calls carry
 *   it themselves where they need it;
 * - a CLI newer than 3.205.0 gets `--event-log tcp://127.0.0.1:<port>` (stack.ts setupEventLog):
 *   always for preview, for up and destroy only with an onEvent callback (the driver passes none).
 */
import { DEV_PASSPHRASE, REQUIRED_PLUGINS, STACK } from "./driver";
import type { Expected, StubCall } from "../support/pulumi-stub/plan";

export const STUB_CLI_VERSION = "3.248.0";

const EVENT_LOG: Expected = { match: "^tcp://127\\.0\\.0\\.1:[0-9]+$" };

export interface PlanContext {
    /** The workspace directory (a temp copy of the project): matched by its shape, it is created per run. */
    readonly workDir: Expected;
    readonly versions: { readonly initial: string; readonly bumped: string };
}

/** cmd.ts PulumiCommand.run: `--non-interactive` is appended unless present. */
function nonInteractive(call: StubCall): StubCall {
    return call.argv.includes("--non-interactive") ? call : { ...call, argv: [...call.argv, "--non-interactive"] };
}

function workspaceEnv(): Record<string, Expected> {
    return {
        PULUMI_AUTOMATION_API: "true",
        PULUMI_BACKEND_URL: { match: "^file:///.+/state$" },
        PULUMI_CONFIG_PASSPHRASE: DEV_PASSPHRASE,
        PULUMI_SKIP_UPDATE_CHECK: "true",
    };
}

/** An engine summary event, as the CLI streams it at the end of an operation. */
function summaryEvent(sequence: number, resourceChanges: Record<string, number>): object {
    return {
        sequence,
        timestamp: Math.floor(Date.parse("2026-01-01T00:00:00Z") / 1000),
        summaryEvent: { maybeCorrupt: false, durationSeconds: 1, resourceChanges, policyPacks: {} },
    };
}

function history(kind: string, resourceChanges: Record<string, number>, version: number): string {
    return JSON.stringify([
        {
            version,
            kind,
            startTime: "2026-01-01T00:00:00.000Z",
            endTime: "2026-01-01T00:01:00.000Z",
            message: "",
            environment: { exec_kind: "auto.local" },
            config: {},
            result: "succeeded",
            resourceChanges,
        },
    ]);
}

/** `stack.up()`: the up itself, then the outputs (masked and plain), then the last history entry. */
function upCalls(context: PlanContext, version: string, resourceChanges: Record<string, number>, historyVersion: number): StubCall[] {
    const common = { cwd: context.workDir, env: workspaceEnv() };
    const outputs = JSON.stringify({ stack: STACK, version, runAs: "replicated", hosts: { sandbox: { uid: 999, dockerGid: 998 } } });
    return [
        { ...common, why: "stack.ts Stack.up", argv: ["up", "--yes", "--skip-preview", "--exec-kind", "auto.local", "--stack", STACK], stdout: "Resources: done\n" },
        { ...common, why: "localWorkspace.ts stackOutputs (masked)", argv: ["stack", "output", "--json", "--stack", STACK], stdout: outputs },
        { ...common, why: "localWorkspace.ts stackOutputs (--show-secrets)", argv: ["stack", "output", "--json", "--show-secrets", "--stack", STACK], stdout: outputs },
        {
            ...common,
            why: "stack.ts Stack.info -> history(1)",
            argv: ["stack", "history", "--json", "--show-secrets", "--page-size", "1", "--page", "1", "--stack", STACK],
            stdout: history("update", resourceChanges, historyVersion),
        },
    ];
}

function previewCall(context: PlanContext, flags: string[], resourceChanges: Record<string, number>): StubCall {
    return {
        why: `stack.ts Stack.preview${flags.length > 0 ? ` (${flags.join(" ")})` : ""}`,
        cwd: context.workDir,
        env: workspaceEnv(),
        argv: ["preview", ...flags, "--exec-kind", "auto.local", "--event-log", EVENT_LOG, "--stack", STACK],
        stdout: "Previewing update (dev)\n",
        events: [summaryEvent(1, resourceChanges)],
    };
}

/** Every invocation of {@link devStackSteps} run by {@link runCliTier}, with a real CLI's answers. */
export function devLifecycleInvocations(context: PlanContext): StubCall[] {
    const common = { cwd: context.workDir, env: workspaceEnv() };
    const resources = 24;
    const version: StubCall = { why: "cmd.ts PulumiCommand.get", argv: ["version"], env: { PULUMI_SKIP_UPDATE_CHECK: "true" }, stdout: `v${STUB_CLI_VERSION}\n` };
    const run: StubCall[] = [
        {
            ...common,
            why: "localWorkspace.ts listPlugins",
            argv: ["plugin", "ls", "--json"],
            stdout: JSON.stringify(REQUIRED_PLUGINS.map((p) => ({ name: p.name, kind: p.kind, version: p.version, size: 1, installTime: "2026-01-01T00:00:00Z", lastUsedTime: "2026-01-01T00:00:00Z" }))),
        },
        { ...common, why: "localWorkspace.ts createStack (Stack.create)", argv: ["stack", "init", STACK], stdout: `Created stack '${STACK}'\n` },
        previewCall(context, [], { create: resources }),
        ...upCalls(context, context.versions.initial, { create: resources }, 1),
        previewCall(context, ["--expect-no-changes", "--diff"], { same: resources }),
        {
            ...common,
            why: "localWorkspace.ts setConfig (Stack.setConfig)",
            argv: ["config", "set", "replicated:version", "--stack", STACK, "--plaintext", "--non-interactive", "--", context.versions.bumped],
        },
        ...upCalls(context, context.versions.bumped, { same: 18, update: 1, replace: 5 }, 2),
        previewCall(context, ["--expect-no-changes", "--diff"], { same: resources }),
        {
            ...common,
            why: "stack.ts Stack.destroy",
            argv: ["destroy", "--yes", "--skip-preview", "--exec-kind", "auto.local", "--stack", STACK],
            stdout: "Resources: destroyed\n",
        },
        {
            ...common,
            why: "stack.ts Stack.info -> history(1) after destroy",
            argv: ["stack", "history", "--json", "--show-secrets", "--page-size", "1", "--page", "1", "--stack", STACK],
            stdout: history("destroy", { delete: resources }, 3),
        },
        { ...common, why: "localWorkspace.ts removeStack", argv: ["stack", "rm", "--yes", STACK] },
    ];
    return [version, ...run.map(nonInteractive)];
}
