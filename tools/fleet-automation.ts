/**
 * The rollout's stack runner on Pulumi's Automation API (@pulumi/pulumi/automation 3.248.0), for
 * machines with the Pulumi CLI. It does what an operator would type, with the same environment as
 * `npm run deploy` (scripts/deploy.sh):
 *
 * - `Stack.createOrSelect` (`pulumi stack select --stack <s>`, then `pulumi stack init <s>` when
 *   there is none; sdk/nodejs/automation/stack.ts, localWorkspace.ts selectStack / createStack);
 * - `LocalWorkspace.setConfig` / `removeConfig` per edit (`pulumi config set [--path] <key>
 *   --stack <s> --plaintext --non-interactive -- <value>`, `pulumi config rm <key> --stack <s>
 *   [--path]`): the CLI writes the value into stacks/Pulumi.<stack>.yaml itself;
 * - `Stack.preview({ diff: true })` and `Stack.up()` (`pulumi preview --diff`, `pulumi up --yes
 *   --skip-preview`), their standard output streamed line by line;
 * - `Stack.history(pageSize, page, showSecrets=false)` (`pulumi stack history --json --page-size
 *   <n> --page 1`) for the result and the config of the last update.
 *
 * Nothing here runs without the CLI: `LocalWorkspace.create` runs `pulumi version` first.
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import type { LocalWorkspace, Stack, UpdateSummary } from "@pulumi/pulumi/automation";
import { configEdits, configOfHistory, holdsAssignments } from "./fleet-config";
import type { LastUpdate, RolloutStackRunner, StackState } from "./fleet-rollout";
import { PROJECT_DIR, parseStackConfig, stackFile } from "./offline/stacks";
import type { Assignment } from "./plan-diff-core";

/** What `npm run deploy` prints when the Pulumi CLI is missing (scripts/deploy.sh), with this tool's name. */
export function cliMissingMessage(tool: string): string {
    return (
        `${tool}: the Pulumi CLI is not installed (no \`pulumi\` on PATH).\n` +
        "Install it, then run this command again:\n" +
        "  curl -fsSL https://get.pulumi.com | sh        # or: brew install pulumi/tap/pulumi\n" +
        '  export PATH="$HOME/.pulumi/bin:$PATH"\n' +
        "The plugins this program needs (command, docker, random) are installed by `pulumi up` itself.\n"
    );
}

/** The oldest CLI whose config rules Pulumi.yaml is written for; `npm run deploy` refuses older ones (scripts/deploy.sh). */
export const MIN_CLI_VERSION = "3.213.0";

/** Whether `version` (`v3.248.0`, `3.250.1-alpha`) is at least `minimum`. */
export function versionAtLeast(version: string, minimum: string): boolean {
    const parts = (text: string) => text.replace(/^v/, "").split(/[.+-]/).slice(0, 3).map(Number);
    const [have, need] = [parts(version), parts(minimum)];
    for (let index = 0; index < 3; index++) {
        if (have[index] !== need[index]) {
            return (have[index] ?? 0) > (need[index] ?? 0);
        }
    }
    return true;
}

/** What `npm run deploy` prints for a CLI older than {@link MIN_CLI_VERSION}, with this tool's name. */
export function cliTooOldMessage(tool: string, version: string | undefined): string {
    return (
        `${tool}: the Pulumi CLI ${version ?? "(version unknown)"} is too old: this project needs ${MIN_CLI_VERSION} or later ` +
        "(its Pulumi.yaml config schema follows that release's rules). Upgrade: curl -fsSL https://get.pulumi.com | sh"
    );
}

/** Whether an executable named `name` is on PATH (what `command -v` checks). */
export function onPath(name: string, searchPath: string = process.env.PATH ?? ""): boolean {
    return searchPath
        .split(path.delimiter)
        .filter((dir) => dir !== "")
        .some((dir) => {
            try {
                fs.accessSync(path.join(dir, name), fs.constants.X_OK);
                return fs.statSync(path.join(dir, name)).isFile();
            } catch {
                return false;
            }
        });
}

