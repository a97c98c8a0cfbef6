/**
 * The only place that reads stack configuration. Every key of the `replicated` namespace is read
 * once, validated with zod, defaulted, and returned as a deeply frozen, typed object that the
 * components receive as plain arguments.
 *
 * A bad configuration fails before any resource is registered, with ONE error listing every bad
 * key, what is wrong with it and an example fix.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { utils as sshUtils } from "ssh2";
import { z } from "zod";
import {
    MAX_ID,
    NOBODY_ID,
    REQUEST_ID_PATTERN,
    LABEL_PATTERN,
    isCleanAbsolutePath,
    isHostAddress,
    isIPAddress,
    isPathWithin,
    isProtectedHostPath,
    isValidAccountName,
    isWildcardAddress,
} from "./shell";
import { mayRunAsRoot, parseApplicationUser, replicatedHostPorts, replicatedTarballNames, runsOnHost } from "./apps/application-rules";
import { REPLICATED_IMAGES, imageBaseName } from "./docker/image-refs";
import { SERVICE_NAMES } from "./docker/service-catalog";

export const CONFIG_NAMESPACE = "replicated";

/**
 * Where volume roots and snapshot destinations may lie (`replicated:dataPrefixes`, extendable):
 * directories meant for data, so that no operation writes below /var/spool/cron, /var/lib/dpkg,
 * /var/cache, /var/lock or the like.
 */
export const DEFAULT_DATA_PREFIXES: readonly string[] = Object.freeze(["/srv", "/data"]);

/**
 * Accounts that exist on common distributions for a daemon or the system itself. Adding one to the
 * docker group would make every process of that daemon root-equivalent, so none of them (and no
 * `systemd-*` account) may be the service account, whatever the host holds.
 */
export const SYSTEM_ACCOUNT_NAMES: readonly string[] = Object.freeze([
    "root", "daemon", "bin", "sys", "sync", "games", "man", "lp", "mail", "news", "uucp", "proxy", "www-data",
    "backup", "list", "irc", "gnats", "nobody", "nogroup", "_apt", "sshd", "messagebus", "polkitd", "postfix",
    "ntp", "ntpsec", "chrony", "_chrony", "dnsmasq", "docker", "dockremap", "containerd", "adm", "operator",
    "halt", "shutdown", "ftp", "nfsnobody", "rpc", "rpcuser", "statd", "_rpc", "avahi", "avahi-autoipd",
    "colord", "dbus", "rtkit", "tss", "uuidd", "tcpdump", "usbmux", "pulse", "saned", "lightdm", "gdm",
    "geoclue", "syslog", "sssd", "unbound", "named", "bind", "nginx", "apache", "httpd", "mysql", "postgres",
    "redis", "memcache", "mongodb", "rabbitmq", "dovecot", "dovenull", "exim", "Debian-exim", "tor",
    "cockpit-ws", "cockpit-wsinstance", "setroubleshoot", "libstoragemgmt", "pipewire", "flatpak", "clevis",
    "landscape", "pollinate", "fwupd-refresh", "_laurel", "input", "kvm", "render", "sgx", "tape", "video",
]);

/** True for root, a name of {@link SYSTEM_ACCOUNT_NAMES} or any `systemd-*` account. */
export function isSystemAccountName(name: string): boolean {
    return SYSTEM_ACCOUNT_NAMES.includes(name) || name.startsWith("systemd-");
}

/** Trees the service account or its containers can write: nothing a root step trusts may lie there. */
const SERVICE_TREES: readonly string[] = Object.freeze([
    "/var/lib/replicated",
    "/var/run/replicated",
    "/run/replicated",
    "/var/lib/replicated-operator",
    "/var/run/replicated-operator",
    "/run/replicated-operator",
]);

/** Host key types a pinned key may have (what pulumi-command then negotiates: see {@link hostKeyProblem}). */
const HOST_KEY_TYPES = ["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521"];

/**
 * Why a pinned host key is unusable, or undefined. pulumi-command restricts the negotiated host
 * key algorithms to the pinned key's type; for an RSA key that is the SHA-1 `ssh-rsa` signature,
 * which OpenSSH 8.8 and later refuse, so every remote command would fail: RSA keys are refused here.
 * The base64 blob must be a well-formed key of the declared type (parsed with ssh2).
 */
export function hostKeyProblem(value: string): string | undefined {
    const match = /^([a-z0-9-]+) ([A-Za-z0-9+/]+={0,3})$/.exec(value);
    if (match === null) {
        return 'must be one public host key line "<type> <base64>" without a comment';
    }
    const [, type, blob] = match;
    if (type === "ssh-rsa") {
        return (
            "is an ssh-rsa key: the command provider would then negotiate only the SHA-1 ssh-rsa algorithm, which OpenSSH 8.8 and later refuse. " +
            "Pin the host's ed25519 or ecdsa key instead (ssh-keyscan -t ed25519 <address>)"
        );
    }
    if (!HOST_KEY_TYPES.includes(type)) {
        return `has key type ${type}; use an ed25519 or ecdsa host key (ssh-keyscan -t ed25519 <address>)`;
    }
    const parsed = sshUtils.parseKey(`${type} ${blob}`);
    const key = Array.isArray(parsed) ? parsed[0] : parsed;
    if (key instanceof Error || key === undefined || key.type !== type) {
        return `is not a valid ${type} public key (the base64 part does not decode to one). Copy it again from ssh-keyscan -t ed25519 <address>`;
    }
    return undefined;
}

/** True when `text` is absent or a decimal port 1..65535. */
function portInRange(text: string | undefined): boolean {
    return text === undefined || (/^[0-9]{1,5}$/.test(text) && Number(text) >= 1 && Number(text) <= 65535);
}
/** The one stack allowed to connect without a pinned host key (the local sandbox). */
export const DEV_STACK = "dev";

// ---------------------------------------------------------------------------------------------
// Field schemas (reused by nested objects, so every rule is written once)

const accountName = z
    .string({ error: "must be a string" })
    .refine(isValidAccountName, { error: "must match ^[a-z_][a-z0-9_-]{0,30}$ and not be all digits" });

const uid = z
    .number({ error: "must be a number" })
    .int({ error: "must be an integer" })
    .min(1, { error: "must be at least 1 (0 is root)" })
    .max(MAX_ID, { error: `must be at most ${MAX_ID}` });

