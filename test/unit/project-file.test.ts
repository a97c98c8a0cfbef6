/**
 * Pulumi.yaml and package.json keep the promises the README makes: every config key the program
 * reads has a schema entry with a description, the SDK is pinned once for Node 20, and the
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
    overrides: Record<string, string>;
    engines: { node: string };
};

test("project name, runtime and stack directory", () => {
    assert.equal(project.name, "replicated");
    assert.equal(project.runtime.name, "nodejs");
    assert.equal(project.runtime.options.typescript, true);
    assert.equal(project.stackConfigDir, "stacks");
});

test("every config key read by the program has a described schema entry, and nothing else", () => {
    assert.deepEqual(Object.keys(project.config).sort(), [...CONFIG_KEYS].sort());
    for (const [key, entry] of Object.entries(project.config)) {
        assert.ok((entry.description ?? "").length > 20, `${key} needs a description`);
    }
    assert.equal(project.config.sshPrivateKey.secret, true);
});

test("exact pins and a single @pulumi/pulumi", () => {
    for (const [name, version] of Object.entries(pkg.dependencies)) {
        assert.match(version, /^\d+\.\d+\.\d+$/, `${name} must be pinned exactly`);
    }
    assert.equal(pkg.dependencies["@pulumi/pulumi"], "3.248.0", "last release whose engines allow Node 20");
    assert.equal(pkg.dependencies["@pulumi/command"], "1.2.1");
    assert.match(pkg.dependencies["@pulumi/docker"], /^5\./);
    assert.match(pkg.dependencies["@pulumi/random"], /^4\./);
    assert.equal(pkg.overrides["@pulumi/pulumi"], "$@pulumi/pulumi");
    assert.equal(pkg.engines.node, ">=20");
    const lock = JSON.parse(fs.readFileSync(path.join(ROOT, "package-lock.json"), "utf8")) as { packages: Record<string, unknown> };
    const copies = Object.keys(lock.packages).filter((p) => p.endsWith("node_modules/@pulumi/pulumi"));
    assert.deepEqual(copies, ["node_modules/@pulumi/pulumi"], "exactly one copy of @pulumi/pulumi in the lockfile");
});
