/**
 * `npm run config-docs [-- --check]`: writes docs/configuration.md's key table and the `config:`
 * section of Pulumi.yaml from the config schema; with `--check` (run by `npm run lint`) writes
 * nothing and fails when either file differs from what the schema gives.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { z } from "zod";
import { CONFIG_SCHEMA } from "../components/config/schema";
import { PROCESS_IO, type CommandIo } from "./command-io";
import { keyRows, renderKeyTable, renderProjectConfig, replaceBetween } from "./config-docs-core";

export const TABLE_BEGIN = "<!-- config-keys: generated from components/config/schema.ts by npm run config-docs -->";
export const TABLE_END = "<!-- /config-keys -->";
/** Pulumi.yaml keeps everything above this line as written. */
export const PROJECT_SCHEMA_START = "# The project's config schema";

/** Both generated files under `root`: their current text and what `shape` (default: the config schema's) gives. */
export function generatedFiles(
    root: string,
    shape: Record<string, z.ZodType> = CONFIG_SCHEMA.shape as unknown as Record<string, z.ZodType>,
): { readonly file: string; readonly current: string; readonly wanted: string }[] {
    const docsFile = path.join(root, "docs", "configuration.md");
    const docs = fs.readFileSync(docsFile, "utf8");
    const projectFile = path.join(root, "Pulumi.yaml");
    const project = fs.readFileSync(projectFile, "utf8");
    const start = project.indexOf(PROJECT_SCHEMA_START);
    if (start < 0) {
        throw new Error(`Pulumi.yaml: the line starting "${PROJECT_SCHEMA_START}" marks where the generated part begins; it is missing`);
    }
    return [
        { file: docsFile, current: docs, wanted: replaceBetween(docs, TABLE_BEGIN, TABLE_END, renderKeyTable(keyRows(shape))) },
        { file: projectFile, current: project, wanted: project.slice(0, start) + renderProjectConfig(shape) },
    ];
}

/**
 * The command line over the project at `root`: writes the stale files, or with `--check` names
 * them and returns 1 (0 when both match the schema).
 */
export function main(argv: readonly string[], root: string, io: CommandIo): number {
    const check = argv.includes("--check");
    const stale = generatedFiles(root).filter((entry) => entry.current !== entry.wanted);
    if (check) {
        for (const entry of stale) {
            io.stderr(`${path.relative(root, entry.file)} differs from components/config/schema.ts. Fix: npm run config-docs, and commit the result\n`);
        }
        return stale.length > 0 ? 1 : 0;
    }
    for (const entry of stale) {
        fs.writeFileSync(entry.file, entry.wanted);
        io.stdout(`wrote ${path.relative(root, entry.file)}\n`);
    }
    return 0;
}

if (require.main === module) {
    process.exitCode = main(process.argv.slice(2), path.resolve(process.env.CONFIG_DOCS_ROOT ?? path.join(__dirname, "..")), PROCESS_IO);
}