/** Owner ids of volumes and snapshots: any id, root included (that is why they need root). */
const anyId = z
    .number({ error: "must be a number" })
    .int({ error: "must be an integer" })
    .min(0, { error: "must be at least 0" })
    .max(MAX_ID, { error: `must be at most ${MAX_ID}` });

const absolutePath = z
    .string({ error: "must be a string" })
    .refine(isCleanAbsolutePath, {
        error: "must be an absolute path of [A-Za-z0-9._/-] with no '.', '..' or empty component",
    });

const port = z
    .number({ error: "must be a number" })
    .int({ error: "must be an integer" })
    .min(1, { error: "must be between 1 and 65535" })
    .max(65535, { error: "must be between 1 and 65535" });

const label = z.string({ error: "must be a string" }).regex(LABEL_PATTERN, {
    error: "must be a lowercase DNS label: ^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$",
});

const ipAddress = z.string({ error: "must be a string" }).refine(isIPAddress, { error: "must be an IPv4 or IPv6 address" });

const hostAddress = z
    .string({ error: "must be a string" })
    .refine(isHostAddress, { error: "must be a DNS host name or an IP address" });

const requestId = z
    .string({ error: "must be a string" })
    .regex(REQUEST_ID_PATTERN, { error: "must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$" });

const fileMode = z
    .string({ error: 'must be an octal mode string such as "0750"' })
    .regex(/^0?[0-7]{3}$/, { error: 'must be an octal mode such as "0750" (no setuid/setgid/sticky bits)' });

const hostKey = z
    .string({ error: "must be a string" })
    .superRefine((value, ctx) => {
        const problem = hostKeyProblem(value);
        if (problem !== undefined) {
            ctx.addIssue({ code: "custom", message: problem });
        }
    });

/** Image references: registry host[:port], path components, optional tag. No digests of config. */
const registry = z
    .string({ error: "must be a string" })
    .regex(/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?(\/[a-z0-9]([a-z0-9._-]*[a-z0-9])?)*$/, {
        error: "must be a registry host with optional port and path, e.g. registry.example.com:5000/replicated",
    })
    .refine((value) => portInRange(/^[^/]*?:([0-9]+)(\/|$)/.exec(value)?.[1]), { error: "has a port outside 1..65535" });
/** A digest-pinned reference (`repo@sha256:<hex>` or `repo:tag@sha256:<hex>`): pulled by digest, so it cannot change. */
const DIGEST_REFERENCE = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?(\/[a-z0-9]([a-z0-9._-]*[a-z0-9])?)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?@sha256:[0-9a-f]{64}$/;
/** An image id as `docker image inspect --format '{{.Id}}'` prints it. */
const IMAGE_ID = /^sha256:[0-9a-f]{64}$/;
const imageReference = z
    .string({ error: "must be a string" })
    .regex(/^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?(\/[a-z0-9]([a-z0-9._-]*[a-z0-9])?)*:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/, {
        error: "must be an image reference with an explicit tag, e.g. registry.example.com/app:1.2.3",
    });

const envName = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

const hostSchema = z.strictObject({
    name: label,
    address: hostAddress,
    port: port.default(22),
    user: accountName.default("root"),
    become: z.enum(["sudo", "none"], { error: 'must be "sudo" or "none"' }).optional(),
    role: z.enum(["primary", "operator"], { error: 'must be "primary" or "operator"' }),
    privateAddress: ipAddress,
    publicAddress: hostAddress.optional(),
    hostKey: hostKey.optional(),
});

const serviceUserSchema = z.strictObject({
    name: accountName.default("replicated"),
    uid: uid.optional(),
    allowNobodyUid: z.boolean({ error: "must be true or false" }).default(false),
    adoptExisting: accountName.optional(),
});

const operationsSchema = z.strictObject({
    timeoutSeconds: z
        .number({ error: "must be a number" })
        .int({ error: "must be an integer" })
        .min(5, { error: "must be between 5 and 3600" })
        .max(3600, { error: "must be between 5 and 3600" })
        .default(300),
    supportBundle: z.strictObject({ request: requestId }).optional(),
    volumes: z
        .strictObject({
            request: requestId,
            items: z
                .array(
                    z.strictObject({
                        path: absolutePath,
                        owner: anyId,
                        group: anyId,
                        mode: fileMode,
                    }),
                )
                .min(1, { error: "must list at least one volume" }),
        })
        .optional(),
    snapshot: z
        .strictObject({
            request: requestId,
            destination: absolutePath,
            owner: anyId.optional(),
            group: anyId.optional(),
        })
        .optional(),
});

/** `image`, `service` or `<uid>:<gid>` (decimal ids without leading zeros; range checked with the other rules). */
const applicationUser = z
    .string({ error: "must be a string" })
    .regex(/^(image|service|(0|[1-9][0-9]{0,9}):(0|[1-9][0-9]{0,9}))$/, {
        error: 'must be "image" (the image\'s own user), "service" (the service account and the docker group) or "<uid>:<gid>" such as "1234:1234"',
    });

/** One line without NUL: environment values, command arguments and healthcheck commands. */
const oneLine = z.string({ error: "must be a string" }).refine((v) => !/[\0\n\r]/.test(v), { error: "must not contain a newline, carriage return or NUL" });

/**
 * Paths inside an application container a volume may not use: the root, the tmpfs scratch
 * space, and the kernel's pseudo file systems.
 */
function isReservedContainerPath(p: string): boolean {
    return p === "/" || p === "/tmp" || ["/proc", "/sys", "/dev"].some((tree) => isPathWithin(p, tree));
}

