/**
 * One Replicated host: the detection (and takeover) of an install made by Replicated's own
 * script, the service account (or, in legacy root mode, only the docker group lookup), the owned
 * directories, the images and containers, and the on-demand root operations.
 */
import * as pulumi from "@pulumi/pulumi";
import type { HostConfig, ReplicatedConfig } from "./config";
import { ApplicationContainers, applicationImageReferences, applicationsForHost } from "./apps";
import { hostConnection } from "./host/connection";
import {
    HostDirectories,
    InstallDetection,
    InstallerTakeover,
    OwnershipRepair,
    ServiceAccount,
    TakeoverConfirmation,
    VersionGuard,
    reachableHost,
    type HostTarget,
} from "./host";
import { ElevatedOperation, helperImageReference, plannedOperations, requestFromPlan } from "./ops";
import {
    ContainerHealth,
    CoreServices,
    Images,
    Sidecars,
    hostDockerProvider,
    imagesForHost,
    serviceNetwork,
    serviceSettingsFor,
    type ContainerHostArgs,
} from "./docker";

export interface ReplicatedHostArgs {
    /** The whole validated stack config (plain, frozen). */
    readonly config: ReplicatedConfig;
    /** The host this component provisions (one of `config.hosts`). */
    readonly host: HostConfig;
    /**
     * How SSH reaches the host, when that differs from `host`: an address that is another
     * resource's output (a VM's private IP). Default: `host.address`.
     */
    readonly target?: HostTarget;
    /** Token shared by the daemon on the primary and every operator; always a secret. */
    readonly daemonToken: pulumi.Output<string>;
    /**
     * Resources the first changing step of this host also waits for: the install detections of
     * the stack's other hosts, so that an install disagreeing with the stack on any host stops
     * every host before anything changes. Default: only this host's own detection.
     */
    readonly installGate?: Promise<readonly pulumi.Resource[]>;
}

/** Everything `pulumi up` provisions on one host. Child names start with the component name. */
export class ReplicatedHost extends pulumi.ComponentResource {
    /** uid the Replicated containers run as (0 in legacy root mode). */
    public readonly uid: pulumi.Output<number>;
    /** gid of the docker group (owner group of the docker socket). */
    public readonly dockerGid: pulumi.Output<number>;
    /**
     * Completes only when every Replicated container of this host (core services and sidecars) is
     * healthy; `pulumi up` fails there, naming the container, when one is not. Depend on it for
     * steps that need a working host.
     */
    public readonly ready: pulumi.Resource;
    /** Summary line of each elevated operation requested on this host, by operation name. */
    public readonly operations: Readonly<Record<string, pulumi.Output<Record<string, unknown>>>>;
    /** What Replicated's own install script left on this host (the first step of the host). */
    public readonly installDetection: InstallDetection;

