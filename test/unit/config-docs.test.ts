/**
 * docs/configuration.md's key table and Pulumi.yaml's `config:` section are generated from the
 * config schema (tools/config-docs.ts); `npm run lint` runs the check these tests exercise.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { parse } from "yaml";
import type { z } from "zod";
import { CONFIG_KEYS } from "../../components/config";
import { CONFIG_SCHEMA, keyDocs, unwrapped } from "../../components/config/schema";
import { keyRows, renderProjectConfig } from "../../tools/config-docs-core";
import { generatedFiles, main } from "../../tools/config-docs";
import { capturedIo } from "../support/captured-io";

const ROOT = path.join(__dirname, "..", "..");
const SHAPE = CONFIG_SCHEMA.shape as unknown as Record<string, z.ZodType>;

/** The schema with `uiPort` defaulting to `port` instead (documented like the original). */
function shapeWithUiPortDefault(port: number): Record<string, z.ZodType> {
    const changed = (unwrapped(SHAPE.uiPort) as z.ZodNumber).default(port);
    const doc = keyDocs.get(SHAPE.uiPort);
    assert.ok(doc !== undefined);
    keyDocs.add(changed, doc);
    return { ...SHAPE, uiPort: changed };
}

test("the committed table and Pulumi.yaml are what the schema gives", () => {
    for (const entry of generatedFiles(ROOT)) {
        assert.equal(entry.current, entry.wanted, `${path.relative(ROOT, entry.file)} is stale: run npm run config-docs`);
    }
});

test("a changed default makes both files stale", () => {
    const stale = generatedFiles(ROOT, shapeWithUiPortDefault(8443)).filter((entry) => entry.current !== entry.wanted);
    assert.deepEqual(stale.map((entry) => path.basename(entry.file)).sort(), ["Pulumi.yaml", "configuration.md"]);
    const project = parse(renderProjectConfig(shapeWithUiPortDefault(8443))) as { config: Record<string, { default?: unknown }> };
    assert.equal(project.config.uiPort.default, 8443);
    assert.equal(keyRows(shapeWithUiPortDefault(8443)).find((row) => row.key === "uiPort")?.default, "`8443`");
});

test("each default appears as the schema applies it, in the table and in Pulumi.yaml", () => {
    const rows = new Map(keyRows(SHAPE).map((row) => [row.key, row]));
    assert.equal(rows.get("hosts[].port")?.default, "`22`");
    assert.equal(rows.get("serviceUser.name")?.default, "`replicated`");
    assert.equal(rows.get("dataPrefixes[]")?.default, '`["/srv", "/data"]`');
    assert.equal(rows.get("hosts[].hostKey")?.default, "required outside `dev`");
    assert.equal(rows.get("airgap.imagesDir")?.default, "required in `airgap`");
    assert.equal(rows.get("version")?.default, "required");
    const project = parse(renderProjectConfig(SHAPE)) as { config: Record<string, { type: string; default?: unknown }> };
    // Declared: required keys and keys with a default; every one is a key the program reads.
    assert.deepEqual(Object.keys(project.config).filter((key) => !CONFIG_KEYS.includes(key)), []);
    assert.deepEqual(project.config.images.default, { registry: "quay.io/replicated", pins: {} });
    assert.deepEqual(project.config.takeover.default, { fallbackSeconds: 300, rotateDaemonToken: false });
    for (const optional of ["sshPrivateKey", "sshPrivateKeyPath", "uiBindAddress", "airgap", "httpProxy"]) {
        assert.equal(project.config[optional], undefined, `${optional} has no default, so it is not declared`);
    }
});

test("a key without documentation, or with a default written twice, stops the generator", () => {
    assert.throws(() => keyRows({ ...SHAPE, extra: unwrapped(SHAPE.uiPort) }), /config key extra has no documentation/);
    const twice = (unwrapped(SHAPE.uiPort) as z.ZodNumber).default(1);
    keyDocs.add(twice, { description: "x", default: "`2`" });
    assert.throws(() => keyRows({ uiPort: twice }), /uiPort: its default is in the schema/);
});

test("--check fails on a hand edit of the table and names the file and the fix", () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "config-docs-"));
    try {
        fs.mkdirSync(path.join(root, "docs"));
        fs.copyFileSync(path.join(ROOT, "Pulumi.yaml"), path.join(root, "Pulumi.yaml"));
        const docs = fs.readFileSync(path.join(ROOT, "docs", "configuration.md"), "utf8");
        fs.writeFileSync(path.join(root, "docs", "configuration.md"), docs.replace("| `uiPort` | integer | `8800` |", "| `uiPort` | integer | `8080` |"));
        const io = capturedIo();
        assert.equal(main(["--check"], root, io), 1, io.err());
        assert.match(io.err(), /docs\/configuration\.md differs from components\/config\/schema\.ts\. Fix: npm run config-docs/);
        assert.doesNotMatch(io.err(), /Pulumi\.yaml/);
    } finally {
        fs.rmSync(root, { recursive: true, force: true });
    }
});
