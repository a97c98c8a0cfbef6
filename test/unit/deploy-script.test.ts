/**
 * `npm run deploy` refuses clearly: no stack, an unknown stack, and a missing Pulumi CLI each
 * exit non-zero with a message that says what to do.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
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

/** A PATH whose `pulumi` only answers `pulumi version` with `version`. */
function pathWithPulumiVersion(version: string): { path: string; cleanup: () => void } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "deploy-pulumi-"));
    fs.writeFileSync(path.join(dir, "pulumi"), `#!/bin/sh\n[ "$1" = version ] && echo '${version}' && exit 0\necho "unexpected: pulumi $*" >&2\nexit 3\n`, { mode: 0o755 });
    return { path: `${dir}:${PATH_WITHOUT_PULUMI}`, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

test("a Pulumi CLI older than the config rules Pulumi.yaml is written for: refused with the minimum version", () => {
    const stub = pathWithPulumiVersion("v3.150.0");
    try {
        const env = { PATH: stub.path, HOME: "/nonexistent", PULUMI_BACKEND_URL: "file:///nonexistent-backend" };
        const result = spawnSync("bash", [DEPLOY, "acme-online"], { encoding: "utf8", env });
        assert.equal(result.status, 1);
        assert.match(result.stderr, /the Pulumi CLI 3\.150\.0 is too old: this project needs 3\.213\.0 or later/);
    } finally {
        stub.cleanup();
    }
});

test("a recent Pulumi CLI passes the version check (and then asks for the passphrase)", () => {
    const stub = pathWithPulumiVersion("v3.248.0");
    try {
        // A backend of its own, so the script creates no .pulumi-state in the checkout.
        const env = { PATH: stub.path, HOME: "/nonexistent", PULUMI_BACKEND_URL: "file:///nonexistent-backend" };
        const result = spawnSync("bash", [DEPLOY, "acme-online"], { encoding: "utf8", env });
        assert.equal(result.status, 1);
        assert.doesNotMatch(result.stderr, /too old/);
        assert.match(result.stderr, /set PULUMI_CONFIG_PASSPHRASE/);
    } finally {
        stub.cleanup();
    }
});
