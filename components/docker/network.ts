/**
 * The user-defined bridge network the Replicated containers of one host share. Containers on it
 * reach each other by container name (replicated-statsd:8125, ...), and none of them sits on
 * Docker's default bridge with unrelated containers.
 */
import * as docker from "@pulumi/docker";
import type * as pulumi from "@pulumi/pulumi";
import { isIPv4 } from "../shell";
import { LABEL_HOST, LABEL_STACK } from "./container-spec";

/** Network name on every host (each host has its own engine, so the name is fixed). */
export const SERVICE_NETWORK_NAME = "replicated";

export interface ServiceNetworkSettings {
    /** Stack name, for the `replicated.stack` label. */
    readonly stack: string;
    /** Host name, for the `replicated.host` label. */
    readonly hostName: string;
    /** The host's private address: the network's default address for published ports. */
    readonly privateAddress: string;
}

/**
 * Pure: the network's args. `host_binding_ipv4` makes the private address the default for any
 * port published without an address, so even a port that forgot its `ip` never lands on
 * 0.0.0.0 (IPv4 only: Docker has no IPv6 equivalent).
 */
export function serviceNetworkArgs(settings: ServiceNetworkSettings): docker.NetworkArgs {
    return {
        name: SERVICE_NETWORK_NAME,
        driver: "bridge",
        ...(isIPv4(settings.privateAddress) ? { options: { "com.docker.network.bridge.host_binding_ipv4": settings.privateAddress } } : {}),
        labels: [
            { label: LABEL_STACK, value: settings.stack },
            { label: LABEL_HOST, value: settings.hostName },
        ],
    };
}

/**
 * Network inputs whose read-back the provider cannot match: Docker adds the daemon's
 * `default-network-opts` (daemon.json) to the options of every new network of that driver
 * (moby createNetwork), the provider reads them back, and `options` is ForceNew: without this a
 * host with such defaults would show a network replacement on every preview (and fail it, the
 * containers being attached). Consequence: a changed private address does not replace the
 * network; every published port names its address anyway.
 */
export const NETWORK_IGNORED_READ_BACK: readonly string[] = Object.freeze(["options"]);

/** The network resource; fixed name, so the old one goes before a replacement is created. */
export function serviceNetwork(name: string, settings: ServiceNetworkSettings, opts: pulumi.CustomResourceOptions): docker.Network {
    return new docker.Network(name, serviceNetworkArgs(settings), {
        ...opts,
        deleteBeforeReplace: true,
        ignoreChanges: [...NETWORK_IGNORED_READ_BACK],
    });
}
