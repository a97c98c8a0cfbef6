/**
 * Pure: the stack's own application containers. Which hosts run each one, who its process runs
 * as (the three user modes), which volume directories the elevated `volumes` operation prepares
 * for it and under which request id, and the hardened container args (the same
 * {@link containerSpec} as Replicated's own services, with the application's user and labels).
 *
 * User modes (config `applications[].user`):
 *
 * | mode          | docker `user`                | `groupAdds`    | volume owner default         |
 * |---------------|------------------------------|----------------|------------------------------|
 * | `image`       | none: the image's own USER   | none           | none: owner and group required |
 * | `service`     | `<service uid>:<docker gid>` | [docker gid]   | service uid : docker gid     |
 * | `<uid>:<gid>` | `<uid>:<gid>`                | none           | uid : gid                    |
 *
 * Nothing here registers resources or does I/O; the service uid and docker gid may be Outputs
 * (they come from the host), everything else is plain validated config.
 */
import { createHash } from "node:crypto";
import * as pulumi from "@pulumi/pulumi";
import type { ApplicationConfig, HostConfig, ReplicatedConfig } from "../config";
import { LABEL_HOST, LABEL_STACK, containerSpec, type ContainerSpec, type ServiceDefinition, type UserOverride } from "../docker/container-spec";
import type { VolumeItemInput } from "../ops/elevated-operation";
import { parseApplicationUser, runsOnHost } from "./application-rules";

export * from "./application-rules";

/** Label naming the application (the policy pack recognises application containers by it). */
export const LABEL_APPLICATION = "replicated.application";
/** Label that records an accepted root application (`allowRoot: true`), value `true`. */
export const LABEL_ALLOW_ROOT = "replicated.allowRoot";

/**
 * CPU weight of every application container: above every Replicated service (at most 768), so
 * the application keeps priority under contention, and not 1024, which CIS 5.12 counts as unset.
 */
export const APPLICATION_CPU_SHARES = 1000;

/** Prefix of the request id of a host's application volumes (`apps-<16 hex>`). */
export const VOLUMES_REQUEST_PREFIX = "apps-";

/** Thrown for an application that cannot be turned into a container (config validation rejects these first). */
export class ApplicationSpecError extends Error {
    constructor(application: string, problem: string) {
        super(`application ${application}: ${problem}`);
        this.name = "ApplicationSpecError";
    }
}

/** The applications that run on `host`, in config order. */
export function applicationsForHost(
    config: Pick<ReplicatedConfig, "applications" | "primary">,
    host: Pick<HostConfig, "name">,
): ApplicationConfig[] {
    return config.applications.filter((app) => runsOnHost(app.hosts, host.name, config.primary.name));
}

/** Image references of the applications on `host`, deduplicated (the Images component provides them). */
export function applicationImageReferences(config: Pick<ReplicatedConfig, "applications" | "primary">, host: Pick<HostConfig, "name">): string[] {
    return [...new Set(applicationsForHost(config, host).map((app) => app.image))];
}

// ---------------------------------------------------------------------------------------------
// Volumes

/** One application volume directory as the config defines it; ids the host decides stay symbolic. */
export interface ApplicationVolumeSpec {
    /** Directory on the host (below a volume root). */
    readonly path: string;
    /** Owner uid, or `"service-uid"` (the service account's uid, known once the account exists). */
    readonly owner: number | "service-uid";
    /** Group gid, or `"docker-gid"` (the docker group's gid, known once the account step ran). */
    readonly group: number | "docker-gid";
    /** Octal mode, always four digits (`"0750"`), so `750` and `0750` are the same spec. */
    readonly mode: string;
}

function fourDigitMode(mode: string): string {
    return mode.length === 3 ? `0${mode}` : mode;
}

/**
 * The volume directories of `applications` (one host's), with owners defaulted per user mode:
 * `<uid>:<gid>` → that uid and gid, `service` → the service uid and the docker gid, `image` →
 * no default (the image's uid is unknown here; config validation requires owner and group).
 * Sorted by path; a directory two applications share appears once (validation guarantees the
 * same owner, group and mode).
 */
