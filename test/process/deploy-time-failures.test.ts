/**
 * Inputs that only fail once they resolve, each in a program run in a process of its own: a
 * failed registration never lets the evaluation finish, and the Node runtime sees an unhandled
 * rejection, which `pulumi up` turns into a failed update (pulumi/pulumi
 * sdk/nodejs/cmd/run/run.ts, uncaughtHandler); node:test would too, so a child records it. Each
 * child's exit status is the SDK's (the leaked promises of the failed input make it 1): the report
 * it prints on stdout is what counts.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
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
