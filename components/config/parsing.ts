/**
 * Reading the stack configuration: every key of the `replicated` namespace is read once,
 * decoded, validated with the schema and the cross-field rules of each area, defaulted, and
 * returned as a deeply frozen, typed object.
 *
 * A bad configuration fails before any resource is registered, with ONE error listing every bad
 * key, what is wrong with it and an example fix.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { applicationProblems } from "../apps/application-rules";
import { imageSourceProblems } from "../docker/image-rules";
import { serviceAccountProblems } from "../host/account-rules";
import { bindAddressProblems, hostProblems, sshKeyProblems } from "../host/host-rules";
import { dataPathProblems } from "../ops/data-path-rules";
import { CONFIG_NAMESPACE, defaultBecome } from "./defaults";
import { ConfigError, dedupe, describeIssue, exampleFix, withoutSecrets } from "./messages";
import { CONFIG_KEYS, CONFIG_SCHEMA, KEY_KINDS, type HostConfig, type ReplicatedConfig, type SshKeyConfig } from "./schema";

/** Raw config: `replicated:<key>` → string, as the engine (or the mocks) provide it. */
export type RawConfig = Readonly<Record<string, string>>;

/** Options for tests and tools that validate a config outside a Pulumi run. */
export interface LoadOptions {
    /** Keys (`replicated:<key>`) stored as secrets. */
    readonly secretKeys?: readonly string[];
    /** Directory relative sshPrivateKeyPath values are resolved against. Default: the project root. */
    readonly projectDir?: string;
}

/**
 * Read every `replicated:*` key of the current stack, validate, and return the frozen result.
 * Throws {@link ConfigError} listing every problem.
 */
export function loadConfig(): ReplicatedConfig {
    const raw: Record<string, string> = {};
    const all = pulumi.runtime.allConfig();
    for (const [key, value] of Object.entries(all)) {
        if (key.startsWith(`${CONFIG_NAMESPACE}:`)) {
            raw[key] = value;
        }
    }
    // The SDK's secret-key lookup is internal; when it is there, refuse a plain-text key. This is
    // the only check: sshPrivateKey is not declared in Pulumi.yaml (a declared key without a
    // default would be demanded of every stack), so the CLI's `secret: true` rule never applies.
    // The same lookup tells which values never to show in an error.
    const isConfigSecret = (pulumi.runtime as unknown as { isConfigSecret?: (key: string) => boolean }).isConfigSecret;
    const secretKeys = isConfigSecret ? Object.keys(raw).filter((key) => isConfigSecret(key)) : undefined;
    return parseConfig(raw, pulumi.getStack(), pulumi.getProject(), { secretKeys });
}

/** Pure core of {@link loadConfig}: validate a raw key/value map for `stack`. */
export function parseConfig(raw: RawConfig, stack: string, project: string, options: LoadOptions = {}): ReplicatedConfig {
    const problems: string[] = [];
    const input: Record<string, unknown> = {};

    for (const [fullKey, value] of Object.entries(raw)) {
        if (!fullKey.startsWith(`${CONFIG_NAMESPACE}:`)) {
            continue;
        }
        const key = fullKey.slice(CONFIG_NAMESPACE.length + 1);
        const kind = (KEY_KINDS as Record<string, string | undefined>)[key];
        if (kind === undefined) {
            problems.push(`${fullKey}: unknown key. Known keys: ${CONFIG_KEYS.join(", ")}. Fix: pulumi config rm ${fullKey}`);
            continue;
        }
        const decoded = decodeValue(value, kind);
        if (decoded.ok) {
            input[key] = decoded.value;
        } else {
            problems.push(`${fullKey}: ${decoded.error}. Fix: ${exampleFix([key])}`);
        }
    }

    const secretKeys = new Set(
        (options.secretKeys ?? []).filter((key) => key.startsWith(`${CONFIG_NAMESPACE}:`)).map((key) => key.slice(CONFIG_NAMESPACE.length + 1)),
    );
    const result = CONFIG_SCHEMA.safeParse(input);
    if (!result.success) {
        for (const issue of result.error.issues) {
            problems.push(describeIssue(issue, input, secretKeys));
        }
    }
    problems.push(...crossFieldProblems(input, stack, options));

    if (problems.length > 0 || !result.success) {
        const rawSecrets = [...secretKeys, "sshPrivateKey"].map((key) => raw[`${CONFIG_NAMESPACE}:${key}`]).filter((value): value is string => value !== undefined);
        throw new ConfigError(stack, dedupe(problems).map((problem) => withoutSecrets(problem, input, secretKeys, rawSecrets)));
    }

    const parsed = result.data;
    const hosts: HostConfig[] = parsed.hosts.map((host) => ({
        ...host,
        become: host.become ?? defaultBecome(host.user),
    }));
    const primary = hosts.find((host) => host.role === "primary");
    if (primary === undefined) {
        throw new ConfigError(stack, ["replicated:hosts: exactly one host must have role primary"]);
    }
    const ssh = resolveSshKey(parsed.sshPrivateKey, parsed.sshPrivateKeyPath, options.projectDir ?? projectRoot());
    if (!ssh.ok) {
        throw new ConfigError(stack, [ssh.error]);
    }

    const { sshPrivateKey: _key, sshPrivateKeyPath: _keyPath, uiBindAddress, ...rest } = parsed;
    const config: ReplicatedConfig = {
        ...rest,
        stack,
        project,
        hosts,
        primary,
        ssh: ssh.value,
        uiBindAddress: uiBindAddress ?? primary.privateAddress,
    };
    return deepFreeze(config);
}

