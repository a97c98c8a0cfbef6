/**
 * The arguments of `ReplicatedHost`: plain typed settings with their defaults, plus the
 * {@link HostTarget} every SSH step dials. Pure: {@link withReplicatedHostDefaults} applies the
 * defaults and {@link replicatedHostArgsProblems} lists every argument that cannot work, each
 * message naming the argument.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { ApplicationConfig } from "./config";
import {
    DEFAULT_APPLICATION_USER,
    DEFAULT_DATA_PREFIXES,
    DEFAULT_OPERATION_TIMEOUT_SECONDS,
    DEFAULT_REGISTRY,
    DEFAULT_RUN_AS,
    DEFAULT_SERVICE_ACCOUNT,
    DEFAULT_TAKEOVER_FALLBACK_SECONDS,
    DEFAULT_UI_PORT,
    DEFAULT_VOLUME_MODE,
} from "./config/defaults";
import { isSystemAccountName } from "./host/account-rules";
import type { HostRole, HostTarget } from "./host/host-target";
import type { RunAs } from "./host/service-account";
import type { VolumeItem } from "./ops/operation-spec";
import { LABEL_PATTERN, MAX_ID, NOBODY_ID, REQUEST_ID_PATTERN, isCleanAbsolutePath, isIPAddress, isValidAccountName, isWildcardAddress } from "./shell";

/** The service account the Replicated containers run as (ignored with `runAs: "root"`). */
export interface ServiceUserArgs {
    /** Account name. Default: `replicated`. */
    readonly name?: string;
    /** uid to create it with (and to require of an existing one). Default: none (useradd picks one). */
    readonly uid?: number;
    /** Adopt an existing account of this name (it must be `name`). Default: none. */
    readonly adoptExisting?: string;
    /** Accept uid 65534 (`nobody`). Default: false. */
    readonly allowNobodyUid?: boolean;
}

/** Where the Replicated images come from. */
export interface ImageSourceArgs {
    /** Registry (host[:port][/path]) of the Replicated images. Default: `quay.io/replicated`. */
    readonly registry?: string;
    /** The helper image of the elevated operations. Default: `<registry>/replicated-helper:<channel>-<version>`. */
    readonly helper?: string;
    /** Image ids (`sha256:<64 hex>`) by image name or application reference. Default: none pinned. */
    readonly pins?: Readonly<Record<string, string>>;
}

/** Which sidecars the primary runs. */
export interface SidecarArgs {
    /** statsd / graphite metrics. Default: true. */
    readonly statsd?: boolean;
    /** premkit. Default: true. */
    readonly premkit?: boolean;
}

/** The admin console (primary only). */
export interface ConsoleArgs {
    /** Host port of the console. Default: 8800. */
    readonly port?: number;
    /** Address the console binds to. Default: `primaryAddress`. */
    readonly bindAddress?: string;
}

/** On-demand root operations on this host; each runs once per request id. */
export interface OperationsArgs {
    /** Hard timeout of each operation's container, seconds (5..3600). Default: 300. */
    readonly timeoutSeconds?: number;
    /** Collect a support bundle. Default: none. */
    readonly supportBundle?: { readonly request: string };
    /** Create or re-own volume directories below `volumeRoots`. Default: none. */
    readonly volumes?: { readonly request: string; readonly items: readonly VolumeItem[] };
    /**
     * Snapshot Replicated's state to `destination` (runs on the primary only). Owner and group
     * default to the service uid and the docker gid. Default: none.
     */
    readonly snapshot?: { readonly request: string; readonly destination: string; readonly owner?: number; readonly group?: number };
}

