/**
 * Driver of the cli tier: the dev stack through the real Pulumi CLI, with the Automation API
 * (@pulumi/pulumi/automation 3.248.0), a local file backend in a temp directory and the dev
 * passphrase. It works on a copy of the project (the CLI writes the stack file: encryption salt,
 * the version bump), so the checkout is never changed.
 *
 * The run is a list of {@link TierStep}s over one {@link TierContext}; {@link devStackSteps}
 * is the lifecycle every machine with the CLI runs (preview, up, preview --expect-no-changes,
 * version bump, up, preview --expect-no-changes, destroy). To add a scenario (for example a
 * fleet rollout), append steps: each gets the stack, the workspace and the host, and returns a
 * one-line summary.
 *
 * What the machine must have is checked first, in this order, and a missing piece skips the tier
 * with its reason: `pulumi` on PATH, a CLI version whose config rules Pulumi.yaml is written for,
 * the three provider plugins, then whatever the host needs (root and Docker for the sandbox).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LocalWorkspace, PulumiCommand, Stack, type OpMap } from "@pulumi/pulumi/automation";
import { parse } from "yaml";
import { copyProject } from "../support/project-copy";
import { STACKS_DIR } from "../support/stacks";

/** First CLI release whose config rules (mergeConfig, ValidateConfigValue) Pulumi.yaml is written for; read at 3.248.0, unchanged through 3.259.0. */
export const MIN_CLI_VERSION = "3.213.0";
/** The provider plugins the program needs, at the versions package.json pins. */
export const REQUIRED_PLUGINS = [
    { kind: "resource", name: "command", version: "1.2.1" },
    { kind: "resource", name: "docker", version: "5.2.0" },
    { kind: "resource", name: "random", version: "4.21.2" },
] as const;
export const STACK = "dev";
/** The dev stack's documented passphrase (README "Quick start"). */
export const DEV_PASSPHRASE = "replicated-dev";

/** The machine side of the run: the sandbox host for the real CLI, nothing for the wiring run. */
export interface TierHost {
    /** Absolute path of the key file the dev stack's sshPrivateKeyPath names; copied into the workspace. */
    readonly privateKeyPath?: string;
    /** Make the images of `version` loadable before the up that needs them. */
    prepareVersion(version: string): Promise<void>;
    /** Check the host after an apply of `applied`, or after destroy. */
    verify(state: { readonly applied: string } | "destroyed"): Promise<void>;
    dispose(): Promise<void>;
}

/** A host, or why this machine cannot provide one. */
export type HostFactory = () => Promise<TierHost | { readonly skip: string }>;

export interface TierContext {
    readonly stack: Stack;
    readonly workspace: LocalWorkspace;
    readonly host: TierHost;
    readonly versions: { readonly initial: string; readonly bumped: string };
    /** Streams CLI output. */
    readonly onOutput: (text: string) => void;
}

export interface TierStep {
    readonly name: string;
    /** Runs the step; throws when it fails; returns a one-line summary. */
    run(context: TierContext): Promise<string>;
}

export interface StepResult {
    readonly name: string;
    readonly seconds: number;
    readonly summary: string;
}

export type TierOutcome =
    | { readonly status: "skipped"; readonly reason: string }
    | { readonly status: "passed"; readonly cliVersion: string; readonly steps: readonly StepResult[] };

export interface TierOptions {
    readonly host: HostFactory;
    /** Default {@link devStackSteps}. */
    readonly steps?: readonly TierStep[];
    /** Where CLI output goes; default stdout with a prefix. */
    readonly log?: (line: string) => void;
}

/** The first executable `name` on PATH, or undefined (what `command -v` finds). */
export function findOnPath(name: string, searchPath: string = process.env.PATH ?? ""): string | undefined {
    for (const dir of searchPath.split(path.delimiter).filter(Boolean)) {
        const candidate = path.join(dir, name);
        try {
            fs.accessSync(candidate, fs.constants.X_OK);
            if (fs.statSync(candidate).isFile()) {
                return candidate;
            }
        } catch {
            // not here
        }
    }
    return undefined;
}

