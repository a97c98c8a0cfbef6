/**
 * Pure: how one service definition becomes the `docker.ContainerArgs` of a hardened container.
 *
 * Every container gets the same defaults unless its definition documents an exception:
 * numeric `user` `<uid>:<docker gid>` and `groupAdds` [docker gid], all capabilities dropped,
 * `no-new-privileges`, a read-only root file system with a tmpfs `/tmp`, memory and CPU limits,
 * rotated json-file logs, a healthcheck, the `unless-stopped` restart policy, ports bound
 * to an explicit address (never the provider's 0.0.0.0 default), a user-defined network,
 * labels naming stack, host and service, a stop grace period, and anonymous volumes kept on
 * removal. Every value is one the docker provider reads back unchanged (so the next preview is
 * empty), or is listed in {@link IGNORED_READ_BACK}; see tools/docker-provider-model.ts.
 *
 * Nothing here registers resources or does I/O. The only Pulumi calls combine inputs that are not
 * known yet (the uid and docker gid reported by the host, the image id, the daemon token); when
 * they are plain values the result is plain too, which is what the unit tests use.
 */
import type * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { MAX_ID, LABEL_PATTERN, isCleanAbsolutePath, isIPAddress, isWildcardAddress } from "../shell";

/** Path of the Docker API socket on every host. */
export const DOCKER_SOCKET = "/var/run/docker.sock";

/**
 * The only services allowed to mount the Docker socket: the daemon schedules application
 * containers and the operator runs them. Membership of the docker group plus the socket is
 * root-equivalent, so no other container may have it (CIS 5.32).
 */
export const SOCKET_SERVICES: readonly string[] = Object.freeze(["replicated", "replicated-operator"]);

/** Label keys every container carries (the policy pack and plan-diff read them). */
export const LABEL_STACK = "replicated.stack";
export const LABEL_HOST = "replicated.host";
export const LABEL_SERVICE = "replicated.service";

/** Scratch space of every container; the root file system itself is read-only (CIS 5.13). */
export const TMPFS_MOUNTS: Readonly<Record<string, string>> = Object.freeze({
    "/tmp": "rw,nosuid,nodev,noexec,size=64m,mode=1777",
});

/** json-file log rotation: at most 3 files of 10 MiB per container, so logs cannot fill the disk. */
export const LOG_DRIVER = "json-file";
export const LOG_OPTIONS: Readonly<Record<string, string>> = Object.freeze({ "max-size": "10m", "max-file": "3" });

/**
 * Inputs whose read-back the docker provider cannot match, so a difference after creation is
 * ignored (resource option `ignoreChanges`):
 * - `logOpts`: Docker merges the daemon's `log-opts` (daemon.json) into every container whose
 *   log driver is the daemon's default (moby mergeAndVerifyLogConfig), the provider reads the
 *   merged map back, and `log_opts` is ForceNew: without this every preview on such a host
 *   would replace every container. Consequence: a change of {@link LOG_OPTIONS} reaches a
 *   container when it is next recreated (every version upgrade recreates all of them).
 */
export const IGNORED_READ_BACK: readonly string[] = Object.freeze(["logOpts"]);

/**
 * Inputs the provider's update only records in the state (not ForceNew, not applied by
 * ContainerUpdate): a change must recreate the container, or the running one keeps the old
 * value while the state says otherwise. `mounts` is ForceNew only when the number of mounts
 * changes (no nested field is ForceNew), so a changed source or mode alone would be such an
 * update too.
 */
export const REPLACE_ON_CHANGES: readonly string[] = Object.freeze(["mounts", "tmpfs", "healthcheck"]);

/**
 * Default grace period of a stop (`destroyGraceSeconds` and the container's own `stopTimeout`):
 * Docker's own `docker stop` default. Without `destroyGraceSeconds` the provider stops a
 * container with timeout 0, i.e. SIGKILL right after the stop signal, on every replacement.
 */
export const DEFAULT_STOP_GRACE_SECONDS = 10;

/**
 * `unless-stopped`, chosen over the CIS 5.15 text's `on-failure:5`: with `on-failure` Docker does
 * not start again after a reboot a container that exited with status 0 when the engine stopped it
 * at shutdown, so a host would come back without Replicated. `unless-stopped` brings every
 * service back after a reboot or an engine restart, and a crash loop is slowed by Docker's
 * exponential back-off. The benchmark's own check (MaximumRetryCount at most 5) passes: it is 0.
 */
