/**
 * plan-diff: the pure parts (key paths, values, the diff and its replace semantics, secrets) on
 * hand-built recordings, then the impact of real changes on the real program, evaluated under
 * mocks: a version bump, the legacy opt-in (runAs flip), a sidecar switched off, a host added, and
 * a bad value that must come back as the program's own config error.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { before, describe, test } from "node:test";
import {
    applyAssignments,
    changedPaths,
    diffRecordings,
    parseAssignment,
    parseKeyPath,
    renderText,
    resourceKey,
    scriptLabel,
    showValue,
    versionNotes,
    type PlanDiff,
    type RecordingData,
} from "../../tools/plan-diff-core";
import { UsageError, evaluate, main, parsePlanDiffArgs, planDiff, renderJson, renderPlan, stackInput } from "../../tools/plan-diff";
import { CONTAINER, NETWORK, RANDOM_PASSWORD, REMOTE_COMMAND, REMOTE_IMAGE, inputSemantics } from "../../tools/replace-semantics";
import { scriptArgsOf, scriptNameOf } from "../../tools/offline/host-model";
import type { RecordedResource } from "../../tools/offline/recorder";
import { STACKS_DIR } from "../../tools/offline/stacks";
import { capturedIo } from "../support/captured-io";

// ---------------------------------------------------------------------------------------------
// Pure parts

function resource(type: string, name: string, inputs: Record<string, unknown>, extra: Partial<RecordedResource> = {}): RecordedResource {
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
        },
        ...extra,
    };
}

function withOptions(base: RecordedResource, options: Partial<RecordedResource["options"]>): RecordedResource {
    return { ...base, options: { ...base.options, ...options } };
}

const data = (...resources: RecordedResource[]): RecordingData => ({ resources, outputs: {} });

describe("proposed changes", () => {
    test("key paths: names, dots and indices", () => {
        assert.deepEqual(parseKeyPath("version"), ["version"]);
        assert.deepEqual(parseKeyPath("hosts[1].privateAddress"), ["hosts", 1, "privateAddress"]);
        assert.deepEqual(parseKeyPath("operations.volumes.items[0].mode"), ["operations", "volumes", "items", 0, "mode"]);
        for (const bad of ["", "[0]", "a..b", "a.", "a b", "a[x]", "a]"]) {
            assert.throws(() => parseKeyPath(bad), /bad key/, bad);
        }
    });

    test("values are YAML scalars or JSON; top-level numbers and booleans keep their text", () => {
        assert.deepEqual(parseAssignment("replicated:version=2.54.0"), { key: "version", path: ["version"], value: "2.54.0", remove: false });
        assert.equal(parseAssignment("version=2.50").value, "2.50");
        assert.equal(parseAssignment("uiPort=8801").value, "8801");
        assert.equal(parseAssignment("sidecars.statsd=false").value, false);
        assert.equal(parseAssignment("serviceUser.uid=1017").value, 1017);
        assert.equal(parseAssignment("hosts[1].privateAddress=10.0.0.5").value, "10.0.0.5");
        assert.deepEqual(parseAssignment('images={"registry": "r.example.com/x"}').value, { registry: "r.example.com/x" });
        assert.equal(parseAssignment("hosts[0].hostKey=ssh-ed25519 AAAA=").value, "ssh-ed25519 AAAA=");
        assert.equal(parseAssignment("httpProxy=null").remove, true);
        assert.throws(() => parseAssignment("version"), /expected key=value/);
    });

    test("applying changes: nested set, append, create missing objects, remove; the input is not modified", () => {
        const config = { version: "2.53.2", hosts: [{ name: "a", port: 22 }], sidecars: { statsd: true, premkit: true } };
        const changed = applyAssignments(config, [
            parseAssignment("hosts[0].port=2222"),
            parseAssignment('hosts[1]={"name": "b"}'),
            parseAssignment("operations.supportBundle.request=bundle-1"),
            parseAssignment("sidecars.premkit=null"),
        ]);
        assert.deepEqual(changed, {
            version: "2.53.2",
            hosts: [{ name: "a", port: 2222 }, { name: "b" }],
            sidecars: { statsd: true },
            operations: { supportBundle: { request: "bundle-1" } },
        });
        assert.deepEqual(config.hosts, [{ name: "a", port: 22 }]);
        assert.throws(() => applyAssignments(config, [parseAssignment("hosts[3].name=x")]), /the list has 1 item/);
        assert.throws(() => applyAssignments(config, [parseAssignment("hosts.name=x")]), /use an index/);
        assert.throws(() => applyAssignments(config, [parseAssignment("version.major=3")]), /not an object or list/);
    });
});

describe("diff and replace semantics", () => {
    test("changed leaf paths", () => {
        assert.deepEqual(changedPaths({ a: 1, b: [1, 2], c: { d: "x" } }, { a: 1, b: [1, 3, 4], c: { d: "y" }, e: undefined }), ["b[1]", "b[2]", "c.d"]);
    });

    test("provider semantics per type", () => {
        assert.equal(inputSemantics(CONTAINER, "user").action, "replace");
        assert.equal(inputSemantics(CONTAINER, "image").action, "replace");
        assert.equal(inputSemantics(CONTAINER, "ports").action, "replace");
        assert.equal(inputSemantics(CONTAINER, "memory").action, "update");
        assert.equal(inputSemantics(CONTAINER, "restart").action, "update");
        assert.match(inputSemantics(CONTAINER, "healthcheck").effect, /until it is recreated/);
        assert.equal(inputSemantics(REMOTE_IMAGE, "name").action, "replace");
        assert.equal(inputSemantics(REMOTE_IMAGE, "keepLocally").action, "update");
        assert.equal(inputSemantics(REMOTE_COMMAND, "triggers").action, "replace");
        assert.equal(inputSemantics(REMOTE_COMMAND, "create").action, "update");
        assert.match(inputSemantics(REMOTE_COMMAND, "stdin").effect, /re-runs create/);
        assert.match(inputSemantics(REMOTE_COMMAND, "stdin", { update: "x" }).effect, /re-runs update/);
        assert.equal(inputSemantics(REMOTE_COMMAND, "connection").action, "update");
        for (const key of ["name", "driver", "options"]) {
            assert.equal(inputSemantics(NETWORK, key).action, "replace");
        }
        for (const key of ["length", "special"]) {
            assert.equal(inputSemantics(RANDOM_PASSWORD, key).action, "replace");
        }
    });

    test("added, removed, replaced and updated resources are matched by type, name and parent", () => {
        const image = resource(REMOTE_IMAGE, "h1-replicated", { name: "quay.io/replicated/replicated:stable-2.53.2" });
        const ui = resource(CONTAINER, "h1-ui", { image: "sha256:a", memory: 256 }, { options: { ...image.options, deleteBeforeReplace: true } });
        const account = resource(REMOTE_COMMAND, "h1-account", { create: "sh -s -- 'a'", connection: { host: "10.0.0.1" } });
        const legacy = resource(REMOTE_COMMAND, "h1-docker-group", { create: "x" });
        const component = resource("replicated:index:ReplicatedHost", "h1", {}, { custom: false, parent: undefined });
        const before = data(component, image, ui, account, legacy);
        const after = data(
            component,
            { ...image, inputs: { name: "quay.io/replicated/replicated:stable-2.54.0" } },
            { ...ui, inputs: { image: "sha256:b", memory: 512 } },
            { ...account, inputs: { create: "sh -s -- 'a'", connection: { host: "10.0.0.2" } } },
            resource(REMOTE_COMMAND, "h1-account", { create: "y" }, { parent: "replicated:index:ReplicatedHost::h2" }),
        );
        const diff = diffRecordings(before, after);
        assert.deepEqual(diff.removed.map((r) => r.name), ["h1-docker-group"]);
        assert.deepEqual(diff.added.map((r) => `${r.name} in ${r.parent}`), ["h1-account in replicated:index:ReplicatedHost::h2"]);
        const byName = new Map(diff.changed.map((c) => [c.name, c]));
        assert.equal(byName.get("h1-replicated")?.action, "replace");
        const uiChange = byName.get("h1-ui");
        assert.equal(uiChange?.action, "replace");
        assert.equal(uiChange?.deleteBeforeReplace, true);
        assert.deepEqual(uiChange?.inputs.map((i) => `${i.path}:${i.action}`), ["image:replace", "memory:update"]);
        assert.equal(byName.get("h1-account")?.action, "update");
        assert.equal(diff.unchanged, 1, "the component has no diff of its own");
        assert.equal(diff.changed[diff.changed.length - 1].action, "update", "replacements are listed first");
    });

    test("secret inputs are reported by path with no values, in text and data", () => {
        const secretPaths = ["envs", "connection.privateKey"];
        const before = resource(CONTAINER, "op", { envs: ["DAEMON_TOKEN=old-token"], connection: { privateKey: "k1" }, user: "1:1" }, { secretPaths });
        const after = { ...before, inputs: { envs: ["DAEMON_TOKEN=new-token", "X=1"], connection: { privateKey: "k2" }, user: "1:1" } };
        const diff = diffRecordings(data(before), data(after));
        const inputs = diff.changed[0].inputs;
        assert.deepEqual(inputs.map((i) => [i.path, i.secret]), [["connection.privateKey", true], ["envs", true]]);
        for (const input of inputs) {
            assert.equal("before" in input || "after" in input, false);
        }
        const text = renderText(diff) + JSON.stringify(diff);
        for (const leaked of ["old-token", "new-token", "k1", "k2"]) {
            assert.equal(text.includes(leaked), false, leaked);
        }
        assert.match(renderText(diff), /envs: \[secret\]/);
    });

    test("a change inside an object that holds a secret hides the whole value", () => {
        const before = resource(REMOTE_COMMAND, "c", { connection: { host: "a", privateKey: "k" } }, { secretPaths: ["connection.privateKey"] });
        const after = { ...before, inputs: { connection: { host: "b", privateKey: "k" } } };
        const input = diffRecordings(data(before), data(after)).changed[0].inputs[0];
        assert.equal(input.path, "connection.host");
        assert.equal(input.secret, false);
        assert.deepEqual([input.before, input.after], ["a", "b"]);
        const whole = resource(REMOTE_COMMAND, "c", { connection: ["a", "k"] }, { secretPaths: ["connection[1]"] });
        const changed = diffRecordings(data(whole), data({ ...whole, inputs: { connection: ["b", "k"] } })).changed[0].inputs[0];
        assert.equal(changed.secret, false);
    });

    test("ignoreChanges hides a change; replaceOnChanges forces a replacement", () => {
        const base = resource(REMOTE_COMMAND, "c", { create: "a", logging: "stdout" });
        const ignored = withOptions(base, { ignoreChanges: ["create"] });
        const diff = diffRecordings(data(ignored), data({ ...ignored, inputs: { create: "b", logging: "stdout" } }));
        assert.deepEqual(diff.changed, []);
        assert.equal(diff.unchanged, 1);
        const forced = withOptions(base, { replaceOnChanges: ["logging"] });
        const replaced = diffRecordings(data(forced), data({ ...forced, inputs: { create: "a", logging: "none" } }));
        assert.equal(replaced.changed[0].action, "replace");
    });

    test("a host script's command is shown as the script and its arguments", () => {
        const stdin = "#!/bin/sh\n# replicated-script: version-guard\nset -eu\n";
        const direct = resource(REMOTE_COMMAND, "h1-version-guard", { create: "sh -s -- '2.53.2' 'stable' 'false'", stdin });
        assert.equal(scriptLabel(direct), "version-guard.sh '2.53.2' 'stable' 'false'");
        const sudo = { ...direct, inputs: { create: "sudo -n true 2>/dev/null || { echo 'x' >&2; exit 97; }; sudo -n sh -s -- '2.54.0' 'it'\\''s' 'false'", stdin } };
        assert.equal(scriptLabel(sudo), "version-guard.sh '2.54.0' 'it'\\''s' 'false' (via sudo -n)");
        assert.equal(scriptLabel(resource(REMOTE_COMMAND, "other", { create: "true" })), undefined);
        const input = diffRecordings(data(direct), data(sudo)).changed[0].inputs[0];
        assert.equal(input.path, "create");
        assert.deepEqual([input.beforeLabel, input.afterLabel], [scriptLabel(direct), scriptLabel(sudo)]);
        assert.match(renderText(diffRecordings(data(direct), data(sudo))), /~ create: version-guard\.sh '2\.53\.2' 'stable' 'false' -> version-guard\.sh '2\.54\.0'/);
    });

    test("values: one-line text in full up to 160 characters (image tags stay visible)", () => {
        const reference = "registry.globex.internal:5000/replicated/replicated-operator:stable-2.41.0";
        assert.equal(showValue(reference), JSON.stringify(reference));
        assert.equal(showValue("x".repeat(161)), "(text, 161 chars)");
        assert.equal(showValue("a\nb"), "(text, 3 chars, 2 lines)");
        assert.equal(showValue(undefined), "(none)");
        assert.match(showValue({ a: "y".repeat(100) }), /^\{"a":"y+\.\.\.$/);
    });

    test("version notes: upgrade, refused downgrade, allowed downgrade, channel", () => {
        assert.deepEqual(versionNotes({ version: "2.53.2" }, { version: "2.53.2" }), []);
        assert.match(versionNotes({ version: "2.53.2" }, { version: "2.53.10" })[0], /^version 2\.53\.2 -> 2\.53\.10 is an upgrade/);
        const refused = versionNotes({ version: "2.54.0" }, { version: "2.9.0" });
        assert.equal(refused.length, 1);
        assert.match(refused[0], /is a DOWNGRADE and replicated:allowDowngrade is not set: `pulumi up` would stop at each host's version guard/);
        for (const flag of [true, "true"]) {
            assert.match(versionNotes({ version: "2.54.0" }, { version: "2.53.2", allowDowngrade: flag })[0], /DOWNGRADE, allowed by replicated:allowDowngrade/);
        }
        assert.match(versionNotes({ version: "2.53.2" }, { version: "2.53.2", channel: "beta" })[0], /^channel stable -> beta/);
    });

    test("stack outputs are compared", () => {
        const diff = diffRecordings(
            { resources: [], outputs: { version: "1", same: 1, token: "old-secret" }, secretOutputs: ["token"] },
            { resources: [], outputs: { version: "2", same: 1, token: "new-secret" }, secretOutputs: ["token"] },
        );
        assert.deepEqual(diff.outputs, [{ name: "token", secret: true }, { name: "version", secret: false, before: "1", after: "2" }]);
        const text = renderText(diff);
        assert.match(text, /version: "1" -> "2"/);
        assert.match(text, /token: \[secret\]/);
        assert.equal(/old-secret|new-secret/.test(text), false);
    });
});

// ---------------------------------------------------------------------------------------------
// The real program

interface Scenario {
    readonly stack: string;
    readonly changes: readonly string[];
}

const SCENARIOS = {
    acme: { stack: "acme-online", changes: [] },
    acmeVersion: { stack: "acme-online", changes: ["version=2.54.0"] },
    acmeNoStatsd: { stack: "acme-online", changes: ["sidecars.statsd=false"] },
    globex: { stack: "globex-airgap", changes: [] },
    globexVersion: { stack: "globex-airgap", changes: ["version=2.42.0"] },
    globexOptIn: { stack: "globex-airgap", changes: ["runAs=replicated"] },
    globexNewHost: {
        stack: "globex-airgap",
        changes: [
            'hosts[3]={"name": "globex-node-3", "address": "192.168.50.13", "user": "root", "role": "operator", "privateAddress": "192.168.50.13", ' +
                '"hostKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG9sbG9iZXhub2RlM2hvc3RrZXlleGFtcGxlMTIzNDU2"}',
        ],
    },
} satisfies Record<string, Scenario>;

type ScenarioName = keyof typeof SCENARIOS;
const recordings = new Map<ScenarioName, RecordingData>();

/** Evaluate every scenario once (two at a time: the unit tier runs on 2 cores). */
before(async () => {
    const names = Object.keys(SCENARIOS) as ScenarioName[];
    const queue = [...names];
    const worker = async () => {
        for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
            const scenario = SCENARIOS[name];
            const input = stackInput(scenario.stack);
            const config = applyAssignments(input.config, scenario.changes.map(parseAssignment));
            recordings.set(name, await evaluate(scenario.stack, config, input.secretKeys));
        }
    };
    await Promise.all([worker(), worker()]);
});