/** A host directory mounted into an application container (created by one elevated `volumes` run). */
export interface ApplicationVolumeArgs {
    /** Directory on the host, below one of `volumeRoots`. Required. */
    readonly hostPath: string;
    /** Mount point in the container (not `/`, `/tmp`, or below `/proc`, `/sys`, `/dev`). Required. */
    readonly containerPath: string;
    /** Owner uid of the directory. Default: the application's uid (user `<uid>:<gid>` or `service`); required with user `image`. */
    readonly owner?: number;
    /** Group gid of the directory. Default: the application's gid, as for `owner`. */
    readonly group?: number;
    /** Octal mode of the directory. Default: `0750`. */
    readonly mode?: string;
    /** Mount read-only. Default: false. */
    readonly readOnly?: boolean;
}

/** One of the stack's own containers on this host, hardened like Replicated's. */
export interface ApplicationArgs {
    /** Name: a lowercase DNS label, part of the container's name. Required. */
    readonly name: string;
    /** Image reference with an explicit tag. Required. */
    readonly image: string;
    /** `image` (the image's own user), `service` (the service account, docker group) or `<uid>:<gid>`. Default: `image`. */
    readonly user?: string;
    /** Accept uid 0 for this application. Default: false. */
    readonly allowRoot?: boolean;
    /** Host directories it mounts. Default: none. */
    readonly volumes?: readonly ApplicationVolumeArgs[];
    /** Published ports, bound to `privateAddress`. `protocol` defaults to `tcp`. Default: none. */
    readonly ports?: readonly { readonly internal: number; readonly external: number; readonly protocol?: "tcp" | "udp" }[];
    /** Environment variables. Default: none. */
    readonly env?: Readonly<Record<string, string>>;
    /** Memory limit, MiB (16..1048576). Default: 256. */
    readonly memory?: number;
    /** Command and arguments. Default: the image's own command. */
    readonly command?: readonly string[];
    /** Healthcheck command run in the container. Default: the image's own healthcheck, if any. */
    readonly healthcheck?: string;
}

export interface ReplicatedHostArgs {
    /** How every SSH step (remote commands and the docker provider) reaches the host. Required. */
    readonly target: HostTarget;
    /** Replicated version, `2.<minor>.<patch>`. Required. */
    readonly version: string;
    /** Shared secret of the daemon and every operator (DAEMON_TOKEN); handled as a secret. Required. */
    readonly daemonToken: pulumi.Input<string>;
    /** The host's private address: ports bind to it, and it is LOCAL_ADDRESS. Required. */
    readonly privateAddress: string;
    /** The host's name: NODENAME, container labels, its local known_hosts file. Default: the component's name. */
    readonly hostName?: string;
    /** `primary` (daemon, console, sidecars, a local operator) or `operator`. Default: `primary`. */
    readonly role?: HostRole;
    /** The primary's private address, where operators reach the daemon. Default: `privateAddress` (required on an operator). */
    readonly primaryAddress?: string;
    /** Private addresses of every host of the cluster (NO_PROXY). Default: this host's and the primary's. */
    readonly clusterAddresses?: readonly string[];
    /** Release channel, `^[a-z0-9][a-z0-9-]{0,30}$`. Default: `stable`. */
    readonly channel?: string;
    /** Deploy a version lower than the one recorded on the host. Default: false. */
    readonly allowDowngrade?: boolean;
    /** Who the Replicated services run as: the service account or (legacy installs) root. Default: `replicated`. */
    readonly runAs?: RunAs;
    /** The service account. Default: `{ name: "replicated" }`, uid chosen by the host. */
    readonly serviceUser?: ServiceUserArgs;
    /** The admin console. Default: port 8800 on `primaryAddress`. */
    readonly console?: ConsoleArgs;
    /** LOG_LEVEL of every service. Default: `info`. */
    readonly logLevel?: "debug" | "info" | "warn" | "error";
    /** HTTP proxy (`http(s)://host[:port]`, no credentials) of the daemon and operators. Default: none. */
    readonly httpProxy?: string;
    /** Air-gap: load every image from `<imagesDir>/<name>.tar` on the host, never pull. Default: none (pull). */
    readonly airgap?: { readonly imagesDir: string };
    /** Where images come from and their pins. Default: see {@link ImageSourceArgs}. */
    readonly images?: ImageSourceArgs;
    /** Sidecars of the primary. Default: both. */
    readonly sidecars?: SidecarArgs;
    /** Accept published ports on every interface (0.0.0.0 / ::). Default: false. */
    readonly allowAllInterfaces?: boolean;
    /** Seconds a takeover's fallback gives the new containers to become healthy (30..3600). Default: 300. */
    readonly takeoverFallbackSeconds?: number;
    /** Elevated operations requested on this host. Default: none (timeout 300 s). */
    readonly operations?: OperationsArgs;
    /** Directories application and operation volumes must lie below. Default: none. */
    readonly volumeRoots?: readonly string[];
    /** Directories volume roots and snapshot destinations must lie below. Default: `/srv`, `/data`. */
    readonly dataPrefixes?: readonly string[];
    /** The applications that run on this host (a config entry's `hosts` is not consulted). Default: none. */
    readonly applications?: readonly ApplicationArgs[];
    /**
     * Resources the first changing step of this host also waits for: the install detections of
     * the stack's other hosts, so that an install disagreeing with the stack on any host stops
     * every host before anything changes. Default: only this host's own detection.
     */
    readonly installGate?: Promise<readonly pulumi.Resource[]>;
    /** Stack name: container labels, audit lines, local file names. Default: the running stack. */
    readonly stack?: string;
    /** Project name: local file names. Default: the running project. */
    readonly project?: string;
}

