/**
 * Pure constants: what each Replicated service is called, which ports it uses, which host
 * directories it mounts, and its default limits and stop grace. A leaf module: the config rules,
 * the service definitions and the application rules all read it.
 */
/** Container names, fixed: the daemon and operators address each other by them and by port. */
export const SERVICE_NAMES = Object.freeze({
    daemon: "replicated",
    ui: "replicated-ui",
    operator: "replicated-operator",
    statsd: "replicated-statsd",
    premkit: "replicated-premkit",
} as const);

/** Daemon ports: 9874 registry, 9876 api, 9877 integration api, 9878 snapshots, 9879 operator endpoint (9875 reserved). */
export const DAEMON_PORTS: readonly number[] = Object.freeze([9874, 9875, 9876, 9877, 9878, 9879]);
/** Where operators reach the daemon. */
export const OPERATOR_ENDPOINT_PORT = 9879;
/** Admin console port inside the replicated-ui container (the host port is config `uiPort`). */
export const UI_CONTAINER_PORT = 8800;
/** premkit listens on 2080/2443 inside (moved off 80/443 to run without root); the host publishes 9880 -> 2443. */
export const PREMKIT_HTTPS_PORT = 2443;
export const PREMKIT_HOST_PORT = 9880;
/** statsd receives metrics on 8125/udp; graphite's web port 2443 stays on the network. */
export const STATSD_PORT = 8125;
export const GRAPHITE_WEB_PORT = 2443;

/** Host directories the services mount (created and owned by HostDirectories). */
export const HOST_PATHS = Object.freeze({
    daemonState: "/var/lib/replicated",
    daemonRun: "/var/run/replicated",
    operatorState: "/var/lib/replicated-operator",
    operatorRun: "/var/run/replicated-operator",
    statsdData: "/var/lib/replicated/statsd",
    premkitData: "/var/lib/replicated/premkit",
} as const);

/**
 * Default limits per service (MiB, CPU weight). The daemon and the operator do the real work;
 * the console and the sidecars are small. CPU weights stay below Docker's default 1024, so
 * application containers keep priority under contention, and are never exactly 1024 (CIS 5.12
 * counts 1024 as "not set").
 */
export const SERVICE_LIMITS: Readonly<Record<string, { memoryMb: number; cpuShares: number }>> = Object.freeze({
    replicated: { memoryMb: 2048, cpuShares: 768 },
    "replicated-ui": { memoryMb: 512, cpuShares: 512 },
    "replicated-operator": { memoryMb: 1024, cpuShares: 768 },
    "replicated-statsd": { memoryMb: 512, cpuShares: 256 },
    "replicated-premkit": { memoryMb: 256, cpuShares: 256 },
});

/**
 * Seconds each service gets between SIGTERM and SIGKILL when it is stopped (a replacement on
 * upgrade, `pulumi destroy`, `docker stop`, an engine restart or a reboot). The daemon and the
 * operator finish the API calls in flight and close their state on disk; statsd flushes its
 * metrics (every 10 s); the console and premkit only serve requests, for which Docker's own
 * default of 10 s is enough.
 */
export const STOP_GRACE_SECONDS: Readonly<Record<string, number>> = Object.freeze({
    replicated: 30,
    "replicated-ui": 10,
    "replicated-operator": 30,
    "replicated-statsd": 15,
    "replicated-premkit": 10,
});
