/**
 * The components that run root-owned work and the stack's own containers on one host, each
 * constructed with plain args under the canned host outputs: ElevatedOperation (one request id,
 * one elevated-run command) and ApplicationContainers (one volumes run, one hardened container
 * per application). What each registers, and the argument errors its constructor raises.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as remote from "@pulumi/command/remote";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { ApplicationContainers, type ApplicationContainersArgs } from "../../components/apps";
import { LABEL_APPLICATION, applicationVolumeSpecs, applicationVolumesRequest } from "../../components/apps/application-spec";
import { DOCKER_SOCKET } from "../../components/docker/container-spec";
import { HostArgsError, type HostTarget } from "../../components/host/host-target";
import {
    ElevatedOperation,
    OPERATION_SCRIPT_DELIMITER,
    OperationSpecError,
    SECRET_VALUES_DELIMITER,
    operationArgs,
    type ElevatedOperationArgs,
    type ElevatedOperationRequest,
} from "../../components/ops";
import { applicationWithDefaults, type ApplicationArgs } from "../../components/replicated-host-args";
import { remoteInvocation } from "../../components/shell";
import { scriptArgsOf, scriptNameOf } from "../support/canned-outputs";
import { recordComponent } from "../support/component-recorder";
import type { RecordedResource, Recording } from "../support/mock-recorder";
import { APPLICATIONS_PER_USER_MODE, VOLUME_ROOT } from "../support/application-fixtures";

const CONTAINER = "docker:index/container:Container";
const COMMAND = "command:remote:Command";
const ROOT = VOLUME_ROOT;
const HELPER = "quay.io/replicated/replicated-helper:stable-2.53.2";
const PIN = `sha256:${"ab".repeat(32)}`;
const SECRET = "operationSecretValue0123456789";
const UID = 1017;
const DOCKER_GID = 999;
const ROOT_TARGET: HostTarget = { address: "10.0.0.1", privateKey: "test-key" };
const SUDO_TARGET: HostTarget = { address: "10.0.0.1", user: "deploy", become: "sudo", privateKey: "test-key" };
const DIRECTORIES = `${COMMAND}::h-directories`;

/** A step the run must wait for (the host's directories). */
const directoriesStep = (): remote.Command => new remote.Command("h-directories", { create: "true", connection: { host: "10.0.0.1" } });

function operationArgsFor(request: ElevatedOperationRequest, extra: Partial<ElevatedOperationArgs> = {}): ElevatedOperationArgs {
    return { request, target: SUDO_TARGET, stack: "unit", helperImage: HELPER, dataPrefixes: ["/srv", "/data"], ...extra };
}

const BUNDLE: ElevatedOperationRequest = { operation: "support-bundle", request: "bundle-1", ownerUid: pulumi.output(UID), ownerGid: pulumi.output(DOCKER_GID) };
const VOLUMES: ElevatedOperationRequest = {
    operation: "volumes",
    request: "volumes-1",
    roots: [ROOT],
    items: [
        { path: `${ROOT}/app-data`, owner: pulumi.output(1234), group: 1234, mode: "0700" },
        { path: `${ROOT}/web/cache`, owner: 0, group: 0, mode: "0750" },
    ],
};
const SNAPSHOT: ElevatedOperationRequest = { operation: "snapshot", request: "snapshot-1", destination: "/srv/replicated-snapshots", ownerUid: UID, ownerGid: DOCKER_GID };

/** One host's three operations, the bundle with a secret to redact, the snapshot pinned and as root over SSH. */
function threeOperations(bundleRequest = "bundle-1") {
    return () => {
        const directories = directoriesStep();
        const bundle = new ElevatedOperation("h-op-support-bundle", operationArgsFor({ ...BUNDLE, request: bundleRequest }, { secretValues: [pulumi.secret(SECRET)], dependsOn: [directories], timeoutSeconds: 120 }));
        const volumes = new ElevatedOperation("h-op-volumes", operationArgsFor(VOLUMES, { dependsOn: [directories, bundle.command], timeoutSeconds: 120 }));
        new ElevatedOperation("h-op-snapshot", operationArgsFor(SNAPSHOT, { target: ROOT_TARGET, helperImageId: PIN, dependsOn: [volumes.command] }));
        return { bundle: bundle.result, operation: bundle.operation, request: bundle.request };
    };
}
const operations = recordComponent(threeOperations());
operations.catch(() => undefined); // reported by the tests that await it

const runOf = (recording: Recording, operation: string): RecordedResource => recording.find(COMMAND, `h-op-${operation}-run`);