/** {@link ReplicatedHostArgs} with every default applied (the target is checked separately). */
export interface ResolvedReplicatedHostArgs {
    readonly version: string;
    readonly hostName: string;
    readonly role: HostRole;
    readonly privateAddress: string;
    readonly primaryAddress: string;
    readonly clusterAddresses: readonly string[];
    readonly channel: string;
    readonly allowDowngrade: boolean;
    readonly runAs: RunAs;
    readonly serviceUser: { readonly name: string; readonly uid?: number; readonly adoptExisting?: string; readonly allowNobodyUid: boolean };
    readonly console: { readonly port: number; readonly bindAddress: string };
    readonly logLevel: "debug" | "info" | "warn" | "error";
    readonly httpProxy?: string;
    readonly airgap?: { readonly imagesDir: string };
    readonly images: { readonly registry: string; readonly helper?: string; readonly pins: Readonly<Record<string, string>> };
    readonly sidecars: { readonly statsd: boolean; readonly premkit: boolean };
    readonly allowAllInterfaces: boolean;
    readonly takeoverFallbackSeconds: number;
    readonly operations: OperationsArgs & { readonly timeoutSeconds: number };
    readonly volumeRoots: readonly string[];
    readonly dataPrefixes: readonly string[];
    readonly applications: readonly ApplicationConfig[];
}

