/**
 * `npm run policy-config`: the pack config printed for each stack matches the stack's own
 * settings after the program's validation (text values as the CLI stores them included), a
 * broken stack fails with the program's message, and the command line writes the file it is asked
 * to write.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, test } from "node:test";
import { packConfigForStack } from "../../policy/rules";
import { main, parseArgs, policyConfigFor, policyConfigFromConfig, renderPolicyConfig } from "../../tools/policy-config";
import { UsageError } from "../../tools/plan-diff";
import { capturedIo } from "../support/captured-io";
import { readStackConfig, stackConfigForTest, stackNames } from "../support/stacks";

describe("pack config per stack", () => {
    for (const stack of stackNames()) {
        test(`${stack}: the stack's runAs, allowAllInterfaces and requireNonRootApplications`, () => {
            const raw = readStackConfig(stack);
            const expected = packConfigForStack(stack, {
                runAs: raw.runAs ?? "replicated",
                allowAllInterfaces: raw.allowAllInterfaces === true || raw.allowAllInterfaces === "true",
                requireNonRootApplications: raw.requireNonRootApplications === true || raw.requireNonRootApplications === "true",
            });
            assert.deepEqual(policyConfigFor(stack), expected);
        });
    }

    test("the legacy customer is listed in legacyRootStacks; the others are not", () => {
        assert.deepEqual(policyConfigFor("globex-airgap")["no-root-containers"], { legacyRootStacks: ["globex-airgap"] });
        assert.deepEqual(policyConfigFor("acme-online")["no-root-containers"], { legacyRootStacks: [] });
    });

    test('values the CLI stores as text ("true") count; defaults apply when a key is missing', () => {
        const config = stackConfigForTest("acme-online", { allowAllInterfaces: "true", requireNonRootApplications: "true" });
        const packConfig = policyConfigFromConfig("acme-online", config);
        assert.deepEqual(packConfig["no-wildcard-port-bindings"], { allowAllInterfaces: true });
        assert.deepEqual(packConfig["application-containers-non-root-required"], { requireNonRootApplications: true });
        const opted = policyConfigFromConfig("globex-airgap", stackConfigForTest("globex-airgap", { runAs: "replicated" }));
        assert.deepEqual(opted["no-root-containers"], { legacyRootStacks: [] }, "after the opt-in the stack is no longer exempt");
        const { runAs: _runAs, ...withoutRunAs } = stackConfigForTest("globex-airgap");
        assert.deepEqual(policyConfigFromConfig("globex-airgap", withoutRunAs)["no-root-containers"], { legacyRootStacks: [] }, "runAs defaults to replicated");
    });

    test("a config the program refuses fails with the program's own message", () => {
        assert.throws(() => policyConfigFromConfig("acme-online", stackConfigForTest("acme-online", { runAs: "nobody" })), /replicated:runAs: must be "replicated" or "root"/);
    });

    test("the printed JSON is the pack config file format", () => {
        const text = renderPolicyConfig(policyConfigFor("globex-airgap"));
        assert.ok(text.endsWith("}\n"));
        assert.deepEqual(JSON.parse(text), policyConfigFor("globex-airgap"));
    });
});

describe("the command line", () => {
    test("arguments", () => {
        assert.deepEqual(parseArgs(["globex-airgap"]), { stack: "globex-airgap" });
        assert.deepEqual(parseArgs(["globex-airgap", "--output", "x.json"]), { stack: "globex-airgap", output: "x.json" });
        assert.deepEqual(parseArgs(["-o", "x.json", "globex-airgap"]), { stack: "globex-airgap", output: "x.json" });
        assert.deepEqual(parseArgs(["--output=x.json", "globex-airgap"]), { stack: "globex-airgap", output: "x.json" });
        for (const bad of [[], ["a", "b"], ["a", "--output"], ["a", "--json"]]) {
            assert.throws(() => parseArgs(bad), UsageError, JSON.stringify(bad));
        }
    });

    test("--output writes the file; an unknown stack exits 2 with the known ones", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "policy-config-"));
        try {
            const file = path.join(dir, "policy.globex-airgap.json");
            const written = capturedIo();
            assert.equal(main(["globex-airgap", "--output", file], written), 0);
            assert.equal(written.out(), "");
            assert.match(written.err(), /--policy-pack-config /);
            assert.deepEqual(JSON.parse(fs.readFileSync(file, "utf8")), policyConfigFor("globex-airgap"));

            const failure = capturedIo();
            assert.equal(main(["no-such-stack"], failure), 2);
            assert.match(failure.err(), /no stack "no-such-stack" in stacks\/ \(known: .*globex-airgap/);
            assert.equal(failure.out(), "");
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
