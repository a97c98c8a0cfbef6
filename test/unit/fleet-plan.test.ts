/**
 * fleet plan: the reduction of a plan-diff to a row (on hand-built recordings), then the real
 * program planned across the stacks in one process: a version bump over every stack, counts
 * checked against the recordings themselves; the legacy opt-in; a change that only some stacks
 * can take, a stack whose current config is broken, secrets refused; the table, the JSON
 * document and the exit status of the command line.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { exitStatusOf, planFleet, renderFleetJson, renderFleetTable, summarisePlan, totalsOf, type FleetPlan, type FleetRow } from "../../tools/fleet-plan";
import { runFleet, type FleetIo } from "../../tools/fleet";
import { scriptNameOf } from "../../tools/offline/host-model";
import type { RecordedResource, RecordingData } from "../../tools/offline/recorder";
import { STACKS_DIR, readStackConfig, stackNames } from "../../tools/offline/stacks";
import { UsageError, planDiff } from "../../tools/plan-diff";
import { diffRecordings } from "../../tools/plan-diff-core";
import { CONTAINER, REMOTE_COMMAND } from "../../tools/replace-semantics";
import { copiedStackDir } from "../support/stack-copies";

// ---------------------------------------------------------------------------------------------
// The reduction, on hand-built recordings

function resource(type: string, name: string, inputs: Record<string, unknown>, options: Partial<RecordedResource["options"]> = {}): RecordedResource {
    return {
        type,
        name,
        parent: "replicated:index:ReplicatedHost::h1",
        custom: true,
        inputs,
        secretPaths: [],
        state: {},
        options: {
            dependsOn: [],
            deleteBeforeReplace: false,
            ignoreChanges: [],
            replaceOnChanges: [],
            additionalSecretOutputs: [],
            retainOnDelete: false,
            protect: false,
            ...options,
        },
    };
}

const script = (name: string) => `#!/bin/sh\n# replicated-script: ${name}\nset -eu\n`;

describe("a stack's row", () => {
    test("containers replaced (with and without downtime), updated in place, created and deleted; commands that run; elevated operations", () => {
        const core = resource(CONTAINER, "h1-core", { image: "sha256:a", user: "1017:999" }, { deleteBeforeReplace: true });
        const ui = resource(CONTAINER, "h1-ui", { image: "sha256:a" });
        const statsd = resource(CONTAINER, "h1-statsd", { image: "sha256:s", memory: 256 });
        const gone = resource(CONTAINER, "h1-premkit", { image: "sha256:p" });
        const guard = resource(REMOTE_COMMAND, "h1-version-guard", { create: "sh -s -- '2.53.2'", stdin: script("version-guard") });
        const lookup = resource(REMOTE_COMMAND, "h1-docker-group", { create: "x", stdin: script("account") });
        const withDelete = resource(REMOTE_COMMAND, "h1-cleanup", { create: "x", delete: "y", stdin: script("cleanup") });
        const unchanged = resource(REMOTE_COMMAND, "h1-directories", { create: "d", stdin: script("directories") });
        const bundle = resource(REMOTE_COMMAND, "h1-bundle", { create: "e", stdin: script("elevated-run"), triggers: ["support-bundle", "b1"] });
        const beforeData: RecordingData = { resources: [core, ui, statsd, gone, guard, lookup, withDelete, unchanged], outputs: { runAs: "root", hosts: { h1: {} } } };
        const afterData: RecordingData = {
            resources: [
                { ...core, inputs: { image: "sha256:b", user: "1017:999" } },
                { ...ui, inputs: { image: "sha256:b" } },
                { ...statsd, inputs: { image: "sha256:s", memory: 512 } },
                { ...guard, inputs: { create: "sh -s -- '2.54.0'", stdin: script("version-guard") } },
                resource(CONTAINER, "h1-new", { image: "sha256:n" }),
                resource(REMOTE_COMMAND, "h1-account", { create: "a", stdin: script("account") }),
                unchanged,
                bundle,
            ],
            outputs: { runAs: "replicated", hosts: { h1: {} } },
        };
        const row = summarisePlan("s", diffRecordings(beforeData, afterData), beforeData, afterData);
        assert.equal(row.status, "planned");
        assert.equal(row.hosts, 1);
        assert.equal(row.containersReplaced, 2, "core and ui: a new image id replaces");
        assert.equal(row.containersReplacedWithDowntime, 1, "only core deletes before it replaces");
        assert.equal(row.containersUpdatedInPlace, 1, "statsd: memory is a docker update");
        assert.equal(row.containersCreated, 1);
        assert.equal(row.containersDeleted, 1);
        // guard (updated), account (created), cleanup (deleted, has a delete command); not the
        // docker-group lookup (deleted, nothing runs), not the unchanged directories.
        assert.equal(row.hostCommandsToRun, 3);
        assert.equal(row.elevatedOperationsToRun, 1, "the support bundle is counted apart from the host commands");
        assert.deepEqual([row.runAsCurrent, row.runAsProposed, row.optInMigration], ["legacy-root", "service-account", true]);
    });

    test("a downgrade the version guard refuses is a warning; an upgrade note is not", () => {
        const empty: RecordingData = { resources: [], outputs: {} };
        const diff = diffRecordings(empty, empty);
        const notes = [
            "version 2.54.0 -> 2.53.2 is a DOWNGRADE and replicated:allowDowngrade is not set: `pulumi up` would stop at each host's version guard, before any image or container changes.",
            "version 2.53.2 -> 2.54.0 is an upgrade: each host's version guard checks and records it before any image or container changes.",
        ];
        const row = summarisePlan("s", diff, empty, empty, notes);
        assert.deepEqual(row.warnings, [notes[0]]);
        assert.match(renderFleetTable({ assignments: [], rows: [row] }), /Warnings:\n {2}s: version 2\.54\.0 -> 2\.53\.2 is a DOWNGRADE/);
    });

    test("exit status: 0 only when every stack was planned", () => {
        const planned = { status: "planned" } as FleetRow;
        assert.equal(exitStatusOf([planned, planned]), 0);
        assert.equal(exitStatusOf([planned, { status: "rejected" } as FleetRow]), 1);
        assert.equal(exitStatusOf([{ status: "failed" } as FleetRow]), 1);
    });
});

// ---------------------------------------------------------------------------------------------
// The real program

/** A stack directory of copies of real stacks, plus extra files, removed at the end. */
function stackDir(copies: readonly string[], extra: Record<string, string> = {}): string {
    const dir = copiedStackDir(copies, extra);
    temporary.push(dir);
    return dir;
}
const temporary: string[] = [];
after(() => {
    for (const dir of temporary) {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});

let bump: FleetPlan;
before(async () => {
    bump = await planFleet(["version=2.54.0"], { keepDetail: true });
});

describe("a version bump across every stack", () => {
    test("one row per stack in stacks/, every stack planned", () => {
        assert.deepEqual(bump.rows.map((row) => row.stack), stackNames());
        assert.deepEqual(bump.rows.map((row) => `${row.stack}: ${row.status}`), stackNames().map((stack) => `${stack}: planned`));
        assert.equal(exitStatusOf(bump.rows), 0);
    });

    test("the counts are what the recordings hold: every container replaced with downtime; the guard, the health gate (and the air-gap load) per host", () => {
        for (const outcome of bump.outcomes) {
            assert.ok("result" in outcome, outcome.stack);
            const row = bump.rows.find((r) => r.stack === outcome.stack) as FleetRow;
            const { after: recorded } = outcome.result;
            const config = readStackConfig(outcome.stack);
            const hosts = (config.hosts as unknown[]).length;
            const containers = recorded.resources.filter((r) => r.type === CONTAINER);
            const scripts = recorded.resources.map(scriptNameOf);
            const guards = scripts.filter((name) => name === "version-guard").length;
            const loads = scripts.filter((name) => name === "load-images").length;
            const healthGates = scripts.filter((name) => name === "container-health").length;
            assert.equal(row.hosts, hosts, outcome.stack);
            assert.equal(guards, hosts, `${outcome.stack}: one guard per host`);
            // Application containers run images of their own: a Replicated version leaves them
            // alone. Every container whose image changes is replaced.
            const previous = new Map(outcome.result.before.resources.map((r) => [`${r.type}::${r.name}::${r.parent ?? ""}`, r]));
            const newImage = containers.filter((c) => previous.get(`${c.type}::${c.name}::${c.parent ?? ""}`)?.inputs.image !== c.inputs.image).length;
            assert.ok(newImage > 0 && row.containersReplaced === newImage, `${outcome.stack}: ${row.containersReplaced} replaced, ${newImage} with a new image`);
            assert.equal(row.containersReplacedWithDowntime, row.containersReplaced, `${outcome.stack}: every container deletes before it replaces`);
            assert.equal(row.containersUpdatedInPlace, 0);
            assert.equal(healthGates, hosts, `${outcome.stack}: one health gate per host`);
            // The guards, the air-gap loads, and the health gates (keyed on the replaced containers' ids).
            assert.equal(row.hostCommandsToRun, guards + loads + healthGates, `${outcome.stack}: only the guards, the air-gap loads and the health gates run`);
            assert.equal(row.elevatedOperationsToRun, 0);
            assert.equal(row.optInMigration, false);
        }
    });

    test("each row equals what plan-diff of that stack says (one engine)", async () => {
        const stack = "globex-airgap";
        const single = await planDiff(stack, ["version=2.54.0"]);
        const row = summarisePlan(stack, single.diff, single.before, single.after, single.input.notes);
        assert.deepEqual(bump.rows.find((r) => r.stack === stack), row);
    });

    test("table: a row per stack, a total line, the notes (takeover is not guessed)", () => {
        const text = renderFleetTable(bump);
        const totals = totalsOf(bump.rows);
        assert.match(text, /^fleet plan: version=2\.54\.0\n/);
        for (const row of bump.rows) {
            assert.match(text, new RegExp(`\\n${row.stack} +${row.hosts} +(service account|legacy root) +${row.containersReplaced} +0 +${row.hostCommandsToRun} +0 +planned\\n`), row.stack);
        }
        assert.match(text, new RegExp(`\\nTOTAL \\(${bump.rows.length} stacks\\) +${totals.hosts} +${totals.legacyRootStacks} legacy root +${totals.containersReplaced} +0 +${totals.hostCommandsToRun} +0 +${bump.rows.length} planned\\n`));
        assert.match(text, /note: Whether a host holds an install made by Replicated's own script, to be taken over, is only known on the host/);
    });

    test("--json: an entry per stack whose counts are named, the change and the totals", () => {
        const doc = JSON.parse(renderFleetJson(bump)) as { changes: unknown; stacks: Record<string, unknown>[]; total: Record<string, unknown> };
        assert.deepEqual(doc.changes, [{ key: "version", value: "2.54.0" }]);
        assert.equal(doc.stacks.length, bump.rows.length);
        for (const entry of doc.stacks) {
            for (const field of ["stack", "status", "hosts", "containersReplaced", "containersUpdatedInPlace", "hostCommandsToRun", "elevatedOperationsToRun", "runAsCurrent", "runAsProposed", "optInMigration"]) {
                assert.ok(field in entry, `${String(entry.stack)}: ${field}`);
            }
        }
        assert.equal(doc.total.containersReplaced, totalsOf(bump.rows).containersReplaced);
        const detailed = JSON.parse(renderFleetJson(bump, true)) as { stacks: { planDiff: { changed: unknown[] } }[] };
        assert.ok(detailed.stacks.every((entry) => Array.isArray(entry.planDiff.changed)), "--detail --json carries each stack's plan-diff");
    });
});

describe("stacks that cannot take the change", () => {
    test("the opt-in on the legacy stack: marked as the migration", async () => {
        const plan = await planFleet(["runAs=replicated"], { stacks: ["globex-airgap"] });
        const [row] = plan.rows;
        assert.deepEqual([row.status, row.runAsCurrent, row.runAsProposed, row.optInMigration], ["planned", "legacy-root", "service-account", true]);
        assert.ok(row.hostCommandsToRun >= 2 * row.hosts, "account and ownership repair run on every host");
        assert.match(renderFleetTable(plan), /legacy root -> service account \(opt-in migration\)/);
    });

    test("a change some stacks reject, a stack whose current config is broken: the others are still planned, exit status 1", async () => {
        // Two hosts, so the change fits; the current config is refused (uiPort).
        const broken = fs.readFileSync(path.join(STACKS_DIR, "Pulumi.globex-airgap.yaml"), "utf8").replace("config:\n", "config:\n  replicated:uiPort: eighty\n");
        const dir = stackDir(["acme-online", "globex-airgap"], { broken });
        const plan = await planFleet(["hosts[1].privateAddress=192.168.50.21"], { stacksDir: dir });
        const byStack = new Map(plan.rows.map((row) => [row.stack, row]));
        assert.equal(byStack.get("globex-airgap")?.status, "planned", "three hosts: hosts[1] exists");
        assert.equal(byStack.get("acme-online")?.status, "rejected");
        assert.match(byStack.get("acme-online")?.error ?? "", /the list has 1 item/);
        assert.equal(byStack.get("broken")?.status, "failed");
        assert.match(byStack.get("broken")?.error ?? "", /current configuration does not evaluate:\n.*replicated:uiPort: must be an integer/s);
        assert.equal(exitStatusOf(plan.rows), 1);
        const text = renderFleetTable(plan);
        assert.match(text, /Rejected or failed:\n {2}acme-online \(rejected\):/);
        assert.match(text, /1 planned, 1 rejected, 1 failed/);
        const rejectedByProgram = await planFleet(["uiPort=eighty"], { stacksDir: dir, stacks: ["acme-online"] });
        assert.match(rejectedByProgram.rows[0].error ?? "", /replicated:uiPort: must be an integer, got "eighty"/);
    });

    test("a secret on the command line is refused before anything is evaluated, and never echoed", async () => {
        const value = "-----BEGIN OPENSSH PRIVATE KEY-----AAAAsecretvalue";
        await assert.rejects(planFleet([`sshPrivateKey=${value}`]), (err: Error) => {
            assert.ok(err instanceof UsageError);
            assert.match(err.message, /replicated:sshPrivateKey is a secret/);
            assert.match(err.message, /pulumi config set --secret replicated:sshPrivateKey/);
            assert.equal(err.message.includes("secretvalue"), false);
            return true;
        });
        // A key one customer stores encrypted is a secret for the whole fleet, nested paths included.
        const encrypted = "config:\n  replicated:version: \"2.53.2\"\n  replicated:httpProxy:\n    secure: v1:abc\n";
        const dir = stackDir(["acme-online"], { encrypted });
        await assert.rejects(planFleet(["httpProxy=http://user:pw@proxy:3128"], { stacksDir: dir }), (err: Error) => err instanceof UsageError && !err.message.includes("pw@"));
        await assert.rejects(planDiff("acme-online", [`sshPrivateKey=${value}`]), (err: Error) => err instanceof UsageError && !err.message.includes("secretvalue"));
    });

    test("unknown or repeated stacks are usage errors", async () => {
        await assert.rejects(planFleet(["version=2.54.0"], { stacks: ["nope"] }), (err: Error) => err instanceof UsageError && /no stack "nope"/.test(err.message));
        await assert.rejects(planFleet(["version=2.54.0"], { stacks: ["dev", "dev"] }), (err: Error) => err instanceof UsageError && /more than once/.test(err.message));
        await assert.rejects(planFleet(["version"], { stacks: ["dev"] }), (err: Error) => err instanceof UsageError && /expected key=value/.test(err.message));
    });
});

describe("the command line", () => {
    function io(): FleetIo & { out: string[]; err: string[] } {
        const out: string[] = [];
        const err: string[] = [];
        return {
            out,
            err,
            stdout: (text) => out.push(text),
            stderr: (text) => err.push(text),
            interactive: false,
            env: {},
            ask: () => Promise.reject(new Error("no question expected")),
            makeRunner: () => Promise.reject(new Error("no runner expected")),
        };
    }

    test("usage errors exit 2", async () => {
        for (const argv of [[], ["deploy"], ["plan", "--nope"], ["plan", "--stacks"], ["plan", "--json=yes"], ["rollout", "version=2.54.0"], ["rollout", "--waves", "dev"]]) {
            const streams = io();
            assert.equal(await runFleet(argv, streams), 2, argv.join(" "));
            assert.match(streams.err.join(""), /usage: npm run fleet -- plan/, argv.join(" "));
        }
    });

    test("one process plans every stack and exits 1 when one is rejected, with the JSON document on stdout", async () => {
        const dir = stackDir(["acme-online", "globex-airgap"]);
        const streams = io();
        assert.equal(await runFleet(["plan", "hosts[2].role=operator", "--json", "--stacks-dir", dir], streams), 1);
        const doc = JSON.parse(streams.out.join("")) as { stacks: { stack: string; status: string }[] };
        assert.deepEqual(doc.stacks.map((s) => `${s.stack}: ${s.status}`), ["acme-online: rejected", "globex-airgap: planned"]);
    });
});
