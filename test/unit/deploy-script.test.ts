/**
 * `npm run deploy` refuses clearly: no stack, an unknown stack, and a missing Pulumi CLI each
 * exit non-zero with a message that says what to do.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { test } from "node:test";

const DEPLOY = path.join(__dirname, "..", "..", "scripts", "deploy.sh");
// A PATH with the basic tools but certainly without `pulumi`.
const PATH_WITHOUT_PULUMI = "/usr/bin:/bin";

function deploy(...args: string[]) {
    return spawnSync("bash", [DEPLOY, ...args], { encoding: "utf8", env: { PATH: PATH_WITHOUT_PULUMI, HOME: "/nonexistent" } });
}

test("no stack: usage with the list of stacks", () => {
    const result = deploy();
    assert.equal(result.status, 2);
    assert.match(result.stderr, /usage: npm run deploy -- <stack>.*dev/);
});

test("unknown stack: names the missing stack file", () => {
    const result = deploy("nosuch");
    assert.equal(result.status, 2);
    assert.match(result.stderr, /no stack file stacks\/Pulumi\.nosuch\.yaml/);
});

test("missing Pulumi CLI: says how to install it and exits non-zero", () => {
    const result = deploy("acme-online");
    assert.equal(result.status, 1);
    assert.match(result.stderr, /the Pulumi CLI is not installed/);
    assert.match(result.stderr, /get\.pulumi\.com/);
});
