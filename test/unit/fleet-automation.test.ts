/**
 * The rollout's Automation API runner, wired to a stub `pulumi` on PATH that records every
 * invocation and fails on one it does not expect. This proves the wiring only (which CLI
 * commands the Automation API 3.248.0 runs for inspect, config, preview, up and restore, and
 * that the runner reads their results); what the real CLI does with them is the CLI tier's.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { automationRunner } from "../../tools/fleet-automation";
import { rollout, type RolloutStackRunner } from "../../tools/fleet-rollout";
import { STACKS_DIR } from "../../tools/offline/stacks";
import { parseAssignment } from "../../tools/plan-diff-core";

const PROJECT_DIR = path.resolve(__dirname, "..", "..");

/**
 * The stub: stacks are files in $FLEET_STUB_STATE; `config set` (top-level keys, the only kind
 * this test sets) rewrites the stack file with the yaml package, as the CLI's ProjectStack.Save
 * would; `up` appends a history entry with the config it ran with; $FLEET_STUB_FAIL=<cmd>:<stack>
 * makes that command fail.
 */
const STUB = `#!/usr/bin/env node
const fs = require("node:fs");
const path = require("node:path");
const YAML = require(${JSON.stringify(path.join(PROJECT_DIR, "node_modules", "yaml"))});
const args = process.argv.slice(2);
fs.appendFileSync(process.env.FLEET_STUB_LOG, JSON.stringify(args) + "\\n");
const state = process.env.FLEET_STUB_STATE;
const stackOf = () => args[args.indexOf("--stack") + 1];
const fail = (what, message) => { process.stderr.write(message + "\\n"); process.exit(255); };
const failIf = (command) => { if (process.env.FLEET_STUB_FAIL === command + ":" + stackOf()) fail(command, "error: " + command + " failed on purpose"); };
const stackFile = (stack) => path.join(process.cwd(), "stacks", "Pulumi." + stack + ".yaml");
const history = (stack) => path.join(state, stack + ".history.json");
const [a, b] = args;
if (a === "version") { process.stdout.write((process.env.FLEET_STUB_VERSION || "v3.248.0") + "\\n"); process.exit(0); }
if (a === "stack" && b === "select") { fs.existsSync(path.join(state, stackOf())) ? process.exit(0) : fail("select", "error: no stack named '" + stackOf() + "' found"); }
if (a === "stack" && b === "init") { fs.writeFileSync(path.join(state, args[2]), ""); process.exit(0); }
if (a === "stack" && b === "history") { process.stdout.write(fs.existsSync(history(stackOf())) ? fs.readFileSync(history(stackOf()), "utf8") : "[]"); process.exit(0); }
if (a === "stack" && b === "output") { process.stdout.write("{}"); process.exit(0); }
if (a === "config" && b === "set" && !args.includes("--path")) {
  failIf("config");
  const key = args[2]; const value = args[args.indexOf("--") + 1];
  const doc = YAML.parseDocument(fs.readFileSync(stackFile(stackOf()), "utf8"));
  doc.setIn(["config", key], value);
  fs.writeFileSync(stackFile(stackOf()), doc.toString());
  process.exit(0);
}
if (a === "preview") { failIf("preview"); process.stdout.write("Previewing update (" + stackOf() + ")\\n@ previewing\\nResources:\\n    ~ 5 to update\\n"); process.exit(0); }
if (a === "up") {
  const stack = stackOf();
  const config = YAML.parse(fs.readFileSync(stackFile(stack), "utf8")).config;
  const entries = fs.existsSync(history(stack)) ? JSON.parse(fs.readFileSync(history(stack), "utf8")) : [];
  const failed = process.env.FLEET_STUB_FAIL === "up:" + stack;
  const summary = { kind: "update", result: failed ? "failed" : "succeeded", startTime: "2026-01-01T00:00:00Z", endTime: "2026-01-01T00:01:00Z", message: "", environment: {},
    config: Object.fromEntries(Object.entries(config).map(([k, v]) => [k, { value: typeof v === "string" ? v : JSON.stringify(v), secret: false }])) };
  fs.writeFileSync(history(stack), JSON.stringify([summary, ...entries]));
  if (failed) fail("up", "error: update failed on purpose");
  process.stdout.write("Updating (" + stack + ")\\nResources:\\n    ~ 5 updated\\n");
  process.exit(0);
}
fail("unexpected", "stub pulumi: unexpected invocation: " + JSON.stringify(args));
`;

let root: string;
let project: string;
let log: string;
const savedPath = process.env.PATH;

before(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-automation-"));
    const bin = path.join(root, "bin");
    project = path.join(root, "project");
    const state = path.join(root, "state");
    log = path.join(root, "invocations.jsonl");
    for (const dir of [bin, path.join(project, "stacks"), state]) {
        fs.mkdirSync(dir, { recursive: true });
    }
    fs.writeFileSync(path.join(bin, "pulumi"), STUB, { mode: 0o755 });
    fs.copyFileSync(path.join(PROJECT_DIR, "Pulumi.yaml"), path.join(project, "Pulumi.yaml"));
    for (const stack of ["acme-online", "globex-airgap"]) {
        fs.copyFileSync(path.join(STACKS_DIR, `Pulumi.${stack}.yaml`), path.join(project, "stacks", `Pulumi.${stack}.yaml`));
    }
    // The Automation API finds `pulumi` on this process's PATH.
    process.env.PATH = `${bin}${path.delimiter}${savedPath ?? ""}`;
    process.env.FLEET_STUB_LOG = log;
    process.env.FLEET_STUB_STATE = state;
});