const applicationSchema = z.strictObject({
    name: label,
    image: imageReference,
    user: applicationUser.default("image"),
    allowRoot: z.boolean({ error: "must be true or false" }).default(false),
    hosts: z
        .array(label)
        .min(1, { error: "must list at least one host (leave it out to run the application on the primary)" })
        .optional(),
    volumes: z
        .array(
            z.strictObject({
                hostPath: absolutePath,
                containerPath: absolutePath.refine((p) => !isReservedContainerPath(p), {
                    error: "must not be /, /tmp (scratch tmpfs) or below /proc, /sys or /dev",
                }),
                owner: anyId.optional(),
                group: anyId.optional(),
                mode: fileMode.default("0750"),
                readOnly: z.boolean({ error: "must be true or false" }).default(false),
            }),
        )
        .default([]),
    ports: z
        .array(
            z.strictObject({
                internal: port,
                external: port,
                protocol: z.enum(["tcp", "udp"], { error: 'must be "tcp" or "udp"' }).default("tcp"),
            }),
        )
        .default([]),
    env: z
        .record(z.string(), oneLine)
        .superRefine((env, ctx) => {
            // Checked here rather than as the record's key schema, so the message names the variable.
            for (const name of Object.keys(env).filter((key) => !envName.test(key))) {
                ctx.addIssue({ code: "custom", path: [name], message: "environment variable names must match ^[A-Za-z_][A-Za-z0-9_]{0,63}$" });
            }
        })
        .default({}),
    memory: z
        .number({ error: "must be a number of MiB" })
        .int({ error: "must be an integer number of MiB" })
        .min(16, { error: "must be at least 16 MiB" })
        .max(1048576, { error: "must be at most 1048576 MiB" })
        .default(256),
    // The docker provider refuses an empty argument at create ("values for command may not be empty").
    command: z
        .array(oneLine.refine((v) => v !== "", { error: "must not be an empty string (the docker provider refuses empty command arguments)" }))
        .min(1, { error: "must have at least one element (leave it out for the image's own command)" })
        .optional(),
    healthcheck: oneLine.refine((v) => v.trim() !== "", { error: "must not be empty" }).optional(),
});

/** Taking a host over from Replicated's own install script (docs/takeover.md). */
const takeoverSchema = z
    .strictObject({
        fallbackSeconds: z
            .number({ error: "must be a number of seconds" })
            .int({ error: "must be an integer number of seconds" })
            .min(30, { error: "must be at least 30 seconds" })
            .max(3600, { error: "must be at most 3600 seconds" })
            .default(300),
        rotateDaemonToken: z.boolean({ error: "must be true or false" }).default(false),
    })
    .default({ fallbackSeconds: 300, rotateDaemonToken: false });

