/**
 * The stack's application containers on one host: first one elevated `volumes` run that creates
 * their host volume directories with the configured owner and mode, then one hardened container
 * per application (application-spec.ts), each waiting for its volumes.
 *
 * The volumes run is an ElevatedOperation (elevated-run with the `volumes` script, a request-id
 * trigger, no delete command) with the request id `apps-<hash of the volume specs>`: an unchanged
 * config never runs it again, a changed one runs it once. In `service` mode the owners are the
 * service uid and the docker gid, which the host reports during the update.
 */
import type * as remote from "@pulumi/command/remote";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { ApplicationConfig } from "../config";
import type { HostTarget } from "../host/host-target";
import { ElevatedOperation } from "../ops/elevated-operation";
import {
    applicationSpec,
    applicationVolumeSpecs,
    applicationVolumesRequest,
    rootsInUse,
    volumeItems,
} from "./application-spec";

export interface ApplicationContainersArgs {
    /** Stack name: container labels and the elevated run's audit line. */
    readonly stack: string;
    /** The host's name: it labels the containers. Required. */
    readonly hostName: string;
    /** The host's private address: published ports bind to it. Required. */
    readonly privateAddress: string;
    /** The applications that run on this host (see `applicationsForHost`), validated config. */
    readonly applications: readonly ApplicationConfig[];
    /** Stack `runAs`: in `root` mode the service uid, and so user mode `service`, is 0. */
    readonly runAs: "replicated" | "root";
    /** Allowed volume roots (config `volumeRoots`); every volume lies strictly below one. */
    readonly volumeRoots: readonly string[];
    /** The service account's uid (user mode `service`, and its volume owner default). */
    readonly serviceUid: pulumi.Input<number>;
    /** The docker group's gid (user mode `service`, and its volume group default). */
    readonly dockerGid: pulumi.Input<number>;
    /** Accept wildcard port bindings (config `allowAllInterfaces`). Default false. */
    readonly allowAllInterfaces?: boolean;
    /** Image id of a reference, from the host's Images component (`images.image(reference)`). */
    readonly imageId: (reference: string) => pulumi.Input<string>;
    /** Name of the host's user-defined network. */
    readonly network: pulumi.Input<string>;
    /** Docker provider of the host. */
    readonly provider: docker.Provider;
    /** How SSH reaches the host, for the volumes run (address, port, user, become, keys). Required. */
    readonly target: HostTarget;
    /** Helper image present on the host (pass the Images output so the run waits for it). */
    readonly helperImage: pulumi.Input<string>;
    /** Hard timeout of the volumes run, seconds. Default: 300. */
    readonly timeoutSeconds?: number;
    /** Directories volume roots must lie strictly below (`replicated:dataPrefixes`), re-checked on the host. */
    readonly dataPrefixes: readonly string[];
    /** The helper's pinned image id (`replicated:images.pins`). Default: not pinned. */
    readonly helperImageId?: pulumi.Input<string>;
    /** What the volumes run waits for: directories, helper image, the host's other elevated operations. Default: none. */
    readonly volumesDependOn?: pulumi.Input<pulumi.Resource>[];
    /** What every container waits for: the host's directories (and ownership repair). Default: none. */
    readonly dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/** Application containers of one host, and the elevated run that prepares their volumes. */
export class ApplicationContainers extends pulumi.ComponentResource {
    /** Containers by application name. */
    public readonly containers: Readonly<Record<string, docker.Container>>;
    /** The volumes run (undefined when no application on this host has a volume). */
    public readonly volumesCommand?: remote.Command;
    /** Its request id, `apps-<hash>` (undefined without volumes). */
    public readonly volumesRequest?: string;
    /** Its one-line JSON summary, parsed (`created`, `updated`, `changed`, or `alreadyDone`). */
    public readonly volumesResult?: pulumi.Output<Record<string, unknown>>;

    constructor(name: string, args: ApplicationContainersArgs, opts?: pulumi.ComponentResourceOptions) {
        // Every application's container spec first: one the spec refuses fails the component
        // before anything registers (the volumes run is a root command).
        const built = args.applications.map((app) => ({
            app,
            spec: applicationSpec(app, {
                stack: args.stack,
                hostName: args.hostName,
                privateAddress: args.privateAddress,
                runAs: args.runAs,
                serviceUid: args.serviceUid,
                dockerGid: args.dockerGid,
                image: args.imageId(app.image),
                network: args.network,
                allowAllInterfaces: args.allowAllInterfaces,
            }),
        }));
        super("replicated:apps:ApplicationContainers", name, {}, opts);

        const specs = applicationVolumeSpecs(args.applications);
        if (specs.length > 0) {
            const request = applicationVolumesRequest(specs, args.runAs);
            const volumes = new ElevatedOperation(
                `${name}-volumes`,
                {
                    request: {
                        operation: "volumes",
                        request,
                        roots: rootsInUse(args.volumeRoots, specs),
                        items: volumeItems(specs, args.serviceUid, args.dockerGid),
                    },
                    target: args.target,
                    stack: args.stack,
                    helperImage: args.helperImage,
                    timeoutSeconds: args.timeoutSeconds,
                    dataPrefixes: args.dataPrefixes,
                    helperImageId: args.helperImageId,
                    dependsOn: args.volumesDependOn,
                },
                { parent: this },
            );
            this.volumesRequest = request;
            this.volumesCommand = volumes.command;
            this.volumesResult = volumes.result;
        }

        const volumesCommand = this.volumesCommand;
        const containers: Record<string, docker.Container> = {};
        for (const { app, spec } of built) {
            containers[app.name] = new docker.Container(`${name}-${app.name}`, spec.args, {
                parent: this,
                provider: args.provider,
                deleteBeforeReplace: spec.deleteBeforeReplace,
                additionalSecretOutputs: spec.additionalSecretOutputs,
                ignoreChanges: spec.ignoreChanges,
                replaceOnChanges: spec.replaceOnChanges,
                // A bind mount of a missing directory fails: the volumes run goes first.
                dependsOn: [...(args.dependsOn ?? []), ...(app.volumes.length > 0 && volumesCommand ? [volumesCommand] : [])],
            });
        }
        this.containers = Object.freeze(containers);

        this.registerOutputs({
            containers: Object.keys(containers),
            volumesRequest: this.volumesRequest,
            volumesResult: this.volumesResult,
        });
    }
}
