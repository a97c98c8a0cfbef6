/**
 * The images component without a host: digest references (registry mode only), the air-gap load
 * command's arguments (reference and pin pairs), and pins checked on every image resource before
 * a container may use the image, under Pulumi's mocks with the canned image ids. That a pin whose
 * id differs fails a whole run is shown in a process of its own, in
 * test/process/deploy-time-failures.test.ts.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
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
import { DIGEST, OPERATOR, cannedId } from "../support/rejected-inputs";

const HELPER = replicatedImageReference("quay.io/replicated", "replicated-helper", "stable", "2.53.2");

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

    test("registry mode: a matching pin passes the image id on to the container", async () => {
        const good = await recordImages({ pins: { "replicated-operator": cannedId(OPERATOR) } }, true);
        assert.equal(good.find("docker:index/container:Container", "h-operator").inputs.image, cannedId(OPERATOR), "a matching pin passes the id on");
    });
});
