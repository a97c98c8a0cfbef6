/**
 * The version guard: argument building, semantic version comparison (TypeScript and the script's
 * own `compare_versions`, checked against each other), the summary parser, the script's shape,
 * and what every stack records: one guard per host, every image load, container and elevated
 * operation behind it. That a version change touches the guard but no account, directories or
 * repair command is in host-setting-changes.test.ts, on hosts built with plain args.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { describe, test } from "node:test";
import fc from "fast-check";
import { OWNED_TREES } from "../../components/host/ownership-repair";
import {
    VERSION_RECORD,
    compareVersions,
    isComparableVersion,
    parseVersionGuardSummary,
    versionGuardScriptArgs,
} from "../../components/host/version-guard";
import { isPathWithin, isProtectedHostPath, loadScript, remoteInvocation } from "../../components/shell";
import { cannedResolver, scriptArgsOf, scriptNameOf } from "../support/canned-outputs";
import type { RecordedResource, Recording } from "../support/mock-recorder";
import { readStackConfig, recordStack, stackNames } from "../support/stacks";

const COMMAND = "command:remote:Command";
const CONTAINER = "docker:index/container:Container";
const IMAGES = "replicated:docker:Images";
const HOST = "replicated:index:ReplicatedHost";
/** Commands a version change must never re-run. */
const VERSION_INDEPENDENT = ["account", "directories", "repair-ownership"];

// ---------------------------------------------------------------------------------------------
// Pure parts

describe("version-guard.sh arguments", () => {
    test("version, channel and the allowDowngrade flag as true/false", () => {
        assert.deepEqual(versionGuardScriptArgs("2.53.2", "stable", false), ["2.53.2", "stable", "false"]);
        assert.deepEqual(versionGuardScriptArgs("2.100.0", "beta-2", true), ["2.100.0", "beta-2", "true"]);
        assert.equal(
            remoteInvocation(loadScript("version-guard"), versionGuardScriptArgs("2.54.0", "stable", false), "none").command,
            "sh -s -- '2.54.0' 'stable' 'false'",
        );
    });

    test("versions and channels that validation should have refused are refused again", () => {
        for (const version of ["", "2.53", "2.53.2.1", "02.53.2", "2.053.2", "2.53.2-rc1", "v2.53.2", "2.53.x", "2.53.2 ", "1234567890.0.0"]) {
            assert.throws(() => versionGuardScriptArgs(version, "stable", false), /invalid version/, version);
        }
        for (const channel of ["", "Stable", "-beta", "a b", "$(id)", "a".repeat(32)]) {
            assert.throws(() => versionGuardScriptArgs("2.53.2", channel, false), /invalid channel/, channel);
        }
    });
});

describe("semantic version comparison", () => {
    test("numeric per part, not text", () => {
        assert.equal(compareVersions("2.53.10", "2.53.9"), 1);
        assert.equal(compareVersions("2.9.0", "2.10.0"), -1);
        assert.equal(compareVersions("2.54.0", "2.53.99"), 1);
        assert.equal(compareVersions("3.0.0", "2.999.999"), 1);
        assert.equal(compareVersions("2.53.2", "2.53.2"), 0);
        assert.throws(() => compareVersions("2.53", "2.53.2"), /invalid version/);
        assert.equal(isComparableVersion("0.0.0"), true);
    });

    const part = fc.integer({ min: 0, max: 999_999_999 });
    const version = fc.tuple(part, part, part);
    const text = ([a, b, c]: [number, number, number]) => `${a}.${b}.${c}`;
    const lexical = (x: number[], y: number[]) => Math.sign(x[0] - y[0]) || Math.sign(x[1] - y[1]) || Math.sign(x[2] - y[2]);

    test("property: the order of (major, minor, patch) tuples, antisymmetric", () => {
        fc.assert(
            fc.property(version, version, (a, b) => {
                assert.equal(compareVersions(text(a), text(b)), lexical(a, b));
                assert.equal(compareVersions(text(b), text(a)), -lexical(a, b));
            }),
        );
    });

    test("property: the script's compare_versions agrees with compareVersions", () => {
        // The function as the script defines it, run by /bin/sh on many pairs in one process.
        const script = loadScript("version-guard");
        const fn = /^compare_versions\(\) \{\n[\s\S]*?\n\}\n/m.exec(script)?.[0];
        assert.ok(fn, "compare_versions() is defined in version-guard.sh");
        const pairs = fc.sample(fc.tuple(version, version), 300);
        // Near-equal pairs too: a random sample rarely has equal major or minor parts.
        pairs.push([[2, 53, 2], [2, 53, 2]], [[2, 53, 10], [2, 53, 9]], [[2, 9, 0], [2, 10, 0]], [[2, 54, 0], [2, 53, 99]]);
        const body = `${fn}while read -r a b; do compare_versions "$a" "$b"; done\n`;
        const input = pairs.map(([a, b]) => `${text(a)} ${text(b)}`).join("\n") + "\n";
        const out = execFileSync("sh", ["-c", body], { input, encoding: "utf8" }).trim().split("\n");
        assert.equal(out.length, pairs.length);
        pairs.forEach(([a, b], index) => assert.equal(Number(out[index]), compareVersions(text(a), text(b)), `${text(a)} vs ${text(b)}`));
    });
});