const configSchema = z.strictObject({
    version: z.string({ error: "is required" }).regex(/^2\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})$/, {
        error: 'must be a Replicated 2.x version "2.<minor>.<patch>" (numbers without leading zeros)',
    }),
    channel: z
        .string({ error: "must be a string" })
        .regex(/^[a-z0-9][a-z0-9-]{0,30}$/, { error: "must match ^[a-z0-9][a-z0-9-]{0,30}$" })
        .default("stable"),
    runAs: z.enum(["replicated", "root"], { error: 'must be "replicated" or "root"' }).default("replicated"),
    allowDowngrade: z.boolean({ error: "must be true or false" }).default(false),
    serviceUser: serviceUserSchema.default({ name: "replicated", allowNobodyUid: false }),
    hosts: z.array(hostSchema, { error: "is required: a list of hosts" }).min(1, { error: "must list at least one host" }),
    sshPrivateKey: z.string({ error: "must be a string" }).min(1, { error: "must not be empty" }).optional(),
    sshPrivateKeyPath: z
        .string({ error: "must be a string" })
        .refine(isCleanLocalPath, { error: "must be an absolute path, ~/path, or a path relative to the project without '..'" })
        .optional(),
    uiPort: port.default(8800),
    uiBindAddress: ipAddress.optional(),
    allowAllInterfaces: z.boolean({ error: "must be true or false" }).default(false),
    airgap: z.strictObject({ imagesDir: absolutePath }).optional(),
    images: z
        .strictObject({
            registry: registry.default("quay.io/replicated"),
            helper: z.union([imageReference, z.string().regex(DIGEST_REFERENCE)], {
                error: "must be an image reference with an explicit tag or a sha256 digest, e.g. registry.example.com/replicated/replicated-helper:stable-2.53.2",
            }).optional(),
            pins: z
                .record(z.string(), z.string({ error: "must be a string" }).regex(IMAGE_ID, { error: 'must be an image id "sha256:<64 hex digits>" (docker image inspect --format \'{{.Id}}\' <image>)' }))
                .default({}),
        })
        .default({ registry: "quay.io/replicated", pins: {} }),
    httpProxy: z
        .string({ error: "must be a string" })
        .refine((value) => !/^[a-z]+:\/\/[^/]*@/i.test(value), {
            error: "must not contain credentials (user:password@): they would be stored in plain text in the stack file and in the containers' environment",
        })
        .regex(/^https?:\/\/[A-Za-z0-9.-]+(:[0-9]{1,5})?\/?$/, { error: "must be http(s)://host[:port]" })
        .refine((value) => portInRange(/:([0-9]+)\/?$/.exec(value.replace(/^https?:\/\//, ""))?.[1]), { error: "has a port outside 1..65535" })
        .optional(),
    logLevel: z.enum(["debug", "info", "warn", "error"], { error: "must be debug, info, warn or error" }).default("info"),
    sidecars: z
        .strictObject({
            statsd: z.boolean({ error: "must be true or false" }).default(true),
            premkit: z.boolean({ error: "must be true or false" }).default(true),
        })
        .default({ statsd: true, premkit: true }),
    volumeRoots: z.array(absolutePath).default([]),
    dataPrefixes: z.array(absolutePath).min(1, { error: "must list at least one directory" }).default([...DEFAULT_DATA_PREFIXES]),
    operations: operationsSchema.default({ timeoutSeconds: 300 }),
    applications: z.array(applicationSchema).default([]),
    requireNonRootApplications: z.boolean({ error: "must be true or false" }).default(false),
    takeover: takeoverSchema,
});

/** How each top-level key is stored by Pulumi (all config values arrive as strings). */
const KEY_KINDS: Record<keyof z.input<typeof configSchema>, "string" | "integer" | "boolean" | "json"> = {
    version: "string",
    channel: "string",
    runAs: "string",
    allowDowngrade: "boolean",
    serviceUser: "json",
    hosts: "json",
    sshPrivateKey: "string",
    sshPrivateKeyPath: "string",
    uiPort: "integer",
    uiBindAddress: "string",
    allowAllInterfaces: "boolean",
    airgap: "json",
    images: "json",
    httpProxy: "string",
    logLevel: "string",
    sidecars: "json",
    volumeRoots: "json",
    dataPrefixes: "json",
    operations: "json",
    applications: "json",
    requireNonRootApplications: "boolean",
    takeover: "json",
};

/** Every config key this program reads, in the order docs/configuration.md documents them. */
export const CONFIG_KEYS = Object.keys(KEY_KINDS) as readonly string[];

// ---------------------------------------------------------------------------------------------
// Result types

type Parsed = z.output<typeof configSchema>;
type ParsedHost = Parsed["hosts"][number];

/** One host, with every default applied. */
export interface HostConfig extends Omit<ParsedHost, "become"> {
    readonly become: "sudo" | "none";
}

/** Where the SSH private key comes from. `privateKey` is always a Pulumi secret. */
export interface SshKeyConfig {
    /** Key contents, as a secret, for remote.Command connections. */
    readonly privateKey: pulumi.Output<string>;
    /** Key file on the machine running Pulumi, when configured by path (the docker provider needs a file). */
    readonly path?: string;
}

export type ServiceUserConfig = Parsed["serviceUser"];
export type OperationsConfig = Parsed["operations"];
export type ApplicationConfig = Parsed["applications"][number];

/** The validated, defaulted, frozen configuration of one stack. */
export interface ReplicatedConfig
    extends Readonly<Omit<Parsed, "hosts" | "sshPrivateKey" | "sshPrivateKeyPath" | "uiBindAddress">> {
    readonly stack: string;
    readonly project: string;
    readonly hosts: readonly HostConfig[];
    readonly primary: HostConfig;
    readonly ssh: SshKeyConfig;
    /** Address the admin console binds to: uiBindAddress, else the primary's private address. */
    readonly uiBindAddress: string;
}

/**
 * Thrown for an invalid configuration; `problems` has one entry per bad key. A RunError, so
 * `pulumi up` prints the message alone, without a stack trace.
 */
export class ConfigError extends pulumi.RunError {
    constructor(
        readonly stack: string,
        readonly problems: readonly string[],
    ) {
        super(
            `Invalid configuration for stack "${stack}" (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
                problems.map((p) => `  - ${p}`).join("\n"),
        );
        this.name = "ConfigError";
    }
}

// ---------------------------------------------------------------------------------------------
// Reading and validating

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
    const result = configSchema.safeParse(input);
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
        become: host.become ?? (host.user === "root" ? "none" : "sudo"),
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
function crossFieldProblems(input: Record<string, unknown>, stack: string, options: LoadOptions): string[] {
    const problems: string[] = [];
    const hosts = Array.isArray(input.hosts) ? (input.hosts as unknown[]) : [];
    const records = hosts.map((h) => (h !== null && typeof h === "object" ? (h as Record<string, unknown>) : {}));

    if (hosts.length > 0) {
        const primaries = records.filter((h) => h.role === "primary").length;
        if (primaries !== 1) {
            problems.push(
                `replicated:hosts: exactly one host must have role "primary", found ${primaries}. ` +
                    `Fix: pulumi config set --path 'replicated:hosts[0].role' primary (and "operator" on the others)`,
            );
        }
        const seen = new Map<string, number>();
        records.forEach((h, index) => {
            if (typeof h.name !== "string") {
                return;
            }
            const first = seen.get(h.name);
            if (first !== undefined) {
                problems.push(
                    `replicated:hosts[${index}].name: duplicate host name "${h.name}" (also hosts[${first}]). ` +
                        `Fix: pulumi config set --path 'replicated:hosts[${index}].name' ${h.name}-2`,
                );
            } else {
                seen.set(h.name, index);
            }
        });
        records.forEach((h, index) => {
            if (stack !== DEV_STACK && (h.hostKey === undefined || h.hostKey === "")) {
                problems.push(
                    `replicated:hosts[${index}].hostKey: required outside the "${DEV_STACK}" stack, so the host's identity is checked. ` +
                        `Fix: ssh-keyscan -t ed25519 <address> | cut -d' ' -f2-, then pulumi config set --path 'replicated:hosts[${index}].hostKey' 'ssh-ed25519 AAAA...'`,
                );
            }
            const user = h.user ?? "root";
            if (user !== "root" && h.become === "none") {
                problems.push(
                    `replicated:hosts[${index}].become: user "${String(user)}" is not root, so it needs become: sudo to create the account and directories. ` +
                        `Fix: pulumi config set --path 'replicated:hosts[${index}].become' sudo`,
                );
            }
        });
    }

    records.forEach((h, index) => {
        // Checked here, before any resource: a wildcard private address would bind every port on
        // every interface and give operators no address to reach the primary at.
        if (typeof h.privateAddress === "string" && isWildcardAddress(h.privateAddress)) {
            problems.push(
                `replicated:hosts[${index}].privateAddress: ${h.privateAddress} is the unspecified address ("every interface"), not an address of this host. ` +
                    `Fix: pulumi config set --path 'replicated:hosts[${index}].privateAddress' <the host's private IP, e.g. 10.0.0.11>`,
            );
        }
        for (const field of ["address", "publicAddress"] as const) {
            if (typeof h[field] === "string" && isWildcardAddress(h[field] as string)) {
                problems.push(
                    `replicated:hosts[${index}].${field}: ${String(h[field])} is the unspecified address, not an address of a host. ` +
                        `Fix: pulumi config set --path 'replicated:hosts[${index}].${field}' <the host's IP or DNS name>`,
                );
            }
        }
    });

    const hasKey = input.sshPrivateKey !== undefined;
    const hasKeyPath = input.sshPrivateKeyPath !== undefined;
    if (hasKey === hasKeyPath) {
        problems.push(
            `replicated:sshPrivateKey / replicated:sshPrivateKeyPath: set exactly one of them (${hasKey ? "both are" : "neither is"} set). ` +
                `Fix: pulumi config set --secret replicated:sshPrivateKey < ~/.ssh/id_ed25519, or pulumi config set replicated:sshPrivateKeyPath ~/.ssh/id_ed25519`,
        );
    }
    if (hasKey && options.secretKeys !== undefined && !options.secretKeys.includes(`${CONFIG_NAMESPACE}:sshPrivateKey`)) {
        problems.push(
            "replicated:sshPrivateKey: is stored in plain text. Fix: pulumi config set --secret replicated:sshPrivateKey < ~/.ssh/id_ed25519",
        );
    }

    const serviceUser = input.serviceUser as Record<string, unknown> | undefined;
    const serviceName = typeof serviceUser?.name === "string" ? serviceUser.name : "replicated";
    if (isSystemAccountName(serviceName)) {
        problems.push(
            `replicated:serviceUser.name: "${serviceName}" is ${serviceName === "root" ? "root" : "a system or daemon account"}; adding it to the docker group would make every process of it root-equivalent. ` +
                "Fix: pulumi config set --path 'replicated:serviceUser.name' replicated (a dedicated account is created)",
        );
    }
    if (typeof serviceUser?.adoptExisting === "string" && serviceUser.adoptExisting !== serviceName) {
        problems.push(
            `replicated:serviceUser.adoptExisting: "${serviceUser.adoptExisting}" is not the service account's name ("${serviceName}"); only the configured account can be adopted. ` +
                `Fix: pulumi config set --path 'replicated:serviceUser.adoptExisting' ${serviceName}, or remove it`,
        );
    }
    if (serviceUser?.uid === NOBODY_ID && serviceUser.allowNobodyUid !== true) {
        problems.push(
            `replicated:serviceUser.uid: ${NOBODY_ID} is "nobody", shared by unrelated daemons. ` +
                "Fix: choose another uid, or set --path 'replicated:serviceUser.allowNobodyUid' true if this is intended",
        );
    }

    const allowAll = input.allowAllInterfaces === true;
    if (typeof input.uiBindAddress === "string" && isWildcardAddress(input.uiBindAddress) && !allowAll) {
        problems.push(
            `replicated:uiBindAddress: ${input.uiBindAddress} publishes the admin console on every interface. ` +
                "Fix: use the host's private address, or set replicated:allowAllInterfaces true to accept it",
        );
    }

    const dataPrefixes = Array.isArray(input.dataPrefixes)
        ? (input.dataPrefixes as unknown[]).filter((p): p is string => typeof p === "string" && isCleanAbsolutePath(p))
        : [...DEFAULT_DATA_PREFIXES];
    dataPrefixes.forEach((prefix, index) => {
        if (isProtectedHostPath(prefix) || SERVICE_TREES.some((tree) => isPathWithin(prefix, tree) || isPathWithin(tree, prefix))) {
            problems.push(
                `replicated:dataPrefixes[${index}]: ${prefix} is a system or Replicated path (/, /etc, /usr, /var, /var/lib, /tmp, /var/lib/replicated, ...), which no operation may write below. ` +
                    "Fix: list dedicated data directories only, e.g. /srv or /data",
            );
        }
    });
    /** A clean absolute path strictly below one of the data prefixes. */
    const belowDataPrefix = (p: string): boolean => dataPrefixes.some((prefix) => p !== prefix && isPathWithin(p, prefix));
    const prefixList = JSON.stringify(dataPrefixes);

    const volumeRoots = Array.isArray(input.volumeRoots) ? (input.volumeRoots as unknown[]).filter((r) => typeof r === "string") : [];
    volumeRoots.forEach((root, index) => {
        if (!isCleanAbsolutePath(root as string)) {
            return;
        }
        if (isProtectedHostPath(root as string)) {
            problems.push(
                `replicated:volumeRoots[${index}]: ${String(root)} is a system or Replicated path (/, /etc, /usr, /var/lib/docker, /var/lib/replicated, /tmp, ...). ` +
                    "Fix: use a dedicated directory such as /srv/replicated-volumes",
            );
        } else if (!belowDataPrefix(root as string)) {
            problems.push(
                `replicated:volumeRoots[${index}]: ${String(root)} is not below a data directory (replicated:dataPrefixes = ${prefixList}). ` +
                    "Fix: use a directory such as /srv/replicated-volumes, or add its data directory to replicated:dataPrefixes (pulumi config set --path 'replicated:dataPrefixes[2]' /data2)",
            );
        }
    });
    const operations = input.operations as Record<string, unknown> | undefined;
    const snapshot = operations?.snapshot as Record<string, unknown> | undefined;
    if (typeof snapshot?.destination === "string" && isCleanAbsolutePath(snapshot.destination)) {
        if (isProtectedHostPath(snapshot.destination)) {
            problems.push(
                `replicated:operations.snapshot.destination: ${snapshot.destination} is a system or Replicated path. ` +
                    "Fix: pulumi config set --path 'replicated:operations.snapshot.destination' /srv/replicated-snapshots",
            );
        } else if (!belowDataPrefix(snapshot.destination)) {
            problems.push(
                `replicated:operations.snapshot.destination: ${snapshot.destination} is not below a data directory (replicated:dataPrefixes = ${prefixList}). ` +
                    "Fix: pulumi config set --path 'replicated:operations.snapshot.destination' /srv/replicated-snapshots, or add its data directory to replicated:dataPrefixes",
            );
        }
    }

    const airgap = input.airgap as Record<string, unknown> | undefined;
    if (typeof airgap?.imagesDir === "string" && isCleanAbsolutePath(airgap.imagesDir)) {
        const imagesDir = airgap.imagesDir;
        const writableByOthers = [...SERVICE_TREES, ...(volumeRoots as string[]), "/tmp", "/var/tmp", "/dev/shm", "/run/user", "/run/lock", "/var/lock"];
        const inside = writableByOthers.find((tree) => isPathWithin(imagesDir, tree) || isPathWithin(tree, imagesDir));
        if (inside !== undefined || imagesDir === "/") {
            problems.push(
                `replicated:airgap.imagesDir: ${imagesDir} ${inside !== undefined ? `overlaps ${inside}, which the service account, an application or every user can write` : "is the root directory"}; an image planted there would run with the Docker socket. ` +
                    "Fix: pulumi config set --path 'replicated:airgap.imagesDir' /var/lib/replicated-images (a root-owned directory that only root can write)",
            );
        }
    }
    const images = input.images as Record<string, unknown> | undefined;
    if (typeof images?.helper === "string" && images.helper.includes("@sha256:") && input.airgap !== undefined) {
        problems.push(
            `replicated:images.helper: a digest reference cannot be checked after docker load (a loaded image has no registry digest). ` +
                "Fix: in air-gap mode give the helper a tag, and pin its image id: pulumi config set --path 'replicated:images.pins.replicated-helper' sha256:<image id>",
        );
    }
    if (images?.pins !== null && typeof images?.pins === "object") {
        const applicationImages = new Set(
            (Array.isArray(input.applications) ? (input.applications as Array<Record<string, unknown>>) : []).map((app) => app?.image).filter((image): image is string => typeof image === "string"),
        );
        for (const name of Object.keys(images.pins as Record<string, unknown>)) {
            if (!(REPLICATED_IMAGES as readonly string[]).includes(name) && !applicationImages.has(name)) {
                problems.push(
                    `replicated:images.pins.${name}: no image of that name: pins are keyed by ${REPLICATED_IMAGES.join(", ")} or an application's image reference. ` +
                        `Fix: pulumi config rm --path 'replicated:images.pins.${name}', or use one of those names`,
                );
            }
        }
    }
    const volumes = operations?.volumes as Record<string, unknown> | undefined;
    const volumeItems = Array.isArray(volumes?.items) ? (volumes.items as Record<string, unknown>[]) : [];
    volumeItems.forEach((item, index) => {
        if (typeof item?.path === "string" && isCleanAbsolutePath(item.path) && !volumeRoots.some((root) => isPathWithin(item.path as string, root as string) && item.path !== root)) {
            problems.push(
                `replicated:operations.volumes.items[${index}].path: ${item.path} is not below an allowed root (replicated:volumeRoots = ${JSON.stringify(volumeRoots)}). ` +
                    `Fix: pulumi config set --path 'replicated:volumeRoots[0]' /srv/replicated-volumes, and use a path below it`,
            );
        }
    });

    problems.push(...applicationProblems(input, records, volumeRoots as string[], volumeItems));

    return problems;
}