export const RESTART_POLICY = "unless-stopped";

/** Healthcheck timing: a probe every 15 s; three failures in a row mark the container unhealthy. */
export const HEALTHCHECK_TIMING = Object.freeze({ interval: "15s", timeout: "5s", retries: 3, startPeriod: "30s" });

export const SECURITY_OPTIONS: readonly string[] = Object.freeze(["no-new-privileges:true"]);

/** A host directory or file bound into the container. */
export interface BindMount {
    /** Absolute path on the host. It must exist: a missing source fails container creation instead of being created root-owned. */
    readonly source: string;
    /** Absolute path inside the container. */
    readonly target: string;
    /** Mount read-only. */
    readonly readOnly: boolean;
}

/** A published port. `ip` is always explicit: the docker provider defaults to 0.0.0.0. */
export interface PortBinding {
    /** Port inside the container. */
    readonly internal: number;
    /** Port on the host. */
    readonly external: number;
    /** Host address the port binds to. */
    readonly ip: string;
    readonly protocol: "tcp" | "udp";
}

/** What a service needs; {@link containerSpec} adds the hardening defaults. */
export interface ServiceDefinition {
    /** Container name (fixed, so the daemon and the operators find each other); also the `replicated.service` label. */
    readonly name: string;
    /** Bind mounts. Only {@link SOCKET_SERVICES} may mount {@link DOCKER_SOCKET}. */
    readonly mounts: readonly BindMount[];
    /** Environment that is not secret. */
    readonly env: Readonly<Record<string, string>>;
    /**
     * Environment that is secret (the daemon token). When present the whole `envs` input is a
     * Pulumi secret and `envs` is listed in additionalSecretOutputs. Default: none.
     */
    readonly secretEnv?: Readonly<Record<string, pulumi.Input<string>>>;
    /** Published ports. Default: none. */
    readonly ports: readonly PortBinding[];
    /** Memory limit in MiB (CIS 5.11). */
    readonly memoryMb: number;
    /** Relative CPU weight (CIS 5.12); not 1024, Docker's default weight, which counts as unset. */
    readonly cpuShares: number;
    /** Healthcheck command, run by /bin/sh in the container (CMD-SHELL). Built from validated values only. */
    readonly healthcheck: string;
    /**
     * Capabilities added back after dropping ALL. Default: none. Every entry must be justified
     * where the definition is written.
     */
    readonly capabilityAdds?: readonly string[];
    /**
     * Seconds the service gets to exit after SIGTERM before SIGKILL, when Pulumi removes or
     * replaces the container (`destroyGraceSeconds`) and when Docker stops it (`stopTimeout`:
     * `docker stop`, engine shutdown, reboot). Default: {@link DEFAULT_STOP_GRACE_SECONDS}.
     */
    readonly stopGraceSeconds?: number;
}

/** Where and as whom the container runs. */
export interface SpecContext {
    /** Stack name, for the `replicated.stack` label. */
    readonly stack: string;
    /** Host name (config `hosts[].name`), for the `replicated.host` label. */
    readonly hostName: string;
    /** uid the process runs as: the service user, or 0 only when `legacyRoot` is set. */
    readonly uid: pulumi.Input<number>;
    /** gid of the docker group: primary group and supplementary group of the process. Never 0. */
    readonly dockerGid: pulumi.Input<number>;
    /** Legacy `runAs: root` mode (installs before 2.5.0): uid 0 is accepted. Default false: uid 0 is refused. */
    readonly legacyRoot?: boolean;
    /** Image id (from the image resource) or reference. */
    readonly image: pulumi.Input<string>;
    /** Name of the user-defined network the container joins. */
    readonly network: pulumi.Input<string>;
    /** Accept ports bound to 0.0.0.0 or :: (config `allowAllInterfaces`). Default false. */
    readonly allowAllInterfaces?: boolean;
    /**
     * Another user than `<uid>:<docker gid>` (application containers only, see components/apps).
     * Default: the service mapping from `uid` and `dockerGid`, with `groupAdds` [docker gid].
     */
    readonly userOverride?: UserOverride;
}

