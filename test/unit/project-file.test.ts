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

/** The package.json of what `npm ci` installed for `name`. */
function installed(name: string): { version: string; engines?: { node?: string } } {
    return JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules", name, "package.json"), "utf8")) as { version: string; engines?: { node?: string } };
}

test("npm ci installs exactly the pinned versions, the SDKs as peers at the same pins", () => {
    const declared = { ...pkg.dependencies, ...pkg.peerDependencies, ...pkg.devDependencies };
    for (const [name, version] of Object.entries(declared)) {
        // @pulumi/policy's own package.json spells its version with a leading "v".
        assert.equal(installed(name).version.replace(/^v/, ""), version, `${name}: the installed version is the pinned one`);
    }
    // The SDKs are peers (a consumer of the library keeps one copy) and devDependencies at the
    // same pins (this repository's own program installs them); never plain dependencies, which
    // npm would nest as a second copy beside a consumer's own.
    for (const [name, version] of Object.entries(pkg.peerDependencies)) {
        assert.equal(pkg.devDependencies[name], version, `${name}: devDependencies pin the peer's version`);
        assert.equal(pkg.dependencies[name], undefined, `${name} is a peer, not a dependency`);
    }
});

test("one @pulumi/pulumi, whose engines accept this Node, is what the program and every provider SDK load", () => {
    const sdk = require.resolve("@pulumi/pulumi");
    for (const provider of ["@pulumi/command", "@pulumi/docker", "@pulumi/random", "@pulumi/policy"]) {
        const from = path.dirname(require.resolve(`${provider}/package.json`));
        assert.equal(require.resolve("@pulumi/pulumi", { paths: [from] }), sdk, `${provider} loads the program's own SDK`);
    }
    const modules = path.join(ROOT, "node_modules");
    const packages = fs
        .readdirSync(modules)
        .flatMap((entry) => (entry.startsWith("@") ? fs.readdirSync(path.join(modules, entry)).map((name) => `${entry}/${name}`) : [entry]));
    const nested = packages.filter((name) => fs.existsSync(path.join(modules, name, "node_modules", "@pulumi", "pulumi")));
    assert.deepEqual(nested, [], "no package installed its own copy beside the top-level one");
    const { version, engines } = installed("@pulumi/pulumi");
    assert.equal(version, "3.248.0", "the last release whose engines allow Node 20");
    // engines.node is ">=<major>" for this release: the Node running the tests must satisfy it.
    const minimumMajor = Number(/^>=(\d+)$/.exec(engines?.node ?? "")?.[1]);
    assert.ok(Number(process.versions.node.split(".")[0]) >= minimumMajor, `Node ${process.versions.node} satisfies ${engines?.node}`);
    assert.ok(minimumMajor <= 20, "Node 20 is accepted");
    assert.equal(pkg.overrides["@pulumi/pulumi"], "$@pulumi/pulumi");
    assert.equal(pkg.engines.node, `>=${minimumMajor}`, "the package asks for the Node the SDK needs");
    const lock = JSON.parse(fs.readFileSync(path.join(ROOT, "package-lock.json"), "utf8")) as { packages: Record<string, unknown> };
    const copies = Object.keys(lock.packages).filter((p) => p.endsWith("node_modules/@pulumi/pulumi"));
    assert.deepEqual(copies, ["node_modules/@pulumi/pulumi"], "exactly one copy of @pulumi/pulumi in the lockfile");
});