function versionAtLeast(version: string, minimum: string): boolean {
    const parts = (v: string) => v.replace(/^v/, "").split(/[.+-]/).slice(0, 3).map(Number);
    const [a, b] = [parts(version), parts(minimum)];
    for (let i = 0; i < 3; i++) {
        if (a[i] !== b[i]) {
            return a[i] > b[i];
        }
    }
    return true;
}

/** `2.53.2` → `2.53.3`. */
export function nextPatch(version: string): string {
    const [major, minor, patch] = version.split(".").map(Number);
    return `${major}.${minor}.${patch + 1}`;
}

function devStackFile(): { version: string; keyPath: string } {
    const doc = parse(fs.readFileSync(path.join(STACKS_DIR, `Pulumi.${STACK}.yaml`), "utf8")) as { config: Record<string, unknown> };
    return { version: String(doc.config["replicated:version"]), keyPath: String(doc.config["replicated:sshPrivateKeyPath"]) };
}

function changes(summary: OpMap | undefined): string {
    return Object.entries(summary ?? {})
        .map(([op, count]) => `${op} ${String(count)}`)
        .join(", ");
}

function count(summary: OpMap | undefined, ...ops: string[]): number {
    const record = (summary ?? {}) as Record<string, number | undefined>;
    return ops.reduce((total, op) => total + (record[op] ?? 0), 0);
}

function expectNoChanges(name: string): TierStep {
    return {
        name,
        async run({ stack, onOutput }) {
            // The CLI itself fails the command when the plan has any change.
            const result = await stack.preview({ expectNoChanges: true, diff: true, onOutput });
            const changed = count(result.changeSummary, "create", "update", "delete", "replace", "create-replacement", "delete-replaced");
            if (changed > 0) {
                throw new Error(`${name}: the CLI passed but reported changes: ${changes(result.changeSummary)}`);
            }
            return changes(result.changeSummary);
        },
    };
}

function up(name: string, version: (context: TierContext) => string, expectChanged: "create" | "update"): TierStep {
    return {
        name,
        async run(context) {
            const result = await context.stack.up({ onOutput: context.onOutput });
            if (result.summary.result !== "succeeded") {
                throw new Error(`${name}: result ${result.summary.result}`);
            }
            const ops = result.summary.resourceChanges;
            const changed = expectChanged === "create" ? count(ops, "create") : count(ops, "update", "replace");
            if (changed === 0) {
                throw new Error(`${name}: expected ${expectChanged === "create" ? "creates" : "updates or replacements"}, got ${changes(ops)}`);
            }
            const deployed = result.outputs.version?.value as unknown;
            if (deployed !== version(context)) {
                throw new Error(`${name}: the stack output version is ${JSON.stringify(deployed)}, expected ${version(context)}`);
            }
            await context.host.verify({ applied: version(context) });
            return changes(ops);
        },
    };
}

/** The lifecycle of the dev stack against its host. */
export function devStackSteps(): TierStep[] {
    return [
        {
            name: "preview",
            async run({ stack, onOutput }) {
                const result = await stack.preview({ onOutput });
                if (count(result.changeSummary, "create") === 0) {
                    throw new Error(`preview of a new stack plans no creates: ${changes(result.changeSummary)}`);
                }
                return changes(result.changeSummary);
            },
        },
        {
            name: "images of the initial version",
            async run({ host, versions }) {
                await host.prepareVersion(versions.initial);
                return versions.initial;
            },
        },
        up("up", (c) => c.versions.initial, "create"),
        expectNoChanges("preview --expect-no-changes"),
        {
            name: "version bump",
            async run({ stack, host, versions }) {
                await host.prepareVersion(versions.bumped);
                await stack.setConfig("replicated:version", { value: versions.bumped });
                return `${versions.initial} -> ${versions.bumped}`;
            },
        },
        up("up after the version bump", (c) => c.versions.bumped, "update"),
        expectNoChanges("preview --expect-no-changes after the bump"),
        {
            name: "destroy",
            async run({ stack, host, onOutput }) {
                const result = await stack.destroy({ onOutput });
                if (result.summary.result !== "succeeded" || count(result.summary.resourceChanges, "delete") === 0) {
                    throw new Error(`destroy: result ${result.summary.result}, ${changes(result.summary.resourceChanges)}`);
                }
                await host.verify("destroyed");
                return changes(result.summary.resourceChanges);
            },
        },
    ];
}

