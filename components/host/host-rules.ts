/**
 * Rules for how hosts are reached, in the stack config: the pinned host key, the SSH login and
 * its way to root, the addresses, and the login key. Read on the raw input, so they are reported
 * together with the field errors.
 */
import { utils as sshUtils } from "ssh2";
import { CONFIG_NAMESPACE, DEFAULT_SSH_USER, DEV_STACK } from "../config/defaults";
import { isWildcardAddress } from "../shell";

/** Host key types a pinned key may have (what pulumi-command then negotiates: see {@link hostKeyProblem}). */
const HOST_KEY_TYPES = ["ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521"];

/**
 * Why a pinned host key is unusable, or undefined. pulumi-command restricts the negotiated host
 * key algorithms to the pinned key's type; for an RSA key that is the SHA-1 `ssh-rsa` signature,
 * which OpenSSH 8.8 and later refuse, so every remote command would fail: RSA keys are refused here.
 * The base64 blob must be a well-formed key of the declared type (parsed with ssh2).
 */
export function hostKeyProblem(value: string): string | undefined {
    const match = /^([a-z0-9-]+) ([A-Za-z0-9+/]+={0,3})$/.exec(value);
    if (match === null) {
        return 'must be one public host key line "<type> <base64>" without a comment';
    }
    const [, type, blob] = match;
    if (type === "ssh-rsa") {
        return (
            "is an ssh-rsa key: the command provider would then negotiate only the SHA-1 ssh-rsa algorithm, which OpenSSH 8.8 and later refuse. " +
            "Pin the host's ed25519 or ecdsa key instead (ssh-keyscan -t ed25519 <address>)"
        );
    }
    if (!HOST_KEY_TYPES.includes(type)) {
        return `has key type ${type}; use an ed25519 or ecdsa host key (ssh-keyscan -t ed25519 <address>)`;
    }
    const parsed = sshUtils.parseKey(`${type} ${blob}`);
    const key = Array.isArray(parsed) ? parsed[0] : parsed;
    if (key instanceof Error || key === undefined || key.type !== type) {
        return `is not a valid ${type} public key (the base64 part does not decode to one). Copy it again from ssh-keyscan -t ed25519 <address>`;
    }
    return undefined;
}

/** The entries of `replicated:hosts` as records (anything else as an empty record). */
export function hostRecords(input: Readonly<Record<string, unknown>>): Record<string, unknown>[] {
    const hosts = Array.isArray(input.hosts) ? (input.hosts as unknown[]) : [];
    return hosts.map((h) => (h !== null && typeof h === "object" ? (h as Record<string, unknown>) : {}));
}

/** Problems of `replicated:hosts` as a whole: one primary, unique names, pinned keys, root access, real addresses. */
export function hostProblems(input: Readonly<Record<string, unknown>>, stack: string): string[] {
    const problems: string[] = [];
    const records = hostRecords(input);
    if (records.length > 0) {
        const primaries = records.filter((h) => h.role === "primary").length;
        if (primaries !== 1) {
            problems.push(
                `replicated:hosts: exactly one host must have role "primary", found ${primaries}. ` +
                    `Fix: pulumi config set --path 'replicated:hosts[0].role' primary (and "operator" on the others)`,
            );
        }
        const seen = new Map<string, number>();
        records.forEach((h, index) => {
            if (typeof h.name !== "string") {
                return;
            }
            const first = seen.get(h.name);
            if (first !== undefined) {
                problems.push(
                    `replicated:hosts[${index}].name: duplicate host name "${h.name}" (also hosts[${first}]). ` +
                        `Fix: pulumi config set --path 'replicated:hosts[${index}].name' ${h.name}-2`,
                );
            } else {
                seen.set(h.name, index);
            }
        });
        records.forEach((h, index) => {
            if (stack !== DEV_STACK && (h.hostKey === undefined || h.hostKey === "")) {
                problems.push(
                    `replicated:hosts[${index}].hostKey: required outside the "${DEV_STACK}" stack, so the host's identity is checked. ` +
                        `Fix: ssh-keyscan -t ed25519 <address> | cut -d' ' -f2-, then pulumi config set --path 'replicated:hosts[${index}].hostKey' 'ssh-ed25519 AAAA...'`,
                );
            }
            const user = h.user ?? DEFAULT_SSH_USER;
            if (user !== "root" && h.become === "none") {
                problems.push(
                    `replicated:hosts[${index}].become: user "${String(user)}" is not root, so it needs become: sudo to create the account and directories. ` +
                        `Fix: pulumi config set --path 'replicated:hosts[${index}].become' sudo`,
                );
            }
        });
    }

    records.forEach((h, index) => {
        // Checked here, before any resource: a wildcard private address would bind every port on
        // every interface and give operators no address to reach the primary at.
        if (typeof h.privateAddress === "string" && isWildcardAddress(h.privateAddress)) {
            problems.push(
                `replicated:hosts[${index}].privateAddress: ${h.privateAddress} is the unspecified address ("every interface"), not an address of this host. ` +
                    `Fix: pulumi config set --path 'replicated:hosts[${index}].privateAddress' <the host's private IP, e.g. 10.0.0.11>`,
            );
        }
        for (const field of ["address", "publicAddress"] as const) {
            if (typeof h[field] === "string" && isWildcardAddress(h[field] as string)) {
                problems.push(
                    `replicated:hosts[${index}].${field}: ${String(h[field])} is the unspecified address, not an address of a host. ` +
                        `Fix: pulumi config set --path 'replicated:hosts[${index}].${field}' <the host's IP or DNS name>`,
                );
            }
        }
    });
    return problems;
}

/**
 * Problems of the login key: exactly one of `sshPrivateKey` and `sshPrivateKeyPath`, and the key
 * itself stored as a secret (`secretKeys` lists the stack's secret keys, where known).
 */
export function sshKeyProblems(input: Readonly<Record<string, unknown>>, secretKeys: readonly string[] | undefined): string[] {
    const problems: string[] = [];
    const hasKey = input.sshPrivateKey !== undefined;
    const hasKeyPath = input.sshPrivateKeyPath !== undefined;
    if (hasKey === hasKeyPath) {
        problems.push(
            `replicated:sshPrivateKey / replicated:sshPrivateKeyPath: set exactly one of them (${hasKey ? "both are" : "neither is"} set). ` +
                `Fix: pulumi config set --secret replicated:sshPrivateKey < ~/.ssh/id_ed25519, or pulumi config set replicated:sshPrivateKeyPath ~/.ssh/id_ed25519`,
        );
    }
    if (hasKey && secretKeys !== undefined && !secretKeys.includes(`${CONFIG_NAMESPACE}:sshPrivateKey`)) {
        problems.push(
            "replicated:sshPrivateKey: is stored in plain text. Fix: pulumi config set --secret replicated:sshPrivateKey < ~/.ssh/id_ed25519",
        );
    }
    return problems;
}

/** Problems of `replicated:uiBindAddress`: every interface only when allowAllInterfaces says so. */
export function bindAddressProblems(input: Readonly<Record<string, unknown>>): string[] {
    const problems: string[] = [];
    const allowAll = input.allowAllInterfaces === true;
    if (typeof input.uiBindAddress === "string" && isWildcardAddress(input.uiBindAddress) && !allowAll) {
        problems.push(
            `replicated:uiBindAddress: ${input.uiBindAddress} publishes the admin console on every interface. ` +
                "Fix: use the host's private address, or set replicated:allowAllInterfaces true to accept it",
        );
    }
    return problems;
}
