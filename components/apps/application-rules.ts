/**
 * Pure rules about applications that the config validation and the application containers
 * share: the parsed user modes, which hosts an application runs on, and what Replicated's own
 * containers reserve on a host (ports, air-gap tarball names).
 */
import { imageBaseName, REPLICATED_IMAGES } from "../docker/image-refs";
import { DAEMON_PORTS, PREMKIT_HOST_PORT, SERVICE_NAMES, STATSD_PORT } from "../docker/service-catalog";
import { MAX_ID } from "../shell";

/** Who an application container runs as (parsed `applications[].user`). */
export type ApplicationUser =
    | { readonly kind: "image" }
    | { readonly kind: "service" }
    | { readonly kind: "ids"; readonly uid: number; readonly gid: number };

/** `"image"`, `"service"` or `"<uid>:<gid>"` → {@link ApplicationUser}; undefined for anything else. */
export function parseApplicationUser(user: string): ApplicationUser | undefined {
    if (user === "image" || user === "service") {
        return { kind: user };
    }
    const match = /^(0|[1-9][0-9]{0,9}):(0|[1-9][0-9]{0,9})$/.exec(user);
    if (!match) {
        return undefined;
    }
    const uid = Number(match[1]);
    const gid = Number(match[2]);
    return uid <= MAX_ID && gid <= MAX_ID ? { kind: "ids", uid, gid } : undefined;
}

/**
 * Whether the application's process may run as root, as far as the config can tell: `image`
 * (the image's user is unknown here, and most images default to root), uid or gid 0, or
 * `service` while the stack is in legacy root mode (the service uid is 0 there).
 */
export function mayRunAsRoot(user: ApplicationUser, runAs: "replicated" | "root"): boolean {
    switch (user.kind) {
        case "image":
            return true;
        case "service":
            return runAs === "root";
        case "ids":
            return user.uid === 0 || user.gid === 0;
    }
}

/**
 * Whether an application runs on a host: the hosts it lists, or, without a list, the primary
 * only (one instance, where the local operator runs, as Replicated schedules an untagged
 * component).
 */
export function runsOnHost(applicationHosts: readonly string[] | undefined, hostName: string, primaryName: string): boolean {
    return applicationHosts === undefined ? hostName === primaryName : applicationHosts.includes(hostName);
}

/** A host port one of Replicated's own containers publishes. */
export interface ReservedHostPort {
    readonly port: number;
    readonly protocol: "tcp" | "udp";
    /** The Replicated container that publishes it. */
    readonly service: string;
}

/**
 * Host ports Replicated's own containers publish on a host of `role`: on the primary the admin
 * console (`uiPort`), the daemon (9874-9879), premkit (9880) and statsd (8125/udp); on an
 * operator host none. The sidecar ports stay reserved while a sidecar is switched off, so
 * switching it on can never collide with an application. premkit's 2080/2443 and graphite's
 * 2443 are ports inside their containers, not on the host, so applications may publish them.
 */
export function replicatedHostPorts(role: "primary" | "operator", uiPort: number): ReservedHostPort[] {
    if (role !== "primary") {
        return [];
    }
    return [
        { port: uiPort, protocol: "tcp", service: SERVICE_NAMES.ui },
        ...DAEMON_PORTS.map((port): ReservedHostPort => ({ port, protocol: "tcp", service: SERVICE_NAMES.daemon })),
        { port: PREMKIT_HOST_PORT, protocol: "tcp", service: SERVICE_NAMES.premkit },
        { port: STATSD_PORT, protocol: "udp", service: SERVICE_NAMES.statsd },
    ];
}

/**
 * Air-gap tarball base names of Replicated's images (an application image may not reuse one):
 * the image names, with the helper's own base name when `images.helper` overrides it.
 */
export function replicatedTarballNames(helperReference: string | undefined): string[] {
    const names: string[] = REPLICATED_IMAGES.filter((name) => name !== "replicated-helper");
    names.push(helperReference === undefined ? "replicated-helper" : imageBaseName(helperReference));
    return names;
}
