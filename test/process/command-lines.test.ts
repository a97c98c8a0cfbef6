/**
 * The command lines as an operator runs them: each tool in a Node process of its own, its exit
 * status, what it prints on which stream, and the files it writes. The same statuses and messages
 * are checked in process, through each tool's `main`, by the unit tests of the tools.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, describe, test } from "node:test";
import { policyConfigFor } from "../../tools/policy-config";
import { PROJECT_DIR, runTool } from "../support/node-process";
import { copiedStackDir } from "../support/stack-copies";

const temporary: string[] = [];
after(() => {
    for (const dir of temporary) {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});

/** A new temporary directory, removed at the end. */
function temporaryDir(prefix: string): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    temporary.push(dir);
    return dir;
}

describe("plan-diff", () => {
    test("a bad proposed value gets the program's own config error (exit 1)", async () => {
        const failure = await runTool("plan-diff", ["acme-online", "uiPort=eighty"]);
        assert.equal(failure.code, 1, failure.stderr);
        assert.match(failure.stderr, /proposed change is rejected by the program/);
        assert.match(failure.stderr, /replicated:uiPort: must be an integer, got "eighty"/);
        assert.equal(failure.stdout, "");
    });

    test("usage errors name the problem before anything is evaluated; the CLI exits 2", async () => {
        const failure = await runTool("plan-diff", []);
        assert.equal(failure.code, 2, failure.stderr);
        assert.match(failure.stderr, /usage: npm run plan-diff -- <stack>/);
    });
});

describe("policy-config", () => {
    test("--output writes the file; an unknown stack exits 2 with the known ones", async () => {
        const file = path.join(temporaryDir("policy-config-"), "policy.globex-airgap.json");
        const written = await runTool("policy-config", ["globex-airgap", "--output", file]);
        assert.equal(written.code, 0, written.stderr);
        assert.equal(written.stdout, "");
        assert.match(written.stderr, /--policy-pack-config /);
        assert.deepEqual(JSON.parse(fs.readFileSync(file, "utf8")), policyConfigFor("globex-airgap"));

        const failure = await runTool("policy-config", ["no-such-stack"]);
        assert.equal(failure.code, 2, failure.stderr);
        assert.match(failure.stderr, /no stack "no-such-stack" in stacks\/ \(known: .*globex-airgap/);
        assert.equal(failure.stdout, "");
    });
});

describe("fleet", () => {
    test("one process plans every stack and exits 1 when one is rejected, with the JSON document on stdout", async () => {
        const dir = copiedStackDir(["acme-online", "globex-airgap"]);
        temporary.push(dir);
        const failure = await runTool("fleet", ["plan", "hosts[2].role=operator", "--json", "--stacks-dir", dir]);
        assert.equal(failure.code, 1, failure.stderr);
        const doc = JSON.parse(failure.stdout) as { stacks: { stack: string; status: string }[] };
        assert.deepEqual(doc.stacks.map((s) => `${s.stack}: ${s.status}`), ["acme-online: rejected", "globex-airgap: planned"]);
    });
});

describe("config-docs", () => {
    test("--check fails on a hand edit of the table and names the file and the fix", async () => {
        const root = temporaryDir("config-docs-");
        fs.mkdirSync(path.join(root, "docs"));
        fs.copyFileSync(path.join(PROJECT_DIR, "Pulumi.yaml"), path.join(root, "Pulumi.yaml"));
        const docs = fs.readFileSync(path.join(PROJECT_DIR, "docs", "configuration.md"), "utf8");
        fs.writeFileSync(path.join(root, "docs", "configuration.md"), docs.replace("| `uiPort` | integer | `8800` |", "| `uiPort` | integer | `8080` |"));
        const run = await runTool("config-docs", ["--check"], { env: { ...process.env, CONFIG_DOCS_ROOT: root } });
        assert.equal(run.code, 1, run.stderr);
        assert.match(run.stderr, /docs\/configuration\.md differs from components\/config\/schema\.ts\. Fix: npm run config-docs/);
        assert.doesNotMatch(run.stderr, /Pulumi\.yaml/);
    });
});
