/**
 * A stack directory for the fleet and plan-diff command lines: copies of real stacks from
 * stacks/, plus stack files written as given. The caller removes it.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { STACKS_DIR } from "../../tools/offline/stacks";

/** A new temporary directory holding `Pulumi.<stack>.yaml` for each of `copies` and each key of `extra`. */
export function copiedStackDir(copies: readonly string[], extra: Readonly<Record<string, string>> = {}): string {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-plan-test-"));
    for (const stack of copies) {
        fs.copyFileSync(path.join(STACKS_DIR, `Pulumi.${stack}.yaml`), path.join(dir, `Pulumi.${stack}.yaml`));
    }
    for (const [stack, text] of Object.entries(extra)) {
        fs.writeFileSync(path.join(dir, `Pulumi.${stack}.yaml`), text);
    }
    return dir;
}