function recordingOf(name: ScenarioName): RecordingData {
    const recording = recordings.get(name);
    assert.ok(recording, `scenario ${name} was evaluated`);
    return recording;
}

function diffOf(base: ScenarioName, proposed: ScenarioName): PlanDiff {
    return diffRecordings(recordingOf(base), recordingOf(proposed));
}

const keyOf = (r: { type: string; name: string; parent?: string }) => resourceKey(r);

describe("impact of real changes", () => {
    /** The script a recorded command runs, if any. */
    const scriptOf = (change: { type: string; name: string; parent?: string }, recording: RecordingData): string | undefined => {
        const found = recording.resources.find((r) => keyOf(r) === keyOf(change));
        return found === undefined ? undefined : scriptNameOf(found);
    };

    for (const [base, bumped, from, to] of [
        ["acme", "acmeVersion", "2.53.2", "2.54.0"],
        ["globex", "globexVersion", "2.41.0", "2.42.0"],
    ] as const) {
        test(`version bump (${SCENARIOS[base].stack} ${from} -> ${to}): images and containers replaced, the load command and the version guard updated, nothing else`, (t) => {
            const diff = diffOf(base, bumped);
            const after = recordingOf(bumped);
            assert.deepEqual(diff.added, []);
            assert.deepEqual(diff.removed, []);
            assert.deepEqual(diff.outputs.map((o) => o.name), ["version"]);
            const airgap = after.resources.some((r) => scriptNameOf(r) === "load-images");
            for (const change of diff.changed) {
                const script = scriptOf(change, after);
                if (change.type === REMOTE_COMMAND && script === "container-health") {
                    // The health gate is keyed on container ids: every replaced container has a new one.
                    assert.equal(change.action, "replace", change.name);
                    assert.ok(change.inputs.length > 0 && change.inputs.every((i) => /^triggers\[\d+\]$/.test(i.path)), change.name);
                    for (const input of change.inputs) {
                        assert.match(input.afterLabel ?? "", /^new id of container /, `${change.name} ${input.path}`);
                    }
                } else if (change.type === REMOTE_COMMAND) {
                    // Only the guard and the air-gap load: never the account, directories or repair.
                    assert.ok(script === "version-guard" || script === "load-images", `${change.name} (${script ?? "no script"}) must not change with the version`);
                    assert.equal(change.action, "update", `${change.name}: an update re-runs create; a replacement would be a new resource`);
                    assert.deepEqual(change.inputs.map((i) => i.path), ["create"], change.name);
                    const [input] = change.inputs;
                    if (script === "version-guard") {
                        assert.match(input.beforeLabel ?? "", new RegExp(`^version-guard\\.sh '${from.replace(/\./g, "\\.")}' 'stable' 'false'`));
                        assert.match(input.afterLabel ?? "", new RegExp(`^version-guard\\.sh '${to.replace(/\./g, "\\.")}' 'stable' 'false'`));
                    }
                } else {
                    assert.ok([REMOTE_IMAGE, CONTAINER].includes(change.type), `${change.type} ${change.name} changed: ${change.inputs.map((i) => i.path).join(", ")}`);
                    assert.equal(change.action, "replace", `${change.name}`);
                }
            }
            // Every image, container, guard (and air-gap load) of the stack is affected.
            const changedKeys = new Set(diff.changed.map(keyOf));
            const affected = after.resources.filter(
                (r) => r.type === REMOTE_IMAGE || r.type === CONTAINER || ["version-guard", "load-images"].includes(scriptNameOf(r) ?? ""),
            );
            for (const resource of affected) {
                assert.ok(changedKeys.has(keyOf(resource)), `${resource.type} ${resource.name} should change`);
            }
            const guards = after.resources.filter((r) => scriptNameOf(r) === "version-guard");
            const hosts = after.resources.filter((r) => r.type === "replicated:index:ReplicatedHost");
            assert.equal(guards.length, hosts.length, "one guard per host");
            assert.equal(after.resources.filter((r) => scriptNameOf(r) === "load-images").length, airgap ? hosts.length : 0);
            for (const container of diff.changed.filter((c) => c.type === CONTAINER)) {
                const image = container.inputs.find((i) => i.path === "image");
                assert.ok(image, `${container.name}: image changed`);
                // The image id is shown as the image it belongs to.
                assert.match(image.afterLabel ?? "", new RegExp(`^image id of .*:stable-${to.replace(/\./g, "\\.")}$`), container.name);
            }
            const text = renderText(diff);
            assert.match(text, new RegExp(`Plan: 0 to create, 0 to delete, ${diff.changed.filter((c) => c.action === "replace").length} to replace, ${hosts.length * (airgap ? 2 : 1)} to update`));
            t.diagnostic(`${diff.changed.length} changed: ${diff.changed.map((c) => `${c.name} (${c.action})`).join(", ")}`);
        });
    }

    test("runAs flip on the legacy stack: account created, repair created, containers replaced", (t) => {
        const diff = diffOf("globex", "globexOptIn");
        const before = recordingOf("globex");
        const after = recordingOf("globexOptIn");
        const hosts = after.resources.filter((r) => r.type === "replicated:index:ReplicatedHost").map((r) => r.name);
        assert.equal(hosts.length, 3);
        assert.deepEqual(diff.outputs.find((o) => o.name === "runAs"), { name: "runAs", secret: false, before: "root", after: "replicated" });

        const added = new Set(diff.added.map(keyOf));
        const removed = new Set(diff.removed.map(keyOf));
        const commands = (recording: RecordingData, script: string) =>
            recording.resources.filter((r) => r.type === REMOTE_COMMAND && scriptNameOf(r) === script);

        // The account is created on every host (the root-mode docker-group lookup goes away).
        const accounts = commands(after, "account");
        assert.equal(accounts.length, hosts.length, "one account command per host");
        for (const account of accounts) {
            assert.equal(scriptArgsOf(account)[0], "replicated");
            assert.ok(added.has(keyOf(account)), `${account.name} is created`);
        }
        for (const lookup of commands(before, "account")) {
            assert.equal(scriptArgsOf(lookup)[0], "root");
            assert.ok(removed.has(keyOf(lookup)), `${lookup.name} is deleted`);
        }
        // The ownership repair (the migration of the data) is created on every host.
        const repairs = commands(after, "repair-ownership");
        assert.equal(repairs.length, hosts.length, "one repair command per host");
        for (const repair of repairs) {
            assert.ok(added.has(keyOf(repair)), `${repair.name} is created`);
        }
        // Only the root-mode lookups (and anything below them) are deleted.
        for (const gone of diff.removed) {
            const legacy = commands(before, "account").some((lookup) => keyOf(lookup) === keyOf(gone) || gone.parent === `${lookup.type}::${lookup.name}`);
            assert.ok(legacy, `${gone.type} ${gone.name} should not be deleted`);
        }
        // Containers switch from 0:<gid> to <uid>:<gid>: each is replaced, none appears or disappears.
        for (const container of after.resources.filter((r) => r.type === CONTAINER)) {
            const change = diff.changed.find((c) => keyOf(c) === keyOf(container));
            assert.ok(change, `${container.name} changes`);
            assert.equal(change.action, "replace");
            assert.ok(change.inputs.some((i) => i.path === "user"), `${container.name}: user changes`);
        }
        assert.equal(diff.added.filter((r) => r.type === CONTAINER).length + diff.removed.filter((r) => r.type === CONTAINER).length, 0);
        // The version does not change: no guard, image or load command is touched.
        for (const change of diff.changed) {
            const script = scriptOf(change, after);
            assert.ok(change.type !== REMOTE_IMAGE && script !== "version-guard" && script !== "load-images", `${change.type} ${change.name} changes on opt-in`);
        }
        t.diagnostic(`created ${diff.added.length}, deleted ${diff.removed.length}, replaced ${diff.changed.filter((c) => c.action === "replace").length}, updated ${diff.changed.filter((c) => c.action === "update").length}`);
    });

    test("a sidecar switched off: only that sidecar's resources are deleted; the host's health gate runs again for the other containers", (t) => {
        const diff = diffOf("acme", "acmeNoStatsd");
        assert.deepEqual(diff.added, []);
        assert.deepEqual(
            diff.changed.map((c) => `${c.type} ${c.name}: ${c.action}`),
            [`${REMOTE_COMMAND} acme-1-health: replace`],
            "nothing else changes",
        );
        const before = recordingOf("acme");
        const byRef = new Map(before.resources.map((r) => [`${r.type}::${r.name}`, r]));
        const underStatsd = (r: { name: string; parent?: string }): boolean => {
            if (/statsd/.test(r.name)) {
                return true;
            }
            const parent = r.parent === undefined ? undefined : byRef.get(r.parent);
            return parent !== undefined && underStatsd(parent);
        };
        for (const gone of diff.removed) {
            assert.ok(underStatsd(gone), `${gone.type} ${gone.name} is not part of the statsd sidecar`);
        }
        const statsdContainers = before.resources.filter((r) => r.type === CONTAINER && /statsd/.test(r.name));
        for (const container of statsdContainers) {
            assert.ok(diff.removed.some((r) => keyOf(r) === keyOf(container)), `${container.name} is deleted`);
        }
        t.diagnostic(`deleted: ${diff.removed.map((r) => r.name).join(", ") || "nothing (no sidecars declared yet)"}`);
    });

    test("a host added: only that host's resources are created", (t) => {
        const diff = diffOf("globex", "globexNewHost");
        assert.deepEqual(diff.removed, []);
        assert.deepEqual(diff.changed.map((c) => `${c.type} ${c.name}: ${c.inputs.map((i) => i.path).join(", ")}`), []);
        const after = recordingOf("globexNewHost");
        const byRef = new Map(after.resources.map((r) => [`${r.type}::${r.name}`, r]));
        const newHost = "replicated:index:ReplicatedHost::globex-node-3";
        const underNewHost = (r: { type: string; name: string; parent?: string }): boolean =>
            `${r.type}::${r.name}` === newHost || (r.parent !== undefined && byRef.has(r.parent) && underNewHost(byRef.get(r.parent) as RecordedResource));
        assert.ok(diff.added.some((r) => `${r.type}::${r.name}` === newHost), "the host component is created");
        for (const created of diff.added) {
            assert.ok(underNewHost(created), `${created.type} ${created.name} does not belong to the new host`);
        }
        t.diagnostic(`created ${diff.added.length}: ${diff.added.map((r) => r.name).join(", ")}`);
    });
});

