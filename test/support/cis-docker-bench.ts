/**
 * CIS Docker Benchmark 1.6 container checks, as docker-bench-security tests them, written as
 * pure functions over `docker inspect` JSON of one container (tests and the benchmark reuse them).
 *
 * Implemented: 4.1, 5.4, 5.5, 5.6, 5.10-5.17, 5.21, 5.26, 5.27, 5.32. Where docker-bench's test is
 * weaker than the benchmark text the stricter reading is used and said so (4.1 also fails
 * "0:<gid>"; 5.26 needs no-new-privileges to be on, not merely mentioned).
 */

/** The fields of `docker inspect <container>` the checks read. */
export interface ContainerInspect {
    Name?: string;
    Config?: {
        User?: string;
        Healthcheck?: { Test?: string[] | null } | null;
        Labels?: Record<string, string> | null;
    };
    HostConfig?: {
        CapAdd?: string[] | null;
        CapDrop?: string[] | null;
        Privileged?: boolean;
        NetworkMode?: string;
        Memory?: number;
        CpuShares?: number;
        NanoCpus?: number;
        ReadonlyRootfs?: boolean;
        PortBindings?: Record<string, Array<{ HostIp?: string; HostPort?: string }> | null> | null;
        RestartPolicy?: { Name?: string; MaximumRetryCount?: number };
        PidMode?: string;
        IpcMode?: string;
        UTSMode?: string;
        SecurityOpt?: string[] | null;
    };
    Mounts?: Array<{ Type?: string; Source?: string; Destination?: string; RW?: boolean }> | null;
    NetworkSettings?: { Ports?: Record<string, Array<{ HostIp?: string; HostPort?: string }> | null> | null };
    State?: { Health?: { Status?: string } | null };
}

export interface CisResult {
    /** Recommendation id, e.g. "5.13". */
    readonly id: string;
    readonly title: string;
    readonly pass: boolean;
    /** What was found. */
    readonly detail: string;
}

/** Capabilities Docker grants by default (moby's defaultCapabilities). */
export const DOCKER_DEFAULT_CAPABILITIES: readonly string[] = [
    "CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID",
    "SETFCAP", "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE",
];

/** Host directories that must never be mounted read-write (5.6). */
export const SENSITIVE_HOST_DIRS: readonly string[] = ["/", "/boot", "/dev", "/etc", "/lib", "/proc", "/sys", "/usr"];

const WILDCARD = new Set(["", "0.0.0.0", "::", "[::]"]);

type Check = (c: ContainerInspect) => CisResult;

const result = (id: string, title: string, pass: boolean, detail: string): CisResult => ({ id, title, pass, detail });

function bindings(c: ContainerInspect): Array<{ port: string; hostIp: string }> {
    const out: Array<{ port: string; hostIp: string }> = [];
    for (const source of [c.HostConfig?.PortBindings, c.NetworkSettings?.Ports]) {
        for (const [port, list] of Object.entries(source ?? {})) {
            for (const binding of list ?? []) {
                out.push({ port, hostIp: binding.HostIp ?? "" });
            }
        }
    }
    return out;
}

function notHost(id: string, title: string, mode: string | undefined): CisResult {
    return result(id, title, mode !== "host", `mode ${JSON.stringify(mode ?? "")}`);
}

