/**
 * Pure mapping from the validated stack config (`parseConfig` / `loadConfig`) to the components'
 * arguments: what the stack program feeds `ReplicatedHost` and `DaemonTokenCarryOver` with.
 * Nothing here reads configuration or registers a resource.
 */
import type * as pulumi from "@pulumi/pulumi";
import { applicationsForHost } from "./apps/application-spec";
import type { HostConfig, ReplicatedConfig } from "./config";
import type { HostTarget } from "./host/host-target";
import type { ReplicatedHostArgs } from "./replicated-host-args";

/**
 * How SSH reaches `host`: its address, port, user, become and pinned key, and the stack's key
 * (the configured file when there is one, so the docker provider's ssh reads that file; else the
 * secret contents).
 */
export function hostTargetFromConfig(config: Pick<ReplicatedConfig, "ssh">, host: HostConfig): HostTarget {
    return {
        address: host.address,
        port: host.port,
        user: host.user,
        become: host.become,
        ...(host.hostKey !== undefined ? { hostKey: host.hostKey } : {}),
        ...(config.ssh.path !== undefined ? { privateKeyFile: config.ssh.path } : { privateKey: config.ssh.privateKey }),
    };
}

/** What the program decides besides the config: the shared token and the stack-wide install gate. */
export interface ProgramInputs {
    /** The daemon token (a secret). */
    readonly daemonToken: pulumi.Input<string>;
    /** The install detections of every host (see {@link ReplicatedHostArgs.installGate}). Default: none. */
    readonly installGate?: Promise<readonly pulumi.Resource[]>;
}

/** The arguments of `ReplicatedHost` for `host`, one of `config.hosts`. */
export function replicatedHostArgsFromConfig(config: ReplicatedConfig, host: HostConfig, program: ProgramInputs): ReplicatedHostArgs {
    return {
        target: hostTargetFromConfig(config, host),
        version: config.version,
        daemonToken: program.daemonToken,
        ...(program.installGate !== undefined ? { installGate: program.installGate } : {}),
        hostName: host.name,
        role: host.role,
        privateAddress: host.privateAddress,
        primaryAddress: config.primary.privateAddress,
        clusterAddresses: config.hosts.map((h) => h.privateAddress),
        channel: config.channel,
        allowDowngrade: config.allowDowngrade,
        runAs: config.runAs,
        serviceUser: config.serviceUser,
        console: { port: config.uiPort, bindAddress: config.uiBindAddress },
        logLevel: config.logLevel,
        ...(config.httpProxy !== undefined ? { httpProxy: config.httpProxy } : {}),
        ...(config.airgap !== undefined ? { airgap: config.airgap } : {}),
        images: config.images,
        sidecars: config.sidecars,
        allowAllInterfaces: config.allowAllInterfaces,
        takeoverFallbackSeconds: config.takeover.fallbackSeconds,
        operations: config.operations,
        volumeRoots: config.volumeRoots,
        dataPrefixes: config.dataPrefixes,
        applications: applicationsForHost(config, host),
        stack: config.stack,
        project: config.project,
    };
}
