/**
 * Inputs that only fail once they resolve, each in a program run in a process of its own: a
 * failed registration never lets the evaluation finish, and the Node runtime sees an unhandled
 * rejection, which `pulumi up` turns into a failed update (pulumi/pulumi
 * sdk/nodejs/cmd/run/run.ts, uncaughtHandler); node:test would too, so a child records it. Each
 * child's exit status is the SDK's (the leaked promises of the failed input make it 1): the report
 * it prints on stdout is what counts.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { MAX_ID } from "../../components/shell";
import { CANNED_DOCKER_GID, CANNED_UID } from "../support/canned-outputs";
import { runNodeWithTsx } from "../support/node-process";
import { BAD_VM_ADDRESS, DIGEST, OPERATOR, cannedId } from "../support/rejected-inputs";

/**
 * A program whose VersionGuard dials an Input address that resolves to no address (argv[1]);
 * prints which commands were registered and the errors the run reported.
 */
const BAD_INPUT_CHILD = `
const random = require("@pulumi/random");
const { VersionGuard } = require("./components/host");
const { recordProgram } = require("./tools/offline/recorder");
const errors = [];
const registered = [];
process.on("unhandledRejection", (err) => errors.push(String(err)));
recordProgram({ stack: "unit", project: "host-target-unit", config: {}, sdkStackTraces: false,
    resolve: (r) => (r.type === "random:index/randomString:RandomString" ? { result: process.argv[1] } : undefined),
    onRegister: (r) => registered.push(r.name),
    program: () => {
        const vm = new random.RandomString("vm-address", { length: 12 });
        new VersionGuard("late", { target: { address: vm.result, privateKey: "key" }, version: "2.53.2", channel: "stable" });
    } }).catch((err) => errors.push(String(err)));
setTimeout(() => { console.log(JSON.stringify({ registered, errors })); process.exit(0); }, 3000);
`;

/** A program whose operator image is pinned to argv[1], recorded with the canned ids; prints what happened. */
const MISMATCH_CHILD = `
const docker = require("@pulumi/docker");
const { Images } = require("./components/docker");
const { cannedResolver } = require("./test/support/canned-outputs");
const { recordProgram } = require("./test/support/mock-recorder");
const errors = [];
process.on("unhandledRejection", (err) => errors.push(String(err)));
recordProgram({ stack: "dev", config: {}, resolve: cannedResolver, program: () => {
    const provider = new docker.Provider("h-docker", { host: "unix:///var/run/docker.sock" });
    const images = new Images("h-images", { registry: "quay.io/replicated", channel: "stable", version: "2.53.2",
        names: ["replicated-operator", "replicated-helper"], provider, target: { address: "10.0.0.1", privateKey: "test-key" },
        pins: { "replicated-operator": process.argv[1] } });
    new docker.Container("h-operator", { image: images.imageOf("replicated-operator"), name: "replicated-operator" }, { provider });
} }).then((recording) => recording.byType("docker:index/container:Container").length, (err) => { errors.push(String(err)); return 0; })
  .then((containers) => setTimeout(() => { console.log(JSON.stringify({ containers, errors })); process.exit(0); }, 100));
`;

/** The child's report: the last line it printed. */
function reportOf<T>(stdout: string): T {
    return JSON.parse(stdout.trim().split("\n").pop() ?? "{}") as T;
}

/** The ids the child's stand-in resources report, by resource name; known only once they "exist". */
const LATE_IDS: Readonly<Record<string, number>> = { "uid-minus-one": -1, "uid-zero": 0, "gid-zero": 0, "gid-too-large": MAX_ID + 1, "service-uid": CANNED_UID, "docker-gid": CANNED_DOCKER_GID };
/**
 * HostDirectories and OwnershipRepair given uids and gids that are other resources' outputs,
 * evaluated in a process of its own (a failed registration never lets the evaluation finish, as
 * in a real run); prints the registrations and the errors the run reported, once every refused
 * component has reported its error and the two with good ids have registered their commands.
 */
const LATE_IDS_CHILD = `
const random = require("@pulumi/random");
const { HostDirectories, OwnershipRepair } = require("./components/host");
const { cannedResolver } = require("./tools/offline/host-model");
const { recordProgram } = require("./tools/offline/recorder");
const ids = JSON.parse(process.argv[1]);
const refused = ["HostDirectories dirs-late-uid:", "HostDirectories dirs-late-gid:", "OwnershipRepair repair-late-uid:", "OwnershipRepair repair-late-gid:"];
const accepted = ["dirs-known-directories", "repair-known-ownership"];
const errors = [];
const registered = [];
const report = () => { console.log(JSON.stringify({ registered, errors })); process.exit(0); };
const reportWhenDone = () => {
    if (refused.every((prefix) => errors.some((err) => err.includes(prefix))) && accepted.every((name) => registered.includes(name))) report();
};
process.on("unhandledRejection", (err) => { errors.push(String(err)); reportWhenDone(); });
recordProgram({ stack: "unit", project: "host-components-unit", config: {}, sdkStackTraces: false,
    resolve: (r) => (r.type === "random:index/randomInteger:RandomInteger" ? { result: ids[r.name] } : cannedResolver(r)),
    onRegister: (r) => { registered.push(r.name); reportWhenDone(); },
    program: () => {
        const id = {};
        for (const name of Object.keys(ids)) id[name] = new random.RandomInteger(name, { min: 0, max: 1 }).result;
        const target = { address: "10.0.0.1", privateKey: "key" };
        new HostDirectories("dirs-late-uid", { target, role: "primary", uid: id["uid-minus-one"], gid: id["docker-gid"] });
        new HostDirectories("dirs-late-gid", { target, role: "operator", uid: id["service-uid"], gid: id["gid-zero"] });
        new HostDirectories("dirs-known", { target, role: "primary", uid: id["service-uid"], gid: id["docker-gid"] });
        new OwnershipRepair("repair-late-uid", { target, uid: id["uid-zero"], gid: id["docker-gid"] });
        new OwnershipRepair("repair-late-gid", { target, uid: id["service-uid"], gid: id["gid-too-large"] });
        new OwnershipRepair("repair-known", { target, uid: id["service-uid"], gid: id["docker-gid"] });
    } }).catch((err) => errors.push(String(err)));
setTimeout(report, 20000);
`;