/**
 * Cross-field rules of `applications[]` (raw input, so defaults are applied here by hand):
 * unique, unreserved names; the user mode against allowRoot, runAs and requireNonRootApplications;
 * volumes below a volume root, with an owner where the program cannot infer one, and one spec per
 * directory; known host names; host ports unique per host and clear of Replicated's own; air-gap
 * tarball names that do not collide.
 */
function applicationProblems(
    input: Record<string, unknown>,
    hostRecords: Record<string, unknown>[],
    volumeRoots: string[],
    operationVolumes: Record<string, unknown>[],
): string[] {
    const problems: string[] = [];
    const applications = Array.isArray(input.applications) ? (input.applications as unknown[]) : [];
    const apps = applications.map((a) => (a !== null && typeof a === "object" ? (a as Record<string, unknown>) : {}));
    const at = (index: number, rest = ""): string => `replicated:applications[${index}]${rest}`;
    const runAs = input.runAs === "root" ? "root" : "replicated";
    const requireNonRoot = input.requireNonRootApplications === true;
    const hostNames = new Set(hostRecords.map((h) => h.name).filter((n): n is string => typeof n === "string"));
    const primary = hostRecords.find((h) => h.role === "primary");
    const primaryName = typeof primary?.name === "string" ? primary.name : undefined;
    const reservedNames = new Set(Object.values(SERVICE_NAMES) as string[]);

    const names = new Map<string, number>();
    /** hostPath → the first definition of it (application index, volume index, spec). */
    const volumeSpecs = new Map<string, { where: string; spec: string }>();
    for (const item of operationVolumes) {
        if (typeof item?.path === "string") {
            volumeSpecs.set(item.path, {
                where: "replicated:operations.volumes.items",
                spec: `${String(item.owner)}:${String(item.group)} ${fourDigitMode(item.mode)}`,
            });
        }
    }

    apps.forEach((app, index) => {
        if (typeof app.name === "string") {
            if (reservedNames.has(app.name) || app.name.startsWith("replicated-op-")) {
                problems.push(`${at(index, ".name")}: "${app.name}" is reserved for a Replicated container. Fix: rename the application container, e.g. app-${app.name}`);
            }
            const first = names.get(app.name);
            if (first !== undefined) {
                problems.push(`${at(index, ".name")}: duplicate container name "${app.name}" (also applications[${first}]). Fix: give each application a unique name`);
            } else {
                names.set(app.name, index);
            }
        }

        const userText = typeof app.user === "string" ? app.user : "image";
        const user = parseApplicationUser(userText);
        const allowRoot = app.allowRoot === true;
        if (/^[0-9]+:[0-9]+$/.test(userText) && user === undefined) {
            problems.push(`${at(index, ".user")}: ids must be at most ${MAX_ID}. Fix: use a smaller uid:gid`);
        }
        if (user !== undefined) {
            const root = mayRunAsRoot(user, runAs);
            if (user.kind === "ids" && root && !allowRoot) {
                problems.push(`${at(index, ".user")}: "${userText}" runs the container as root (uid or gid 0). Fix: use a non-zero uid:gid, or set allowRoot: true to record the exception`);
            }
            if (user.kind === "service" && root && !allowRoot) {
                problems.push(
                    `${at(index, ".user")}: "service" runs the container as uid 0 while replicated:runAs is "root". ` +
                        'Fix: use an explicit "<uid>:<gid>", or set allowRoot: true to record the exception until the stack opts in to runAs: replicated',
                );
            }
            if (!root && allowRoot) {
                problems.push(`${at(index, ".allowRoot")}: the container runs as "${userText}", which is not root, so there is no exception to record. Fix: remove allowRoot`);
            }
            if (user.kind === "image" && requireNonRoot && !allowRoot) {
                problems.push(
                    `${at(index, ".user")}: "image" may run the container as root (most images do), and replicated:requireNonRootApplications is true. ` +
                        'Fix: set user to "<uid>:<gid>" or "service", or set allowRoot: true to record the exception',
                );
            }
        }

        const volumes = Array.isArray(app.volumes) ? (app.volumes as unknown[]) : [];
        const targets = new Map<string, number>();
        volumes.forEach((raw, v) => {
            const vol = raw !== null && typeof raw === "object" ? (raw as Record<string, unknown>) : {};
            const key = at(index, `.volumes[${v}]`);
            if (typeof vol.hostPath === "string" && isCleanAbsolutePath(vol.hostPath) && !volumeRoots.some((root) => isPathWithin(vol.hostPath as string, root) && vol.hostPath !== root)) {
                problems.push(
                    `${key}.hostPath: ${vol.hostPath} is not below an allowed root (replicated:volumeRoots = ${JSON.stringify(volumeRoots)}). ` +
                        "Fix: add its parent to replicated:volumeRoots, or move the volume below an allowed root",
                );
            }
            if (typeof vol.containerPath === "string") {
                const first = targets.get(vol.containerPath);
                if (first !== undefined) {
                    problems.push(`${key}.containerPath: ${vol.containerPath} is already mounted by volumes[${first}]. Fix: use one containerPath per volume`);
                } else {
                    targets.set(vol.containerPath, v);
                }
            }
            if (user?.kind === "image" && (vol.owner === undefined || vol.group === undefined)) {
                problems.push(
                    `${key}: with user "image" the program does not know the image's uid, so owner and group are required. ` +
                        `Fix: pulumi config set --path '${key}.owner' <uid of the image's USER> (and '${key}.group'), or set the application's user to "<uid>:<gid>"`,
                );
            }
            const owner = vol.owner ?? (user?.kind === "ids" ? user.uid : user?.kind === "service" ? "service" : undefined);
            const group = vol.group ?? (user?.kind === "ids" ? user.gid : user?.kind === "service" ? "docker" : undefined);
            if (typeof vol.hostPath === "string" && owner !== undefined && group !== undefined) {
                const spec = `${String(owner)}:${String(group)} ${fourDigitMode(vol.mode ?? "0750")}`;
                const first = volumeSpecs.get(vol.hostPath);
                if (first === undefined) {
                    volumeSpecs.set(vol.hostPath, { where: key, spec });
                } else if (first.spec !== spec) {
                    problems.push(
                        `${key}.hostPath: ${vol.hostPath} is also prepared by ${first.where} as ${first.spec}, here as ${spec}. ` +
                            "Fix: give the shared directory the same owner, group and mode everywhere, or use separate directories",
                    );
                }
            }
        });

        if (Array.isArray(app.hosts)) {
            const seen = new Set<string>();
            (app.hosts as unknown[]).forEach((name, h) => {
                if (typeof name !== "string") {
                    return;
                }
                if (!hostNames.has(name)) {
                    problems.push(`${at(index, `.hosts[${h}]`)}: no host named "${name}" (hosts: ${[...hostNames].join(", ")}). Fix: use a name from replicated:hosts`);
                }
                if (seen.has(name)) {
                    problems.push(`${at(index, `.hosts[${h}]`)}: "${name}" is listed twice. Fix: list each host once`);
                }
                seen.add(name);
            });
        }
    });

    // Host ports: per host, every published port once, and never one Replicated publishes there.
    const uiPort = typeof input.uiPort === "number" ? input.uiPort : 8800;
    for (const host of hostRecords) {
        if (typeof host.name !== "string") {
            continue;
        }
        const role = host.role === "primary" ? "primary" : "operator";
        const taken = new Map<string, string>(replicatedHostPorts(role, uiPort).map((r) => [`${r.port}/${r.protocol}`, `Replicated's ${r.service}`]));
        apps.forEach((app, index) => {
            const appHosts = Array.isArray(app.hosts) ? (app.hosts as unknown[]).filter((n): n is string => typeof n === "string") : undefined;
            if (primaryName === undefined || !runsOnHost(appHosts, host.name as string, primaryName)) {
                return;
            }
            const ports = Array.isArray(app.ports) ? (app.ports as unknown[]) : [];
            ports.forEach((raw, p) => {
                const port = raw !== null && typeof raw === "object" ? (raw as Record<string, unknown>) : {};
                if (typeof port.external !== "number") {
                    return;
                }
                const key = `${port.external}/${port.protocol === "udp" ? "udp" : "tcp"}`;
                const holder = taken.get(key);
                if (holder !== undefined) {
                    problems.push(
                        `${at(index, `.ports[${p}].external`)}: ${key} on host ${host.name as string} is already published by ${holder}. ` +
                            "Fix: choose another external port",
                    );
                } else {
                    taken.set(key, `applications[${index}] (${String(app.name)})`);
                }
            });
        });
    }

    // Air-gap: every image loads from <imagesDir>/<base name>.tar, so base names must not collide.
    if (input.airgap !== undefined) {
        const images = input.images as Record<string, unknown> | undefined;
        const helper = typeof images?.helper === "string" ? images.helper : undefined;
        const tarballs = new Map<string, string>(replicatedTarballNames(helper).map((name) => [name, "a Replicated image"]));
        apps.forEach((app, index) => {
            if (typeof app.image !== "string") {
                return;
            }
            const base = imageBaseName(app.image);
            const holder = tarballs.get(base);
            if (holder !== undefined && holder !== app.image) {
                problems.push(
                    `${at(index, ".image")}: in air-gap mode ${app.image} would load from ${base}.tar, like ${holder}. ` +
                        "Fix: give the image a repository name of its own",
                );
            } else {
                tarballs.set(base, app.image);
            }
        });
    }
    return problems;
}