/** Pure: `args` with every default applied; `name` is the component's name (the default host name). */
export function withReplicatedHostDefaults(name: string, args: ReplicatedHostArgs): ResolvedReplicatedHostArgs {
    const primaryAddress = args.primaryAddress ?? args.privateAddress;
    return {
        version: args.version,
        hostName: args.hostName ?? name,
        role: args.role ?? "primary",
        privateAddress: args.privateAddress,
        primaryAddress,
        clusterAddresses: args.clusterAddresses ?? [...new Set([args.privateAddress, primaryAddress])],
        channel: args.channel ?? "stable",
        allowDowngrade: args.allowDowngrade ?? false,
        runAs: args.runAs ?? DEFAULT_RUN_AS,
        serviceUser: {
            name: args.serviceUser?.name ?? DEFAULT_SERVICE_ACCOUNT,
            ...(args.serviceUser?.uid !== undefined ? { uid: args.serviceUser.uid } : {}),
            ...(args.serviceUser?.adoptExisting !== undefined ? { adoptExisting: args.serviceUser.adoptExisting } : {}),
            allowNobodyUid: args.serviceUser?.allowNobodyUid ?? false,
        },
        console: { port: args.console?.port ?? DEFAULT_UI_PORT, bindAddress: args.console?.bindAddress ?? primaryAddress },
        logLevel: args.logLevel ?? "info",
        ...(args.httpProxy !== undefined ? { httpProxy: args.httpProxy } : {}),
        ...(args.airgap !== undefined ? { airgap: args.airgap } : {}),
        images: {
            registry: args.images?.registry ?? DEFAULT_REGISTRY,
            ...(args.images?.helper !== undefined ? { helper: args.images.helper } : {}),
            pins: args.images?.pins ?? {},
        },
        sidecars: { statsd: args.sidecars?.statsd ?? true, premkit: args.sidecars?.premkit ?? true },
        allowAllInterfaces: args.allowAllInterfaces ?? false,
        takeoverFallbackSeconds: args.takeoverFallbackSeconds ?? DEFAULT_TAKEOVER_FALLBACK_SECONDS,
        operations: { ...args.operations, timeoutSeconds: args.operations?.timeoutSeconds ?? DEFAULT_OPERATION_TIMEOUT_SECONDS },
        volumeRoots: args.volumeRoots ?? [],
        dataPrefixes: args.dataPrefixes ?? DEFAULT_DATA_PREFIXES,
        applications: (args.applications ?? []).map(applicationWithDefaults),
    };
}

/** Pure: one application with its defaults applied, in the form the container specs take. */
export function applicationWithDefaults(app: ApplicationArgs): ApplicationConfig {
    return {
        name: app.name,
        image: app.image,
        user: app.user ?? DEFAULT_APPLICATION_USER,
        allowRoot: app.allowRoot ?? false,
        volumes: (app.volumes ?? []).map((volume) => ({
            hostPath: volume.hostPath,
            containerPath: volume.containerPath,
            ...(volume.owner !== undefined ? { owner: volume.owner } : {}),
            ...(volume.group !== undefined ? { group: volume.group } : {}),
            mode: volume.mode ?? DEFAULT_VOLUME_MODE,
            readOnly: volume.readOnly ?? false,
        })),
        ports: (app.ports ?? []).map((port) => ({ internal: port.internal, external: port.external, protocol: port.protocol ?? "tcp" })),
        env: { ...(app.env ?? {}) },
        memory: app.memory ?? 256,
        ...(app.command !== undefined ? { command: [...app.command] } : {}),
        ...(app.healthcheck !== undefined ? { healthcheck: app.healthcheck } : {}),
    };
}

const VERSION_PATTERN = /^2\.(0|[1-9][0-9]{0,2})\.(0|[1-9][0-9]{0,2})$/;
const CHANNEL_PATTERN = /^[a-z0-9][a-z0-9-]{0,30}$/;

function isIntegerIn(value: unknown, min: number, max: number): boolean {
    return typeof value === "number" && Number.isInteger(value) && value >= min && value <= max;
}

/**
 * Pure: one message per argument of `given` that cannot work (checked with its defaults applied,
 * `args`), each starting with `<component>: <argument>`. The target is checked by `checkedHostTarget`.
 */
