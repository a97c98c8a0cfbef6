/**
 * Pure: the SSH connection every remote.Command on a host uses. One place decides host-key
 * pinning, dial retries and timeouts, so no command can forget them.
 */
import type * as command from "@pulumi/command";
import type { SshKeyConfig } from "../config";
import type { ReachableHost } from "./host-target";

/** Dial attempts before a command fails (the provider default is 10). */
export const DIAL_ERROR_LIMIT = 5;
/** Seconds per dial attempt (the provider default is 15). */
export const PER_DIAL_TIMEOUT_SECONDS = 10;

/**
 * Connection args for `host`. The pinned `hostKey` is passed whenever configured (validation
 * requires it outside the dev stack); without it the provider does not check the host's identity.
 */
export function hostConnection(host: Pick<ReachableHost, "address" | "port" | "user" | "hostKey">, ssh: SshKeyConfig): command.types.input.remote.ConnectionArgs {
    return {
        host: host.address,
        port: host.port,
        user: host.user,
        privateKey: ssh.privateKey,
        ...(host.hostKey !== undefined ? { hostKey: host.hostKey } : {}),
        dialErrorLimit: DIAL_ERROR_LIMIT,
        perDialTimeout: PER_DIAL_TIMEOUT_SECONDS,
    };
}