describe("ElevatedOperation", () => {
    test("one elevated-run command per operation, driven by its request id: in the arguments and in the triggers, nothing on update or delete", async () => {
        const recording = await operations;
        assert.deepEqual(recording.byType("replicated:ops:ElevatedOperation").map((c) => c.name).sort(), ["h-op-snapshot", "h-op-support-bundle", "h-op-volumes"]);
        for (const [operation, request] of [["support-bundle", "bundle-1"], ["volumes", "volumes-1"], ["snapshot", "snapshot-1"]]) {
            const cmd = runOf(recording, operation);
            assert.equal(cmd.parent, `replicated:ops:ElevatedOperation::h-op-${operation}`);
            assert.equal(scriptNameOf(cmd), "elevated-run");
            assert.deepEqual(scriptArgsOf(cmd).slice(0, 2), [operation, request], `${cmd.name}: the request id is in the arguments`);
            assert.deepEqual(cmd.inputs.triggers, [operation, request], `${cmd.name}: and in the triggers`);
            assert.equal(cmd.inputs.delete, undefined, `${cmd.name}: no delete command, destroy removes nothing`);
            assert.equal(cmd.inputs.update, undefined, `${cmd.name}: no update command`);
            assert.equal(cmd.inputs.addPreviousOutputInEnv, false);
            assert.equal(cmd.inputs.logging, "stdoutAndStderr");
            assert.match(String(cmd.inputs.stdin), new RegExp(`^# replicated-script: op-${operation}$`, "m"), "the operation's own script follows elevated-run");
        }
        assert.deepEqual(recording.outputs, { bundle: { operation: "support-bundle", request: "bundle-1", changed: 1 }, operation: "support-bundle", request: "bundle-1" }, "the summary line, parsed");
    });

    test("the arguments are exactly the validated request with its owner ids resolved, and the command line holds nothing else", async () => {
        const recording = await operations;
        const settings = { stack: "unit", helperImage: HELPER, timeoutSeconds: 120, dataPrefixes: ["/srv", "/data"] };
        const expected: Record<string, string[]> = {
            "support-bundle": operationArgs({ operation: "support-bundle", request: "bundle-1", ownerUid: UID, ownerGid: DOCKER_GID }, settings),
            volumes: operationArgs({ ...VOLUMES, items: [{ path: `${ROOT}/app-data`, owner: 1234, group: 1234, mode: "0700" }, { path: `${ROOT}/web/cache`, owner: 0, group: 0, mode: "0750" }] }, settings),
            snapshot: operationArgs({ ...SNAPSHOT, ownerUid: UID, ownerGid: DOCKER_GID }, { ...settings, timeoutSeconds: 300, helperImageId: PIN }),
        };
        assert.deepEqual(expected["support-bundle"], ["support-bundle", "bundle-1", "unit", HELPER, "120", "-", "/srv:/data", String(UID), String(DOCKER_GID)]);
        assert.deepEqual(expected.volumes.slice(7), ["1", ROOT, `${ROOT}/app-data`, "1234", "1234", "0700", `${ROOT}/web/cache`, "0", "0", "0750"]);
        assert.deepEqual(expected.snapshot.slice(4, 6), ["300", PIN], "the default timeout; the pinned helper id reaches the host");
        for (const [operation, args] of Object.entries(expected)) {
            const cmd = runOf(recording, operation);
            assert.deepEqual(scriptArgsOf(cmd), args, operation);
            const become = operation === "snapshot" ? "none" : "sudo";
            assert.equal(cmd.inputs.create, remoteInvocation("", args, become).command, `${operation}: rebuilt exactly from the validated arguments`);
            assert.ok(!cmd.secretPaths.includes("create"), `${operation}: the command line holds no secret`);
            assert.ok(!String(cmd.inputs.create).includes(SECRET), `${operation}: no secret value on the command line`);
        }
        assert.match(String(runOf(recording, "volumes").inputs.create), /^sudo -n true 2>\/dev\/null \|\| \{/, "a sudo user is checked for sudo -n first");
    });

    test("secret values travel on stdin only, which is then a secret; without them stdin is not", async () => {
        const recording = await operations;
        const bundle = runOf(recording, "support-bundle");
        const stdin = String(bundle.inputs.stdin);
        assert.ok(stdin.includes(`3<<'${SECRET_VALUES_DELIMITER}' <<'${OPERATION_SCRIPT_DELIMITER}'\n${SECRET}\n${SECRET_VALUES_DELIMITER}\n`), "on fd 3");
        assert.ok(bundle.secretPaths.includes("stdin"), "its stdin is a Pulumi secret");
        for (const operation of ["volumes", "snapshot"]) {
            const cmd = runOf(recording, operation);
            assert.ok(!String(cmd.inputs.stdin).includes(SECRET), operation);
            assert.ok(!cmd.secretPaths.includes("stdin"), `${operation}: nothing secret was needed`);
        }
    });

    test("the run waits for what it is given: the directories, and the host's previous operation", async () => {
        const recording = await operations;
        assert.deepEqual(runOf(recording, "support-bundle").options.dependsOn, [DIRECTORIES]);
        assert.deepEqual(runOf(recording, "volumes").options.dependsOn.sort(), [DIRECTORIES, `${COMMAND}::h-op-support-bundle-run`]);
        assert.deepEqual(runOf(recording, "snapshot").options.dependsOn, [`${COMMAND}::h-op-volumes-run`]);
    });

    test("the same request ids give identical command inputs (no update); a new id changes the triggers", async () => {
        const [first, again, next] = await Promise.all([operations, recordComponent(threeOperations()), recordComponent(threeOperations("bundle-2026-11-29"))]);
        const inputsOf = (recording: Recording) =>
            Object.fromEntries(recording.byType(COMMAND).map((cmd) => [cmd.name, { create: cmd.inputs.create, stdin: cmd.inputs.stdin, triggers: cmd.inputs.triggers }]));
        assert.deepEqual(inputsOf(again), inputsOf(first), "an unchanged request id leaves every input as it was: nothing runs");
        const bundleBefore = inputsOf(first)["h-op-support-bundle-run"];
        const bundleAfter = inputsOf(next)["h-op-support-bundle-run"];
        assert.deepEqual(bundleAfter.triggers, ["support-bundle", "bundle-2026-11-29"]);
        assert.notDeepEqual(bundleAfter.triggers, bundleBefore.triggers, "a new request id replaces the command, which runs it");
        assert.deepEqual(inputsOf(next)["h-op-volumes-run"], inputsOf(first)["h-op-volumes-run"], "other operations stay untouched");
    });

    test("a hostile request id, a path outside the data prefixes, a bad timeout or target is refused before any resource", async () => {
        const cases: Array<[ElevatedOperationArgs, RegExp, new (...args: never[]) => Error]> = [
            [operationArgsFor({ ...BUNDLE, request: "x'; reboot; '" }), /request id/, OperationSpecError],
            [operationArgsFor({ ...SNAPSHOT, destination: "/var/backups/r" }), /snapshot destination \/var\/backups\/r is not below a data prefix/, OperationSpecError],
            [operationArgsFor({ ...VOLUMES, roots: ["/etc"], items: [{ path: "/etc/app", owner: 1, group: 1, mode: "0700" }] }), /volume root \/etc is a system/, OperationSpecError],
            [operationArgsFor(BUNDLE, { timeoutSeconds: 3601 }), /timeout/, OperationSpecError],
            [operationArgsFor(BUNDLE, { dataPrefixes: [] }), /replicated:dataPrefixes is empty/, OperationSpecError],
            [operationArgsFor(BUNDLE, { target: { address: "10.0.0.1", user: "deploy", become: "doas" as "sudo", privateKey: "k" } }), /ElevatedOperation h-op: target\.become/, HostArgsError],
        ];
        for (const [args, message, kind] of cases) {
            const registered: string[] = [];
            const record = recordComponent(() => new ElevatedOperation("h-op", args), { resolve: (resource) => void (resource.custom && registered.push(resource.name)) });
            await assert.rejects(record, (err: unknown) => {
                assert.ok(err instanceof kind, `${String(err)} is a ${kind.name}`);
                assert.match((err as Error).message, message);
                return true;
            });
            assert.deepEqual(registered, [], `${message.source}: no command (no custom resource) registered`);
        }
    });
});

// ---------------------------------------------------------------------------------------------

const APPLICATIONS = APPLICATIONS_PER_USER_MODE;
const appImageId = (reference: string): string => `sha256:${Buffer.from(reference).toString("hex").slice(0, 64).padEnd(64, "0")}`;

function applicationsOn(applications: readonly ApplicationArgs[] = APPLICATIONS, extra: Partial<ApplicationContainersArgs> = {}) {
    return () => {
        const provider = new docker.Provider("h-docker", { host: "unix:///var/run/docker.sock" });
        const directories = directoriesStep();
        const before = new remote.Command("h-op-support-bundle-run", { create: "true", connection: { host: "10.0.0.1" } });
        const apps = new ApplicationContainers("h-apps", {
            stack: "unit",
            hostName: "h",
            privateAddress: "10.0.0.1",
            applications: applications.map(applicationWithDefaults),
            runAs: "replicated",
            volumeRoots: [ROOT],
            serviceUid: pulumi.output(UID),
            dockerGid: pulumi.output(DOCKER_GID),
            imageId: appImageId,
            network: "replicated",
            provider,
            target: SUDO_TARGET,
            helperImage: HELPER,
            dataPrefixes: ["/srv", "/data"],
            volumesDependOn: [directories, before],
            dependsOn: [directories],
            ...extra,
        });
        return { request: apps.volumesRequest ?? null, volumes: apps.volumesResult ?? null };
    };
}
const applications = recordComponent(applicationsOn());
applications.catch(() => undefined); // reported by the tests that await it

const appContainer = (recording: Recording, name: string): RecordedResource => recording.find(CONTAINER, `h-apps-${name}`);
const volumesRun = (recording: Recording): RecordedResource => recording.find(COMMAND, "h-apps-volumes-run");
function labelsOf(inputs: Record<string, unknown>): Record<string, string> {
    return Object.fromEntries(((inputs.labels as Array<{ label: string; value: string }> | undefined) ?? []).map((l) => [l.label, l.value]));
}

describe("ApplicationContainers", () => {
    test("one container per application, with the user and groupAdds of its mode, on the host's provider and network", async () => {
        const recording = await applications;
        const expected: Record<string, { user?: string; groupAdds?: string[] }> = {
            "app-explicit": { user: "1234:1234" },
            "app-service": { user: `${UID}:${DOCKER_GID}`, groupAdds: [String(DOCKER_GID)] },
            "app-image": {},
            "app-plain": { user: "2000:2000" },
        };
        assert.deepEqual(recording.byType(CONTAINER).map((c) => c.name).sort(), Object.keys(expected).map((name) => `h-apps-${name}`).sort());
        for (const [name, want] of Object.entries(expected)) {
            const c = appContainer(recording, name);
            assert.equal(c.parent, "replicated:apps:ApplicationContainers::h-apps");
            assert.equal(c.inputs.name, name);
            assert.equal(c.inputs.user, want.user, `${name} user`);
            assert.deepEqual(c.inputs.groupAdds, want.groupAdds, `${name} groupAdds`);
            assert.equal(c.options.provider, "pulumi:providers:docker::h-docker");
            assert.deepEqual(c.inputs.networksAdvanced, [{ name: "replicated" }]);
            assert.equal(c.options.deleteBeforeReplace, true);
            assert.equal(labelsOf(c.inputs)[LABEL_APPLICATION], name);
            assert.ok(c.options.dependsOn.includes(DIRECTORIES), `${name} waits for the directories`);
            assert.equal(c.inputs.image, appImageId(String(APPLICATIONS.find((a) => a.name === name)?.image)), `${name}: the image id of its reference`);
        }
    });

    test("the volumes run: an elevated operation with the owners of each mode, request id apps-<hash> in args and triggers", async () => {
        const recording = await applications;
        const cmd = volumesRun(recording);
        assert.equal(cmd.parent, "replicated:ops:ElevatedOperation::h-apps-volumes", "run through the ElevatedOperation component");
        assert.equal(recording.find("replicated:ops:ElevatedOperation", "h-apps-volumes").parent, "replicated:apps:ApplicationContainers::h-apps");
        assert.equal(scriptNameOf(cmd), "elevated-run");
        const request = applicationVolumesRequest(applicationVolumeSpecs(APPLICATIONS.map(applicationWithDefaults)), "replicated");
        assert.match(request, /^apps-[0-9a-f]+$/);
        assert.equal(recording.outputs.request, request);
        const args = scriptArgsOf(cmd);
        assert.deepEqual(args.slice(0, 5), ["volumes", request, "unit", HELPER, "300"]);
        assert.deepEqual(args.slice(5, 7), ["-", "/srv:/data"], "helper not pinned; the given data prefixes");
        assert.deepEqual(args.slice(7), [
            "1", ROOT,
            `${ROOT}/explicit`, "1234", "1234", "0750",
            `${ROOT}/image`, "4321", "4321", "0750",
            `${ROOT}/service`, String(UID), String(DOCKER_GID), "0770",
        ]);
        assert.deepEqual(cmd.inputs.triggers, ["volumes", request]);
        assert.equal(cmd.inputs.delete, undefined, "destroy never deletes application data");
        assert.equal(cmd.inputs.update, undefined);
        assert.equal(cmd.inputs.addPreviousOutputInEnv, false);
        assert.ok(String(cmd.inputs.stdin).includes("# replicated-script: op-volumes"));
        assert.deepEqual(cmd.options.dependsOn.sort(), [DIRECTORIES, `${COMMAND}::h-op-support-bundle-run`], "what volumesDependOn names");
    });

    test("containers with volumes start after the volumes run; a container without volumes does not wait for it", async () => {
        const recording = await applications;
        for (const name of ["app-explicit", "app-service", "app-image"]) {
            assert.ok(appContainer(recording, name).options.dependsOn.includes(`${COMMAND}::h-apps-volumes-run`), name);
        }
        assert.equal(appContainer(recording, "app-plain").options.dependsOn.includes(`${COMMAND}::h-apps-volumes-run`), false);
    });

    test("no application container mounts the docker socket or anything but its configured volumes", async () => {
        const recording = await applications;
        for (const c of recording.byType(CONTAINER)) {
            const mounts = (c.inputs.mounts ?? []) as Array<{ source: string; target: string; readOnly: boolean }>;
            assert.ok(!mounts.some((m) => m.source === DOCKER_SOCKET || DOCKER_SOCKET.startsWith(`${m.source}/`)), c.name);
            for (const m of mounts) {
                assert.ok(m.source.startsWith(`${ROOT}/`), `${c.name}: ${m.source}`);
            }
        }
        assert.deepEqual(appContainer(recording, "app-image").inputs.mounts, [{ type: "bind", source: `${ROOT}/image`, target: "/data", readOnly: true }]);
        assert.deepEqual(appContainer(recording, "app-plain").inputs.mounts ?? [], []);
    });

    test("the same applications again give identical inputs (nothing to update); a changed volume spec changes only the volumes run", async () => {
        const modeChanged = APPLICATIONS.map((a) => (a.name === "app-service" ? { ...a, volumes: [{ ...a.volumes![0], mode: "0750" }] } : a));
        const [recording, again, changed] = await Promise.all([applications, recordComponent(applicationsOn()), recordComponent(applicationsOn(modeChanged))]);
        const inputsOf = (rec: Recording) => Object.fromEntries(rec.resources.map((r) => [`${r.type}::${r.name}`, JSON.stringify(r.inputs)]));
        assert.deepEqual(inputsOf(again), inputsOf(recording));
        const before = inputsOf(recording);
        const after = inputsOf(changed);
        assert.deepEqual(Object.keys(after).sort(), Object.keys(before).sort());
        const differing = Object.keys(before).filter((key) => before[key] !== after[key]);
        assert.deepEqual(differing, [`${COMMAND}::h-apps-volumes-run`], "the containers keep their inputs: no container is recreated");
        assert.notDeepEqual(volumesRun(changed).inputs.triggers, volumesRun(recording).inputs.triggers, "a new request id: it runs once");
    });

    test("without volumes there is no volumes run, and no container waits for one", async () => {
        const recording = await recordComponent(applicationsOn([APPLICATIONS[3]]));
        assert.equal(recording.byType("replicated:ops:ElevatedOperation").length, 0);
        assert.deepEqual(recording.outputs, { request: null, volumes: null });
        assert.deepEqual(appContainer(recording, "app-plain").options.dependsOn, [DIRECTORIES]);
    });

    test("an application the spec refuses fails the component before any of its resources", async () => {
        const cases: Array<[ApplicationArgs[], Partial<ApplicationContainersArgs>, RegExp]> = [
            [[{ ...APPLICATIONS[3], user: "0:0" }], {}, /uid 0|root/],
            [[{ ...APPLICATIONS[3], user: "nobody" }], {}, /user "nobody" is not "image", "service" or "<uid>:<gid>"/],
            [[{ ...APPLICATIONS[1], volumes: [] }], { runAs: "root", serviceUid: 0 }, /user "service" is uid 0 while runAs is "root"; set allowRoot: true/],
            [[{ ...APPLICATIONS[0], volumes: [] }], { privateAddress: "0.0.0.0" }, /every interface/],
            // With a volume, the refused application must not get the root volumes run registered first.
            [[APPLICATIONS[0], { ...APPLICATIONS[1], user: "0:0" }], {}, /uid 0|root/],
        ];
        for (const [apps, extra, message] of cases) {
            const registered: string[] = [];
            await assert.rejects(recordComponent(applicationsOn(apps, extra), { resolve: (resource) => void registered.push(resource.name) }), message);
            assert.deepEqual(registered.filter((name) => name === "h-apps" || name.startsWith("h-apps-")), [], `${message.source}: neither the component nor any of its resources`);
        }
    });
});