export function replicatedHostArgsProblems(component: string, given: ReplicatedHostArgs, args: ResolvedReplicatedHostArgs): string[] {
    const problems: string[] = [];
    const bad = (argument: string, value: unknown, rule: string): void => {
        problems.push(`${component}: ${argument} ${JSON.stringify(value)} ${rule}`);
    };
    if (typeof args.version !== "string" || !VERSION_PATTERN.test(args.version)) {
        bad("version", args.version, 'must be a Replicated 2.x version "2.<minor>.<patch>" (numbers without leading zeros)');
    }
    if (given.daemonToken === undefined || given.daemonToken === "") {
        problems.push(`${component}: daemonToken is required`);
    }
    if (typeof args.hostName !== "string" || !LABEL_PATTERN.test(args.hostName)) {
        bad("hostName", args.hostName, "must be a lowercase DNS label: ^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$");
    }
    if (args.role !== "primary" && args.role !== "operator") {
        bad("role", args.role, 'must be "primary" or "operator"');
    }
    const ipArgument = (argument: string, value: unknown, wildcardAllowed: boolean): void => {
        if (typeof value !== "string" || !isIPAddress(value)) {
            bad(argument, value, "must be an IPv4 or IPv6 address");
        } else if (!wildcardAllowed && isWildcardAddress(value)) {
            bad(argument, value, 'is the unspecified address ("every interface"), not an address of a host');
        }
    };
    // Addresses that default to privateAddress are checked only when given, so one bad address is one problem.
    ipArgument("privateAddress", args.privateAddress, false);
    if (given.primaryAddress !== undefined) {
        ipArgument("primaryAddress", given.primaryAddress, false);
    } else if (args.role === "operator") {
        problems.push(`${component}: primaryAddress is required on an operator (the primary's private address, where the operator reaches the daemon)`);
    }
    if (given.clusterAddresses !== undefined) {
        if (!Array.isArray(given.clusterAddresses) || given.clusterAddresses.length === 0) {
            bad("clusterAddresses", given.clusterAddresses, "must list the private address of every host");
        } else {
            given.clusterAddresses.forEach((address, index) => ipArgument(`clusterAddresses[${index}]`, address, false));
        }
    }
    if (typeof args.channel !== "string" || !CHANNEL_PATTERN.test(args.channel)) {
        bad("channel", args.channel, "must match ^[a-z0-9][a-z0-9-]{0,30}$");
    }
    if (args.runAs !== "replicated" && args.runAs !== "root") {
        bad("runAs", args.runAs, 'must be "replicated" or "root"');
    }
    const user = args.serviceUser;
    if (!isValidAccountName(user.name) || isSystemAccountName(user.name)) {
        bad("serviceUser.name", user.name, "must match ^[a-z_][a-z0-9_-]{0,30}$ and not be root or a system account");
    }
    if (user.uid !== undefined && (!isIntegerIn(user.uid, 1, MAX_ID) || (user.uid === NOBODY_ID && !user.allowNobodyUid))) {
        bad("serviceUser.uid", user.uid, `must be an integer from 1 to ${MAX_ID} (${NOBODY_ID} only with serviceUser.allowNobodyUid)`);
    }
    if (user.adoptExisting !== undefined && user.adoptExisting !== user.name) {
        bad("serviceUser.adoptExisting", user.adoptExisting, `must be the service account's own name ${JSON.stringify(user.name)}`);
    }
    if (!isIntegerIn(args.console.port, 1, 65535)) {
        bad("console.port", args.console.port, "must be an integer from 1 to 65535");
    }
    if (given.console?.bindAddress !== undefined) {
        ipArgument("console.bindAddress", given.console.bindAddress, args.allowAllInterfaces);
    }
    if (!["debug", "info", "warn", "error"].includes(args.logLevel)) {
        bad("logLevel", args.logLevel, "must be debug, info, warn or error");
    }
    if (args.httpProxy !== undefined && (typeof args.httpProxy !== "string" || !/^https?:\/\/[A-Za-z0-9.-]+(:[0-9]{1,5})?\/?$/.test(args.httpProxy))) {
        // The value is not quoted: a proxy URL may carry credentials.
        problems.push(`${component}: httpProxy must be http(s)://host[:port] without credentials`);
    }
    if (args.airgap !== undefined && !isCleanAbsolutePath(args.airgap.imagesDir)) {
        bad("airgap.imagesDir", args.airgap.imagesDir, "must be a clean absolute path");
    }
    if (!isIntegerIn(args.takeoverFallbackSeconds, 30, 3600)) {
        bad("takeoverFallbackSeconds", args.takeoverFallbackSeconds, "must be an integer from 30 to 3600");
    }
    if (!isIntegerIn(args.operations.timeoutSeconds, 5, 3600)) {
        bad("operations.timeoutSeconds", args.operations.timeoutSeconds, "must be an integer from 5 to 3600");
    }
    for (const operation of ["supportBundle", "volumes", "snapshot"] as const) {
        const request = args.operations[operation]?.request;
        if (args.operations[operation] !== undefined && (typeof request !== "string" || !REQUEST_ID_PATTERN.test(request))) {
            bad(`operations.${operation}.request`, request, "must match ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$");
        }
    }
    for (const [argument, list, min] of [["volumeRoots", args.volumeRoots, 0], ["dataPrefixes", args.dataPrefixes, 1]] as const) {
        if (!Array.isArray(list) || list.length < min) {
            bad(argument, list, min > 0 ? "must list at least one directory" : "must be a list of directories");
            continue;
        }
        list.forEach((dir, index) => {
            if (!isCleanAbsolutePath(dir)) {
                bad(`${argument}[${index}]`, dir, "must be a clean absolute path");
            }
        });
    }
    args.applications.forEach((app, index) => problems.push(...applicationProblems(component, `applications[${index}]`, app)));
    return problems;
}

