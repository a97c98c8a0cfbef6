/**
 * The host commands (account, directories, ownership repair): the pure argument builders and
 * summary parsers, the static scripts' shape, and what every stack records under mocks:
 * one command of each kind per host with the right arguments, connection and options, and no
 * secret in any command string. How a version bump or the switch to the service account changes
 * these commands is in host-setting-changes.test.ts, on hosts built with plain args.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { before, describe, test } from "node:test";
import {
    DIRECTORY_MODE,
    OWNED_TREES,
    accountScriptArgs,
    directoriesScriptArgs,
    directoryPaths,
    parseAccountSummary,
    parseRepairSummary,
    repairScriptArgs,
    tmpfilesLines,
} from "../../components/host";
import { SCRIPTS_DIR, SUDO_UNAVAILABLE_EXIT, loadScript, remoteInvocation } from "../../components/shell";
import { CANNED_DAEMON_TOKEN, CANNED_DOCKER_GID, CANNED_UID, scriptArgsOf, scriptNameOf } from "../support/canned-outputs";
import { recordCanned, type RecordedResource, type Recording } from "../support/mock-recorder";
import { fixtureKeyFile, stackConfigForTest, stackNames } from "../support/stacks";
import { assertHostInvocation, assertNoSecretInCommands } from "../support/recorded-inputs";

const COMMAND = "command:remote:Command";
const HOST_SCRIPTS = ["account", "directories", "repair-ownership"] as const;

// ---------------------------------------------------------------------------------------------
// Pure builders and parsers

describe("account.sh arguments", () => {
    test("service-account mode passes mode, name and the pinned uid (or an empty string)", () => {
        assert.deepEqual(accountScriptArgs("replicated", "replicated", 1017), ["replicated", "replicated", "1017", "", "false"]);
        assert.deepEqual(accountScriptArgs("replicated", "svc_repl-1"), ["replicated", "svc_repl-1", "", "", "false"]);
    });

    test("adoption of another existing account and uid 65534 are passed only when configured", () => {
        assert.deepEqual(accountScriptArgs("replicated", "svc", undefined, { adoptExisting: "svc", allowNobodyUid: true }), ["replicated", "svc", "", "svc", "true"]);
        assert.throws(() => accountScriptArgs("replicated", "svc", undefined, { adoptExisting: "other" }), /adoptExisting "other" must be the service account's own name/);
    });

    test("root mode always passes root root '' (serviceUser cannot alter the legacy command)", () => {
        assert.deepEqual(accountScriptArgs("root", "replicated", 1017), ["root", "root", "", "", "false"]);
        assert.deepEqual(accountScriptArgs("root", "whatever", undefined, { adoptExisting: "whatever", allowNobodyUid: true }), ["root", "root", "", "", "false"]);
    });

    test("names and uids that validation should have refused are refused again", () => {
        for (const name of ["", "-rf", "a;b", "$(id)", "a b", "Replicated", "a".repeat(32), "1017", "rеplicated"]) {
            assert.throws(() => accountScriptArgs("replicated", name), /invalid userName/, name);
        }
        for (const uid of [0, -1, 1.5, 2 ** 31, Number.NaN]) {
            assert.throws(() => accountScriptArgs("replicated", "replicated", uid), /invalid uid/, String(uid));
        }
    });
});

describe("account summary", () => {
    test("parses the last line and keeps the ids", () => {
        const summary = parseAccountSummary('note\n{"user":"replicated","uid":1017,"gid":999,"dockerGid":999,"changed":2}\n');
        assert.deepEqual(summary, { user: "replicated", uid: 1017, gid: 999, dockerGid: 999, changed: 2 });
        assert.equal(parseAccountSummary('{"user":"root","uid":0,"gid":0,"dockerGid":994,"changed":0}').uid, 0);
    });

    test("refuses a docker gid of 0, a missing field and a non-JSON last line", () => {
        assert.throws(() => parseAccountSummary('{"user":"root","uid":0,"gid":0,"dockerGid":0,"changed":0}'), /dockerGid/);
        assert.throws(() => parseAccountSummary('{"user":"replicated","gid":1,"dockerGid":1,"changed":0}'), /"uid"/);
        assert.throws(() => parseAccountSummary('{"user":"","uid":1,"gid":1,"dockerGid":1,"changed":0}'), /"user"/);
        assert.throws(() => parseAccountSummary("useradd: failure"), /JSON summary/);
    });
});

describe("directories.sh arguments and layout", () => {
    test("uid, gid, role as decimal strings; uid 0 allowed (legacy root mode), gid 0 never", () => {
        assert.deepEqual(directoriesScriptArgs(1017, 999, "primary"), ["1017", "999", "primary"]);
        assert.deepEqual(directoriesScriptArgs(0, 994, "operator"), ["0", "994", "operator"]);
        assert.throws(() => directoriesScriptArgs(1017, 0, "primary"), /invalid gid/);
        assert.throws(() => directoriesScriptArgs(-1, 999, "primary"), /invalid uid/);
        assert.throws(() => directoriesScriptArgs(1017, 999, "worker" as never), /invalid role/);
    });

    test("the primary gets the daemon tree; every host the home, scratch, bundles and operator dirs", () => {
        const primary = directoryPaths("primary");
        const operator = directoryPaths("operator");
        for (const dir of ["/var/lib/replicated", "/var/lib/replicated/support-bundles", "/var/lib/replicated/tmp", "/var/lib/replicated-operator", "/var/run/replicated-operator"]) {
            assert.ok(primary.includes(dir) && operator.includes(dir), dir);
        }
        for (const dir of ["/var/lib/replicated/db", "/var/lib/replicated/statsd", "/var/lib/replicated/premkit", "/var/lib/replicated/snapshots", "/var/run/replicated"]) {
            assert.ok(primary.includes(dir) && !operator.includes(dir), dir);
        }
        // Parents first: directories.sh creates one level at a time.
        for (const list of [primary, operator]) {
            list.forEach((dir, index) => {
                const parent = path.posix.dirname(dir);
                if (parent.startsWith("/var/lib/replicated")) {
                    assert.ok(list.indexOf(parent) < index, `${parent} before ${dir}`);
                }
            });
        }
        // The script ensures exactly these paths.
        const script = loadScript("directories");
        const list = script.slice(script.indexOf("set -- /var/lib/replicated "), script.indexOf("directories=$#"));
        const ensured = [...list.matchAll(/\/var\/(?:lib|run)\/replicated[a-z/-]*/g)].map((match) => match[0]);
        assert.deepEqual([...ensured].sort(), [...primary].sort());
        assert.equal(DIRECTORY_MODE, "0750");
        assert.match(script, /readonly DIR_MODE=750/);
    });

    test("tmpfiles.d lines use numeric ids and /run paths", () => {
        assert.deepEqual(tmpfilesLines("primary", 1017, 999), ["d /run/replicated 0750 1017 999 -", "d /run/replicated-operator 0750 1017 999 -"]);
        assert.deepEqual(tmpfilesLines("operator", 1017, 999), ["d /run/replicated-operator 0750 1017 999 -"]);
    });
});

