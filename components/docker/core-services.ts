/**
 * The Replicated core containers of one host: on the primary the daemon (`replicated`), the
 * admin console (`replicated-ui`) and the local operator (`replicated-operator`, TAGS=local);
 * on an operator host only `replicated-operator`, pointed at the primary's private address,
 * port 9879, with the shared daemon token.
 *
 * Definitions come from services.ts, hardening from container-spec.ts; this file only wires.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { containerSpec, type ServiceDefinition } from "./container-spec";
import { adminConsoleService, daemonService, operatorService, type ServiceSettings } from "./services";

/** Settings and inputs shared by the core services and the sidecars. */
export interface ContainerHostArgs {
    /** Stack name (container label). */
    readonly stack: string;
    /** What the service definitions need (addresses, channel, log level, proxy, token, ...). */
    readonly settings: ServiceSettings;
    /** uid the containers run as: the service user, or 0 in legacy root mode. */
    readonly uid: pulumi.Input<number>;
    /** gid of the docker group: the containers' group and supplementary group. */
    readonly dockerGid: pulumi.Input<number>;
    /** Legacy `runAs: root`: containers run as `0:<docker gid>`. Default false. */
    readonly legacyRoot?: boolean;
    /** Accept ports on 0.0.0.0/:: (config allowAllInterfaces). Default false. */
    readonly allowAllInterfaces?: boolean;
    /** Name of the user-defined network the containers join. */
    readonly network: pulumi.Input<string>;
    /** Docker provider of the host. */
    readonly provider: docker.Provider;
    /** Resources the containers must wait for (directories, ownership repair, images). Default: none. */
    readonly dependsOn?: pulumi.Input<pulumi.Resource>[];
}

export interface CoreServicesArgs extends ContainerHostArgs {
    /** `primary` runs the daemon, the console and a local operator; `operator` only the operator. */
    readonly role: "primary" | "operator";
    /** Image ids by service. `replicated` and `replicated-ui` are needed on the primary only. */
    readonly images: {
        readonly replicated?: pulumi.Input<string>;
        readonly ui?: pulumi.Input<string>;
        readonly operator: pulumi.Input<string>;
    };
}

/** Register one hardened container for `definition` (used by CoreServices and Sidecars). */
export function hardenedContainer(
    parent: pulumi.Resource,
    resourceName: string,
    definition: ServiceDefinition,
    image: pulumi.Input<string>,
    args: ContainerHostArgs,
): docker.Container {
    const spec = containerSpec(definition, {
        stack: args.stack,
        hostName: args.settings.hostName,
        uid: args.uid,
        dockerGid: args.dockerGid,
        legacyRoot: args.legacyRoot,
        image,
        network: args.network,
        allowAllInterfaces: args.allowAllInterfaces,
    });
    return new docker.Container(resourceName, spec.args, {
        parent,
        provider: args.provider,
        deleteBeforeReplace: spec.deleteBeforeReplace,
        additionalSecretOutputs: spec.additionalSecretOutputs,
        ignoreChanges: spec.ignoreChanges,
        replaceOnChanges: spec.replaceOnChanges,
        dependsOn: args.dependsOn,
    });
}

/** The daemon, console and operator containers of one host. */
export class CoreServices extends pulumi.ComponentResource {
    /** Containers by service name. */
    public readonly containers: Readonly<Record<string, docker.Container>>;

    constructor(name: string, args: CoreServicesArgs, opts?: pulumi.ComponentResourceOptions) {
        super("replicated:docker:CoreServices", name, {}, opts);
        const containers: Record<string, docker.Container> = {};

        if (args.role === "primary") {
            if (args.images.replicated === undefined || args.images.ui === undefined) {
                throw new Error(`CoreServices ${name}: the primary needs the replicated and replicated-ui images`);
            }
            const daemon = daemonService(args.settings);
            containers[daemon.name] = hardenedContainer(this, `${name}-${daemon.name}`, daemon, args.images.replicated, args);
            const ui = adminConsoleService(args.settings);
            containers[ui.name] = hardenedContainer(this, `${name}-${ui.name}`, ui, args.images.ui, args);
        }
        const operator = operatorService(args.settings, { local: args.role === "primary" });
        containers[operator.name] = hardenedContainer(this, `${name}-${operator.name}`, operator, args.images.operator, args);

        this.containers = Object.freeze(containers);
        this.registerOutputs({ containers: Object.keys(containers) });
    }
}