    constructor(name: string, args: ReplicatedHostArgs, opts?: pulumi.ComponentResourceOptions) {
        super("replicated:index:ReplicatedHost", name, {}, opts);
        // What every SSH step dials; the config's host everywhere else (roles, ports, placement).
        const reach = reachableHost(`ReplicatedHost ${name}`, args.host, args.target);
        const connection = hostConnection(reach, args.config.ssh);

        // --- install detection (Replicated's own install script) ---
        // Changes nothing; stops the run when an install here disagrees with the stack. Every
        // step that changes the host waits for it and for the other hosts' detections.
        const detection = new InstallDetection(
            name,
            {
                host: reach,
                ssh: args.config.ssh,
                runAs: args.config.runAs,
                userName: args.config.serviceUser.name,
                uid: args.config.serviceUser.uid,
            },
            { parent: this },
        );
        this.installDetection = detection;
        const detected: Promise<pulumi.Resource[]> = Promise.resolve(args.installGate ?? []).then((others) => [detection.command, ...others]);

        // --- account (service account, or docker group lookup in root mode) ---
        const account = new ServiceAccount(
            name,
            {
                host: reach,
                ssh: args.config.ssh,
                runAs: args.config.runAs,
                userName: args.config.serviceUser.name,
                uid: args.config.serviceUser.uid,
                adoption: { adoptExisting: args.config.serviceUser.adoptExisting, allowNobodyUid: args.config.serviceUser.allowNobodyUid },
            },
            { parent: this, dependsOn: detected },
        );

        // --- directories ---
        // Owned by <uid>:<docker gid>; in root mode uid is 0 (root-owned, as installs before 2.5.0).
        const directories = new HostDirectories(
            name,
            { host: reach, ssh: args.config.ssh, uid: account.uid, gid: account.dockerGid },
            { parent: this },
        );

        // --- version guard ---
        // Refuses a downgrade without replicated:allowDowngrade and records the deployed version
        // (root-owned, outside the service trees). Images, containers and operations wait for it,
        // so a refused downgrade changes nothing that depends on the version. Its command holds the
        // version: an upgrade re-runs it (an update), never the account or directory commands.
        const versionGuard = new VersionGuard(
            name,
            {
                host: reach,
                ssh: args.config.ssh,
                version: args.config.version,
                channel: args.config.channel,
                allowDowngrade: args.config.allowDowngrade,
            },
            { parent: this, dependsOn: detected },
        );
        /** What must pass before anything version-specific (an image load) runs. */
        const versionChecked: pulumi.Resource[] = [versionGuard.command];

        // --- docker: provider, images, core services, sidecars ---
        // `images.helperImage` / `images.resources` serve the elevated operations below;
        // `images.image(reference)` any other image provided the same way.
        const dockerProvider = hostDockerProvider(
            `${name}-docker`,
            { host: reach, ssh: args.config.ssh, stack: args.config.stack, project: args.config.project },
            { parent: this },
        );
        const images = new Images(
            `${name}-images`,
            {
                registry: args.config.images.registry,
                channel: args.config.channel,
                version: args.config.version,
                names: imagesForHost(args.host.role, args.config.sidecars),
                helperReference: args.config.images.helper,
                // Application images come the same way: pulled, or loaded in air-gap mode.
                additionalReferences: applicationImageReferences(args.config, args.host),
                airgap: args.config.airgap,
                pins: args.config.images.pins,
                provider: dockerProvider,
                connection,
                become: args.host.become,
                // A refused downgrade stops here: nothing is pulled or loaded before the guard passed.
                dependsOn: versionChecked,
            },
            { parent: this },
        );
        const serviceNet = serviceNetwork(
            `${name}-network`,
            { stack: args.config.stack, hostName: args.host.name, privateAddress: args.host.privateAddress },
            { parent: this, provider: dockerProvider, dependsOn: detected },
        );

        // --- takeover of an install made by Replicated's own script ---
        // Right before the containers: the images are present and the directories in place, so
        // the services are down only while the containers start. Nothing to take over: no-op.
        const takeover = new InstallerTakeover(
            name,
            { host: reach, ssh: args.config.ssh, fallbackSeconds: args.config.takeover.fallbackSeconds },
            { parent: this, dependsOn: [directories.command, versionGuard.command, ...images.resources] },
        );

        // --- ownership migration (leaving legacy root mode) ---
        // Every host in service-account mode: a no-op on a fresh host, the migration of the data
        // on a host leaving root mode. After the takeover, so the install script's containers no
        // longer write the trees. Containers depend on `hostReady`.
        const repair =
            args.config.runAs === "replicated"
                ? new OwnershipRepair(
                      name,
                      { host: reach, ssh: args.config.ssh, uid: account.uid, gid: account.dockerGid },
                      { parent: this, dependsOn: [directories.command, takeover.command] },
                  )
                : undefined;
        /** What must be in place before anything runs on the host as the service uid. */
        const hostReady: pulumi.Resource[] = repair ? [directories, repair] : [directories];
        hostReady.push(versionGuard.command, takeover.command);
        // The ids every later resource uses also carry the directories (and the repair) as
        // dependencies, so nothing can run as the service uid before its directories exist.
        const directoriesDone = pulumi.all([directories.command.stdout, repair ? repair.command.stdout : ""]);
        this.uid = pulumi.all([account.uid, directoriesDone]).apply(([uid]) => uid);
        this.dockerGid = pulumi.all([account.dockerGid, directoriesDone]).apply(([dockerGid]) => dockerGid);
        const containerHost: ContainerHostArgs = {
            stack: args.config.stack,
            settings: serviceSettingsFor(args.config, args.host, args.daemonToken),
            uid: this.uid,
            dockerGid: this.dockerGid,
            legacyRoot: args.config.runAs === "root",
            allowAllInterfaces: args.config.allowAllInterfaces,
            network: serviceNet.name,
            provider: dockerProvider,
            dependsOn: hostReady,
        };
        const isPrimary = args.host.role === "primary";
        const core = new CoreServices(
            `${name}-core`,
            {
                ...containerHost,
                role: args.host.role,
                images: {
                    replicated: isPrimary ? images.imageOf("replicated") : undefined,
                    ui: isPrimary ? images.imageOf("replicated-ui") : undefined,
                    operator: images.imageOf("replicated-operator"),
                },
            },
            { parent: this },
        );
        let sidecarContainers: Sidecars["containers"] = {};
        if (isPrimary) {
            const sidecars = new Sidecars(
                `${name}-sidecars`,
                {
                    ...containerHost,
                    statsd: args.config.sidecars.statsd,
                    premkit: args.config.sidecars.premkit,
                    images: {
                        statsd: args.config.sidecars.statsd ? images.imageOf("replicated-statsd") : undefined,
                        premkit: args.config.sidecars.premkit ? images.imageOf("replicated-premkit") : undefined,
                    },
                },
                { parent: this },
            );
            sidecarContainers = sidecars.containers;
        }
        // --- health gate: every Replicated container of the host healthy ---
        const health = new ContainerHealth(
            name,
            { containers: { ...core.containers, ...sidecarContainers }, connection, become: args.host.become },
            { parent: this },
        );
        this.ready = health.ready;

        // --- end of a takeover ---
        // Disarms the takeover's fallback once the health gate found every Replicated container
        // here healthy; a no-op on a host that was not taken over.
        new TakeoverConfirmation(name, { host: reach, ssh: args.config.ssh }, { parent: this, dependsOn: [health.ready] });

        // --- elevated operations ---
        // One short-lived root helper container per request id in replicated:operations (support
        // bundle and volumes on every host, snapshot on the primary), after the directories and
        // the helper image. Owners default to the service uid and the docker gid. Operations of
        // one host run one after another, so a snapshot never copies while another op writes.
        let previousOperation: pulumi.Resource | undefined;
        const operationResults: Record<string, pulumi.Output<Record<string, unknown>>> = {};
        for (const planned of plannedOperations(args.config, args.host)) {
            const operation = new ElevatedOperation(
                `${name}-op-${planned.operation}`,
                {
                    request: requestFromPlan(planned, this.uid, this.dockerGid),
                    connection,
                    become: args.host.become,
                    stack: args.config.stack,
                    helperImage: images.helperImage ?? helperImageReference(args.config),
                    helperImageId: images.helperImagePin,
                    timeoutSeconds: args.config.operations.timeoutSeconds,
                    dataPrefixes: args.config.dataPrefixes,
                    // The support bundle redacts the daemon token by value (it lives only in the containers' env).
                    secretValues: planned.operation === "support-bundle" ? [args.daemonToken] : undefined,
                    dependsOn: [...hostReady, ...images.resources, ...(previousOperation ? [previousOperation] : [])],
                },
                { parent: this },
            );
            operationResults[planned.operation] = operation.result;
            previousOperation = operation.command;
        }
        this.operations = operationResults;

        // --- application containers ---
        // The stack's own containers that run on this host (config applications[]): their volume
        // directories first, by one elevated `volumes` run after the other operations, then one
        // hardened container each, as the user of its mode (image, service or <uid>:<gid>).
        const applications = applicationsForHost(args.config, args.host);
        if (applications.length > 0) {
            new ApplicationContainers(
                `${name}-apps`,
                {
                    stack: args.config.stack,
                    host: args.host,
                    applications,
                    runAs: args.config.runAs,
                    volumeRoots: args.config.volumeRoots,
                    serviceUid: this.uid,
                    dockerGid: this.dockerGid,
                    allowAllInterfaces: args.config.allowAllInterfaces,
                    imageId: (reference) => images.image(reference),
                    network: serviceNet.name,
                    provider: dockerProvider,
                    connection,
                    become: args.host.become,
                    helperImage: images.helperImage ?? helperImageReference(args.config),
                    helperImageId: images.helperImagePin,
                    timeoutSeconds: args.config.operations.timeoutSeconds,
                    dataPrefixes: args.config.dataPrefixes,
                    volumesDependOn: [...hostReady, ...images.resources, ...(previousOperation ? [previousOperation] : [])],
                    dependsOn: hostReady,
                },
                { parent: this },
            );
        }

        this.registerOutputs({ uid: this.uid, dockerGid: this.dockerGid, operations: this.operations });
    }
}
