/**
 * Pure: the stack config of the scale benchmark. N hosts (the first the primary, the rest
 * operators) on private addresses, each with a pinned host key, in service-account mode with the
 * default sidecars: the shape of a large customer stack.
 */

/** A syntactically valid ed25519 host key line (never dialled: the program runs under mocks). */
export const SCALE_HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBenchScaleHostKeyNeverDialledUnderMocks0000";

/** 10.x.y.z address of host number `index` (1-based, up to 16 million hosts). */
export function scaleAddress(index: number): string {
    return `10.${(index >> 16) & 255}.${(index >> 8) & 255}.${index & 255}`;
}

export function scaleConfig(hosts: number, keyPath: string): Record<string, unknown> {
    if (!Number.isInteger(hosts) || hosts < 1) {
        throw new Error(`scale: the host count must be a positive integer, got ${String(hosts)}`);
    }
    if (!keyPath) {
        throw new Error("scale: BENCH_SCALE_KEY (a private key file path) is not set");
    }
    return {
        version: "2.53.2",
        runAs: "replicated",
        sshPrivateKeyPath: keyPath,
        hosts: Array.from({ length: hosts }, (_, i) => ({
            name: `host-${i + 1}`,
            address: scaleAddress(i + 1),
            port: 22,
            user: "root",
            role: i === 0 ? "primary" : "operator",
            privateAddress: scaleAddress(i + 1),
            hostKey: SCALE_HOST_KEY,
        })),
    };
}