/** The stack the sandbox host serves, and its documented passphrase (scripts/deploy.sh). */
const DEV_STACK = "dev";
const DEV_PASSPHRASE = "replicated-dev";

/**
 * The environment deploy.sh gives `pulumi`: a local file backend in .pulumi-state unless
 * PULUMI_BACKEND_URL is set, and the dev stack's documented passphrase. Returns the variables to
 * add, or the message deploy.sh stops with when a stack's passphrase is missing.
 */
export function deployEnvironment(stacks: readonly string[], env: NodeJS.ProcessEnv = process.env): { vars: Record<string, string> } | { error: string } {
    const vars: Record<string, string> = {};
    if (!env.PULUMI_BACKEND_URL) {
        vars.PULUMI_BACKEND_URL = `file://${path.join(PROJECT_DIR, ".pulumi-state")}`;
    }
    const hasPassphrase = env.PULUMI_CONFIG_PASSPHRASE !== undefined || Boolean(env.PULUMI_CONFIG_PASSPHRASE_FILE);
    const needing = stacks.filter((stack) => stack !== DEV_STACK);
    if (!hasPassphrase && needing.length > 0) {
        return { error: `set PULUMI_CONFIG_PASSPHRASE (or PULUMI_CONFIG_PASSPHRASE_FILE) for the secrets of stack${needing.length > 1 ? "s" : ""} ${needing.join(", ")}` };
    }
    if (!hasPassphrase) {
        vars.PULUMI_CONFIG_PASSPHRASE = DEV_PASSPHRASE;
    }
    return { vars };
}

/** Split streamed chunks into lines. */
function lineWriter(output: (line: string) => void): { write(chunk: string): void; flush(): void } {
    let pending = "";
    return {
        write(chunk) {
            pending += chunk;
            const lines = pending.split("\n");
            pending = lines.pop() ?? "";
            for (const line of lines) {
                output(line.replace(/\r$/, ""));
            }
        },
        flush() {
            if (pending !== "") {
                output(pending);
                pending = "";
            }
        },
    };
}

async function streamed<T>(output: (line: string) => void, run: (onOutput: (chunk: string) => void) => Promise<T>): Promise<T> {
    const lines = lineWriter(output);
    try {
        return await run((chunk) => lines.write(chunk));
    } finally {
        lines.flush();
    }
}

/** The newest update or destroy in a history (newest first), the operations that change what is deployed. */
export function lastDeployment(history: readonly Pick<UpdateSummary, "kind" | "result" | "config">[]): Pick<UpdateSummary, "kind" | "result" | "config"> | undefined {
    return history.find((entry) => entry.kind === "update" || entry.kind === "destroy");
}

/** A stack's state from its file and its history. */
export function stackStateOf(fileConfig: Record<string, unknown>, history: readonly Pick<UpdateSummary, "kind" | "result" | "config">[] | undefined, assignments: readonly Assignment[]): StackState {
    const holdsChange = holdsAssignments(fileConfig, assignments);
    const last = history === undefined ? undefined : lastDeployment(history);
    if (last === undefined) {
        return { holdsChange, lastUpdate: "none" };
    }
    // A destroy removed what the update deployed: the stack must be updated again.
    const lastUpdate: LastUpdate = last.kind === "destroy" ? "none" : last.result;
    const deployed = configOfHistory(last.config ?? {});
    const lastUpdateHeldChange = Object.keys(deployed).length > 0 ? holdsAssignments(deployed, assignments) : undefined;
    return { holdsChange, lastUpdate, ...(lastUpdateHeldChange !== undefined ? { lastUpdateHeldChange } : {}) };
}

