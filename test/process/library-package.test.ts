/**
 * The components as an installed package: `npm run build` and `npm pack` on a copy of the
 * package sources, the tarball extracted where a consumer's node_modules would hold it, and the
 * built library loaded from there. The pack holds only what a consumer needs, and the host
 * scripts are found inside the installed package.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { loadScript } from "../../components/shell";
import { operationScript } from "../../components/ops/operation-spec";

const ROOT = path.join(__dirname, "..", "..");
/** What the build and the pack read: everything else of the repository stays out of the copy. */
const PACKAGE_SOURCES = ["package.json", "tsconfig.json", "tsconfig.build.json", "README.md", "components", "docs/library.md"];

interface PackedFile {
    readonly path: string;
}

let workDir: string;
let packedFiles: string[];
let installedDir: string;

function sourceScripts(dir: string, prefix = ""): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
        const relative = path.posix.join(prefix, entry.name);
        return entry.isDirectory() ? sourceScripts(path.join(dir, entry.name), relative) : entry.name.endsWith(".sh") ? [relative] : [];
    });
}

/** Runs a command to its end; a non-zero exit rejects with its output. */
const run = promisify(execFile);

before(async () => {
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), "replicated-library-"));
    const packageDir = path.join(workDir, "package");
    for (const source of PACKAGE_SOURCES) {
        fs.cpSync(path.join(ROOT, source), path.join(packageDir, source), { recursive: true });
    }
    fs.symlinkSync(path.join(ROOT, "node_modules"), path.join(packageDir, "node_modules"));
    await run("npm", ["run", "--silent", "build"], { cwd: packageDir });
    const [pack] = JSON.parse((await run("npm", ["pack", "--json", "--pack-destination", workDir], { cwd: packageDir, encoding: "utf8" })).stdout) as Array<{
        filename: string;
        files: PackedFile[];
    }>;
    packedFiles = pack.files.map((file) => file.path).sort();

    // The consumer: the tarball extracted as node_modules/replicated; the SDKs and other
    // dependencies linked from this repository's install (one copy, as peers give a consumer).
    const consumerModules = path.join(workDir, "consumer", "node_modules");
    installedDir = path.join(consumerModules, "replicated");
    fs.mkdirSync(installedDir, { recursive: true });
    await run("tar", ["-xzf", path.join(workDir, pack.filename), "-C", installedDir, "--strip-components=1"]);
    for (const entry of fs.readdirSync(path.join(ROOT, "node_modules"))) {
        if (!entry.startsWith(".")) {
            fs.symlinkSync(path.join(ROOT, "node_modules", entry), path.join(consumerModules, entry));
        }
    }
});

after(() => {
    fs.rmSync(workDir, { recursive: true, force: true });
});

test("the pack holds the built library, its declarations and its host scripts, and nothing else", () => {
    const allowed = ["package.json", "README.md", "docs/library.md"];
    const unexpected = packedFiles.filter((file) => !allowed.includes(file) && !file.startsWith("dist/components/"));
    assert.deepEqual(unexpected, [], "only the built components and the package's own docs");
    for (const excluded of ["test/", "bench/", "stacks/", "tools/", ".ci/", "policy/", "examples/", "components/"]) {
        assert.deepEqual(
            packedFiles.filter((file) => file.startsWith(excluded)),
            [],
            `${excluded} is not shipped`,
        );
    }
    const typeScriptSources = packedFiles.filter((file) => file.endsWith(".ts") && !file.endsWith(".d.ts"));
    assert.deepEqual(typeScriptSources, [], "no TypeScript sources, only .js and .d.ts");
    for (const entry of ["dist/components/index.js", "dist/components/index.d.ts", "dist/components/replicated-host.d.ts"]) {
        assert.ok(packedFiles.includes(entry), `${entry} is shipped`);
    }
    const scripts = sourceScripts(path.join(ROOT, "components", "scripts"));
    assert.ok(scripts.length > 10, `found ${scripts.length} scripts`);
    const missing = scripts.filter((script) => !packedFiles.includes(`dist/components/scripts/${script}`));
    assert.deepEqual(missing, [], "every host script is shipped");
});

test("the installed package's entry exports the components and finds its scripts inside itself", async () => {
    const manifest = JSON.parse(fs.readFileSync(path.join(installedDir, "package.json"), "utf8")) as { main: string; types: string };
    assert.ok(fs.existsSync(path.join(installedDir, manifest.types)), `types ${manifest.types} exists`);
    // A plain node process in the consumer's directory: `require("replicated")` resolves through
    // the package's exports, and the built JavaScript runs without any TypeScript tooling.
    const probe = `
        const library = require("replicated");
        console.log(JSON.stringify({
            resolved: require.resolve("replicated"),
            scriptsDir: library.SCRIPTS_DIR,
            exported: Object.keys(library).filter((name) => typeof library[name] === "function"),
            account: library.loadScript("account"),
            elevatedRun: library.loadScript("elevated-run"),
            snapshot: library.operationScript("snapshot"),
        }));`;
    const consumerDir = path.dirname(path.dirname(installedDir));
    const loaded = JSON.parse((await run(process.execPath, ["-e", probe], { cwd: consumerDir, encoding: "utf8" })).stdout) as {
        resolved: string;
        scriptsDir: string;
        exported: string[];
        account: string;
        elevatedRun: string;
        snapshot: string;
    };
    assert.equal(loaded.resolved, path.join(installedDir, manifest.main));
    const components = ["ReplicatedHost", "ServiceAccount", "HostDirectories", "OwnershipRepair", "VersionGuard", "Images", "CoreServices", "Sidecars", "ElevatedOperation", "ApplicationContainers", "parseConfig"];
    assert.deepEqual(
        components.filter((name) => !loaded.exported.includes(name)),
        [],
        "every component is exported",
    );
    assert.equal(loaded.scriptsDir, path.join(installedDir, "dist", "components", "scripts"));
    // The same scripts (shared helpers included) as the sources send.
    assert.equal(loaded.account, loadScript("account"));
    assert.equal(loaded.elevatedRun, loadScript("elevated-run"));
    assert.equal(loaded.snapshot, operationScript("snapshot"));
});
