/**
 * The schema of the stack configuration: every key of the `replicated` namespace, its rules, its
 * default (from ./defaults) and its documentation. docs/configuration.md's key table and the
 * `config:` section of Pulumi.yaml are generated from it (tools/config-docs.ts).
 */
import type * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { DEFAULT_APPLICATION_USER, DEFAULT_DATA_PREFIXES, DEFAULT_OPERATION_TIMEOUT_SECONDS, DEFAULT_REGISTRY, DEFAULT_RUN_AS, DEFAULT_SERVICE_ACCOUNT, DEFAULT_SSH_PORT, DEFAULT_SSH_USER, DEFAULT_TAKEOVER_FALLBACK_SECONDS, DEFAULT_UI_PORT, DEFAULT_VOLUME_MODE } from "./defaults";
import { hostKeyProblem } from "../host/host-rules";
import { isCleanAbsolutePath, isHostAddress, isIPAddress, isPathWithin, isValidAccountName, LABEL_PATTERN, MAX_ID, REQUEST_ID_PATTERN } from "../shell";

/** How a key is documented: its meaning, and where the type or default cannot be read off the schema, their wording. */
export interface KeyDoc {
    /** The meaning and rules, as docs/configuration.md shows them. */
    readonly description: string;
    /** The type column, where the schema's own type says too little (an IP, a path, a secret). */
    readonly type?: string;
    /** The default column, only for a default computed at run time (the schema has none then). */
    readonly default?: string;
    /** Pulumi.yaml's description of a top-level key, when it differs from `description`. */
    readonly summary?: string;
    /** False for an object documented only through its fields (no row of its own). */
    readonly row?: false;
    /** False for an object or list whose fields are documented on a page of their own. */
    readonly fields?: false;
}

/** The documentation of each key's schema node. */
export const keyDocs = z.registry<KeyDoc>();

/** `schema`, documented: a copy, so that shared field schemas keep one entry per key. */
function documented<T extends z.ZodType>(schema: T, doc: KeyDoc): T {
    const copy = schema.clone() as T;
    keyDocs.add(copy, doc);
    return copy;
}

/** True when `text` is absent or a decimal port 1..65535. */
function portInRange(text: string | undefined): boolean {
    return text === undefined || (/^[0-9]{1,5}$/.test(text) && Number(text) >= 1 && Number(text) <= 65535);
}

/** `~/x`, `/abs/x` or `rel/x` without `..`, `.` or empty components. */
function isCleanLocalPath(p: string): boolean {
    const body = p.startsWith("~/") ? p.slice(2) : p.startsWith("/") ? p.slice(1) : p;
    return body.length > 0 && /^[A-Za-z0-9._/ -]+$/.test(body) && body.split("/").every((part) => part !== "" && part !== "." && part !== "..");
}


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
    name: documented(label, { description: "Lowercase DNS label; names the host's resources." }),
    address: documented(hostAddress, {
        description:
            "SSH address (IP or DNS name). IPv4 only as four decimal octets: numeric, octal and hex spellings (`2130706433`, `0x7f.1`, `10.0.0.011`) are refused, since tools read them differently.",
    }),
    port: documented(port.default(DEFAULT_SSH_PORT), { description: "SSH port, 1..65535." }),
    user: documented(accountName.default(DEFAULT_SSH_USER), { description: "SSH user. A non-root user needs `become: sudo` and a NOPASSWD sudoers rule." }),
    become: documented(z.enum(["sudo", "none"], { error: 'must be "sudo" or "none"' }).optional(), {
        default: "`none` for root, else `sudo`",
        description: "How scripts reach root: `sudo -n` (never prompts; a missing NOPASSWD rule fails at once with a clear message).",
    }),
    role: documented(z.enum(["primary", "operator"], { error: 'must be "primary" or "operator"' }), {
        description: "The primary runs replicated, the UI and a local operator; operator hosts run only `replicated-operator`.",
    }),
    privateAddress: documented(ipAddress, {
        type: "IP",
        description:
            "Address the services' ports bind to and that operators use to reach the primary (port 9879). Never the unspecified address in any spelling (`0.0.0.0`, `::`, `0::`, `::ffff:0.0.0.0`, ...), even with `allowAllInterfaces`.",
    }),
    publicAddress: documented(hostAddress.optional(), { type: "IP or DNS", description: "Public address, informational for the daemon." }),
    hostKey: documented(hostKey.optional(), {
        default: "required outside `dev`",
        description:
            "The host's SSH public key, `ssh-ed25519 AAAA...` or `ecdsa-sha2-nistp256/384/521 AAAA...` (no comment); the base64 part must decode to a key of that type. Every command and the Docker connection check it. `ssh-rsa` is refused: the command provider then negotiates only the SHA-1 `ssh-rsa` signature, which OpenSSH 8.8 and later refuse. Get it out of band, or with `ssh-keyscan -t ed25519 <address>` on a trusted network.",
    }),
});