describe("version guard summary", () => {
    test("parses the last line", () => {
        const line =
            '{"previous":"2.53.2","previousChannel":"stable","previousSource":"record","version":"2.54.0","channel":"stable","direction":"upgrade","changed":1}';
        assert.deepEqual(parseVersionGuardSummary(`replicated version-guard: note\n${line}\n`), {
            previous: "2.53.2",
            previousChannel: "stable",
            previousSource: "record",
            version: "2.54.0",
            channel: "stable",
            direction: "upgrade",
            changed: 1,
        });
        const install = parseVersionGuardSummary(
            '{"previous":null,"previousChannel":null,"previousSource":"none","version":"2.53.2","channel":"stable","direction":"install","changed":1}',
        );
        assert.equal(install.previous, null);
    });

    test("refuses a malformed summary", () => {
        const good = { previous: null, previousChannel: null, previousSource: "none", version: "2.53.2", channel: "stable", direction: "install", changed: 1 };
        for (const [key, value] of [
            ["version", "2.53"],
            ["previous", "x"],
            ["previousSource", "guess"],
            ["direction", "sideways"],
            ["changed", 2],
            ["channel", ""],
        ] as const) {
            assert.throws(() => parseVersionGuardSummary(JSON.stringify({ ...good, [key]: value })), new RegExp(`"${key}"`), key);
        }
        assert.throws(() => parseVersionGuardSummary("refusing to downgrade"), /JSON summary/);
    });
});

describe("version-guard.sh", () => {
    const script = loadScript("version-guard");

    test("header, set -eu, no eval, one JSON summary with changed, nothing deleted", () => {
        const lines = script.split("\n");
        assert.equal(lines[0], "#!/bin/sh");
        assert.equal(lines[1], "# replicated-script: version-guard");
        assert.match(script, /^set -eu$/m);
        assert.doesNotMatch(script, /\beval\b/);
        assert.match(script, /"direction":"%s","changed":%s\}\\n'/);
        assert.doesNotMatch(script, /^\s*rm\b/m);
    });

    test("the record lives where the component says, root's alone, outside every tree the service owns", () => {
        assert.match(script, new RegExp(`^readonly RECORD_FILE=${VERSION_RECORD}$`, "m"));
        assert.match(script, /^readonly RECORD_DIR=\/var\/lib\/replicated-deploy$/m);
        for (const tree of OWNED_TREES) {
            assert.equal(isPathWithin(VERSION_RECORD, tree), false, `${VERSION_RECORD} is inside ${tree}`);
        }
        // Elevated operations never write to or mount it either.
        assert.equal(isProtectedHostPath("/var/lib/replicated-deploy"), true);
        assert.match(script, /mkdir -m 0755 -- "\$RECORD_DIR"/);
        assert.match(script, /chmod 0644 -- "\$new_record"/);
    });

    test("the refusal names replicated:allowDowngrade and says nothing was changed", () => {
        assert.match(script, /refusing to downgrade Replicated from \$previous_version .* a downgrade needs replicated:allowDowngrade\. Nothing was changed on this host\./);
        // The record is written after the comparison, never before it.
        assert.ok(script.indexOf("refusing to downgrade") < script.lastIndexOf("\twrite_record\n"));
    });
});

// ---------------------------------------------------------------------------------------------
// What every stack records

interface StackHost {
    readonly name: string;
}

function hostsOf(stack: string): string[] {
    return (readStackConfig(stack).hosts as StackHost[]).map((host) => host.name);
}

