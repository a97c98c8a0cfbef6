/**
 * The evaluation thread (tools/offline/evaluation-thread.ts) that plan-diff, fleet and the unit
 * tier's stack recordings use: it records what an evaluation on the calling thread records, hands
 * back the program's own errors, and a run that a real `pulumi up` would end (an unhandled
 * rejection) fails that evaluation alone.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { evaluateOnThread } from "../../tools/offline/evaluation-thread";
import { cannedResolver } from "../../tools/offline/host-model";
import { recordProgramQueued } from "../../tools/offline/recorder";
import { stackConfigForTest } from "../support/stacks";

const WRONG_PIN = `sha256:${"0".repeat(64)}`;

describe("the evaluation thread", () => {
    test("records the same resources, options and outputs as an evaluation on the calling thread", async () => {
        const config = stackConfigForTest("dev");
        const [onThread, here] = await Promise.all([
            evaluateOnThread({ stack: "dev", config, hostModel: "canned" }),
            recordProgramQueued({ stack: "dev", config, resolve: cannedResolver, sdkStackTraces: false }),
        ]);
        assert.ok(onThread.resources.length > 10, `the dev stack registers its host (got ${onThread.resources.length} resources)`);
        // The thread hands back plain data: what JSON keeps of the calling thread's recording.
        assert.deepEqual(onThread.resources, JSON.parse(JSON.stringify(here.resources)));
        assert.deepEqual(onThread.outputs, JSON.parse(JSON.stringify(here.outputs)));
    });

    test("a config the program rejects comes back with the program's own message", async () => {
        await assert.rejects(
            evaluateOnThread({ stack: "acme-online", config: stackConfigForTest("acme-online", { uiPort: "eighty" }), hostModel: "modelled" }),
            /replicated:uiPort: must be an integer, got "eighty"/,
        );
    });

    test("an input that never resolves fails its evaluation with the reason, and the next one runs on a new thread", async () => {
        const pinned = stackConfigForTest("acme-online", { images: { pins: { "replicated-ui": WRONG_PIN } } });
        const failed = evaluateOnThread({ stack: "acme-online", config: pinned, hostModel: "canned" });
        const next = evaluateOnThread({ stack: "acme-online", config: stackConfigForTest("acme-online"), hostModel: "canned" });
        await assert.rejects(failed, new RegExp(`on this host is sha256:[0-9a-f]{64}, but replicated:images\\.pins\\.replicated-ui is ${WRONG_PIN}`));
        const recording = await next;
        assert.ok(
            recording.resources.some((resource) => resource.type === "docker:index/container:Container" && resource.inputs.name === "replicated-ui"),
            "the evaluation queued behind the failed one records the ui container",
        );
    });
});
