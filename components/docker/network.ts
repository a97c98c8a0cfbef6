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

/** The network resource; fixed name, so the old one goes before a replacement is created. */
export function serviceNetwork(name: string, settings: ServiceNetworkSettings, opts: pulumi.CustomResourceOptions): docker.Network {
    return new docker.Network(name, serviceNetworkArgs(settings), { ...opts, deleteBeforeReplace: true });
}
