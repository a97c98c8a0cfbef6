/**
 * A copy of the project in another directory, as another machine's checkout would be: the
 * program's sources, the project file and the chosen stack files, with node_modules linked to
 * this checkout's (one copy of every package, so one Pulumi runtime).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { PROJECT_DIR } from "./stacks";

/** What the program and the Pulumi CLI read from a checkout, relative to the project root. */
export const PROGRAM_FILES = ["Pulumi.yaml", "index.ts", "package.json", "package-lock.json", "tsconfig.json", "components"] as const;

/** Copy the project to `dest` (created), with `stacks/Pulumi.<stack>.yaml` for each of `stacks`. Returns `dest`. */
export function copyProject(dest: string, stacks: readonly string[] = []): string {
    fs.mkdirSync(path.join(dest, "stacks"), { recursive: true });
    for (const entry of PROGRAM_FILES) {
        fs.cpSync(path.join(PROJECT_DIR, entry), path.join(dest, entry), { recursive: true });
    }
    for (const stack of stacks) {
        fs.copyFileSync(path.join(PROJECT_DIR, "stacks", `Pulumi.${stack}.yaml`), path.join(dest, "stacks", `Pulumi.${stack}.yaml`));
    }
    fs.symlinkSync(path.join(PROJECT_DIR, "node_modules"), path.join(dest, "node_modules"), "dir");
    return dest;
}
