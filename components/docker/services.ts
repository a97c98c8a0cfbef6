/**
 * Pure: the five Replicated services as {@link ServiceDefinition}s: mounts, environment, ports,
 * limits and healthchecks, following what the Replicated 2.x installer ran (docs/containers.md).
 * {@link containerSpec} adds the hardening defaults; the components only wire the result.
 */
import type * as pulumi from "@pulumi/pulumi";
import { isIPv6 } from "../shell";
import { DOCKER_SOCKET, type BindMount, type PortBinding, type ServiceDefinition } from "./container-spec";
import {
    DAEMON_PORTS,
    GRAPHITE_WEB_PORT,
    HOST_PATHS,
    OPERATOR_ENDPOINT_PORT,
    PREMKIT_HOST_PORT,
    PREMKIT_HTTPS_PORT,
    SERVICE_LIMITS,
    SERVICE_NAMES,
    STATSD_PORT,
    STOP_GRACE_SECONDS,
    UI_CONTAINER_PORT,
} from "./service-catalog";

/** What the service definitions need to know about the host and the stack (all validated config). */
export interface ServiceSettings {
    /** This host's name (NODENAME). */
    readonly hostName: string;
    /** This host's private address: LOCAL_ADDRESS / PRIVATE_ADDRESS, and where ports bind. */
    readonly privateAddress: string;
    /** The primary's private address: where operators reach the daemon. */
    readonly primaryAddress: string;
    /** Private addresses of every host, for NO_PROXY. */
    readonly clusterAddresses: readonly string[];
    /** Release channel (RELEASE_CHANNEL). */
    readonly channel: string;
    /** LOG_LEVEL of every service. */
    readonly logLevel: string;
    /** HTTP proxy for the daemon and operators. Default: none. */
    readonly httpProxy?: string;
    /** Air-gapped install: the daemon gets AIRGAP=true. */
    readonly airgap: boolean;
    /** Host port of the admin console. */
    readonly uiPort: number;
    /** Address the admin console binds to. */
    readonly uiBindAddress: string;
    /** Shared daemon token (secret). */
    readonly daemonToken: pulumi.Input<string>;
}

/** `host:port`, with brackets around an IPv6 address. */
export function hostPort(address: string, port: number): string {
    return isIPv6(address) ? `[${address}]:${port}` : `${address}:${port}`;
}

/** A TCP connect probe with busybox/netcat `nc`, the common denominator of the service images. */
function tcpProbe(address: string, port: number): string {
    return `nc -w 3 ${address} ${port} </dev/null >/dev/null 2>&1`;
}

function proxyEnv(settings: ServiceSettings): Record<string, string> {
    if (settings.httpProxy === undefined) {
        return {};
    }
    const noProxy = [...new Set(["127.0.0.1", "localhost", ...settings.clusterAddresses])];
    return { HTTP_PROXY: settings.httpProxy, NO_PROXY: noProxy.join(",") };
}

const ro = (source: string, target: string): BindMount => ({ source, target, readOnly: true });
const rw = (source: string, path: string): BindMount => ({ source, target: path, readOnly: false });

/**
 * Host views the daemon and the operator read, read-only (CIS 5.6 allows read-only): the Docker
 * socket (mounted read-only, which does not stop connect(): it only prevents replacing the
 * socket file) and the host's /proc and /etc for host facts.
 */
function hostViews(): BindMount[] {
    return [ro(DOCKER_SOCKET, "/host/var/run/docker.sock"), ro("/proc", "/host/proc"), ro("/etc", "/host/etc")];
}

/**
 * The host's os-release for the daemon, as the original installer mounted it. On most
 * distributions /etc/os-release is a symlink to ../usr/lib/os-release, which dangles inside the
 * /host/etc view; Docker resolves the source and runc places the file where the symlink points,
 * so /host/etc/os-release reads the host's distribution.
 */
const OS_RELEASE = ro("/etc/os-release", "/host/etc/os-release");