/** Resources below the ReplicatedHost component of `host` (any depth). */
function underHost(recording: Recording, host: string): RecordedResource[] {
    const byRef = new Map(recording.resources.map((r) => [`${r.type}::${r.name}`, r]));
    const hostRef = `${HOST}::${host}`;
    const below = (r: RecordedResource): boolean => {
        for (let parent = r.parent; parent !== undefined; parent = byRef.get(parent)?.parent) {
            if (parent === hostRef) {
                return true;
            }
        }
        return false;
    };
    return recording.resources.filter(below);
}

const guardRef = (host: string) => `${COMMAND}::${host}-version-guard`;

for (const stack of stackNames()) {
    describe(`recorded version guard: ${stack}`, () => {
        test("one guard per host with the stack's version, channel and allowDowngrade", async () => {
            const recording = await recordStack(stack);
            const config = readStackConfig(stack);
            const guards = recording.byType(COMMAND).filter((r) => scriptNameOf(r) === "version-guard");
            assert.deepEqual(guards.map((g) => g.name).sort(), hostsOf(stack).map((h) => `${h}-version-guard`).sort());
            for (const host of hostsOf(stack)) {
                const guard = recording.find(COMMAND, `${host}-version-guard`);
                assert.equal(guard.parent, `replicated:host:VersionGuard::${host}`);
                assert.deepEqual(scriptArgsOf(guard), [String(config.version), String(config.channel ?? "stable"), String(config.allowDowngrade ?? false)]);
                assert.equal(guard.inputs.stdin, loadScript("version-guard"));
                assert.equal(guard.inputs.addPreviousOutputInEnv, false);
                assert.equal(guard.inputs.delete, undefined, "destroy leaves the record");
                assert.equal(guard.inputs.triggers, undefined, "a version change updates the guard, never replaces it");
                if (stack !== "dev") {
                    assert.ok((guard.inputs.connection as Record<string, unknown>).hostKey, "host key pinned");
                }
                // The canned outputs cover the script: its summary parses.
                const canned = (await cannedResolver(guard)) as { stdout: string };
                assert.equal(parseVersionGuardSummary(canned.stdout).version, config.version);
            }
        });

        test("every image load, container and elevated operation of a host waits for its guard", async () => {
            const recording = await recordStack(stack);
            for (const host of hostsOf(stack)) {
                const resources = underHost(recording, host);
                const containers = resources.filter((r) => r.type === CONTAINER);
                assert.ok(containers.length > 0, `${host} has containers`);
                for (const container of containers) {
                    assert.ok(container.options.dependsOn.includes(guardRef(host)), `${container.name} depends on ${host}-version-guard`);
                }
                // Images: the air-gap load waits for the guard and every image for the load; in
                // registry mode every image waits for the guard itself.
                const images = resources.filter((r) => r.type === IMAGES);
                assert.equal(images.length, 1, `${host}: one Images component`);
                const imageChildren = resources.filter((r) => r.parent === `${IMAGES}::${images[0].name}`);
                assert.ok(imageChildren.length > 0);
                const loads = resources.filter((r) => scriptNameOf(r) === "load-images");
                for (const load of loads) {
                    assert.equal(load.parent, `${IMAGES}::${images[0].name}`, `${load.name} is created inside the Images component`);
                    assert.ok(load.options.dependsOn.includes(guardRef(host)), `${load.name} depends on ${host}-version-guard`);
                }
                for (const image of imageChildren.filter((r) => r.type !== COMMAND)) {
                    const waitsFor = loads.length > 0 ? `${COMMAND}::${loads[0].name}` : guardRef(host);
                    assert.ok(image.options.dependsOn.includes(waitsFor), `${image.name} depends on ${waitsFor}`);
                }
                for (const operation of resources.filter((r) => scriptNameOf(r) === "elevated-run")) {
                    assert.ok(operation.options.dependsOn.includes(guardRef(host)), `${operation.name} depends on ${host}-version-guard`);
                }
                // Nothing the guard protects is registered before it.
                const order = recording.resources.map((r) => `${r.type}::${r.name}`);
                const guardAt = order.indexOf(guardRef(host));
                for (const resource of [...containers, ...imageChildren]) {
                    assert.ok(order.indexOf(`${resource.type}::${resource.name}`) > guardAt, `${resource.name} registered after the guard`);
                }
                // The account, directories and repair do not wait for it (they do not depend on the version).
                for (const command of resources.filter((r) => VERSION_INDEPENDENT.includes(scriptNameOf(r) ?? ""))) {
                    assert.equal(command.options.dependsOn.includes(guardRef(host)), false, command.name);
                }
            }
        });
    });
}