function decodeValue(
    value: string,
    kind: string,
): { ok: true; value: unknown } | { ok: false; error: string } {
    switch (kind) {
        case "integer":
            return /^-?[0-9]+$/.test(value.trim())
                ? { ok: true, value: Number(value.trim()) }
                : { ok: false, error: `must be an integer, got ${JSON.stringify(value)}` };
        case "boolean":
            return value === "true" || value === "false"
                ? { ok: true, value: value === "true" }
                : { ok: false, error: `must be true or false, got ${JSON.stringify(value)}` };
        case "json":
            try {
                return { ok: true, value: JSON.parse(value) as unknown };
            } catch {
                return { ok: false, error: "must be a YAML object or list (set it with --path, or as a block in the stack file)" };
            }
        default:
            return { ok: true, value };
    }
}

/** Cross-field rules, checked on the raw input so they are reported together with field errors. */

/** Cross-field rules of every area, checked on the raw input so they are reported together with field errors. */
function crossFieldProblems(input: Record<string, unknown>, stack: string, options: LoadOptions): string[] {
    return [
        ...hostProblems(input, stack),
        ...sshKeyProblems(input, options.secretKeys),
        ...serviceAccountProblems(input),
        ...bindAddressProblems(input),
        ...dataPathProblems(input),
        ...imageSourceProblems(input),
        ...applicationProblems(input),
    ];
}

function resolveSshKey(
    key: string | undefined,
    keyPath: string | undefined,
    projectDir: string,
): { ok: true; value: SshKeyConfig } | { ok: false; error: string } {
    if (key !== undefined) {
        return { ok: true, value: { privateKey: pulumi.secret(key) } };
    }
    const resolved = resolveLocalPath(keyPath ?? "", projectDir);
    let contents: string;
    try {
        contents = fs.readFileSync(resolved, "utf8");
    } catch (err) {
        return {
            ok: false,
            error:
                `replicated:sshPrivateKeyPath: cannot read ${resolved} (${(err as NodeJS.ErrnoException).code ?? String(err)}). ` +
                "Fix: point it at an existing private key file (for the dev stack: npm run sandbox -- start creates .sandbox/id_ed25519)",
        };
    }
    return { ok: true, value: { privateKey: pulumi.secret(contents), path: resolved } };
}

function resolveLocalPath(p: string, projectDir: string): string {
    if (p.startsWith("~/")) {
        return path.join(os.homedir(), p.slice(2));
    }
    return path.isAbsolute(p) ? p : path.join(projectDir, p);
}

/** The directory holding Pulumi.yaml (two levels above components/config/). */
export function projectRoot(): string {
    return path.resolve(__dirname, "..", "..");
}

// ---------------------------------------------------------------------------------------------
// Messages

function deepFreeze<T>(value: T): T {
    if (value !== null && typeof value === "object" && !Object.isFrozen(value) && !pulumi.Output.isInstance(value)) {
        for (const child of Object.values(value as Record<string, unknown>)) {
            deepFreeze(child);
        }
        Object.freeze(value);
    }
    return value;
}