describe("the command line", () => {
    test("a bad proposed value gets the program's own config error (exit 1)", async () => {
        const io = capturedIo();
        assert.equal(await main(["acme-online", "uiPort=eighty"], io), 1);
        assert.match(io.err(), /proposed change is rejected by the program/);
        assert.match(io.err(), /replicated:uiPort: must be an integer, got "eighty"/);
        assert.equal(io.out(), "");
    });

    test("usage errors name the problem before anything is evaluated; the CLI exits 2", async () => {
        await assert.rejects(planDiff("no-such-stack", ["version=2.54.0"]), (err: Error) => err instanceof UsageError && /no stack "no-such-stack" in stacks\/ \(known: .*acme-online/.test(err.message));
        await assert.rejects(planDiff("acme-online", ["hosts[9].name=x"]), (err: Error) => err instanceof UsageError && /the list has 1 item/.test(err.message));
        await assert.rejects(planDiff("acme-online", ["hosts"]), (err: Error) => err instanceof UsageError && /expected key=value/.test(err.message));
        const io = capturedIo();
        assert.equal(await main([], io), 2);
        assert.match(io.err(), /usage: npm run plan-diff -- <stack>/);
    });

    test("a secret on the command line is refused as a usage error, before anything is evaluated, without echoing it", async () => {
        const value = "-----BEGIN OPENSSH PRIVATE KEY-----\\nb3BlbnNzaC1rZXktdjEAAAAA";
        for (const change of [`sshPrivateKey=${value}`, `replicated:sshPrivateKey=${value}`]) {
            await assert.rejects(planDiff("acme-online", [change]), (err: Error) => {
                assert.ok(err instanceof UsageError, `${err.constructor.name}: ${err.message}`);
                assert.match(err.message, /replicated:sshPrivateKey is a secret/);
                assert.match(err.message, /pulumi config set --secret replicated:sshPrivateKey/);
                assert.equal(err.message.includes("b3BlbnNzaC1rZXkt"), false, "the value is not echoed");
                return true;
            });
        }
    });

    test("--stacks-dir reads the stack files from another directory", async () => {
        assert.deepEqual(parsePlanDiffArgs(["acme-online", "--json", "version=2.54.0"]), { stack: "acme-online", changes: ["version=2.54.0"], json: true, stacksDir: STACKS_DIR });
        assert.equal(parsePlanDiffArgs(["--stacks-dir=/tmp/x", "s"]).stacksDir, "/tmp/x");
        assert.throws(() => parsePlanDiffArgs(["s", "--stacks-dir"]), /--stacks-dir needs a directory/);
        assert.throws(() => parsePlanDiffArgs(["--nope", "s"]), /unknown option --nope/);
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "plan-diff-dir-"));
        try {
            fs.copyFileSync(path.join(STACKS_DIR, "Pulumi.acme-online.yaml"), path.join(dir, "Pulumi.customer-x.yaml"));
            assert.equal(stackInput("customer-x", dir).config.version, "2.53.2");
            await assert.rejects(planDiff("acme-online", [], dir), (err: Error) => err instanceof UsageError && err.message.includes(`in ${dir} (known: customer-x)`));
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    test("text and --json output of a real plan", () => {
        const input = stackInput("acme-online");
        assert.ok(input.notes.some((note) => /SSH key file \(~\/\.ssh\/acme_ed25519\) is replaced by a stand-in/.test(note)));
        const result = { input, assignments: [parseAssignment("version=2.54.0")], diff: diffOf("acme", "acmeVersion") };
        const text = renderPlan(result);
        assert.match(text, /^plan-diff for stack "acme-online": version=2\.54\.0\n/);
        assert.match(text, /note: The stack's SSH key file/);
        // One update: the host's version guard.
        assert.match(text, /Plan: 0 to create, 0 to delete, \d+ to replace, 1 to update, \d+ unchanged\./);
        assert.match(text, /\n {2}~ command:remote:Command acme-1-version-guard {2}\(in VersionGuard acme-1\)\n/);
        const json = JSON.parse(renderJson(result)) as Record<string, unknown>;
        assert.equal(json.stack, "acme-online");
        assert.deepEqual(json.changes, [{ key: "version", value: "2.54.0" }]);
        for (const field of ["notes", "added", "removed", "changed", "unchanged", "outputs"]) {
            assert.ok(field in json, field);
        }
        assert.deepEqual(json.changed, JSON.parse(JSON.stringify(result.diff.changed)));
    });
});
