/**
 * Pulumi.yaml and package.json keep the promises the README makes: every declared config key is
 * one the program reads and has a description, the SDK is pinned once for Node 20, and the
 * runtime runs the TypeScript sources.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import { parse } from "yaml";
import { CONFIG_KEYS } from "../../components/config";

const ROOT = path.join(__dirname, "..", "..");
const project = parse(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8")) as {
    name: string;
    runtime: { name: string; options: { typescript: boolean } };
    stackConfigDir: string;
    config: Record<string, { description?: string; type?: string; secret?: boolean }>;
};
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
    dependencies: Record<string, string>;
    devDependencies: Record<string, string>;
    peerDependencies: Record<string, string>;
    overrides: Record<string, string>;
    engines: { node: string };
};

test("project name, runtime and stack directory", () => {
    assert.equal(project.name, "replicated");
    assert.equal(project.runtime.name, "nodejs");
    assert.equal(project.runtime.options.typescript, true);
    assert.equal(project.stackConfigDir, "stacks");
});

test("every declared config key is one the program reads, with a description", () => {
    // Which keys are declared, and their defaults, follow the CLI's rules: cli-config-rules.test.ts.
    for (const [key, entry] of Object.entries(project.config)) {
        assert.ok(CONFIG_KEYS.includes(key), `${key} is read by the program`);
        assert.ok((entry.description ?? "").length > 20, `${key} needs a description`);
    }
    // A secret key cannot be declared (no default allowed, so every stack would need it); the
    // program refuses a plain-text sshPrivateKey itself (components/config/).
    assert.equal(project.config.sshPrivateKey, undefined);
});

test("exact pins and a single @pulumi/pulumi", () => {
    for (const [name, version] of Object.entries({ ...pkg.dependencies, ...pkg.peerDependencies })) {
        assert.match(version, /^\d+\.\d+\.\d+$/, `${name} must be pinned exactly`);
    }
    // The SDKs are peers (a consumer of the library keeps one copy) and devDependencies at the
    // same pins (this repository's own program installs them); never plain dependencies, which
    // npm would nest as a second copy beside a consumer's own.
    for (const [name, version] of Object.entries(pkg.peerDependencies)) {
        assert.equal(pkg.devDependencies[name], version, `${name}: devDependencies pin the peer's version`);
        assert.equal(pkg.dependencies[name], undefined, `${name} is a peer, not a dependency`);
    }
    assert.equal(pkg.peerDependencies["@pulumi/pulumi"], "3.248.0", "last release whose engines allow Node 20");
    assert.equal(pkg.peerDependencies["@pulumi/command"], "1.2.1");
    assert.match(pkg.peerDependencies["@pulumi/docker"], /^5\./);
    assert.match(pkg.peerDependencies["@pulumi/random"], /^4\./);
    assert.equal(pkg.overrides["@pulumi/pulumi"], "$@pulumi/pulumi");
    assert.equal(pkg.engines.node, ">=20");
    const lock = JSON.parse(fs.readFileSync(path.join(ROOT, "package-lock.json"), "utf8")) as { packages: Record<string, unknown> };
    const copies = Object.keys(lock.packages).filter((p) => p.endsWith("node_modules/@pulumi/pulumi"));
    assert.deepEqual(copies, ["node_modules/@pulumi/pulumi"], "exactly one copy of @pulumi/pulumi in the lockfile");
});