const IMAGE_WITH_TAG = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?(\/[a-z0-9]([a-z0-9._-]*[a-z0-9])?)*:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const APPLICATION_USER = /^(image|service|(0|[1-9][0-9]{0,9}):(0|[1-9][0-9]{0,9}))$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/**
 * Pure: the problems of one application's own fields (the cross-application rules, such as a
 * port another application publishes, are the stack config's).
 */
function applicationProblems(component: string, at: string, app: ApplicationConfig): string[] {
    const problems: string[] = [];
    const bad = (argument: string, value: unknown, rule: string): void => {
        problems.push(`${component}: ${at}.${argument} ${JSON.stringify(value)} ${rule}`);
    };
    if (typeof app.name !== "string" || !LABEL_PATTERN.test(app.name)) {
        bad("name", app.name, "must be a lowercase DNS label: ^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$");
    }
    if (typeof app.image !== "string" || !IMAGE_WITH_TAG.test(app.image)) {
        bad("image", app.image, "must be an image reference with an explicit tag, e.g. registry.example.com/app:1.2.3");
    }
    if (!APPLICATION_USER.test(app.user)) {
        bad("user", app.user, 'must be "image", "service" or "<uid>:<gid>"');
    }
    if (!isIntegerIn(app.memory, 16, 1048576)) {
        bad("memory", app.memory, "must be an integer number of MiB from 16 to 1048576");
    }
    app.ports.forEach((port, p) => {
        for (const side of ["internal", "external"] as const) {
            if (!isIntegerIn(port[side], 1, 65535)) {
                bad(`ports[${p}].${side}`, port[side], "must be an integer from 1 to 65535");
            }
        }
        if (port.protocol !== "tcp" && port.protocol !== "udp") {
            bad(`ports[${p}].protocol`, port.protocol, 'must be "tcp" or "udp"');
        }
    });
    app.volumes.forEach((volume, v) => {
        for (const side of ["hostPath", "containerPath"] as const) {
            if (!isCleanAbsolutePath(volume[side])) {
                bad(`volumes[${v}].${side}`, volume[side], "must be a clean absolute path");
            }
        }
        if (!/^0?[0-7]{3}$/.test(volume.mode)) {
            bad(`volumes[${v}].mode`, volume.mode, 'must be an octal mode such as "0750"');
        }
    });
    for (const name of Object.keys(app.env).filter((key) => !ENV_NAME.test(key))) {
        // The value is not quoted: environment values may be secrets.
        problems.push(`${component}: ${at}.env: variable name ${JSON.stringify(name)} must match ^[A-Za-z_][A-Za-z0-9_]{0,63}$`);
    }
    return problems;
}
