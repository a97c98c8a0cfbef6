/**
 * What a fresh-host apply leaves on the host, normalised so that two hosts that got the same
 * work compare equal: the service account, the program's directories (owner, mode), the
 * tmpfiles.d entry and the key fields of each container's inspect (user, image, mounts,
 * capabilities, health status and the other isolation settings). Host-specific values (the
 * host name, its private address) are replaced by placeholders.
 */
import { directoryPaths, TMPFILES_CONF } from "../../components/host/host-directories";
import { run, shQuote, type TestHost } from "../../test/support/testhost";

const PART = "@@e2e-part";

/** One shell command that prints every part, each after a `@@e2e-part <name>` line. */
export function fingerprintCommand(account: string, containers: readonly string[]): string {
    const dirs = directoryPaths("primary").map(shQuote).join(" ");
    const names = containers.map(shQuote).join(" ");
    return [
        `echo '${PART} account'; id -u ${shQuote(account)}; id -g ${shQuote(account)}; id -G ${shQuote(account)}`,
        `echo '${PART} directories'; for d in ${dirs}; do stat -c '%n %u:%g %a %F' -- "$d" 2>&1; done`,
        `echo '${PART} tmpfiles'; cat -- ${shQuote(TMPFILES_CONF)} 2>&1`,
        `echo '${PART} containers'; docker inspect -- ${names}`,
        `echo '${PART} images'; docker image inspect -- $(docker inspect --format '{{.Image}}' -- ${names})`,
    ].join("\n");
}

interface Inspect {
    Name: string;
    Image: string;
    Config: Record<string, unknown> & { User?: string; Env?: string[]; Labels?: Record<string, string>; Healthcheck?: unknown; StopTimeout?: number };
    HostConfig: Record<string, unknown> & {
        Mounts?: Array<{ Type: string; Source?: string; Target: string; ReadOnly?: boolean; BindOptions?: unknown }>;
        CapAdd?: string[] | null;
        CapDrop?: string[] | null;
    };
    State: { Status: string; Health?: { Status: string } };
    NetworkSettings: { Networks: Record<string, unknown> };
}

/** The normalised fingerprint of a host (a stable JSON text). */
export function normaliseFingerprint(output: string, host: { name: string; privateAddress: string }): string {
    const parts = new Map<string, string>();
    for (const chunk of output.split(`${PART} `).slice(1)) {
        const newline = chunk.indexOf("\n");
        parts.set(chunk.slice(0, newline), chunk.slice(newline + 1));
    }
    for (const name of ["account", "directories", "tmpfiles", "containers", "images"]) {
        if (!parts.has(name)) throw new Error(`fingerprint: no ${name} part in ${output.slice(0, 500)}`);
    }
    const containers = JSON.parse(parts.get("containers") ?? "[]") as Inspect[];
    const images = JSON.parse(parts.get("images") ?? "[]") as Array<{ Id: string; RepoTags?: string[] }>;
    const tags = new Map(images.map((image) => [image.Id, [...(image.RepoTags ?? [])].sort()]));
    // The Engine API answers null where the CLI's create sent an empty map or list.
    const orNull = (value: unknown): unknown =>
        value === undefined || value === null || (typeof value === "object" && Object.keys(value).length === 0) ? null : value;
    const sortedMounts = (mounts: Inspect["HostConfig"]["Mounts"]) =>
        [...(mounts ?? [])]
            .map((m) => ({ type: m.Type, source: m.Source ?? "", target: m.Target, readOnly: m.ReadOnly === true, bind: m.BindOptions ?? null }))
            .sort((a, b) => a.target.localeCompare(b.target));
    const fingerprint = {
        account: parts.get("account")?.trim().split("\n"),
        directories: parts.get("directories")?.trim().split("\n"),
        tmpfiles: parts.get("tmpfiles")?.trim(),
        containers: containers
            .map((c) => ({
                name: c.Name,
                user: c.Config.User ?? "",
                image: tags.get(c.Image) ?? [`untagged ${c.Image}`],
                mounts: sortedMounts(c.HostConfig.Mounts),
                capAdd: [...(c.HostConfig.CapAdd ?? [])].sort(),
                capDrop: [...(c.HostConfig.CapDrop ?? [])].sort(),
                state: c.State.Status,
                health: c.State.Health?.Status ?? "none",
                readOnlyRoot: c.HostConfig.ReadonlyRootfs === true,
                securityOpt: orNull(c.HostConfig.SecurityOpt),
                groupAdd: orNull(c.HostConfig.GroupAdd),
                memory: [c.HostConfig.Memory, c.HostConfig.MemorySwap, c.HostConfig.CpuShares],
                ports: orNull(c.HostConfig.PortBindings),
                tmpfs: orNull(c.HostConfig.Tmpfs),
                restart: orNull(c.HostConfig.RestartPolicy),
                log: orNull(c.HostConfig.LogConfig),
                ipc: c.HostConfig.IpcMode ?? null,
                privileged: c.HostConfig.Privileged === true,
                env: [...(c.Config.Env ?? [])].filter((line) => !line.startsWith("PATH=")).sort(),
                labels: orNull(c.Config.Labels),
                healthcheck: orNull(c.Config.Healthcheck),
                stopTimeout: c.Config.StopTimeout ?? null,
                networks: Object.keys(c.NetworkSettings.Networks).sort(),
            }))
            .sort((a, b) => a.name.localeCompare(b.name)),
    };
    const text = JSON.stringify(fingerprint, null, 1);
    const escape = (value: string) => value.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    return text
        .replace(new RegExp(`(?<![A-Za-z0-9-])${escape(host.name)}(?![A-Za-z0-9-])`, "g"), "<host>")
        .replace(new RegExp(`(?<![0-9.])${escape(host.privateAddress)}(?![0-9])`, "g"), "<address>");
}

/** Read and normalise the fingerprint of `host` over one SSH command. */
export async function hostFingerprint(host: TestHost, account: string, containers: readonly string[]): Promise<string> {
    const result = await run(host, fingerprintCommand(account, containers), { timeoutMs: 120_000 });
    if (result.code !== 0) {
        throw new Error(`fingerprint of ${host.name} failed (exit ${result.code}): ${result.stderr.trim()}`);
    }
    return normaliseFingerprint(result.stdout, host);
}

/** The lines where two fingerprints differ (empty when equal), for the failure message. */
export function fingerprintDifference(a: string, b: string): string[] {
    const left = a.split("\n");
    const right = b.split("\n");
    const out: string[] = [];
    for (let i = 0; i < Math.max(left.length, right.length) && out.length < 40; i++) {
        if (left[i] !== right[i]) out.push(`line ${i + 1}: runner ${left[i] ?? "(none)"} | session ${right[i] ?? "(none)"}`);
    }
    return out;
}