const serviceUserSchema = z.strictObject({
    name: documented(accountName.default(DEFAULT_SERVICE_ACCOUNT), {
        description:
            "Service account name, `^[a-z_][a-z0-9_-]{0,30}$`, not all digits, and not `root` or a system or daemon account (`daemon`, `www-data`, `nobody`, `sshd`, `messagebus`, `docker`, any `systemd-*`, ...: the list is `SYSTEM_ACCOUNT_NAMES` in `components/host/account-rules.ts`), because the docker group makes every process of the account root-equivalent.",
    }),
    uid: documented(uid.optional(), {
        default: "picked by the host",
        description: "Pin the uid (1..2147483646, never 0). Pin it for a fleet: hosts allocate system uids independently. An existing user with another uid is an error, never renumbered.",
    }),
    allowNobodyUid: documented(z.boolean({ error: "must be true or false" }).default(false), { description: 'Accept uid 65534 ("nobody"), which unrelated daemons share.' }),
    adoptExisting: documented(accountName.optional(), {
        description:
            "Adopt an existing account of this name (it must equal `serviceUser.name`) although it is neither one this program created nor the one Replicated's install script creates. See [Existing accounts](host.md#existing-accounts).",
    }),
});

const operationsSchema = z.strictObject({
    timeoutSeconds: z
        .number({ error: "must be a number" })
        .int({ error: "must be an integer" })
        .min(5, { error: "must be between 5 and 3600" })
        .max(3600, { error: "must be between 5 and 3600" })
        .default(DEFAULT_OPERATION_TIMEOUT_SECONDS),
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
    user: applicationUser.default(DEFAULT_APPLICATION_USER),
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
                mode: fileMode.default(DEFAULT_VOLUME_MODE),
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

const takeoverSchema = z.strictObject({
    fallbackSeconds: documented(
        z
            .number({ error: "must be a number of seconds" })
            .int({ error: "must be an integer number of seconds" })
            .min(30, { error: "must be at least 30 seconds" })
            .max(3600, { error: "must be at most 3600 seconds" })
            .default(DEFAULT_TAKEOVER_FALLBACK_SECONDS),
        {
            description:
                "30..3600. When a host installed by Replicated's own install script is taken over: how long the program's containers may take to become healthy before a host-side fallback restores the script's units (plus a 30 s grace). See [Taking over an existing install](takeover.md).",
        },
    ),
    rotateDaemonToken: documented(z.boolean({ error: "must be true or false" }).default(false), {
        description:
            "Use the stack's generated daemon token even where the primary holds one from the install script. Operators not managed by this stack are then cut off; see [The daemon token](takeover.md#the-daemon-token).",
    }),
});

const configSchema = z.strictObject({
    version: documented(
        z.string({ error: "is required" }).regex(/^2\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})$/, {
            error: 'must be a Replicated 2.x version "2.<minor>.<patch>" (numbers without leading zeros)',
        }),
        {
            description: "Replicated version, `2.<minor>.<patch>`. Images are tagged `<channel>-<version>`. Going below the version recorded on a host needs `allowDowngrade`.",
            summary: 'Replicated 2.x version to run, e.g. "2.53.2". Required. A lower version than the one on the host needs allowDowngrade.',
        },
    ),
    channel: documented(
        z
            .string({ error: "must be a string" })
            .regex(/^[a-z0-9][a-z0-9-]{0,30}$/, { error: "must match ^[a-z0-9][a-z0-9-]{0,30}$" })
            .default("stable"),
        { description: "Release channel, `^[a-z0-9][a-z0-9-]{0,30}$`.", summary: "Release channel; images are tagged <channel>-<version>." },
    ),
    runAs: documented(z.enum(["replicated", "root"], { error: 'must be "replicated" or "root"' }).default(DEFAULT_RUN_AS), {
        description:
            "`replicated`: the 2.5.0+ least-privilege layout. `root`: legacy mode of hosts installed before 2.5.0 (no service account, root-owned directories, containers as `0:<docker gid>`). Switching `root` → `replicated` is the opt-in migration.",
        summary: '"replicated" (2.5.0+ least privilege) or "root" (legacy mode of installs before 2.5.0).',
    }),
    allowDowngrade: documented(z.boolean({ error: "must be true or false" }).default(false), {
        description: "Permit `version` lower than the one last installed on a host.",
    }),
    serviceUser: documented(serviceUserSchema.prefault({}), {
        row: false,
        description:
            "Object {name, uid?, allowNobodyUid?, adoptExisting?}. Service account; uid picked by the host unless pinned (1..2147483646, not 0; 65534 only with allowNobodyUid: true).",
    }),
    hosts: documented(z.array(hostSchema, { error: "is required: a list of hosts" }).min(1, { error: "must list at least one host" }), {
        description: "The hosts of this customer. Names unique; exactly one `primary`.",
        summary:
            'List of {name, address, port?, user?, become?, role, privateAddress, publicAddress?, hostKey}. Exactly one role "primary"; the rest "operator". hostKey required outside the dev stack.',
    }),
    sshPrivateKey: documented(z.string({ error: "must be a string" }).min(1, { error: "must not be empty" }).optional(), {
        type: "secret string",
        description: "The SSH private key (`pulumi config set --secret replicated:sshPrivateKey < key`). Exactly one of this and `sshPrivateKeyPath`.",
        summary: "secret string, the login key (set with --secret; the program refuses it in plain text). Exactly one of sshPrivateKey and sshPrivateKeyPath.",
    }),
    sshPrivateKeyPath: documented(
        z
            .string({ error: "must be a string" })
            .refine(isCleanLocalPath, { error: "must be an absolute path, ~/path, or a path relative to the project without '..'" })
            .optional(),
        {
            description: "Key file on the machine running Pulumi: absolute, `~/...`, or relative to the project (no `..`).",
            summary: "path of the login key file (absolute, ~/..., or relative to the project).",
        },
    ),
    uiPort: documented(port.default(DEFAULT_UI_PORT), { description: "Host port of the admin console.", summary: "Host port of the admin console (replicated-ui)." }),
    uiBindAddress: documented(ipAddress.optional(), {
        type: "IP",
        default: "the primary's `privateAddress`",
        description:
            "Address the admin console binds to. An unspecified address (`0.0.0.0`, `::` and every other spelling: addresses are compared as bytes) only with `allowAllInterfaces`.",
        summary: "address the admin console binds to; default the primary's privateAddress.",
    }),
    allowAllInterfaces: documented(z.boolean({ error: "must be true or false" }).default(false), {
        description: "Permit binding to every interface. The policy pack reads the same choice from its pack config (`npm run policy-config -- <stack>`).",
        summary: "Permit binding ports to 0.0.0.0 or ::.",
    }),
    airgap: documented(
        z
            .strictObject({
                imagesDir: documented(absolutePath, {
                    type: "path",
                    description:
                        "Air-gap mode: images are loaded on each host from tarballs in this directory instead of pulled. It may not overlap the service trees (`/var/lib/replicated`, `/var/run/replicated`, the operator's), a volume root, or a directory every user can write (`/tmp`, `/var/tmp`, `/dev/shm`, ...); on the host it must be root-owned and not group- or world-writable, with every parent.",
                }),
            })
            .optional(),
        { row: false, description: "object {imagesDir}: load images from tarballs instead of pulling them." },
    ),
    images: documented(
        z
            .strictObject({
                registry: documented(registry.default(DEFAULT_REGISTRY), { description: "Registry and path prefix of the Replicated images." }),
                helper: documented(
                    z
                        .union([imageReference, z.string().regex(DIGEST_REFERENCE)], {
                            error: "must be an image reference with an explicit tag or a sha256 digest, e.g. registry.example.com/replicated/replicated-helper:stable-2.53.2",
                        })
                        .optional(),
                    {
                        type: "image ref",
                        default: "`<registry>/replicated-helper:<channel>-<version>`",
                        description:
                            "Image of the short-lived root containers. May be pinned by digest (`repo@sha256:<hex>` or `repo:tag@sha256:<hex>`) in registry mode; in air-gap mode pin it with `images.pins` instead.",
                    },
                ),
                pins: documented(
                    z
                        .record(
                            z.string(),
                            z.string({ error: "must be a string" }).regex(IMAGE_ID, { error: 'must be an image id "sha256:<64 hex digits>" (docker image inspect --format \'{{.Id}}\' <image>)' }),
                        )
                        .default({}),
                    {
                        description:
                            "Image ids (`sha256:<64 hex>`, as `docker image inspect --format '{{.Id}}'` prints them) by image name (`replicated`, `replicated-ui`, `replicated-operator`, `replicated-statsd`, `replicated-premkit`, `replicated-helper`) or application image reference. Each pinned image is checked against its pin on every host before a container uses it; pin the helper image above all, since it runs as root.",
                    },
                ),
            })
            .prefault({}),
        {
            row: false,
            description:
                'Object {registry?, helper?, pins?}. helper is the image of the short-lived root containers, default "<registry>/replicated-helper:<channel>-<version>"; pins maps an image name to the image id it must have.',
        },
    ),
    httpProxy: documented(
        z
            .string({ error: "must be a string" })
            .refine((value) => !/^[a-z]+:\/\/[^/]*@/i.test(value), {
                error: "must not contain credentials (user:password@): they would be stored in plain text in the stack file and in the containers' environment",
            })
            .regex(/^https?:\/\/[A-Za-z0-9.-]+(:[0-9]{1,5})?\/?$/, { error: "must be http(s)://host[:port]" })
            .refine((value) => portInRange(/:([0-9]+)\/?$/.exec(value.replace(/^https?:\/\//, ""))?.[1]), { error: "has a port outside 1..65535" })
            .optional(),
        {
            type: "URL",
            description:
                "`http(s)://host:port` (port 1..65535), passed to replicated as `HTTP_PROXY`. Credentials (`user:password@`) are refused: they would sit in plain text in the stack file and in the containers' environment.",
            summary: "http(s)://host:port proxy passed to replicated as HTTP_PROXY.",
        },
    ),
    logLevel: documented(z.enum(["debug", "info", "warn", "error"], { error: "must be debug, info, warn or error" }).default("info"), {
        description: "`LOG_LEVEL` of the services.",
        summary: "LOG_LEVEL of the services: debug, info, warn or error.",
    }),
    sidecars: documented(
        z
            .strictObject({
                statsd: documented(z.boolean({ error: "must be true or false" }).default(true), { description: "Run the statsd/graphite sidecar." }),
                premkit: documented(z.boolean({ error: "must be true or false" }).default(true), { description: "Run the premkit sidecar." }),
            })
            .prefault({}),
        { row: false, description: "Object {statsd?, premkit?}: run the statsd/graphite and premkit sidecars." },
    ),
    volumeRoots: documented(z.array(absolutePath).default([]), {
        type: "paths",
        description: "The only directories under which application volumes may be created. Each lies strictly below one of `dataPrefixes`.",
        summary: "Absolute directories under which application volumes may be created (by the volumes operation and application containers).",
    }),
    dataPrefixes: documented(z.array(absolutePath).min(1, { error: "must list at least one directory" }).default([...DEFAULT_DATA_PREFIXES]), {
        type: "paths",
        description:
            "Directories meant for data: every volume root and snapshot destination must lie strictly below one of them (an allow-list, so that no operation can write below `/var/spool/cron`, `/var/lib/dpkg`, `/var/cache`, `/var/lock` and the like). Extend it for a data disk mounted elsewhere (`pulumi config set --path 'replicated:dataPrefixes[2]' /data2`); system and Replicated paths are refused.",
        summary: "Absolute directories meant for data; every volume root and snapshot destination must lie strictly below one of them.",
    }),
    operations: documented(operationsSchema.prefault({}), {
        fields: false,
        description: `On-demand root operations, see [Elevated operations](elevated-operations.md). \`timeoutSeconds\` (5..3600, default ${DEFAULT_OPERATION_TIMEOUT_SECONDS}).`,
        summary:
            "Object of on-demand root operations {supportBundle?, volumes?, snapshot?, timeoutSeconds?}, each with a request id; a changed id runs the operation once on the next pulumi up.",
    }),
    applications: documented(z.array(applicationSchema).default([]), {
        fields: false,
        description: "Application containers with a custom user, see [Application containers](applications.md).",
        summary:
            `List of application containers {name, image, user, allowRoot?, hosts?, volumes[], ports[], env, memory, command?, healthcheck?}; user is "image", "service" or "<uid>:<gid>" (default "${DEFAULT_APPLICATION_USER}"); without hosts an application runs on the primary only.`,
    }),
    requireNonRootApplications: documented(z.boolean({ error: "must be true or false" }).default(false), {
        description:
            "Refuse application containers that may run as root (user `image` or uid 0 without `allowRoot`), in config validation and, through the pack config `npm run policy-config` prints, in the policy pack.",
        summary: "Make the policy rule against application containers running as root mandatory instead of advisory.",
    }),
    takeover: documented(takeoverSchema.prefault({}), {
        row: false,
        description:
            "Object {fallbackSeconds?, rotateDaemonToken?}: taking hosts over from Replicated's own install script. fallbackSeconds (30..3600) bounds how long the program's containers may take to become healthy before the install script's units are restored; rotateDaemonToken generates a new daemon token instead of carrying the install's over.",
    }),
});

/** The schema of the whole `replicated` namespace (key order is the documentation's). */
export const CONFIG_SCHEMA = configSchema;

/** A schema node without its optional/default wrappers. */
export function unwrapped(schema: z.ZodType): z.ZodType {
    let node = schema;
    for (;;) {
        const def = node.def as { type: string; innerType?: z.ZodType };
        if ((def.type === "optional" || def.type === "default" || def.type === "prefault") && def.innerType !== undefined) {
            node = def.innerType;
        } else {
            return node;
        }
    }
}

/** How a top-level key is stored by Pulumi (all config values arrive as strings); read off the schema. */
export type KeyKind = "string" | "integer" | "boolean" | "json";

/** How Pulumi stores a key of this schema: a scalar as itself, anything else as JSON. */
export function keyKind(schema: z.ZodType): KeyKind {
    switch (unwrapped(schema).def.type) {
        case "string":
        case "enum":
        case "union":
            return "string";
        case "number":
            return "integer";
        case "boolean":
            return "boolean";
        default:
            return "json";
    }
}

/** How each top-level key is stored by Pulumi, in the order docs/configuration.md documents them. */
export const KEY_KINDS: Readonly<Record<string, KeyKind>> = Object.freeze(
    Object.fromEntries(Object.entries(configSchema.shape).map(([key, schema]) => [key, keyKind(schema as z.ZodType)])),
);

/** Every config key this program reads, in the order docs/configuration.md documents them. */
export const CONFIG_KEYS = Object.keys(KEY_KINDS) as readonly string[];

// ---------------------------------------------------------------------------------------------
// Result types


export type Parsed = z.output<typeof configSchema>;
export type ParsedHost = Parsed["hosts"][number];

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
