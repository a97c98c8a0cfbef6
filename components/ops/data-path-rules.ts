/**
 * Rules for where on a host the elevated operations and application volumes may write, in the
 * stack config: the data prefixes, the volume roots below them, the snapshot destination and the
 * volume items. Read on the raw input, so they are reported together with the field errors.
 */
import { DEFAULT_DATA_PREFIXES } from "../config/defaults";
import { isCleanAbsolutePath, isPathWithin, isProtectedHostPath } from "../shell";

/** Trees the service account or its containers can write: nothing a root step trusts may lie there. */
export const SERVICE_TREES: readonly string[] = Object.freeze([
    "/var/lib/replicated",
    "/var/run/replicated",
    "/run/replicated",
    "/var/lib/replicated-operator",
    "/var/run/replicated-operator",
    "/run/replicated-operator",
]);


/** The clean absolute `replicated:volumeRoots` of the raw input (the others get field errors). */
export function rawVolumeRoots(input: Readonly<Record<string, unknown>>): string[] {
    return Array.isArray(input.volumeRoots) ? (input.volumeRoots as unknown[]).filter((r): r is string => typeof r === "string") : [];
}

/** The raw `replicated:operations.volumes.items` entries. */
export function rawOperationVolumes(input: Readonly<Record<string, unknown>>): Record<string, unknown>[] {
    const operations = input.operations as Record<string, unknown> | undefined;
    const volumes = operations?.volumes as Record<string, unknown> | undefined;
    return Array.isArray(volumes?.items) ? (volumes.items as Record<string, unknown>[]) : [];
}

/** Problems of the data prefixes, the volume roots, the snapshot destination and the volume items. */
export function dataPathProblems(input: Readonly<Record<string, unknown>>): string[] {
    const problems: string[] = [];
    const dataPrefixes = Array.isArray(input.dataPrefixes)
        ? (input.dataPrefixes as unknown[]).filter((p): p is string => typeof p === "string" && isCleanAbsolutePath(p))
        : [...DEFAULT_DATA_PREFIXES];
    dataPrefixes.forEach((prefix, index) => {
        if (isProtectedHostPath(prefix) || SERVICE_TREES.some((tree) => isPathWithin(prefix, tree) || isPathWithin(tree, prefix))) {
            problems.push(
                `replicated:dataPrefixes[${index}]: ${prefix} is a system or Replicated path (/, /etc, /usr, /var, /var/lib, /tmp, /var/lib/replicated, ...), which no operation may write below. ` +
                    "Fix: list dedicated data directories only, e.g. /srv or /data",
            );
        }
    });
    /** A clean absolute path strictly below one of the data prefixes. */
    const belowDataPrefix = (p: string): boolean => dataPrefixes.some((prefix) => p !== prefix && isPathWithin(p, prefix));
    const prefixList = JSON.stringify(dataPrefixes);

    const volumeRoots = rawVolumeRoots(input);
    volumeRoots.forEach((root, index) => {
        if (!isCleanAbsolutePath(root)) {
            return;
        }
        if (isProtectedHostPath(root)) {
            problems.push(
                `replicated:volumeRoots[${index}]: ${root} is a system or Replicated path (/, /etc, /usr, /var/lib/docker, /var/lib/replicated, /tmp, ...). ` +
                    "Fix: use a dedicated directory such as /srv/replicated-volumes",
            );
        } else if (!belowDataPrefix(root)) {
            problems.push(
                `replicated:volumeRoots[${index}]: ${root} is not below a data directory (replicated:dataPrefixes = ${prefixList}). ` +
                    "Fix: use a directory such as /srv/replicated-volumes, or add its data directory to replicated:dataPrefixes (pulumi config set --path 'replicated:dataPrefixes[2]' /data2)",
            );
        }
    });
    const operations = input.operations as Record<string, unknown> | undefined;
    const snapshot = operations?.snapshot as Record<string, unknown> | undefined;
    if (typeof snapshot?.destination === "string" && isCleanAbsolutePath(snapshot.destination)) {
        if (isProtectedHostPath(snapshot.destination)) {
            problems.push(
                `replicated:operations.snapshot.destination: ${snapshot.destination} is a system or Replicated path. ` +
                    "Fix: pulumi config set --path 'replicated:operations.snapshot.destination' /srv/replicated-snapshots",
            );
        } else if (!belowDataPrefix(snapshot.destination)) {
            problems.push(
                `replicated:operations.snapshot.destination: ${snapshot.destination} is not below a data directory (replicated:dataPrefixes = ${prefixList}). ` +
                    "Fix: pulumi config set --path 'replicated:operations.snapshot.destination' /srv/replicated-snapshots, or add its data directory to replicated:dataPrefixes",
            );
        }
    }

    const volumeItems = rawOperationVolumes(input);
    volumeItems.forEach((item, index) => {
        if (typeof item?.path === "string" && isCleanAbsolutePath(item.path) && !volumeRoots.some((root) => isPathWithin(item.path as string, root) && item.path !== root)) {
            problems.push(
                `replicated:operations.volumes.items[${index}].path: ${item.path} is not below an allowed root (replicated:volumeRoots = ${JSON.stringify(volumeRoots)}). ` +
                    `Fix: pulumi config set --path 'replicated:volumeRoots[0]' /srv/replicated-volumes, and use a path below it`,
            );
        }
    });

    return problems;
}
