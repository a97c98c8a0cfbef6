/**
 * Elevated operations without a host: the pure request → invocation rules (validation, the
 * capability list the host script really uses, the stdin layout), and every stack's hosts built
 * with plain args and an operations block, under mocks: request ids drive the triggers, these are
 * the only containers that run as uid 0, and their commands hold only validated values and no
 * secret. The component alone is in test/unit/operation-components.test.ts.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { ConfigError, parseConfig } from "../../components/config";
import {
    OPERATION_NAMES,
    OPERATION_PROFILES,
    OPERATION_SCRIPT_DELIMITER,
    OperationSpecError,
    SECRET_VALUES_DELIMITER,
    checkSecretValues,
    containerName,
    elevatedRunStdin,
    helperImageReference,
    isProtectedHostPath,
    operationArgs,
    operationInvocation,
    operationScript,
    plannedOperations,
    type OperationRequest,
    type RunSettings,
} from "../../components/ops";
import { MAX_ID, REQUEST_ID_PATTERN, SCRIPTS_DIR, loadScript, remoteInvocation } from "../../components/shell";
import { CANNED_DAEMON_TOKEN, CANNED_DOCKER_GID, CANNED_UID, scriptArgsOf, scriptNameOf } from "../support/canned-outputs";
import { recordComponent } from "../support/component-recorder";
import { encodeConfig, makeRecording, recordCanned, type Recording, type RecordedResource } from "../support/mock-recorder";
import { buildHosts, buildStackHosts, descendantsOf, stackHostArgs, stackHostResources } from "../support/stack-hosts";
import { fixtureKeyFile, readStackConfig, stackConfigForTest, stackNames } from "../support/stacks";

const SETTINGS: RunSettings = { stack: "acme-online", helperImage: "quay.io/replicated/replicated-helper:stable-2.53.2", timeoutSeconds: 300 };
const BUNDLE: OperationRequest = { operation: "support-bundle", request: "bundle-1", ownerUid: 1017, ownerGid: 999 };
const VOLUMES: OperationRequest = {
    operation: "volumes",
    request: "volumes-1",
    roots: ["/srv/replicated-volumes", "/data/unused"],
    items: [{ path: "/srv/replicated-volumes/app", owner: 1234, group: 1234, mode: "0700" }],
};
const SNAPSHOT: OperationRequest = { operation: "snapshot", request: "snap-1", destination: "/srv/snapshots", ownerUid: 1017, ownerGid: 999 };

function rejects(request: OperationRequest, settings: RunSettings, message: RegExp): void {
    assert.throws(() => operationArgs(request, settings), (err: unknown) => {
        assert.ok(err instanceof OperationSpecError, `expected OperationSpecError, got ${String(err)}`);
        assert.match(err.message, message);
        return true;
    });
}

describe("operation arguments", () => {
    test("each operation becomes OPERATION REQUEST STACK IMAGE TIMEOUT IMAGE_ID DATA_PREFIXES plus its own arguments", () => {
        const common = [SETTINGS.stack, SETTINGS.helperImage, "300", "-", "/srv:/data"];
        assert.deepEqual(operationArgs(BUNDLE, SETTINGS), ["support-bundle", "bundle-1", ...common, "1017", "999"]);
        assert.deepEqual(operationArgs(SNAPSHOT, SETTINGS), ["snapshot", "snap-1", ...common, "/srv/snapshots", "1017", "999"]);
        // Only the root that holds a volume is passed (and mounted).
        assert.deepEqual(operationArgs(VOLUMES, SETTINGS), [
            "volumes", "volumes-1", ...common, "1", "/srv/replicated-volumes", "/srv/replicated-volumes/app", "1234", "1234", "0700",
        ]);
    });

    const hostileRequests = ["a;touch /tmp/x", "$(id)", "`id`", "a\nb", "-rf", "x".repeat(65), "..", "", "a b", "a'b"];
    for (const request of hostileRequests) {
        test(`request id ${JSON.stringify(request)} is refused`, () => {
            rejects({ ...BUNDLE, request }, SETTINGS, /request id/);
        });
    }

    test("owner ids outside 0..2^31-2 are refused, 0 (root) is allowed", () => {
        rejects({ ...BUNDLE, ownerUid: -1 }, SETTINGS, /owner uid/);
        rejects({ ...BUNDLE, ownerGid: MAX_ID + 1 }, SETTINGS, /owner gid/);
        rejects({ ...SNAPSHOT, ownerUid: 1.5 }, SETTINGS, /owner uid/);
        assert.equal(operationArgs({ ...BUNDLE, ownerUid: 0 }, SETTINGS)[7], "0");
    });

    test("paths outside the roots, with '..', or in system and Replicated trees are refused", () => {
        const withItem = (itemPath: string, roots = ["/srv/replicated-volumes"]): OperationRequest => ({
            operation: "volumes",
            request: "v",
            roots,
            items: [{ path: itemPath, owner: 1, group: 1, mode: "0750" }],
        });
        rejects(withItem("/etc/app"), SETTINGS, /volume 0 path .*system/);
        rejects(withItem("/srv/other/app"), SETTINGS, /not below an allowed root/);
        rejects(withItem("/srv/replicated-volumes"), SETTINGS, /not below an allowed root/);
        rejects(withItem("/srv/replicated-volumes/../../etc"), SETTINGS, /'\.\.'/);
        rejects(withItem("/srv/replicated-volumes/a b"), SETTINGS, /absolute path/);
        rejects(withItem("/etc/app", ["/etc"]), SETTINGS, /volume root \/etc is a system/);
        rejects(withItem("/x", ["/"]), SETTINGS, /volume root/);
        rejects({ ...SNAPSHOT, destination: "/var/lib/replicated/snapshots" }, SETTINGS, /system or Replicated path/);
        rejects({ ...SNAPSHOT, destination: "relative/dir" }, SETTINGS, /absolute path/);
        rejects({ operation: "volumes", request: "v", roots: ["/srv/v"], items: [{ path: "/srv/v/a", owner: 1, group: 1, mode: "4755" }] }, SETTINGS, /mode/);
    });

    test("stack, image and timeout are validated too", () => {
        rejects(BUNDLE, { ...SETTINGS, stack: "a;b" }, /stack name/);
        rejects(BUNDLE, { ...SETTINGS, helperImage: "img;reboot" }, /helper image/);
        rejects(BUNDLE, { ...SETTINGS, helperImage: "-v/:/host" }, /helper image/);
        rejects(BUNDLE, { ...SETTINGS, timeoutSeconds: 0 }, /timeout/);
        rejects(BUNDLE, { ...SETTINGS, timeoutSeconds: 3601 }, /timeout/);
        rejects(BUNDLE, { ...SETTINGS, helperImageId: "sha256:abc" }, /helper image pin/);
        rejects(BUNDLE, { ...SETTINGS, helperImageId: `sha256:${"A".repeat(64)}` }, /helper image pin/);
        const pin = `sha256:${"ab".repeat(32)}`;
        assert.equal(operationArgs(BUNDLE, { ...SETTINGS, helperImageId: pin })[5], pin, "a pinned helper id reaches the host");
    });

    test("volume roots and snapshot destinations lie strictly below a data prefix; the prefixes are checked too", () => {
        const volumesAt = (root: string): OperationRequest => ({
            operation: "volumes",
            request: "v",
            roots: [root],
            items: [{ path: `${root}/app`, owner: 1, group: 1, mode: "0750" }],
        });
        // Trees the old deny-list let through: each is refused by the allow-list now.
        for (const root of ["/var/spool/cron", "/var/lib/dpkg", "/var/lib/sudo", "/var/cache", "/var/backups", "/var/lock", "/opt/volumes"]) {
            rejects(volumesAt(root), SETTINGS, /volume root .* is not below a data prefix \(replicated:dataPrefixes = \["\/srv","\/data"\]\)/);
            rejects({ ...SNAPSHOT, destination: root }, SETTINGS, /snapshot destination .* is not below a data prefix/);
        }
        rejects(volumesAt("/srv"), SETTINGS, /not below a data prefix/);
        rejects({ ...SNAPSHOT, destination: "/data" }, SETTINGS, /strictly|not below a data prefix/);
        const opt = { ...SETTINGS, dataPrefixes: ["/opt/replicated"] };
        assert.deepEqual(operationArgs(volumesAt("/opt/replicated/v"), opt).slice(5, 8), ["-", "/opt/replicated", "1"], "an extended list is passed on");
        rejects(volumesAt("/srv/v"), opt, /not below a data prefix/);
        rejects(BUNDLE, { ...SETTINGS, dataPrefixes: [] }, /replicated:dataPrefixes is empty/);
        rejects(BUNDLE, { ...SETTINGS, dataPrefixes: ["/var"] }, /replicated:dataPrefixes entry \/var is a system or Replicated path/);
        rejects(BUNDLE, { ...SETTINGS, dataPrefixes: ["/"] }, /replicated:dataPrefixes entry/);
        rejects(BUNDLE, { ...SETTINGS, dataPrefixes: ["/srv:/etc"] }, /replicated:dataPrefixes entry/);
        // The deny-list stays as a second line, even below a prefix an operator chose badly.
        rejects(volumesAt("/var/lib/docker/x"), { ...SETTINGS, dataPrefixes: ["/var/lib/docker"] }, /system or Replicated path/);
    });

    test("protected host paths: the system, Docker, Replicated, logs, scratch and generic parents", () => {
        for (const p of ["/", "/etc", "/etc/x", "/usr/local", "/var", "/var/lib", "/var/lib/docker/volumes", "/var/lib/replicated",
            "/var/lib/replicated/db", "/var/lib/replicated-operator", "/var/lib/replicated-elevated", "/var/log/app", "/tmp/x", "/run/x", "/root", "/home"]) {
            assert.equal(isProtectedHostPath(p), true, p);
        }
        for (const p of ["/srv/replicated-volumes", "/data/app", "/opt/app", "/home/app/volumes", "/var/lib/app-volumes", "/mnt/backups"]) {
            assert.equal(isProtectedHostPath(p), false, p);
        }
    });

    test("container names are replicated-op-<operation>-<request>", () => {
        assert.equal(containerName("support-bundle", "b-1"), "replicated-op-support-bundle-b-1");
    });
});

describe("the invocation", () => {
    test("stdin is elevated-run, then run_elevated with the secret values (fd 3) and the operation script as quoted here-documents", () => {
        for (const operation of OPERATION_NAMES) {
            const stdin = elevatedRunStdin(operation);
            const runner = loadScript("elevated-run");
            assert.ok(stdin.startsWith(runner), "elevated-run comes first, unchanged");
            const rest = stdin.slice(runner.length);
            const script = operationScript(operation);
            assert.equal(
                rest,
                `run_elevated "$@" 3<<'${SECRET_VALUES_DELIMITER}' <<'${OPERATION_SCRIPT_DELIMITER}'\n${SECRET_VALUES_DELIMITER}\n${script}${OPERATION_SCRIPT_DELIMITER}\n`,
            );
            assert.match(script, new RegExp(`^#!/bin/sh\\n# replicated-script: op-${operation}\\n`));
            for (const delimiter of [OPERATION_SCRIPT_DELIMITER, SECRET_VALUES_DELIMITER]) {
                assert.ok(!script.split("\n").includes(delimiter), "the delimiters never occur in the script");
            }
            assert.doesNotMatch(script, /^# replicated-include:/m, "libraries are inlined: the container gets one script");
        }
        assert.match(operationScript("support-bundle"), /^redact_stream\(\) \{$/m, "the support bundle carries the redaction library");
    });

    test("secret values travel on stdin only, one per line on fd 3; a value that cannot is refused without being echoed", () => {
        const token = "tok3nValueThatMustNotLeak";
        const invocation = operationInvocation(BUNDLE, SETTINGS, "sudo", [token, "second-secret"]);
        assert.ok(!invocation.command.includes(token), "never on the command line");
        const fd3 = invocation.stdin.slice(invocation.stdin.lastIndexOf(`3<<'${SECRET_VALUES_DELIMITER}'`));
        assert.ok(fd3.startsWith(`3<<'${SECRET_VALUES_DELIMITER}' <<'${OPERATION_SCRIPT_DELIMITER}'\n${token}\nsecond-secret\n${SECRET_VALUES_DELIMITER}\n`), fd3.slice(0, 200));
        assert.equal(invocation.stdin.split(token).length, 2, "exactly once, inside the here-document");
        for (const bad of [`a\nb-${token}`, `cr\r${token}`, SECRET_VALUES_DELIMITER, OPERATION_SCRIPT_DELIMITER, ""]) {
            assert.throws(
                () => checkSecretValues([bad]),
                (err: unknown) => err instanceof OperationSpecError && !(bad !== "" && err.message.includes(bad)) && !err.message.includes(token),
            );
        }
    });

    test("the command line is exactly the sudo pre-check plus the quoted arguments", () => {
        const invocation = operationInvocation(BUNDLE, SETTINGS, "sudo");
        assert.equal(invocation.command, remoteInvocation("", operationArgs(BUNDLE, SETTINGS), "sudo").command);
        assert.match(invocation.command, /^sudo -n true 2>\/dev\/null \|\| \{.*exit 97; \}; sudo -n sh -s -- 'support-bundle' 'bundle-1' /);
        assert.equal(operationInvocation(BUNDLE, SETTINGS, "none").command, `sh -s -- ${operationArgs(BUNDLE, SETTINGS).map((a) => `'${a}'`).join(" ")}`);
    });

    test("elevated-run adds exactly the documented capabilities per operation, after --cap-drop ALL", () => {
        const script = loadScript("elevated-run");
        assert.match(script, /--user 0:0 --cap-drop ALL \$cap_options --security-opt no-new-privileges/);
        assert.match(script, /--network none --memory "\$memory" --memory-swap "\$memory" --cpu-shares 512 --pids-limit 256/);
        assert.match(script, /--log-driver none/);
        assert.match(script, /timeout -k 10 "\$timeout_seconds" docker run -i --rm --sig-proxy=false "\$@"/);
        assert.match(script, /--entrypoint \/bin\/sh "\$image_id" -s -- \$operation_args/, "the helper runs by the image id checked before");
        assert.doesNotMatch(script, /docker run --help/, "no option probe");
        assert.match(script, /--read-only --tmpfs/);
        for (const operation of OPERATION_NAMES) {
            // Each operation's checks, and its capabilities, in a function of its own.
            const branch = new RegExp(`\\ncheck_${operation.replace("-", "_")}_args\\(\\) \\{\\n([\\s\\S]*?)\\n\\}\\n`).exec(script);
            assert.ok(branch, `the argument check of ${operation}`);
            const caps = /caps="([A-Z_ ]+)"/.exec(branch[1])?.[1].split(" ");
            const memory = /memory=([0-9a-z]+)/.exec(branch[1])?.[1];
            assert.deepEqual(caps?.sort(), OPERATION_PROFILES[operation].capabilities.map((grant) => grant.capability).sort(), operation);
            assert.equal(memory, OPERATION_PROFILES[operation].memory, operation);
            for (const grant of OPERATION_PROFILES[operation].capabilities) {
                assert.ok(grant.reason.length > 20, `${operation} documents why it needs ${grant.capability}`);
            }
        }
    });

    test("every script is POSIX sh with set -eu and a header naming what it guarantees and prints", () => {
        for (const file of ["elevated-run.sh", ...OPERATION_NAMES.map((op) => `ops/${op}.sh`)]) {
            const text = fs.readFileSync(path.join(SCRIPTS_DIR, file), "utf8");
            assert.match(text, /^#!\/bin\/sh\n# replicated-script: [a-z-]+\n/, file);
            assert.match(text, /\nset -eu\n/, file);
            assert.match(text, /# Prints: /, file);
            assert.doesNotMatch(text, /\beval\b/, file);
        }
    });
});

describe("planning from stack config", () => {
    const config = parseConfig(
        encodeConfig("replicated", {
            version: "2.53.2",
            sshPrivateKeyPath: fixtureKeyFile(),
            hosts: [
                { name: "p", address: "10.0.0.1", role: "primary", privateAddress: "10.0.0.1" },
                { name: "o", address: "10.0.0.2", role: "operator", privateAddress: "10.0.0.2" },
            ],
            volumeRoots: ["/srv/v"],
            operations: {
                supportBundle: { request: "b1" },
                volumes: { request: "v1", items: [{ path: "/srv/v/a", owner: 1234, group: 1234, mode: "0700" }] },
                snapshot: { request: "s1", destination: "/srv/snaps", owner: 0 },
            },
        }),
        "dev",
        "replicated",
    );

    test("bundle and volumes on every host, the snapshot on the primary only; owners default to the service user", () => {
        assert.deepEqual(plannedOperations(config, config.hosts[1]).map((p) => p.operation), ["support-bundle", "volumes"]);
        const primary = plannedOperations(config, config.hosts[0]);
        assert.deepEqual(primary.map((p) => p.operation), ["support-bundle", "volumes", "snapshot"]);
        assert.deepEqual(primary[2], { operation: "snapshot", request: "s1", destination: "/srv/snaps", owner: 0, group: "service" });
    });

    test("no operations block, no operations", () => {
        assert.deepEqual(plannedOperations({ ...config, operations: { timeoutSeconds: 300 } }, config.hosts[0]), []);
    });

    test("a root or destination outside the data prefixes fails planning with both config keys", () => {
        assert.throws(
            () => plannedOperations({ ...config, volumeRoots: ["/var/spool/cron"] }, config.hosts[0]),
            /replicated:volumeRoots entry \/var\/spool\/cron is not below a data prefix \(replicated:dataPrefixes/,
        );
        assert.throws(
            () => plannedOperations({ ...config, operations: { ...config.operations, snapshot: { request: "s", destination: "/var/backups/r" } } }, config.hosts[0]),
            /replicated:operations.snapshot.destination \/var\/backups\/r is not below a data prefix/,
        );
        assert.doesNotThrow(() => plannedOperations({ ...config, volumeRoots: ["/opt/v"], dataPrefixes: ["/opt", "/srv"] }, config.hosts[0]));
    });

    test("a protected volume root or destination fails planning with the config key", () => {
        assert.throws(() => plannedOperations({ ...config, volumeRoots: ["/etc"] }, config.hosts[0]), /replicated:volumeRoots entry \/etc is a system/);
        assert.throws(
            () => plannedOperations({ ...config, operations: { ...config.operations, snapshot: { request: "s", destination: "/var/lib/replicated/x" } } }, config.hosts[0]),
            /replicated:operations.snapshot.destination/,
        );
    });

    test("the helper image is images.helper, else <registry>/replicated-helper:<channel>-<version>", () => {
        assert.equal(helperImageReference(config), "quay.io/replicated/replicated-helper:stable-2.53.2");
        assert.equal(
            helperImageReference({ ...config, images: { registry: "r.example/x", helper: "r.example/tools/helper:1.0" } }),
            "r.example/tools/helper:1.0",
        );
    });

    test("config validation already rejects a volume outside the roots, '..' and a bad request id", () => {
        const raw = (operations: unknown) =>
            encodeConfig("replicated", {
                version: "2.53.2",
                sshPrivateKeyPath: fixtureKeyFile(),
                hosts: [{ name: "p", address: "10.0.0.1", role: "primary", privateAddress: "10.0.0.1" }],
                volumeRoots: ["/srv/v"],
                operations,
            });
        const problems = (operations: unknown): string => {
            try {
                parseConfig(raw(operations), "dev", "replicated");
            } catch (err) {
                assert.ok(err instanceof ConfigError);
                return err.message;
            }
            return assert.fail("expected a ConfigError");
        };
        const item = (p: string) => ({ volumes: { request: "v", items: [{ path: p, owner: 1, group: 1, mode: "0700" }] } });
        assert.match(problems(item("/etc/x")), /items\[0\]\.path: \/etc\/x is not below an allowed root/);
        assert.match(problems(item("/srv/v/../../etc")), /items\[0\]\.path: must be an absolute path .*'\.\.'/);
        assert.match(problems({ supportBundle: { request: "a;touch /tmp/x" } }), /supportBundle\.request: must match/);
    });
});

// ---------------------------------------------------------------------------------------------
// Every stack's hosts with operations requested, built with plain args

const OPERATIONS_BLOCK = {
    timeoutSeconds: 120,
    supportBundle: { request: "bundle-2026-11-28" },
    volumes: {
        request: "volumes-1",
        items: [
            { path: "/srv/replicated-volumes/app-data", owner: 1234, group: 1234, mode: "0700" },
            { path: "/srv/replicated-volumes/web/cache", owner: 0, group: 0, mode: "0750" },
        ],
    },
    snapshot: { request: "snapshot-2026-11-28", destination: "/srv/replicated-snapshots" },
};

function withOperations(stack: string, operations: unknown = OPERATIONS_BLOCK): Record<string, unknown> {
    return stackConfigForTest(stack, { volumeRoots: ["/srv/replicated-volumes"], operations });
}

const isOp = (resource: RecordedResource): boolean => resource.parent?.startsWith("replicated:ops:ElevatedOperation::") ?? false;
const opCommands = (recording: Recording): RecordedResource[] => recording.byType("command:remote:Command").filter(isOp);

const stacks = stackNames();
const hostNamesOf = (stack: string): string[] => (readStackConfig(stack).hosts as Array<{ name: string }>).map((host) => host.name);
const carryOverOf = (stack: string): string => `replicated:host:DaemonTokenCarryOver::${String(hostNamesOf(stack)[0])}-daemon-token`;
/**
 * Every host of every stack, each with its stack's config and the operations block, and each
 * stack's daemon token carried over from its primary as the program does: one evaluation.
 */