export const CIS_CHECKS: Readonly<Record<string, Check>> = {
    "4.1": (c) => {
        const user = c.Config?.User ?? "";
        const uidPart = user.split(":")[0];
        const pass = uidPart !== "" && uidPart !== "0" && uidPart !== "root";
        return result("4.1", "Ensure that a user for the container has been created", pass, `User=${JSON.stringify(user)}`);
    },
    "5.4": (c) => {
        const added = c.HostConfig?.CapAdd ?? [];
        const extra = added.map((cap) => cap.replace(/^CAP_/, "")).filter((cap) => !DOCKER_DEFAULT_CAPABILITIES.includes(cap));
        return result("5.4", "Ensure that Linux kernel capabilities are restricted within containers", extra.length === 0,
            `CapAdd=${JSON.stringify(added)} CapDrop=${JSON.stringify(c.HostConfig?.CapDrop ?? [])}`);
    },
    "5.5": (c) => result("5.5", "Ensure that privileged containers are not used", c.HostConfig?.Privileged !== true, `Privileged=${String(c.HostConfig?.Privileged)}`),
    "5.6": (c) => {
        const bad = (c.Mounts ?? []).filter((m) => SENSITIVE_HOST_DIRS.includes(m.Source ?? "") && m.RW === true);
        return result("5.6", "Ensure sensitive host system directories are not mounted on containers", bad.length === 0,
            bad.length === 0 ? "no read-write sensitive mount" : `read-write: ${bad.map((m) => m.Source).join(", ")}`);
    },
    "5.10": (c) => notHost("5.10", "Ensure that the host's network namespace is not shared", c.HostConfig?.NetworkMode),
    "5.11": (c) => result("5.11", "Ensure that the memory usage for containers is limited", (c.HostConfig?.Memory ?? 0) > 0, `Memory=${c.HostConfig?.Memory ?? 0}`),
    "5.12": (c) => {
        const shares = c.HostConfig?.CpuShares ?? 0;
        const nano = c.HostConfig?.NanoCpus ?? 0;
        // docker-bench: shares 0 (unset) or 1024 (the default) count as not set.
        return result("5.12", "Ensure that CPU priority is set appropriately on containers", (shares !== 0 && shares !== 1024) || nano > 0, `CpuShares=${shares} NanoCpus=${nano}`);
    },
    "5.13": (c) => result("5.13", "Ensure that the container's root filesystem is mounted as read only", c.HostConfig?.ReadonlyRootfs === true, `ReadonlyRootfs=${String(c.HostConfig?.ReadonlyRootfs)}`),
    "5.14": (c) => {
        const wide = bindings(c).filter((b) => WILDCARD.has(b.hostIp));
        return result("5.14", "Ensure that incoming container traffic is bound to a specific host interface", wide.length === 0,
            wide.length === 0 ? `bound: ${[...new Set(bindings(c).map((b) => `${b.hostIp}/${b.port}`))].join(", ") || "no ports"}` : `all interfaces: ${wide.map((b) => b.port).join(", ")}`);
    },
    "5.15": (c) => {
        const policy = c.HostConfig?.RestartPolicy ?? {};
        const retries = policy.MaximumRetryCount ?? 0;
        // As docker-bench tests it: only a retry count above 5 fails (unlimited on-failure
        // retries are the risk the recommendation addresses).
        return result("5.15", "Ensure that the 'on-failure' container restart policy is set to '5'", retries <= 5,
            `RestartPolicy=${policy.Name ?? ""}:${retries}`);
    },
    "5.16": (c) => notHost("5.16", "Ensure that the host's process namespace is not shared", c.HostConfig?.PidMode),
    "5.17": (c) => notHost("5.17", "Ensure that the host's IPC namespace is not shared", c.HostConfig?.IpcMode),
    "5.21": (c) => notHost("5.21", "Ensure that the host's UTS namespace is not shared", c.HostConfig?.UTSMode),
    "5.26": (c) => {
        const opts = c.HostConfig?.SecurityOpt ?? [];
        const on = opts.some((opt) => /^no-new-privileges(?:(?::|=)true)?$/.test(opt));
        return result("5.26", "Ensure that the container is restricted from acquiring additional privileges", on, `SecurityOpt=${JSON.stringify(opts)}`);
    },
    "5.27": (c) => {
        const test = c.Config?.Healthcheck?.Test ?? [];
        const set = test.length > 0 && test[0] !== "NONE";
        return result("5.27", "Ensure that container health is checked at runtime", set,
            `Healthcheck=${JSON.stringify(test)} Status=${c.State?.Health?.Status ?? "none"}`);
    },
    "5.32": (c) => {
        const sockets = (c.Mounts ?? []).filter((m) => (m.Source ?? "").endsWith("docker.sock"));
        return result("5.32", "Ensure that the Docker socket is not mounted inside any containers", sockets.length === 0,
            sockets.length === 0 ? "not mounted" : `mounted at ${sockets.map((m) => m.Destination).join(", ")}`);
    },
};

/** Every implemented check, in benchmark order. */
export const CIS_CHECK_IDS: readonly string[] = Object.keys(CIS_CHECKS);

/** Run every check on one container. */
export function runCisChecks(container: ContainerInspect): CisResult[] {
    return CIS_CHECK_IDS.map((id) => CIS_CHECKS[id](container));
}