/** The daemon (primary only). Owns /var/lib/replicated; shares /var/run/replicated with the console. */
export function daemonService(settings: ServiceSettings): ServiceDefinition {
    return {
        name: SERVICE_NAMES.daemon,
        mounts: [rw(HOST_PATHS.daemonState, HOST_PATHS.daemonState), rw(HOST_PATHS.daemonRun, HOST_PATHS.daemonRun), ...hostViews(), OS_RELEASE],
        env: {
            LOCAL_ADDRESS: settings.privateAddress,
            RELEASE_CHANNEL: settings.channel,
            LOG_LEVEL: settings.logLevel,
            NODENAME: settings.hostName,
            ...(settings.airgap ? { AIRGAP: "true" } : {}),
            ...proxyEnv(settings),
        },
        secretEnv: { DAEMON_TOKEN: settings.daemonToken },
        ports: DAEMON_PORTS.map(
            (port): PortBinding => ({ internal: port, external: port, ip: settings.privateAddress, protocol: "tcp" }),
        ),
        ...SERVICE_LIMITS[SERVICE_NAMES.daemon],
        stopGraceSeconds: STOP_GRACE_SECONDS[SERVICE_NAMES.daemon],
        healthcheck: tcpProbe("127.0.0.1", OPERATOR_ENDPOINT_PORT),
    };
}

/** The admin console (primary only): only /var/run/replicated, where the daemon's CLI socket lives. */
export function adminConsoleService(settings: ServiceSettings): ServiceDefinition {
    return {
        name: SERVICE_NAMES.ui,
        mounts: [rw(HOST_PATHS.daemonRun, HOST_PATHS.daemonRun)],
        env: { LOG_LEVEL: settings.logLevel },
        ports: [{ internal: UI_CONTAINER_PORT, external: settings.uiPort, ip: settings.uiBindAddress, protocol: "tcp" }],
        ...SERVICE_LIMITS[SERVICE_NAMES.ui],
        stopGraceSeconds: STOP_GRACE_SECONDS[SERVICE_NAMES.ui],
        healthcheck: tcpProbe("127.0.0.1", UI_CONTAINER_PORT),
    };
}

/**
 * The operator: on every host; on the primary it is the local operator (TAGS=local). It reaches
 * the daemon at the primary's private address, port 9879, with the shared token. No ports.
 */
export function operatorService(settings: ServiceSettings, options: { local: boolean }): ServiceDefinition {
    return {
        name: SERVICE_NAMES.operator,
        mounts: [rw(HOST_PATHS.operatorState, HOST_PATHS.operatorState), rw(HOST_PATHS.operatorRun, HOST_PATHS.operatorRun), ...hostViews()],
        env: {
            DAEMON_ENDPOINT: hostPort(settings.primaryAddress, OPERATOR_ENDPOINT_PORT),
            PRIVATE_ADDRESS: settings.privateAddress,
            NODENAME: settings.hostName,
            LOG_LEVEL: settings.logLevel,
            ...(options.local ? { TAGS: "local" } : {}),
            ...proxyEnv(settings),
        },
        secretEnv: { DAEMON_TOKEN: settings.daemonToken },
        ports: [],
        ...SERVICE_LIMITS[SERVICE_NAMES.operator],
        stopGraceSeconds: STOP_GRACE_SECONDS[SERVICE_NAMES.operator],
        // Healthy means: the daemon endpoint answers from here.
        healthcheck: tcpProbe(settings.primaryAddress, OPERATOR_ENDPOINT_PORT),
    };
}

/** statsd + graphite (primary, switchable). Data under /var/lib/replicated/statsd. */
export function statsdService(settings: ServiceSettings): ServiceDefinition {
    return {
        name: SERVICE_NAMES.statsd,
        mounts: [rw(HOST_PATHS.statsdData, "/data")],
        env: {},
        ports: [{ internal: STATSD_PORT, external: STATSD_PORT, ip: settings.privateAddress, protocol: "udp" }],
        ...SERVICE_LIMITS[SERVICE_NAMES.statsd],
        stopGraceSeconds: STOP_GRACE_SECONDS[SERVICE_NAMES.statsd],
        healthcheck: tcpProbe("127.0.0.1", GRAPHITE_WEB_PORT),
    };
}

/** premkit reverse proxy (primary, switchable): host 9880 -> 2443, data in /data. */
export function premkitService(settings: ServiceSettings): ServiceDefinition {
    return {
        name: SERVICE_NAMES.premkit,
        mounts: [rw(HOST_PATHS.premkitData, "/data")],
        env: {},
        ports: [{ internal: PREMKIT_HTTPS_PORT, external: PREMKIT_HOST_PORT, ip: settings.privateAddress, protocol: "tcp" }],
        ...SERVICE_LIMITS[SERVICE_NAMES.premkit],
        stopGraceSeconds: STOP_GRACE_SECONDS[SERVICE_NAMES.premkit],
        healthcheck: tcpProbe("127.0.0.1", PREMKIT_HTTPS_PORT),
    };
}