describe("repair-ownership.sh arguments", () => {
    test("uid and gid, never 0", () => {
        assert.deepEqual(repairScriptArgs(1017, 999), ["1017", "999"]);
        assert.throws(() => repairScriptArgs(0, 999), /invalid uid/);
        assert.throws(() => repairScriptArgs(1017, 0), /invalid gid/);
    });

    test("the trees are fixed in the script, not passed in", () => {
        const script = loadScript("repair-ownership");
        const trees = /^readonly TREES="([^"]+)"$/m.exec(script)?.[1].split(" ");
        assert.deepEqual(trees, [...OWNED_TREES]);
    });

    test("summary parsing", () => {
        assert.deepEqual(
            parseRepairSummary(
                '{"changed":3,"skipped":1,"trees":2,"mountsLeftAlone":1,"protectedHardlinks":1,"stoppedContainers":["replicated","replicated-ui"],"restartedContainers":["replicated-ui"]}',
            ),
            { changed: 3, skipped: 1, trees: 2, mountsLeftAlone: 1, stoppedContainers: ["replicated", "replicated-ui"], restartedContainers: ["replicated-ui"] },
        );
        assert.throws(() => parseRepairSummary('{"changed":-1,"skipped":0,"trees":0,"mountsLeftAlone":0,"stoppedContainers":[],"restartedContainers":[]}'), /changed/);
        assert.throws(() => parseRepairSummary('{"changed":0,"skipped":0,"trees":0,"mountsLeftAlone":0,"stoppedContainers":[1],"restartedContainers":[]}'), /stoppedContainers/);
    });
});