function run(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv, output: (line: string) => void): Promise<void> {
    return new Promise((resolve, reject) => {
        const child = spawn(command, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
        const lines = lineWriter(output);
        child.stdout.on("data", (chunk: Buffer) => lines.write(chunk.toString()));
        child.stderr.on("data", (chunk: Buffer) => lines.write(chunk.toString()));
        child.on("error", reject);
        child.on("close", (code) => {
            lines.flush();
            if (code === 0) {
                resolve();
            } else {
                reject(new Error(`${command} ${args.join(" ")} exited ${code}`));
            }
        });
    });
}

export interface AutomationRunnerOptions {
    readonly assignments: readonly Assignment[];
    /** Variables added to the CLI's environment (see {@link deployEnvironment}). */
    readonly envVars: Record<string, string>;
    /** The project (its Pulumi.yaml); default this repository. */
    readonly projectDir?: string;
    /** The stack directory the project's Pulumi.yaml names (where the CLI writes config); default `<projectDir>/stacks`. */
    readonly stacksDir?: string;
    /** Start the sandbox host before the dev stack's preview, as deploy.sh does (default true). */
    readonly startSandbox?: boolean;
}

/** A runner that rolls the change out with the Pulumi CLI, through the Automation API. */
export async function automationRunner(options: AutomationRunnerOptions): Promise<RolloutStackRunner> {
    // Loaded here: the plan never needs the Automation API.
    const automation = await import("@pulumi/pulumi/automation");
    const projectDir = options.projectDir ?? PROJECT_DIR;
    const stacksDir = options.stacksDir ?? path.join(projectDir, "stacks");
    const workspace: LocalWorkspace = await automation.LocalWorkspace.create({ workDir: projectDir, envVars: options.envVars });
    const version = workspace.pulumiVersion;
    if (!versionAtLeast(version, MIN_CLI_VERSION)) {
        throw new Error(cliTooOldMessage("fleet", version).replace(/^fleet: /, ""));
    }
    const stacks = new Map<string, Stack>();
    const savedFiles = new Map<string, string>();
    const env = { ...process.env, ...options.envVars };
    const fileOf = (stack: string) => stackFile(stack, stacksDir);
    const readConfig = (stack: string) => parseStackConfig(fs.readFileSync(fileOf(stack), "utf8"));

    const selected = async (stack: string): Promise<Stack> => {
        let found = stacks.get(stack);
        if (found === undefined) {
            found = await automation.Stack.createOrSelect(stack, workspace);
            stacks.set(stack, found);
        }
        return found;
    };

    return {
        async inspect(stack) {
            let history: UpdateSummary[] | undefined;
            try {
                const existing = await automation.Stack.select(stack, workspace);
                stacks.set(stack, existing);
                history = await existing.history(10, 1, false);
            } catch (err) {
                if (!(err instanceof automation.StackNotFoundError)) {
                    throw err;
                }
            }
            return stackStateOf(readConfig(stack), history, options.assignments);
        },
        async setConfig(stack, output) {
            const target = await selected(stack);
            // Taken after the stack exists: `stack init` may have written its encryption salt.
            savedFiles.set(stack, fs.readFileSync(fileOf(stack), "utf8"));
            for (const edit of configEdits(readConfig(stack), options.assignments)) {
                if (edit.kind === "set") {
                    output(`pulumi config set${edit.path ? " --path" : ""} ${edit.key} ${JSON.stringify(edit.value)}`);
                    await workspace.setConfig(target.name, edit.key, { value: edit.value, secret: false }, edit.path);
                } else {
                    output(`pulumi config rm${edit.path ? " --path" : ""} ${edit.key}`);
                    await workspace.removeConfig(target.name, edit.key, edit.path);
                }
            }
        },
        async preview(stack, output) {
            if (stack === DEV_STACK && options.startSandbox !== false) {
                // As deploy.sh does: the dev stack's host is the local sandbox.
                await run("npm", ["run", "--silent", "sandbox", "--", "start"], projectDir, env, output);
            }
            const target = await selected(stack);
            await streamed(output, (onOutput) => target.preview({ diff: true, onOutput }));
        },
        async up(stack, output) {
            const target = await selected(stack);
            await streamed(output, (onOutput) => target.up({ onOutput }));
        },
        async restoreConfig(stack) {
            const saved = savedFiles.get(stack);
            if (saved !== undefined) {
                fs.writeFileSync(fileOf(stack), saved);
            }
        },
    };
}