/** `"750"` → `"0750"`; anything else as text. */
function fourDigitMode(mode: unknown): string {
    const text = String(mode);
    return /^[0-7]{3}$/.test(text) ? `0${text}` : text;
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

/** `~/x`, `/abs/x` or `rel/x` without `..`, `.` or empty components. */
function isCleanLocalPath(p: string): boolean {
    const body = p.startsWith("~/") ? p.slice(2) : p.startsWith("/") ? p.slice(1) : p;
    return body.length > 0 && /^[A-Za-z0-9._/ -]+$/.test(body) && body.split("/").every((part) => part !== "" && part !== "." && part !== "..");
}

function resolveLocalPath(p: string, projectDir: string): string {
    if (p.startsWith("~/")) {
        return path.join(os.homedir(), p.slice(2));
    }
    return path.isAbsolute(p) ? p : path.join(projectDir, p);
}

/** The directory holding Pulumi.yaml (one level above components/). */
export function projectRoot(): string {
    return path.resolve(__dirname, "..");
}

// ---------------------------------------------------------------------------------------------
// Messages

/** `["hosts", 1, "name"]` → `replicated:hosts[1].name` */
export function configKey(pathParts: readonly PropertyKey[]): string {
    let key = CONFIG_NAMESPACE;
    pathParts.forEach((part, index) => {
        if (typeof part === "number") {
            key += `[${part}]`;
        } else {
            key += index === 0 ? `:${String(part)}` : `.${String(part)}`;
        }
    });
    return key;
}

/** Example values per key, with list indices written as []. Used to print a working fix. */
const EXAMPLES: Record<string, string> = {
    version: "2.53.2",
    channel: "stable",
    runAs: "replicated",
    allowDowngrade: "true",
    "serviceUser.name": "replicated",
    "serviceUser.uid": "1017",
    "serviceUser.allowNobodyUid": "true",
    "serviceUser.adoptExisting": "replicated",
    "dataPrefixes[]": "/srv",
    "images.pins": "(a map; see docs/images-and-airgap.md)",
    hosts: "(a list; see stacks/Pulumi.acme-online.yaml)",
    "hosts[].name": "primary-1",
    "hosts[].address": "10.0.0.11",
    "hosts[].port": "22",
    "hosts[].user": "root",
    "hosts[].become": "sudo",
    "hosts[].role": "primary",
    "hosts[].privateAddress": "10.0.0.11",
    "hosts[].publicAddress": "203.0.113.10",
    "hosts[].hostKey": "'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA...'",
    sshPrivateKeyPath: "~/.ssh/id_ed25519",
    uiPort: "8800",
    uiBindAddress: "10.0.0.11",
    allowAllInterfaces: "false",
    "airgap.imagesDir": "/var/lib/replicated-images",
    "images.registry": "registry.example.com/replicated",
    "images.helper": "registry.example.com/replicated/replicated-helper:stable-2.53.2",
    httpProxy: "http://proxy.example.com:3128",
    logLevel: "info",
    "sidecars.statsd": "true",
    "sidecars.premkit": "true",
    "volumeRoots[]": "/srv/replicated-volumes",
    "operations.timeoutSeconds": "300",
    "operations.supportBundle.request": "bundle-2026-11-28",
    "operations.volumes.request": "volumes-1",
    "operations.volumes.items[].path": "/srv/replicated-volumes/app-data",
    "operations.volumes.items[].owner": "1234",
    "operations.volumes.items[].group": "1234",
    "operations.volumes.items[].mode": "0750",
    "operations.snapshot.request": "snapshot-2026-11-28",
    "operations.snapshot.destination": "/srv/replicated-snapshots",
    "operations.snapshot.owner": "0",
    "operations.snapshot.group": "0",
    "applications[].name": "app-web",
    "applications[].image": "registry.example.com/acme/web:1.4.2",
    "applications[].user": "1234:1234",
    "applications[].allowRoot": "true",
    "applications[].hosts[]": "primary-1",
    "applications[].volumes[].hostPath": "/srv/replicated-volumes/web",
    "applications[].volumes[].containerPath": "/data",
    "applications[].volumes[].mode": "0750",
    "applications[].volumes[].owner": "1234",
    "applications[].volumes[].group": "1234",
    "applications[].volumes[].readOnly": "false",
    "applications[].ports[].internal": "8080",
    "applications[].ports[].external": "18080",
    "applications[].ports[].protocol": "tcp",
    "applications[].memory": "256",
    "applications[].command[]": "/usr/local/bin/web",
    "applications[].healthcheck": "'wget -q -O /dev/null http://127.0.0.1:8080/health'",
    requireNonRootApplications: "true",
    "takeover.fallbackSeconds": "300",
    "takeover.rotateDaemonToken": "true",
};

function exampleFix(pathParts: readonly PropertyKey[]): string {
    const pattern = pathParts
        .map((part, index) => (typeof part === "number" ? "[]" : index === 0 ? String(part) : `.${String(part)}`))
        .join("");
    const example = EXAMPLES[pattern];
    const key = configKey(pathParts);
    const flag = pathParts.length > 1 ? "--path " : "";
    if (example === undefined) {
        return `see docs/configuration.md for ${key}`;
    }
    return `pulumi config set ${flag}'${key}' ${example}`;
}

function describeIssue(issue: z.core.$ZodIssue, input: Record<string, unknown>, secretKeys: ReadonlySet<string>): string {
    const key = configKey(issue.path);
    if (issue.code === "unrecognized_keys") {
        return issue.keys
            .map((unknown) => `${configKey([...issue.path, unknown])}: unknown key. Fix: remove it (pulumi config rm --path '${configKey([...issue.path, unknown])}')`)
            .join("\n  - ");
    }
    const received = valueAt(input, issue.path);
    const what = received === undefined && issue.code === "invalid_type" ? "is required" : issue.message;
    // Never echo a secret key's value, an environment value or a proxy URL (it may hold credentials).
    const top = String(issue.path[0]);
    const hidden = secretKeys.has(top) || top === "sshPrivateKey" || top === "httpProxy" || issue.path.includes("env");
    const shown = hidden || received === undefined || typeof received === "object" ? "" : ` (got ${JSON.stringify(received)})`;
    return `${key}: ${what}${shown}. Fix: ${exampleFix(issue.path)}`;
}

/**
 * `problem` with every value of a secret key (and the SSH key), every application environment
 * value and every URL credential replaced: cross-field messages quote values, and a value that is
 * secret must never reach a terminal or a CI log through them.
 */
function withoutSecrets(problem: string, input: Record<string, unknown>, secretKeys: ReadonlySet<string>, rawSecrets: readonly string[]): string {
    const hidden = new Set<string>(rawSecrets.filter((value) => value.length >= 4));
    const collect = (value: unknown): void => {
        if (typeof value === "string" || typeof value === "number") {
            if (String(value).length >= 4) {
                hidden.add(String(value));
            }
        } else if (value !== null && typeof value === "object") {
            Object.values(value as Record<string, unknown>).forEach(collect);
        }
    };
    for (const key of [...secretKeys, "sshPrivateKey"]) {
        collect(input[key]);
    }
    const applications = Array.isArray(input.applications) ? (input.applications as unknown[]) : [];
    for (const app of applications) {
        if (app !== null && typeof app === "object") {
            collect((app as Record<string, unknown>).env);
        }
    }
    let text = problem.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s"]*@/gi, "$1<redacted>@");
    for (const value of [...hidden].sort((a, b) => b.length - a.length)) {
        text = text.split(value).join("<secret>");
    }
    return text;
}

function valueAt(input: unknown, pathParts: readonly PropertyKey[]): unknown {
    let current: unknown = input;
    for (const part of pathParts) {
        if (current === null || typeof current !== "object") {
            return undefined;
        }
        current = (current as Record<PropertyKey, unknown>)[part];
    }
    return current;
}

function dedupe(items: string[]): string[] {
    return [...new Set(items)];
}

function deepFreeze<T>(value: T): T {
    if (value !== null && typeof value === "object" && !Object.isFrozen(value) && !pulumi.Output.isInstance(value)) {
        for (const child of Object.values(value as Record<string, unknown>)) {
            deepFreeze(child);
        }
        Object.freeze(value);
    }
    return value;
}
