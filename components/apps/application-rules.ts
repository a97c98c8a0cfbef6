/**
 * Pure rules about applications that the config validation and the application containers
 * share: the parsed user modes, which hosts an application runs on, and what Replicated's own
 * containers reserve on a host (ports, air-gap tarball names).
 */
import { DEFAULT_APPLICATION_USER, DEFAULT_RUN_AS, DEFAULT_UI_PORT, DEFAULT_VOLUME_MODE } from "../config/defaults";
import { imageBaseName, REPLICATED_IMAGES } from "../docker/image-refs";
import { DAEMON_PORTS, PREMKIT_HOST_PORT, SERVICE_NAMES, STATSD_PORT } from "../docker/service-catalog";
import { hostRecords } from "../host/host-rules";
import { rawOperationVolumes, rawVolumeRoots } from "../ops/data-path-rules";
import { isCleanAbsolutePath, isPathWithin, MAX_ID } from "../shell";

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

/**
 * Cross-field rules of `replicated:applications[]` in the stack config (raw input, so defaults
 * are applied here by hand):
 * unique, unreserved names; the user mode against allowRoot, runAs and requireNonRootApplications;
 * volumes below a volume root, with an owner where the program cannot infer one, and one spec per
 * directory; known host names; host ports unique per host and clear of Replicated's own; air-gap
 * tarball names that do not collide.
 */
export function applicationProblems(input: Readonly<Record<string, unknown>>): string[] {
    const problems: string[] = [];
    const hosts = hostRecords(input);
    const volumeRoots = rawVolumeRoots(input);
    const operationVolumes = rawOperationVolumes(input);
    const applications = Array.isArray(input.applications) ? (input.applications as unknown[]) : [];
    const apps = applications.map((a) => (a !== null && typeof a === "object" ? (a as Record<string, unknown>) : {}));
    const at = (index: number, rest = ""): string => `replicated:applications[${index}]${rest}`;
    const runAs = input.runAs === "root" ? "root" : DEFAULT_RUN_AS;
    const requireNonRoot = input.requireNonRootApplications === true;
    const hostNames = new Set(hosts.map((h) => h.name).filter((n): n is string => typeof n === "string"));
    const primary = hosts.find((h) => h.role === "primary");
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

        const userText = typeof app.user === "string" ? app.user : DEFAULT_APPLICATION_USER;
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
                const spec = `${String(owner)}:${String(group)} ${fourDigitMode(vol.mode ?? DEFAULT_VOLUME_MODE)}`;
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
    const uiPort = typeof input.uiPort === "number" ? input.uiPort : DEFAULT_UI_PORT;
    for (const host of hosts) {
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
