/**
 * The images component without a host: digest references (registry mode only), the air-gap load
 * command's arguments (reference and pin pairs), and pins checked on every image resource before
 * a container may use the image, under Pulumi's mocks with the canned image ids.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import * as path from "node:path";
import { describe, test } from "node:test";
import { promisify } from "node:util";
import * as docker from "@pulumi/docker";
import {
    IMAGE_PIN_PATTERN,
    Images,
    airgapLoadArgs,
    isDigestReference,
    isImageReference,
    replicatedImageReference,
    type ImagesArgs,
} from "../../components/docker";
import { cannedResolver, scriptArgsOf, scriptNameOf } from "../support/canned-outputs";
import { recordProgramQueued } from "../support/mock-recorder";

const HELPER = replicatedImageReference("quay.io/replicated", "replicated-helper", "stable", "2.53.2");
const OPERATOR = replicatedImageReference("quay.io/replicated", "replicated-operator", "stable", "2.53.2");
const DIGEST = `sha256:${"0123456789abcdef".repeat(4)}`;
const REPO = path.join(__dirname, "..", "..");
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
/** The id the canned resolver reports for a reference. */
const cannedId = (reference: string): string => `sha256:${createHash("sha256").update(reference).digest("hex")}`;

/** Records a program that declares one Images component (an operator host: operator + helper). */
function recordImages(args: Partial<ImagesArgs>, consume = false): ReturnType<typeof recordProgramQueued> {
    return recordProgramQueued({
        stack: "dev",
        config: {},
        sdkStackTraces: false,
        resolve: cannedResolver,
        program: () => {
            const provider = new docker.Provider("h-docker", { host: "unix:///var/run/docker.sock" });
            const images = new Images("h-images", {
                registry: "quay.io/replicated",
                channel: "stable",
                version: "2.53.2",
                names: ["replicated-operator", "replicated-helper"],
                provider,
                target: { address: "10.0.0.1", privateKey: "test-key" },
                ...args,
            });
            if (consume) {
                // What a container does with its image: take the checked id.
                new docker.Container("h-operator", { image: images.imageOf("replicated-operator"), name: "replicated-operator" }, { provider });
            }
            return { helper: images.helperImage };
        },
    });
}

describe("image references and pins", () => {
    test("digest references: repo@sha256 and repo:tag@sha256 are recognised, nothing else", () => {
        for (const reference of [`quay.io/replicated/replicated-helper@${DIGEST}`, `quay.io/replicated/replicated-helper:stable-2.53.2@${DIGEST}`, `registry.example.com:5000/x/y@${DIGEST}`]) {
            assert.equal(isDigestReference(reference), true, reference);
            assert.equal(isImageReference(reference), false, `${reference} is not a plain tagged reference`);
        }
        for (const reference of [HELPER, `helper@sha256:${"0".repeat(63)}`, `helper@sha512:${"0".repeat(64)}`, `-x@${DIGEST}`, `a b@${DIGEST}`, `helper@${DIGEST};x`]) {
            assert.equal(isDigestReference(reference), false, reference);
        }
        assert.match(DIGEST, IMAGE_PIN_PATTERN);
        assert.doesNotMatch(`sha256:${"A".repeat(64)}`, IMAGE_PIN_PATTERN);
    });

    test("the load command gets every reference with its pin, or - when it has none", () => {
        assert.deepEqual(airgapLoadArgs("/var/lib/replicated-images", [OPERATOR, HELPER], new Map([[HELPER, DIGEST]])), [
            "/var/lib/replicated-images", OPERATOR, "-", HELPER, DIGEST,
        ]);
    });

    test("air-gap mode: pins by image name reach the load command", async () => {
        const recording = await recordImages({ airgap: { imagesDir: "/var/lib/replicated-images" }, pins: { "replicated-helper": cannedId(HELPER) } });
        const load = recording.byType("command:remote:Command").find((c) => scriptNameOf(c) === "load-images");
        assert.ok(load);
        assert.deepEqual(scriptArgsOf(load), ["/var/lib/replicated-images", OPERATOR, "-", HELPER, cannedId(HELPER)]);
        assert.equal(recording.outputs.helper, HELPER, "the helper reference is handed out once its id matched");
    });

    test("air-gap mode refuses a digest reference before any resource, naming the pin to use instead", async () => {
        await assert.rejects(
            recordImages({ airgap: { imagesDir: "/var/lib/replicated-images" }, helperReference: `quay.io/replicated/replicated-helper@${DIGEST}` }),
            /replicated-helper@sha256:.* is a digest reference, which air-gap mode cannot honour.*replicated:images\.pins \(key replicated-helper\)/,
        );
    });

    test("registry mode accepts a digest reference for the helper", async () => {
        const reference = `quay.io/replicated/replicated-helper:stable-2.53.2@${DIGEST}`;
        const recording = await recordImages({ helperReference: reference });
        assert.ok(recording.byType("docker:index/remoteImage:RemoteImage").some((image) => image.inputs.name === reference));
        assert.equal(recording.byType("command:remote:Command").length, 0, "nothing is loaded in registry mode");
    });

    test("a malformed pin is refused before any resource, naming the key", async () => {
        await assert.rejects(recordImages({ pins: { "replicated-helper": "sha256:abc" } }), /replicated:images\.pins\.replicated-helper must be an image id sha256:<64 hex>/);
    });

    test("registry mode: a pinned image whose id differs never reaches a container", async () => {
        const good = await recordImages({ pins: { "replicated-operator": cannedId(OPERATOR) } }, true);
        assert.equal(good.find("docker:index/container:Container", "h-operator").inputs.image, cannedId(OPERATOR), "a matching pin passes the id on");
        // The container's input fails to resolve, so it is never registered. The Node runtime sees
        // an unhandled rejection, which `pulumi up` turns into a failed update (pulumi/pulumi
        // sdk/nodejs/cmd/run/run.ts, uncaughtHandler); node:test would too, so a child records it.
        // Its exit status is the SDK's (the leaked promises of the failed input make it 1): the report on stdout is what counts.
        const child = await promisify(execFile)(process.execPath, ["--import", "tsx", "-e", MISMATCH_CHILD, DIGEST], { cwd: REPO, encoding: "utf8", timeout: 120_000 }).catch(
            (failure: { stdout?: string; stderr?: string }) => ({ stdout: failure.stdout ?? "", stderr: failure.stderr ?? "" }),
        );
        assert.match(child.stdout, /"containers"/, child.stderr);
        const report = JSON.parse(child.stdout.trim().split("\n").pop() ?? "{}") as { containers: number; errors: string[] };
        assert.equal(report.containers, 0, "no container was registered");
        const expected = new RegExp(
            `image ${OPERATOR.replace(/[.]/g, "\\.")} on this host is ${cannedId(OPERATOR)}, but replicated:images\\.pins\\.replicated-operator is ${DIGEST}`,
        );
        assert.ok(report.errors.some((err) => expected.test(err)), report.errors.join("\n"));
    });
});