describe("scripts", () => {
    for (const name of HOST_SCRIPTS) {
        test(`${name}.sh: header, set -eu, no eval, one JSON summary with "changed"`, () => {
            const text = fs.readFileSync(path.join(SCRIPTS_DIR, `${name}.sh`), "utf8");
            const lines = text.split("\n");
            assert.equal(lines[0], "#!/bin/sh");
            assert.equal(lines[1], `# replicated-script: ${name}`);
            assert.match(text, /^set -eu$/m);
            assert.doesNotMatch(text, /\beval\b/);
            assert.match(text, /printf '\{"changed":|"changed":%s/);
            // No delete path: nothing in these scripts removes a user, a group or data.
            assert.doesNotMatch(text, /^\s*(userdel|groupdel|deluser|delgroup)\b/m);
            assert.doesNotMatch(text, /^\s*rm -[a-z]*r[a-z]* -- "?\/(var|run)/m);
        });
    }

    test("become sudo wraps the same script in a sudo -n pre-check that exits 97", () => {
        const args = accountScriptArgs("replicated", "replicated", 1017);
        const direct = remoteInvocation(loadScript("account"), args, "none");
        const sudo = remoteInvocation(loadScript("account"), args, "sudo");
        assert.equal(direct.command, "sh -s -- 'replicated' 'replicated' '1017' '' 'false'");
        assert.equal(sudo.command.startsWith("sudo -n true 2>/dev/null || {"), true);
        assert.ok(sudo.command.includes(`exit ${SUDO_UNAVAILABLE_EXIT}; }; sudo -n sh -s -- 'replicated' 'replicated' '1017' '' 'false'`));
        assert.equal(sudo.stdin, direct.stdin);
        // An empty uid is still one (empty) positional argument.
        assert.equal(remoteInvocation(loadScript("account"), accountScriptArgs("replicated", "replicated"), "none").command, "sh -s -- 'replicated' 'replicated' '' '' 'false'");
    });
});

// ---------------------------------------------------------------------------------------------
// What the program records, for every stack (the stacks' own evaluations, shared with stacks.test.ts)

const recordings = new Map<string, Recording>();
const evaluations: Record<string, { stack: string; config: Record<string, unknown> }> = {};
for (const stack of stackNames()) {
    evaluations[stack] = { stack, config: stackConfigForTest(stack) };
}

before(async () => {
    const entries = Object.entries(evaluations);
    // Two at a time: the machine has two cores.
    for (let index = 0; index < entries.length; index += 2) {
        const batch = entries.slice(index, index + 2);
        const results = await Promise.all(batch.map(([, evaluation]) => recordCanned(evaluation)));
        batch.forEach(([key], i) => recordings.set(key, results[i]));
    }
});

function recording(key: string): Recording {
    const found = recordings.get(key);
    assert.ok(found, `no recording for ${key}`);
    return found;
}

function hostCommands(rec: Recording): RecordedResource[] {
    return rec.byType(COMMAND).filter((resource) => (HOST_SCRIPTS as readonly string[]).includes(scriptNameOf(resource) ?? ""));
}

interface StackHost {
    name: string;
    user?: string;
    become?: string;
    role: string;
    hostKey?: string;
}

function stackHosts(config: Record<string, unknown>): StackHost[] {
    return config.hosts as StackHost[];
}

for (const [key, evaluation] of Object.entries(evaluations)) {
    describe(`recorded host commands: ${key}`, () => {
        test("one account (or docker-group) command, one directories command per host, with the right args", () => {
            const rec = recording(key);
            const runAs = (evaluation.config.runAs as string | undefined) ?? "replicated";
            const serviceUser = (evaluation.config.serviceUser ?? {}) as { name?: string; uid?: number; adoptExisting?: string; allowNobodyUid?: boolean };
            for (const host of stackHosts(evaluation.config)) {
                const accountName = runAs === "root" ? `${host.name}-docker-group` : `${host.name}-account`;
                const account = rec.find(COMMAND, accountName);
                assert.equal(scriptNameOf(account), "account");
                assert.equal(account.parent, `replicated:host:ServiceAccount::${host.name}`);
                assert.deepEqual(
                    scriptArgsOf(account),
                    runAs === "root"
                        ? ["root", "root", "", "", "false"]
                        : [
                              "replicated",
                              serviceUser.name ?? "replicated",
                              serviceUser.uid === undefined ? "" : String(serviceUser.uid),
                              serviceUser.adoptExisting ?? "",
                              serviceUser.allowNobodyUid === true ? "true" : "false",
                          ],
                );
                const other = runAs === "root" ? `${host.name}-account` : `${host.name}-docker-group`;
                assert.equal(rec.byType(COMMAND).some((r) => r.name === other), false, `${other} must not exist`);

                const directories = rec.find(COMMAND, `${host.name}-directories`);
                assert.equal(scriptNameOf(directories), "directories");
                const uid = runAs === "root" ? 0 : CANNED_UID;
                assert.deepEqual(scriptArgsOf(directories), [String(uid), String(CANNED_DOCKER_GID), host.role]);
                assert.ok(directories.options.dependsOn.includes(`${COMMAND}::${accountName}`), "directories wait for the account's ids");
            }
        });

        test("ownership repair on every host in service-account mode only, after the directories", () => {
            const rec = recording(key);
            const runAs = (evaluation.config.runAs as string | undefined) ?? "replicated";
            for (const host of stackHosts(evaluation.config)) {
                const repair = rec.byType(COMMAND).find((r) => r.name === `${host.name}-ownership`);
                if (runAs === "root") {
                    assert.equal(repair, undefined, "no repair in legacy root mode");
                    continue;
                }
                assert.ok(repair, `${host.name}-ownership`);
                assert.equal(scriptNameOf(repair), "repair-ownership");
                assert.deepEqual(scriptArgsOf(repair), [String(CANNED_UID), String(CANNED_DOCKER_GID)]);
                assert.ok(repair.options.dependsOn.includes(`${COMMAND}::${host.name}-directories`), "repair runs after the directories");
            }
        });

        test("connection, become, options: pinned host key outside dev, sudo -n for sudo hosts, no delete", () => {
            const rec = recording(key);
            const commands = hostCommands(rec);
            const hosts = stackHosts(evaluation.config);
            assert.ok(commands.length >= hosts.length * 2);
            for (const command of commands) {
                const host = hosts.find((h) => command.name.startsWith(`${h.name}-`));
                assert.ok(host, command.name);
                assertHostInvocation(command, host);
                if (evaluation.stack !== "dev") {
                    assert.equal((command.inputs.connection as Record<string, unknown>).hostKey, host.hostKey, `${command.name}: host key pinned`);
                }
            }
        });

        test("no command string holds the private key or the daemon token", () => {
            const rec = recording(key);
            const key_ = fs.readFileSync(fixtureKeyFile(), "utf8");
            assertNoSecretInCommands(rec, { "the daemon token": [CANNED_DAEMON_TOKEN], "the key": ["unit-test-fixture", key_.trim()] });
        });
    });
}

test("stack outputs carry the parsed ids", () => {
    const acme = recording("acme-online").outputs.hosts as Record<string, { uid: number; dockerGid: number }>;
    assert.deepEqual({ uid: acme["acme-1"].uid, dockerGid: acme["acme-1"].dockerGid }, { uid: CANNED_UID, dockerGid: CANNED_DOCKER_GID });
    const globex = recording("globex-airgap").outputs.hosts as Record<string, { uid: number; dockerGid: number }>;
    const node = globex["globex-node-1"];
    assert.deepEqual({ uid: node.uid, dockerGid: node.dockerGid }, { uid: 0, dockerGid: CANNED_DOCKER_GID });
});