after(() => {
    process.env.PATH = savedPath;
    fs.rmSync(root, { recursive: true, force: true });
});

function invocations(): string[][] {
    const lines = fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n").filter(Boolean) : [];
    fs.rmSync(log, { force: true });
    return lines.map((line) => JSON.parse(line) as string[]);
}

/** An invocation without the ports and paths that change between runs. */
function shape(args: readonly string[]): string {
    return args.map((arg) => (arg.startsWith("tcp://") ? "<events>" : arg)).join(" ");
}

const assignments = [parseAssignment("version=2.54.0")];
const envVars = { PULUMI_CONFIG_PASSPHRASE: "stub", PULUMI_BACKEND_URL: "file:///nonexistent" };
const runner = (): Promise<RolloutStackRunner> => automationRunner({ assignments, envVars, projectDir: project });
const file = (stack: string) => fs.readFileSync(path.join(project, "stacks", `Pulumi.${stack}.yaml`), "utf8");

describe("the Automation API runner against a stub pulumi", () => {
    test("a new stack: select (none), init, config set, preview --diff, up; the file holds the change", async () => {
        invocations();
        const lines: string[] = [];
        const summary = await rollout([["acme-online"]], await runner(), { log: (line) => lines.push(line) });
        assert.deepEqual(summary.stacks.map((s) => s.outcome), ["updated"]);
        const calls = invocations().map(shape);
        // PulumiCommand.run (automation/cmd.ts) adds --non-interactive to every call that lacks it.
        assert.deepEqual(calls, [
            "version",
            "stack select --stack acme-online --non-interactive",
            "stack select --stack acme-online --non-interactive",
            "stack init acme-online --non-interactive",
            "config set replicated:version --stack acme-online --plaintext --non-interactive -- 2.54.0",
            "preview --diff --exec-kind auto.local --event-log <events> --stack acme-online --non-interactive",
            "up --yes --skip-preview --exec-kind auto.local --stack acme-online --non-interactive",
            "stack output --json --stack acme-online --non-interactive",
            "stack output --json --show-secrets --stack acme-online --non-interactive",
            "stack history --json --show-secrets --page-size 1 --page 1 --stack acme-online --non-interactive",
        ]);
        assert.match(file("acme-online"), /replicated:version: "?2\.54\.0"?\n/);
        assert.ok(lines.includes("[acme-online]     ~ 5 updated"), "the CLI's output is streamed line by line");
    });

    test("run again: the stack holds the change and its last update succeeded, so only its state is read", async () => {
        const summary = await rollout([["acme-online"]], await runner(), { log: () => undefined });
        assert.deepEqual(summary.stacks.map((s) => s.outcome), ["skipped"]);
        assert.deepEqual(invocations().map(shape), [
            "version",
            "stack select --stack acme-online --non-interactive",
            "stack history --json --page-size 10 --page 1 --stack acme-online --non-interactive",
        ]);
    });

    test("a failed up: the stack file is put back byte for byte, and the rollout stops", async () => {
        const original = file("globex-airgap");
        process.env.FLEET_STUB_FAIL = "up:globex-airgap";
        try {
            const summary = await rollout([["globex-airgap"]], await runner(), { log: () => undefined });
            const [outcome] = summary.stacks;
            assert.ok(outcome.outcome === "failed" && outcome.step === "up" && outcome.configRestored, JSON.stringify(outcome));
            assert.match(outcome.error, /update failed on purpose/);
        } finally {
            delete process.env.FLEET_STUB_FAIL;
        }
        assert.equal(file("globex-airgap"), original);
        const calls = invocations().map(shape);
        assert.ok(calls.includes("config set replicated:version --stack globex-airgap --plaintext --non-interactive -- 2.54.0"), calls.join("\n"));
        assert.ok(calls.some((call) => call.startsWith("up --yes --skip-preview")));
        assert.equal(calls.filter((call) => call.startsWith("config ")).length, 1, "restoring writes the file back, it runs no CLI command");
    });

    test("a CLI older than the project's rules is refused before any stack is touched", async () => {
        process.env.FLEET_STUB_VERSION = "v3.200.0";
        try {
            await assert.rejects(runner(), /the Pulumi CLI 3\.200\.0 is too old: this project needs 3\.213\.0 or later/);
        } finally {
            delete process.env.FLEET_STUB_VERSION;
        }
        assert.deepEqual(invocations().map(shape), ["version"]);
    });

    test("after the fix the same rollout updates it: its last update failed, so it is not skipped", async () => {
        const summary = await rollout([["acme-online", "globex-airgap"]], await runner(), { log: () => undefined });
        assert.deepEqual(summary.stacks.map((s) => `${s.stack}:${s.outcome}`), ["acme-online:skipped", "globex-airgap:updated"]);
        assert.match(file("globex-airgap"), /replicated:version: "?2\.54\.0"?\n/);
        invocations();
    });
});