export function applicationVolumeSpecs(applications: readonly ApplicationConfig[]): ApplicationVolumeSpec[] {
    const byPath = new Map<string, ApplicationVolumeSpec>();
    for (const app of applications) {
        const user = parseApplicationUser(app.user);
        if (user === undefined) {
            throw new ApplicationSpecError(app.name, `user ${JSON.stringify(app.user)} is not "image", "service" or "<uid>:<gid>"`);
        }
        for (const volume of app.volumes) {
            const owner = volume.owner ?? (user.kind === "ids" ? user.uid : user.kind === "service" ? "service-uid" : undefined);
            const group = volume.group ?? (user.kind === "ids" ? user.gid : user.kind === "service" ? "docker-gid" : undefined);
            if (owner === undefined || group === undefined) {
                throw new ApplicationSpecError(
                    app.name,
                    `volume ${volume.hostPath} needs owner and group: with user "image" the image's uid is not known to the program`,
                );
            }
            const spec: ApplicationVolumeSpec = { path: volume.hostPath, owner, group, mode: fourDigitMode(volume.mode) };
            const other = byPath.get(spec.path);
            if (other !== undefined && JSON.stringify(other) !== JSON.stringify(spec)) {
                throw new ApplicationSpecError(app.name, `volume ${spec.path} is also defined by another application with a different owner, group or mode`);
            }
            byPath.set(spec.path, spec);
        }
    }
    return [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/**
 * `apps-<first 16 hex digits of sha256>` over the volume specs (and, when an owner is the
 * service account, over `runAs`, which decides that uid). The same specs always give the same
 * id, so an unchanged config never runs the operation again; any change gives a new id, which
 * runs it once.
 */
export function applicationVolumesRequest(specs: readonly ApplicationVolumeSpec[], runAs: "replicated" | "root"): string {
    const usesServiceIds = specs.some((spec) => spec.owner === "service-uid" || spec.group === "docker-gid");
    const canonical = JSON.stringify({ volumes: specs.map((s) => [s.path, s.owner, s.group, s.mode]), ...(usesServiceIds ? { runAs } : {}) });
    return `${VOLUMES_REQUEST_PREFIX}${createHash("sha256").update(canonical).digest("hex").slice(0, 16)}`;
}

/** The volume roots (config `volumeRoots`) that hold at least one of `specs`: what the helper mounts. */
export function rootsInUse(roots: readonly string[], specs: readonly ApplicationVolumeSpec[]): string[] {
    return [...new Set(roots)].filter((root) => specs.some((spec) => spec.path.startsWith(`${root}/`)));
}

/**
 * The volume items of the elevated `volumes` run: `service-uid` / `docker-gid` owners become the
 * ids the host reports (Inputs), explicit ids stay as they are.
 */
export function volumeItems(
    specs: readonly ApplicationVolumeSpec[],
    serviceUid: pulumi.Input<number>,
    dockerGid: pulumi.Input<number>,
): VolumeItemInput[] {
    return specs.map((spec) => ({
        path: spec.path,
        owner: spec.owner === "service-uid" ? serviceUid : spec.owner,
        group: spec.group === "docker-gid" ? dockerGid : spec.group,
        mode: spec.mode,
    }));
}

// ---------------------------------------------------------------------------------------------
// Containers

/** Where and with which ids an application container runs. */
export interface ApplicationContext {
    /** Stack name (`replicated.stack` label). */
    readonly stack: string;
    /** Host name (`replicated.host` label). */
    readonly hostName: string;
    /** The host's private address: every published port binds to it. */
    readonly privateAddress: string;
    /** `runAs` of the stack; in `root` mode the service uid is 0. */
    readonly runAs: "replicated" | "root";
    /** The service account's uid (user mode `service`). */
    readonly serviceUid: pulumi.Input<number>;
    /** The docker group's gid (user mode `service`). */
    readonly dockerGid: pulumi.Input<number>;
    /** Image id from the image resource. */
    readonly image: pulumi.Input<string>;
    /** User-defined network the container joins. */
    readonly network: pulumi.Input<string>;
    /** Accept wildcard bind addresses (config `allowAllInterfaces`). Default false. */
    readonly allowAllInterfaces?: boolean;
}

/**
 * Stands in for the probe of an application without a configured healthcheck while the spec is
 * built; {@link applicationSpec} removes the healthcheck again, so none reaches the container.
 */
const UNCONFIGURED_HEALTHCHECK = "true";

/**
 * The application as a {@link ServiceDefinition}: volumes as bind mounts (never a docker-managed
 * volume, whose missing source would be created as root), ports on the private address, plain
 * environment, the configured memory limit, {@link APPLICATION_CPU_SHARES}, and the configured
 * healthcheck (see {@link applicationSpec} for an application without one).
 */
export function applicationDefinition(app: ApplicationConfig, privateAddress: string): ServiceDefinition {
    return {
        name: app.name,
        mounts: app.volumes.map((volume) => ({ source: volume.hostPath, target: volume.containerPath, readOnly: volume.readOnly })),
        env: { ...app.env },
        ports: app.ports.map((port) => ({ internal: port.internal, external: port.external, ip: privateAddress, protocol: port.protocol })),
        memoryMb: app.memory,
        cpuShares: APPLICATION_CPU_SHARES,
        healthcheck: app.healthcheck ?? UNCONFIGURED_HEALTHCHECK,
    };
}

/** How {@link containerSpec} maps the user mode (undefined: the service mapping). */
export function userOverrideOf(app: Pick<ApplicationConfig, "name" | "user" | "allowRoot">): UserOverride | undefined {
    const user = parseApplicationUser(app.user);
    if (user === undefined) {
        throw new ApplicationSpecError(app.name, `user ${JSON.stringify(app.user)} is not "image", "service" or "<uid>:<gid>"`);
    }
    switch (user.kind) {
        case "image":
            return { kind: "image" };
        case "service":
            return undefined;
        case "ids":
            return { kind: "ids", uid: user.uid, gid: user.gid, allowRoot: app.allowRoot };
    }
}

/**
 * The hardened container args of one application: {@link containerSpec} with the user of its
 * mode, then its identity labels (`replicated.application`, and `replicated.allowRoot=true` for a
 * recorded root exception, instead of `replicated.service`) and its command. It never mounts the
 * Docker socket: containerSpec refuses that for every container but the daemon and the operator.
 *
 * Without a configured healthcheck the container gets none from the program, and an image's own
 * HEALTHCHECK stays in force: the program cannot know a meaningful probe for an arbitrary
 * application, so CIS 5.27 (health checked at runtime) is advisory for applications.
 */
export function applicationSpec(app: ApplicationConfig, context: ApplicationContext): ContainerSpec {
    const user = parseApplicationUser(app.user);
    if (user === undefined) {
        throw new ApplicationSpecError(app.name, `user ${JSON.stringify(app.user)} is not "image", "service" or "<uid>:<gid>"`);
    }
    if (user.kind === "service" && context.runAs === "root" && !app.allowRoot) {
        throw new ApplicationSpecError(app.name, 'user "service" is uid 0 while runAs is "root"; set allowRoot: true to accept it');
    }
    const spec = containerSpec(applicationDefinition(app, context.privateAddress), {
        stack: context.stack,
        hostName: context.hostName,
        uid: context.serviceUid,
        dockerGid: context.dockerGid,
        legacyRoot: user.kind === "service" && context.runAs === "root",
        image: context.image,
        network: context.network,
        allowAllInterfaces: context.allowAllInterfaces,
        userOverride: userOverrideOf(app),
    });
    const { healthcheck, ...hardened } = spec.args;
    return {
        ...spec,
        args: {
            ...hardened,
            ...(app.healthcheck !== undefined ? { healthcheck } : {}),
            labels: [
                { label: LABEL_STACK, value: context.stack },
                { label: LABEL_HOST, value: context.hostName },
                { label: LABEL_APPLICATION, value: app.name },
                ...(app.allowRoot ? [{ label: LABEL_ALLOW_ROOT, value: "true" }] : []),
            ],
            ...(app.command !== undefined ? { command: [...app.command] } : {}),
        },
    };
}