interface ChildReport {
    readonly registered: readonly string[];
    readonly errors: readonly string[];
}

/** Runs {@link LATE_IDS_CHILD} once, while the other tests of this file run; the tests that read it report its failure. */
const lateIds = runNodeWithTsx(["-e", LATE_IDS_CHILD, JSON.stringify(LATE_IDS)]).then((child) => {
    assert.match(child.stdout, /"registered"/, child.stderr);
    return reportOf<ChildReport>(child.stdout);
});
lateIds.catch(() => undefined);
const lateIdsReport = (): Promise<ChildReport> => lateIds;

/** The component `name` was registered (its ids could not be known before), its command `command` never was, and the run reported `expected`. */
function assertRefusedWhenResolved(report: ChildReport, name: string, command: string, expected: string): void {
    assert.ok(report.registered.includes(name), `registered: ${report.registered.join(", ")}`);
    assert.equal(report.registered.includes(command), false, `registered: ${report.registered.join(", ")}`);
    assert.ok(
        report.errors.some((err) => err === `HostArgsError: error serializing property "create": ${expected}`),
        `expected ${JSON.stringify(expected)} among:\n${report.errors.join("\n")}`,
    );
}


test("a component whose Input address resolves to no address fails the run there, and its command is never registered", async () => {
    const child = await runNodeWithTsx(["-e", BAD_INPUT_CHILD, BAD_VM_ADDRESS]);
    assert.match(child.stdout, /"registered"/, child.stderr);
    const report = reportOf<{ registered: string[]; errors: string[] }>(child.stdout);
    assert.ok(report.registered.includes("vm-address") && report.registered.includes("late"), `registered: ${report.registered.join(", ")}`);
    assert.ok(!report.registered.includes("late-version-guard"), `registered: ${report.registered.join(", ")}`);
    const expected = /error serializing property "connection": VersionGuard late: target\.address "not an address; rm -rf \/" must be a DNS host name or an IP address/;
    assert.ok(report.errors.some((err) => expected.test(err)), report.errors.join("\n"));
});

test("registry mode: a pinned image whose id differs never reaches a container", async () => {
    // The container's input fails to resolve, so it is never registered.
    const child = await runNodeWithTsx(["-e", MISMATCH_CHILD, DIGEST]);
    assert.match(child.stdout, /"containers"/, child.stderr);
    const report = reportOf<{ containers: number; errors: string[] }>(child.stdout);
    assert.equal(report.containers, 0, "no container was registered");
    const expected = new RegExp(`image ${OPERATOR.replace(/[.]/g, "\\.")} on this host is ${cannedId(OPERATOR)}, but replicated:images\\.pins\\.replicated-operator is ${DIGEST}`);
    assert.ok(report.errors.some((err) => expected.test(err)), report.errors.join("\n"));
});

describe("HostDirectories", () => {
    test("a uid or gid that arrives as another resource's output and cannot work fails when it resolves, naming it, and the command is never registered", async () => {
        const report = await lateIdsReport();
        assertRefusedWhenResolved(report, "dirs-late-uid", "dirs-late-uid-directories", `HostDirectories dirs-late-uid: uid -1 must be an integer from 0 to ${MAX_ID} (0 in legacy root mode)`);
        assertRefusedWhenResolved(report, "dirs-late-gid", "dirs-late-gid-directories", `HostDirectories dirs-late-gid: gid 0 must be the docker gid, an integer from 1 to ${MAX_ID}`);
        assert.ok(report.registered.includes("dirs-known-directories"), "good ids that arrive as outputs are accepted");
    });
});

describe("OwnershipRepair", () => {
    test("a uid or gid that arrives as another resource's output and cannot work fails when it resolves, naming it, and the command is never registered", async () => {
        const report = await lateIdsReport();
        assertRefusedWhenResolved(report, "repair-late-uid", "repair-late-uid-ownership", `OwnershipRepair repair-late-uid: uid 0 must be an integer from 1 to ${MAX_ID} (the repair never re-owns to root)`);
        assertRefusedWhenResolved(
            report,
            "repair-late-gid",
            "repair-late-gid-ownership",
            `OwnershipRepair repair-late-gid: gid ${MAX_ID + 1} must be an integer from 1 to ${MAX_ID} (the repair never re-owns to root)`,
        );
        assert.ok(report.registered.includes("repair-known-ownership"), "good ids that arrive as outputs are accepted");
    });
});
