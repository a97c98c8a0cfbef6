/**
 * One Replicated host: the service account (or, in legacy root mode, only the docker group
 * lookup), the owned directories, the images and containers, and the on-demand root operations.
 */
import * as pulumi from "@pulumi/pulumi";
import type { HostConfig, ReplicatedConfig } from "./config";
import { hostConnection } from "./host/connection";

export interface ReplicatedHostArgs {
    /** The whole validated stack config (plain, frozen). */
    readonly config: ReplicatedConfig;
    /** The host this component provisions (one of `config.hosts`). */
    readonly host: HostConfig;
    /** Token shared by the daemon on the primary and every operator; always a secret. */
    readonly daemonToken: pulumi.Output<string>;
}

/** Everything `pulumi up` provisions on one host. Child names start with the component name. */
export class ReplicatedHost extends pulumi.ComponentResource {
    /** uid the Replicated containers run as (0 in legacy root mode). */
    public readonly uid: pulumi.Output<number>;
    /** gid of the docker group (owner group of the docker socket). */
    public readonly dockerGid: pulumi.Output<number>;

    constructor(name: string, args: ReplicatedHostArgs, opts?: pulumi.ComponentResourceOptions) {
        super("replicated:index:ReplicatedHost", name, {}, opts);
        const connection = hostConnection(args.host, args.config.ssh);
        void connection;

        // --- account (service account, or docker group lookup in root mode) ---
        this.uid = pulumi.output(0);
        this.dockerGid = pulumi.output(0);

        // --- directories ---

        // --- ownership migration (leaving legacy root mode) ---

        // --- docker: provider, images, core services, sidecars ---

        // --- elevated operations ---

        // --- application containers ---

        this.registerOutputs({ uid: this.uid, dockerGid: this.dockerGid });
    }
}
