/**
 * Every stack in stacks/ evaluates under mocks: config validates, one ReplicatedHost per host,
 * and the daemon token is generated once and kept secret.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { recordCanned } from "../support/mock-recorder";
import { readStackConfig, stackConfigForTest, stackNames } from "../support/stacks";

const stacks = stackNames();

test("stacks/ holds the dev stack and at least two customers", () => {
    assert.ok(stacks.includes("dev"), `stacks: ${stacks.join(", ")}`);
    assert.ok(stacks.filter((stack) => stack !== "dev").length >= 2, `stacks: ${stacks.join(", ")}`);
});

for (const stack of stacks) {
    test(`stack ${stack} evaluates under mocks`, async () => {
        const config = stackConfigForTest(stack);
        const recording = await recordCanned({ stack, config });
        const hostNames = (readStackConfig(stack).hosts as Array<{ name: string }>).map((host) => host.name);
        const hosts = recording.byType("replicated:index:ReplicatedHost");
        assert.deepEqual(hosts.map((host) => host.name).sort(), [...hostNames].sort());
        const tokens = recording.byType("random:index/randomPassword:RandomPassword");
        assert.equal(tokens.length, 1, "one shared daemon token");
        assert.equal(recording.outputs.stack, stack);
    });
}