const allHosts: Promise<Recording> = recordComponent(() => {
    for (const stack of stacks) {
        buildStackHosts(stackHostArgs(stack, { volumeRoots: ["/srv/replicated-volumes"], operations: OPERATIONS_BLOCK }));
    }
});
allHosts.catch(() => undefined); // reported by the tests that await it
/** What the hosts of `stack` and its daemon token's carry-over registered (the primary is listed first in every stack). */
async function recordingOf(stack: string): Promise<Recording> {
    const recording = await allHosts;
    return makeRecording(stackHostResources(recording, hostNamesOf(stack)[0], hostNamesOf(stack)), {});
}

describe("the program with operations requested", () => {
    for (const stack of stacks) {
        test(`${stack}: one ElevatedOperation per requested operation and host, driven by its request id`, async () => {
            const recording = await recordingOf(stack);
            const hosts = readStackConfig(stack).hosts as Array<{ name: string; role: string }>;
            const expected = hosts.flatMap((host) =>
                ["support-bundle", "volumes", ...(host.role === "primary" ? ["snapshot"] : [])].map((op) => `${host.name}-op-${op}`),
            );
            const components = recording.byType("replicated:ops:ElevatedOperation");
            assert.deepEqual(components.map((c) => c.name).sort(), expected.sort());
            const requestOf: Record<string, string> = {
                "support-bundle": OPERATIONS_BLOCK.supportBundle.request,
                volumes: OPERATIONS_BLOCK.volumes.request,
                snapshot: OPERATIONS_BLOCK.snapshot.request,
            };
            for (const cmd of opCommands(recording)) {
                const args = scriptArgsOf(cmd);
                const [operation, request] = args;
                assert.equal(scriptNameOf(cmd), "elevated-run");
                assert.equal(request, requestOf[operation], `${cmd.name}: the config's request id is in the arguments`);
                assert.deepEqual(cmd.inputs.triggers, [operation, request], `${cmd.name}: and in the triggers`);
                assert.equal(cmd.inputs.delete, undefined, `${cmd.name}: no delete command, destroy removes nothing`);
                assert.equal(cmd.inputs.update, undefined, `${cmd.name}: no update command`);
                assert.equal(cmd.inputs.addPreviousOutputInEnv, false);
                assert.equal(args[4], "120", "timeoutSeconds from config");
                const deps = cmd.options.dependsOn;
                assert.ok(deps.some((d) => d.endsWith("-directories")), `${cmd.name} waits for the directories: ${deps.join(", ")}`);
                assert.ok(deps.some((d) => d.endsWith("-images-replicated-helper")), `${cmd.name} waits for the helper image`);
            }
            // One host's operations run one after another (a snapshot never copies while another writes).
            for (const host of hosts) {
                const chain = ["support-bundle", "volumes", ...(host.role === "primary" ? ["snapshot"] : [])];
                for (let i = 1; i < chain.length; i++) {
                    const cmd = recording.find("command:remote:Command", `${host.name}-op-${chain[i]}-run`);
                    assert.ok(
                        cmd.options.dependsOn.includes(`command:remote:Command::${host.name}-op-${chain[i - 1]}-run`),
                        `${cmd.name} runs after ${chain[i - 1]}`,
                    );
                }
            }
        });

        test(`${stack}: elevated operations are the only containers that run as uid 0`, async () => {
            const recording = await recordingOf(stack);
            const legacyRoot = readStackConfig(stack).runAs === "root";
            assert.deepEqual(descendantsOf(recording, carryOverOf(stack)).map(scriptNameOf), ["read-daemon-token"], "the carry-over's command is checked too");
            for (const cmd of recording.byType("command:remote:Command")) {
                const text = `${String(cmd.inputs.create)}\n${String(cmd.inputs.stdin ?? "")}`;
                if (isOp(cmd)) {
                    assert.match(text, /--user 0:0 --cap-drop ALL/, cmd.name);
                    assert.match(text, /docker run -i --rm --sig-proxy=false/, cmd.name);
                } else {
                    assert.doesNotMatch(text, /docker (container )?(run|create)\b|--user[ =]0\b|--privileged/, `${cmd.name} starts no container`);
                }
            }
            for (const container of recording.byType("docker:index/container:Container")) {
                const user = String(container.inputs.user ?? "");
                assert.notEqual(user, "", `${container.name}: an explicit user`);
                const uid = user.split(":")[0];
                if (legacyRoot && uid === "0") {
                    continue; // runAs: root keeps the pre-2.5.0 behaviour on purpose (0:<docker gid>)
                }
                assert.notEqual(uid, "0", `${container.name} runs as ${user}`);
                assert.notEqual(uid, "root", `${container.name} runs as ${user}`);
                assert.notEqual(container.inputs.privileged, true, container.name);
            }
        });

        test(`${stack}: operation commands hold only validated values and no secret`, async () => {
            const recording = await recordingOf(stack);
            const config = readStackConfig(stack);
            const privateKey = fs.readFileSync(fixtureKeyFile(), "utf8");
            const legacyRoot = config.runAs === "root";
            for (const cmd of opCommands(recording)) {
                const create = String(cmd.inputs.create);
                const stdin = String(cmd.inputs.stdin);
                const args = scriptArgsOf(cmd);
                const [operation, request, stackName, image, timeout, imageId, prefixes, ...rest] = args;
                for (const text of [create, stdin]) {
                    assert.ok(!text.includes("unit-test-fixture") && !text.includes(privateKey.trim()), `${cmd.name}: no private key`);
                }
                assert.ok(!create.includes(CANNED_DAEMON_TOKEN), `${cmd.name}: no daemon token on the command line`);
                assert.ok(!cmd.secretPaths.includes("create"), `${cmd.name}: the command line holds no secret`);
                if (operation === "support-bundle") {
                    // The token reaches the bundle for redaction by value: on stdin, which is then a secret.
                    assert.ok(stdin.includes(`3<<'${SECRET_VALUES_DELIMITER}' <<'${OPERATION_SCRIPT_DELIMITER}'\n${CANNED_DAEMON_TOKEN}\n${SECRET_VALUES_DELIMITER}\n`), cmd.name);
                    assert.ok(cmd.secretPaths.includes("stdin"), `${cmd.name}: its stdin is a Pulumi secret`);
                } else {
                    assert.ok(!stdin.includes(CANNED_DAEMON_TOKEN), `${cmd.name}: no daemon token`);
                    assert.ok(!cmd.secretPaths.includes("stdin"), `${cmd.name}: nothing secret was needed`);
                }
                assert.equal(imageId, "-", "the helper is not pinned in the stacks");
                assert.equal(prefixes, "/srv:/data", "the default data prefixes");
                assert.ok((OPERATION_NAMES as readonly string[]).includes(operation));
                assert.match(request, REQUEST_ID_PATTERN);
                assert.equal(stackName, stack);
                assert.equal(image, helperImageReference({ images: { registry: "quay.io/replicated", ...(config.images as object) }, channel: String(config.channel ?? "stable"), version: String(config.version) }));
                assert.match(timeout, /^[0-9]+$/);
                // The create line is rebuilt exactly from the validated arguments: no other text.
                const hostName = cmd.name.replace(/-op-.*$/, "");
                const host = (config.hosts as Array<{ name: string; user?: string; become?: string }>).find((h) => h.name === hostName);
                const become = host?.become ?? ((host?.user ?? "root") === "root" ? "none" : "sudo");
                assert.equal(create, remoteInvocation("", args, become as "sudo" | "none").command, cmd.name);
                const uid = String(legacyRoot ? 0 : CANNED_UID);
                if (operation === "support-bundle") {
                    assert.deepEqual(rest, [uid, String(CANNED_DOCKER_GID)], "bundle owned by the service uid and the docker gid");
                } else if (operation === "snapshot") {
                    assert.deepEqual(rest, ["/srv/replicated-snapshots", uid, String(CANNED_DOCKER_GID)]);
                } else {
                    assert.deepEqual(rest, [
                        "1", "/srv/replicated-volumes",
                        "/srv/replicated-volumes/app-data", "1234", "1234", "0700",
                        "/srv/replicated-volumes/web/cache", "0", "0", "0750",
                    ]);
                }
            }
        });
    }

    test("without an operations block there are no elevated operations", async () => {
        const recording = await recordCanned({ stack: "acme-online", config: stackConfigForTest("acme-online") });
        assert.equal(recording.byType("replicated:ops:ElevatedOperation").length, 0);
        assert.ok(recording.byType("command:remote:Command").length > 0, "the rest of the program is there");
    });

    test("a hostile request id never reaches a command: the program fails on config", async () => {
        // The program reads its config first (loadConfig, the same parseConfig), before any resource.
        assert.throws(
            () => parseConfig(encodeConfig("replicated", withOperations("acme-online", { supportBundle: { request: "x'; reboot; '" } })), "acme-online", "replicated"),
            (err: unknown) => err instanceof ConfigError && /replicated:operations\.supportBundle\.request: must match/.test(err.message),
        );
        // A host built with plain args refuses it too, before any resource.
        const [args] = stackHostArgs("acme-online");
        const registered: string[] = [];
        await assert.rejects(
            recordComponent(() => buildHosts([{ ...args, operations: { supportBundle: { request: "x'; reboot; '" } } }]), {
                resolve: (resource) => void registered.push(`${resource.type}::${resource.name}`),
            }),
            /ReplicatedHost acme-1: operations\.supportBundle\.request "x'; reboot; '" must match/,
        );
        assert.deepEqual(registered.filter((ref) => !ref.startsWith("pulumi:pulumi:Stack::")), [], "no resource, so no command");
    });
});
