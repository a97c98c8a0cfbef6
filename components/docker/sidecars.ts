/**
 * The sidecars of the primary: `replicated-statsd` (metrics) and `replicated-premkit` (reverse
 * proxy), each switchable with config `sidecars`. In the original the daemon started them itself;
 * here they are declared resources with the same hardening as the core services.
 */
import type * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { hardenedContainer, type ContainerHostArgs } from "./core-services";
import { premkitService, statsdService } from "./services";

export interface SidecarsArgs extends ContainerHostArgs {
    /** Run replicated-statsd (config `sidecars.statsd`, default true). */
    readonly statsd: boolean;
    /** Run replicated-premkit (config `sidecars.premkit`, default true). */
    readonly premkit: boolean;
    /** Image ids; each is required when its sidecar is on. */
    readonly images: {
        readonly statsd?: pulumi.Input<string>;
        readonly premkit?: pulumi.Input<string>;
    };
}

/** The enabled sidecar containers of the primary. */
export class Sidecars extends pulumi.ComponentResource {
    /** Containers by service name (only the enabled ones). */
    public readonly containers: Readonly<Record<string, docker.Container>>;

    constructor(name: string, args: SidecarsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("replicated:docker:Sidecars", name, {}, opts);
        const containers: Record<string, docker.Container> = {};
        const enabled = [
            { on: args.statsd, definition: statsdService(args.settings), image: args.images.statsd },
            { on: args.premkit, definition: premkitService(args.settings), image: args.images.premkit },
        ];
        for (const { on, definition, image } of enabled) {
            if (!on) {
                continue;
            }
            if (image === undefined) {
                throw new Error(`Sidecars ${name}: ${definition.name} is enabled but no image was given`);
            }
            containers[definition.name] = hardenedContainer(this, `${name}-${definition.name}`, definition, image, args);
        }
        this.containers = Object.freeze(containers);
        this.registerOutputs({ containers: Object.keys(containers) });
    }
}
