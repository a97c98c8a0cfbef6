/**
 * `npm run policy-config -- <stack> [--output <file>]`: the pack config of the least-privilege
 * policy pack for one customer's stack, as JSON, for
 * `pulumi preview --policy-pack policy --policy-pack-config <file>`.
 *
 * A policy pack cannot read stack config, so the settings that follow a stack's own choices
 * (legacy root mode, allowAllInterfaces, requireNonRootApplications) are derived here from the
 * stack file, after the program's own validation (so `"true"` as the CLI stores it counts as true,
 * and a broken stack file fails here with the program's message, not later in a preview).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { ConfigError, parseConfig } from "../components/config";
import { PROCESS_IO, type CommandIo } from "./command-io";
import { packConfigForStack, type PackConfig } from "../policy/rules";
import { encodeConfig } from "./offline/recorder";
import { UsageError, stackInput } from "./plan-diff";

const PROJECT = "replicated";

/** The pack config for `stack` (a stack in stacks/). Throws UsageError or ConfigError. */
export function policyConfigFor(stack: string): PackConfig {
    const input = stackInput(stack);
    return policyConfigFromConfig(stack, input.config, input.secretKeys);
}

/**
 * The pack config for a stack config (namespace stripped, values as in the stack file; a key
 * file that can be read). Throws ConfigError when the program would refuse the config.
 */
export function policyConfigFromConfig(stack: string, stackConfig: Record<string, unknown>, secretKeys: readonly string[] = []): PackConfig {
    const config = parseConfig(encodeConfig(PROJECT, stackConfig), stack, PROJECT, {
        secretKeys: secretKeys.map((key) => `${PROJECT}:${key}`),
    });
    return packConfigForStack(stack, {
        runAs: config.runAs,
        allowAllInterfaces: config.allowAllInterfaces,
        requireNonRootApplications: config.requireNonRootApplications,
    });
}

/** The JSON text the tool prints (and writes with --output). */
export function renderPolicyConfig(packConfig: PackConfig): string {
    return `${JSON.stringify(packConfig, null, 2)}\n`;
}

const USAGE = `usage: npm run policy-config -- <stack> [--output <file>]

  <stack>          a stack in stacks/ (Pulumi.<stack>.yaml)
  --output <file>  write the pack config to <file> instead of printing it

then: pulumi preview --diff --policy-pack policy --policy-pack-config <file>

examples:
  npm run policy-config -- globex-airgap --output stacks/policy.globex-airgap.json
  npm run -s policy-config -- acme-online > /tmp/policy.acme-online.json`;

/** Parse the arguments: the stack and where to write. */
export function parseArgs(argv: readonly string[]): { stack: string; output?: string } {
    let output: string | undefined;
    const positional: string[] = [];
    for (let index = 0; index < argv.length; index++) {
        const arg = argv[index];
        if (arg === "--output" || arg === "-o") {
            const value = argv[index + 1];
            if (value === undefined || value.startsWith("-")) {
                throw new UsageError(`${arg} needs a file name`);
            }
            output = value;
            index++;
        } else if (arg.startsWith("--output=")) {
            output = arg.slice("--output=".length);
        } else if (arg.startsWith("-")) {
            throw new UsageError(`unknown option ${arg}`);
        } else {
            positional.push(arg);
        }
    }
    if (positional.length !== 1) {
        throw new UsageError(positional.length === 0 ? "name a stack" : `one stack at a time (got ${positional.join(", ")})`);
    }
    return { stack: positional[0], ...(output !== undefined && output !== "" ? { output } : {}) };
}

/** The command line: what it prints through `io`, and its exit status (2: usage, 1: a config the program refuses). */
export function main(argv: readonly string[], io: CommandIo): number {
    if (argv.includes("--help") || argv.includes("-h")) {
        io.stdout(`${USAGE}\n`);
        return 0;
    }
    try {
        const { stack, output } = parseArgs(argv);
        const text = renderPolicyConfig(policyConfigFor(stack));
        if (output === undefined) {
            io.stdout(text);
        } else {
            fs.writeFileSync(output, text);
            io.stderr(`policy-config: wrote ${path.resolve(output)}; use it with: pulumi preview --diff --policy-pack policy --policy-pack-config ${output}\n`);
        }
        return 0;
    } catch (err) {
        if (err instanceof UsageError) {
            io.stderr(`policy-config: ${err.message}\n\n${USAGE}\n`);
            return 2;
        }
        if (err instanceof ConfigError) {
            io.stderr(`policy-config: ${err.message}\n`);
            return 1;
        }
        io.stderr(`policy-config: ${(err as Error).message}\n`);
        return 1;
    }
}

if (require.main === module) {
    process.exitCode = main(process.argv.slice(2), PROCESS_IO);
}