/**
 * `{ kind: "image" }`: no `user` and no `groupAdds`, so the image's own USER applies.
 * `{ kind: "ids" }`: exactly `<uid>:<gid>`, no `groupAdds` (not in the docker group); uid or gid
 * 0 only with `allowRoot`.
 */
export type UserOverride =
    | { readonly kind: "image" }
    | { readonly kind: "ids"; readonly uid: number; readonly gid: number; readonly allowRoot: boolean };

/** The container's args plus the resource options that belong to them. */
export interface ContainerSpec {
    readonly args: docker.ContainerArgs;
    /** Outputs to mark secret (`envs` when a secret variable is present). */
    readonly additionalSecretOutputs: string[];
    /** Fixed names and host ports: the old container must go before the new one starts. */
    readonly deleteBeforeReplace: true;
    /** {@link IGNORED_READ_BACK}. */
    readonly ignoreChanges: string[];
    /** {@link REPLACE_ON_CHANGES}. */
    readonly replaceOnChanges: string[];
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const CAPABILITY = /^[A-Z_]+$/;

/** Thrown for a definition that breaks a hardening rule; the message names the service and the fix. */
export class ContainerSpecError extends Error {
    constructor(service: string, problem: string) {
        super(`container ${service}: ${problem}`);
        this.name = "ContainerSpecError";
    }
}

/**
 * Validate `definition` and return the hardened container args. Throws {@link ContainerSpecError}
 * for a definition that breaks a rule (socket outside the allowed services, a wildcard port
 * without `allowAllInterfaces`, a relative path, a bad env name, ...). uid and gid that are only
 * known later are checked when they resolve.
 */
export function containerSpec(definition: ServiceDefinition, context: SpecContext): ContainerSpec {
    validateDefinition(definition, context);
    const legacyRoot = context.legacyRoot ?? false;
    const stopGrace = definition.stopGraceSeconds ?? DEFAULT_STOP_GRACE_SECONDS;
    const hasSecretEnv = Object.keys(definition.secretEnv ?? {}).length > 0;

    const args: docker.ContainerArgs = {
        name: definition.name,
        image: context.image,
        ...userArgs(definition.name, context, legacyRoot),
        capabilities: {
            drops: ["ALL"],
            ...(definition.capabilityAdds && definition.capabilityAdds.length > 0 ? { adds: [...definition.capabilityAdds] } : {}),
        },
        securityOpts: [...SECURITY_OPTIONS],
        privileged: false,
        // Private IPC namespace: nothing can join it (CIS 5.17 only forbids "host").
        ipcMode: "private",
        readOnly: true,
        tmpfs: { ...TMPFS_MOUNTS },
        mounts: definition.mounts.map((mount) => ({
            type: "bind",
            source: mount.source,
            target: mount.target,
            readOnly: mount.readOnly,
        })),
        ports: definition.ports.map((port) => ({
            internal: port.internal,
            external: port.external,
            ip: port.ip,
            protocol: port.protocol,
        })),
        envs: environment(definition),
        networksAdvanced: [{ name: context.network }],
        memory: definition.memoryMb,
        // memory + swap = memory: no swap. Unset, dockerd stores twice the memory and the
        // provider reads that back (memory_swap is not Computed): a diff on every preview.
        memorySwap: definition.memoryMb,
        cpuShares: definition.cpuShares,
        restart: RESTART_POLICY,
        logDriver: LOG_DRIVER,
        logOpts: { ...LOG_OPTIONS },
        healthcheck: {
            tests: ["CMD-SHELL", definition.healthcheck],
            interval: HEALTHCHECK_TIMING.interval,
            timeout: HEALTHCHECK_TIMING.timeout,
            retries: HEALTHCHECK_TIMING.retries,
            startPeriod: HEALTHCHECK_TIMING.startPeriod,
        },
        labels: [
            { label: LABEL_STACK, value: context.stack },
            { label: LABEL_HOST, value: context.hostName },
            { label: LABEL_SERVICE, value: definition.name },
        ],
        destroyGraceSeconds: stopGrace,
        stopTimeout: stopGrace,
        // Anonymous volumes an image declares stay when a container is removed or replaced:
        // nothing on a host is deleted by Pulumi (the provider's default is to remove them).
        removeVolumes: false,
    };
    return {
        args,
        additionalSecretOutputs: hasSecretEnv ? ["envs"] : [],
        deleteBeforeReplace: true,
        ignoreChanges: [...IGNORED_READ_BACK],
        replaceOnChanges: [...REPLACE_ON_CHANGES],
    };
}

/** `KEY=value` lines sorted by key; a Pulumi secret as a whole when any variable is secret. */
function environment(definition: ServiceDefinition): pulumi.Input<pulumi.Input<string>[]> {
    const plain = Object.entries(definition.env);
    const secret = Object.entries(definition.secretEnv ?? {});
    if (secret.length === 0) {
        return plain.sort(([a], [b]) => a.localeCompare(b)).map(([key, value]) => `${key}=${value}`);
    }
    const secretValues = pulumi.all(secret.map(([, value]) => value));
    return pulumi.secret(
        secretValues.apply((values) => {
            const entries: Array<[string, string]> = [...plain, ...secret.map(([key], index): [string, string] => [key, values[index]])];
            for (const [key, value] of entries) {
                if (/[\0\n]/.test(value)) {
                    throw new ContainerSpecError(definition.name, `environment variable ${key} contains a newline or NUL`);
                }
            }
            return entries.sort(([a], [b]) => a.localeCompare(b)).map(([key, value]) => `${key}=${value}`);
        }),
    );
}

/** `"<uid>:<gid>"`, plain when both ids are plain numbers. */
export function userMapping(
    service: string,
    uid: pulumi.Input<number>,
    dockerGid: pulumi.Input<number>,
    legacyRoot: boolean,
): pulumi.Input<string> {
    const format = (u: number, g: number): string => formatUser(service, u, g, legacyRoot);
    if (typeof uid === "number" && typeof dockerGid === "number") {
        return format(uid, dockerGid);
    }
    return pulumi.all([uid, dockerGid]).apply(([u, g]) => format(u, g));
}

/**
 * `"<uid>:<gid>"` after the checks: integer ids in range, gid never 0, uid 0 only in legacy root
 * mode. Runs for plain ids at once and for late ids when they resolve (failing the update).
 */
export function formatUser(service: string, uid: number, gid: number, legacyRoot: boolean): string {
    checkIds(service, uid, gid, legacyRoot);
    return `${uid}:${gid}`;
}

/** `user` and `groupAdds` of the container: the service mapping, or the context's override. */
function userArgs(service: string, context: SpecContext, legacyRoot: boolean): Pick<docker.ContainerArgs, "user" | "groupAdds"> {
    const override = context.userOverride;
    if (override === undefined) {
        return { user: userMapping(service, context.uid, context.dockerGid, legacyRoot), groupAdds: groupAdds(service, context.dockerGid) };
    }
    if (override.kind === "image") {
        return {};
    }
    for (const [what, id] of [["uid", override.uid], ["gid", override.gid]] as const) {
        if (!Number.isInteger(id) || id < 0 || id > MAX_ID) {
            throw new ContainerSpecError(service, `${what} ${id} is not an integer between 0 and ${MAX_ID}`);
        }
        if (id === 0 && !override.allowRoot) {
            throw new ContainerSpecError(service, `${what} 0 is root; set allowRoot: true to record the exception, or use another id`);
        }
    }
    return { user: `${override.uid}:${override.gid}` };
}

function groupAdds(service: string, dockerGid: pulumi.Input<number>): pulumi.Input<pulumi.Input<string>[]> {
    if (typeof dockerGid === "number") {
        checkGid(service, dockerGid);
        return [String(dockerGid)];
    }
    return pulumi.output(dockerGid).apply((gid) => {
        checkGid(service, gid);
        return [String(gid)];
    });
}

function checkIds(service: string, uid: number, gid: number, legacyRoot: boolean): void {
    if (!Number.isInteger(uid) || uid < 0 || uid > MAX_ID) {
        throw new ContainerSpecError(service, `uid ${uid} is not an integer between 0 and ${MAX_ID}`);
    }
    if (uid === 0 && !legacyRoot) {
        throw new ContainerSpecError(
            service,
            "would run as uid 0 but runAs is \"replicated\". The service account reported uid 0: check serviceUser and the account step's output.",
        );
    }
    checkGid(service, gid);
}

function checkGid(service: string, gid: number): void {
    if (!Number.isInteger(gid) || gid < 1 || gid > MAX_ID) {
        throw new ContainerSpecError(
            service,
            `docker gid ${gid} is not an integer between 1 and ${MAX_ID} (gid 0 would make every file the container creates group root)`,
        );
    }
}

function validateDefinition(definition: ServiceDefinition, context: SpecContext): void {
    const service = definition.name;
    const fail = (problem: string): never => {
        throw new ContainerSpecError(service, problem);
    };
    if (!LABEL_PATTERN.test(service)) {
        fail("the container name must be a lowercase DNS label");
    }
    for (const mount of definition.mounts) {
        if (!isCleanAbsolutePath(mount.source) || !isCleanAbsolutePath(mount.target)) {
            fail(`mount ${mount.source} -> ${mount.target}: both paths must be clean absolute paths`);
        }
        if (mount.source === DOCKER_SOCKET && !SOCKET_SERVICES.includes(service)) {
            fail(`only ${SOCKET_SERVICES.join(" and ")} may mount the Docker socket (root-equivalent access)`);
        }
        if (mount.target === "/" || mount.target === "/tmp") {
            fail(`mount target ${mount.target} is reserved (read-only root, tmpfs /tmp)`);
        }
    }
    const targets = definition.mounts.map((mount) => mount.target);
    if (new Set(targets).size !== targets.length) {
        fail("two mounts share a target");
    }
    for (const port of definition.ports) {
        for (const [what, value] of [
            ["internal", port.internal],
            ["external", port.external],
        ] as const) {
            if (!Number.isInteger(value) || value < 1 || value > 65535) {
                fail(`port ${what} ${value} is not between 1 and 65535`);
            }
        }
        if (!isIPAddress(port.ip)) {
            fail(`port ${port.external}/${port.protocol}: bind address ${JSON.stringify(port.ip)} is not an IP address`);
        }
        if (isWildcardAddress(port.ip) && !(context.allowAllInterfaces ?? false)) {
            fail(
                `port ${port.external}/${port.protocol} would bind to ${port.ip} (every interface). ` +
                    "Bind it to the host's private address, or set replicated:allowAllInterfaces true to accept it",
            );
        }
    }
    const published = definition.ports.map((port) => `${port.ip}:${port.external}/${port.protocol}`);
    if (new Set(published).size !== published.length) {
        fail("two ports publish the same host address, port and protocol");
    }
    const names = [...Object.keys(definition.env), ...Object.keys(definition.secretEnv ?? {})];
    for (const name of names) {
        if (!ENV_NAME.test(name)) {
            fail(`environment variable name ${JSON.stringify(name)} must match ${ENV_NAME.source}`);
        }
    }
    if (new Set(names).size !== names.length) {
        fail("an environment variable is both plain and secret");
    }
    for (const [name, value] of Object.entries(definition.env)) {
        if (/[\0\n]/.test(value)) {
            fail(`environment variable ${name} contains a newline or NUL`);
        }
    }
    if (!Number.isInteger(definition.memoryMb) || definition.memoryMb < 16) {
        fail(`memory limit ${definition.memoryMb} MiB must be an integer of at least 16`);
    }
    if (!Number.isInteger(definition.cpuShares) || definition.cpuShares < 2 || definition.cpuShares > 262144 || definition.cpuShares === 1024) {
        fail(`cpuShares ${definition.cpuShares} must be an integer between 2 and 262144 other than 1024 (Docker's default, which CIS 5.12 counts as unset)`);
    }
    if (definition.healthcheck.trim() === "" || /[\0\n]/.test(definition.healthcheck)) {
        fail("the healthcheck must be one non-empty line");
    }
    const grace = definition.stopGraceSeconds ?? DEFAULT_STOP_GRACE_SECONDS;
    if (!Number.isInteger(grace) || grace < 1 || grace > 600) {
        fail(`stop grace period ${grace} s must be an integer between 1 and 600`);
    }
    for (const capability of definition.capabilityAdds ?? []) {
        if (!CAPABILITY.test(capability) || capability === "ALL" || capability === "SYS_ADMIN") {
            fail(`capability ${capability} cannot be added (ALL and SYS_ADMIN are never added)`);
        }
    }
}
