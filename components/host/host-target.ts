/**
 * Where the SSH steps reach a host when its address is known only at deploy time (another
 * resource's output, such as a VM's private IP). Everything else about the host stays the
 * plain, validated {@link HostConfig}.
 */
import * as pulumi from "@pulumi/pulumi";
import type { HostConfig } from "../config";
import { isHostAddress } from "../shell";

/** A host as the SSH steps use it: {@link HostConfig} whose address may be an Input. */
export type ReachableHost = Omit<HostConfig, "address"> & {
    /** Address SSH dials: a DNS host name or an IP address. */
    readonly address: pulumi.Input<string>;
};

/** Overrides of how a host is reached. */
export interface HostTarget {
    /**
     * Address SSH dials (commands and the docker provider), in place of the config's
     * `hosts[].address`; may be another resource's output, checked when it resolves.
     * Default: the config's address.
     */
    readonly address: pulumi.Input<string>;
}

/** The error for a target address that is not a host name or an IP address (it names the argument). */
export function targetAddressProblem(component: string, address: string): string | undefined {
    return isHostAddress(address) ? undefined : `${component}: target.address ${JSON.stringify(address)} must be a DNS host name or an IP address`;
}

/**
 * `host` as reached through `target`: without a target, `host` itself (unchanged); a plain
 * address is checked now, an Input one when it resolves (a bad value fails the deployment there).
 */
export function reachableHost(component: string, host: HostConfig, target?: HostTarget): ReachableHost {
    if (target === undefined) {
        return host;
    }
    const check = (address: string): string => {
        const problem = targetAddressProblem(component, address);
        if (problem !== undefined) {
            throw new Error(problem);
        }
        return address;
    };
    if (typeof target.address === "string") {
        return { ...host, address: check(target.address) };
    }
    return { ...host, address: pulumi.output(target.address).apply(check) };
}
