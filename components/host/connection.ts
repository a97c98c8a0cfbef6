/**
 * Pure: the SSH connection every remote.Command on a host uses. One place decides host-key
 * pinning, dial retries and timeouts, so no command can forget them.
 */
import type * as command from "@pulumi/command";
import type { CheckedHostTarget } from "./host-target";

/** Dial attempts before a command fails (the provider default is 10). */
export const DIAL_ERROR_LIMIT = 5;
/** Seconds per dial attempt (the provider default is 15). */
export const PER_DIAL_TIMEOUT_SECONDS = 10;

/**
 * Connection args for `target` (see `checkedHostTarget`). The pinned `hostKey` is passed whenever
 * the target has one; without it the provider does not check the host's identity.
 */
export function hostConnection(target: CheckedHostTarget): command.types.input.remote.ConnectionArgs {
    return {
        host: target.address,
        port: target.port,
        user: target.user,
        privateKey: target.privateKey,
        ...(target.hostKey !== undefined ? { hostKey: target.hostKey } : {}),
        dialErrorLimit: DIAL_ERROR_LIMIT,
        perDialTimeout: PER_DIAL_TIMEOUT_SECONDS,
    };
}