/** Run the tier: check the machine, then every step in order. */
export async function runCliTier(options: TierOptions): Promise<TierOutcome> {
    const log = options.log ?? ((line: string) => console.log(`[cli] ${line}`));
    if (findOnPath("pulumi") === undefined) {
        return { status: "skipped", reason: "no `pulumi` executable on PATH (install the Pulumi CLI: https://www.pulumi.com/docs/install/)" };
    }
    const command = await PulumiCommand.get();
    const cliVersion = command.version?.toString() ?? "unknown";
    if (!versionAtLeast(cliVersion, MIN_CLI_VERSION)) {
        return { status: "skipped", reason: `pulumi ${cliVersion} is older than ${MIN_CLI_VERSION}, the first release whose config rules Pulumi.yaml is written for` };
    }

    const root = fs.mkdtempSync(path.join(os.tmpdir(), "replicated-cli-tier-"));
    const workDir = copyProject(path.join(root, "project"), [STACK]);
    const backend = path.join(root, "state");
    fs.mkdirSync(backend);
    let keep = false;
    try {
        const workspace = await LocalWorkspace.create({
            workDir,
            pulumiCommand: command,
            envVars: { PULUMI_BACKEND_URL: `file://${backend}`, PULUMI_CONFIG_PASSPHRASE: DEV_PASSPHRASE, PULUMI_SKIP_UPDATE_CHECK: "true" },
        });
        const installed = await workspace.listPlugins();
        const missing = REQUIRED_PLUGINS.filter((p) => !installed.some((i) => i.kind === p.kind && i.name === p.name && i.version === p.version));
        if (missing.length > 0) {
            return {
                status: "skipped",
                reason: `provider plugins missing: ${missing.map((p) => `pulumi plugin install ${p.kind} ${p.name} ${p.version}`).join("; ")}`,
            };
        }

        const host = await options.host();
        if ("skip" in host) {
            return { status: "skipped", reason: host.skip };
        }
        const steps: StepResult[] = [];
        try {
            const dev = devStackFile();
            if (host.privateKeyPath !== undefined) {
                const target = path.join(workDir, dev.keyPath);
                fs.mkdirSync(path.dirname(target), { recursive: true, mode: 0o700 });
                fs.copyFileSync(host.privateKeyPath, target);
                fs.chmodSync(target, 0o600);
            }
            const stack = await Stack.create(STACK, workspace);
            const context: TierContext = {
                stack,
                workspace,
                host,
                versions: { initial: dev.version, bumped: nextPatch(dev.version) },
                onOutput: (text) => text.split("\n").filter((line) => line.trim() !== "").forEach((line) => log(line)),
            };
            for (const step of options.steps ?? devStackSteps()) {
                log(`--- ${step.name}`);
                const started = performance.now();
                let summary: string;
                try {
                    summary = await step.run(context);
                } catch (err) {
                    keep = true;
                    throw new Error(`cli tier step "${step.name}" failed (state and workspace kept in ${root}): ${(err as Error).message}`);
                }
                steps.push({ name: step.name, seconds: (performance.now() - started) / 1000, summary });
                log(`--- ${step.name}: ${summary}`);
            }
            await workspace.removeStack(STACK);
        } finally {
            await host.dispose();
        }
        return { status: "passed", cliVersion, steps };
    } finally {
        if (!keep) {
            fs.rmSync(root, { recursive: true, force: true });
        }
    }
}
