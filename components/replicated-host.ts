/**
 * One Replicated host: the detection (and takeover) of an install made by Replicated's own
 * script, the service account (or, in legacy root mode, only the docker group lookup), the owned
 * directories, the images and containers, and the on-demand root operations.
 */
import * as pulumi from "@pulumi/pulumi";
import { ApplicationContainers } from "./apps";
import {
    HostArgsError,
    HostDirectories,
    InstallDetection,
    InstallerTakeover,
    OwnershipRepair,
    ServiceAccount,
    TakeoverConfirmation,
    VersionGuard,
    checkedHostTarget,
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
    type ContainerHostArgs,
    type ServiceSettings,
} from "./docker";
import { replicatedHostArgsProblems, withReplicatedHostDefaults, type ReplicatedHostArgs } from "./replicated-host-args";

export * from "./replicated-host-args";

/**
 * `resources` (known only once every host is constructed) as a `dependsOn` the SDK awaits as it
 * is. A top-level Promise would not be: mergeOptions turns it into `output(promise).apply(...)`
 * (pulumi/pulumi sdk/nodejs/resource.ts `merge`), and every such Output searches its value for
 * unknowns (output.ts `containsUnknowns`), which for resources walks the whole resource graph:
 * once per gated resource of every host, quadratic in the hosts. A Promise inside the array is
 * awaited and its resources gathered directly (runtime/dependsOn.ts `gatherExplicitDependencies`).
 */
function awaitedDependencies(resources: Promise<readonly pulumi.Resource[]>): pulumi.Input<pulumi.Resource>[] {
    // The SDK's type allows a Promise of one resource per entry; at run time it recurses into the array.
    return [resources as unknown as Promise<pulumi.Resource>];
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
        // Every argument is checked before anything is registered; the target's Inputs when they resolve.
        const component = `ReplicatedHost ${name}`;
        const settings = withReplicatedHostDefaults(name, args);
        const problems = replicatedHostArgsProblems(component, args, settings);
        if (problems.length > 0) {
            throw new HostArgsError(problems.join("\n"));
        }
        // What every SSH step dials, checked once and shared by every child.
        const target = checkedHostTarget(component, args.target);
        super("replicated:index:ReplicatedHost", name, {}, opts);
        const stack = args.stack ?? pulumi.getStack();
        const project = args.project ?? pulumi.getProject();
        const daemonToken = pulumi.secret(args.daemonToken);
        const role = settings.role;
        const helperReference = helperImageReference(settings);

        // --- install detection (Replicated's own install script) ---
        // Changes nothing; stops the run when an install here disagrees with the stack. Every
        // step that changes the host waits for it and for the other hosts' detections.
        const detection = new InstallDetection(
            name,
            {
                target,
                role,
                runAs: settings.runAs,
                userName: settings.serviceUser.name,
                uid: settings.serviceUser.uid,
            },
            { parent: this },
        );
        this.installDetection = detection;
        const detected = awaitedDependencies(Promise.resolve(args.installGate ?? []).then((others) => [detection.command, ...others]));

        // --- account (service account, or docker group lookup in root mode) ---
        const account = new ServiceAccount(
            name,
            {
                target,
                runAs: settings.runAs,
                userName: settings.serviceUser.name,
                uid: settings.serviceUser.uid,
                adoption: { adoptExisting: settings.serviceUser.adoptExisting, allowNobodyUid: settings.serviceUser.allowNobodyUid },
            },
            { parent: this, dependsOn: detected },
        );

        // --- directories ---
        // Owned by <uid>:<docker gid>; in root mode uid is 0 (root-owned, as installs before 2.5.0).
        const directories = new HostDirectories(name, { target, role, uid: account.uid, gid: account.dockerGid }, { parent: this });

        // --- version guard ---
        // Refuses a downgrade without allowDowngrade and records the deployed version (root-owned,
        // outside the service trees). Images, containers and operations wait for it, so a refused
        // downgrade changes nothing that depends on the version. Its command holds the version: an
        // upgrade re-runs it (an update), never the account or directory commands.
        const versionGuard = new VersionGuard(
            name,
            { target, version: settings.version, channel: settings.channel, allowDowngrade: settings.allowDowngrade },
            { parent: this, dependsOn: detected },
        );
        /** What must pass before anything version-specific (an image load) runs. */
        const versionChecked: pulumi.Resource[] = [versionGuard.command];

        // --- docker: provider, images, core services, sidecars ---
        // `images.helperImage` / `images.resources` serve the elevated operations below;
        // `images.image(reference)` any other image provided the same way.
        const dockerProvider = hostDockerProvider(`${name}-docker`, { target, hostName: settings.hostName, stack, project }, { parent: this });
        const images = new Images(
            `${name}-images`,
            {
                registry: settings.images.registry,
                channel: settings.channel,
                version: settings.version,
                names: imagesForHost(role, settings.sidecars),
                helperReference: settings.images.helper,
                // Application images come the same way: pulled, or loaded in air-gap mode.
                additionalReferences: [...new Set(settings.applications.map((app) => app.image))],
                airgap: settings.airgap,
                pins: settings.images.pins,
                provider: dockerProvider,
                target,
                // A refused downgrade stops here: nothing is pulled or loaded before the guard passed.
                dependsOn: versionChecked,
            },
            { parent: this },
        );
        const serviceNet = serviceNetwork(
            `${name}-network`,
            { stack, hostName: settings.hostName, privateAddress: settings.privateAddress },
            { parent: this, provider: dockerProvider, dependsOn: detected },
        );

        // --- takeover of an install made by Replicated's own script ---
        // Right before the containers: the images are present and the directories in place, so
        // the services are down only while the containers start. Nothing to take over: no-op.
        const takeover = new InstallerTakeover(
            name,
            { target, role, fallbackSeconds: settings.takeoverFallbackSeconds },
            { parent: this, dependsOn: [directories.command, versionGuard.command, ...images.resources] },
        );

        // --- ownership migration (leaving legacy root mode) ---
        // Every host in service-account mode: a no-op on a fresh host, the migration of the data
        // on a host leaving root mode. After the takeover, so the install script's containers no
        // longer write the trees. Containers depend on `hostReady`.
        const repair =
            settings.runAs === "replicated"
                ? new OwnershipRepair(
                      name,
                      { target, uid: account.uid, gid: account.dockerGid },
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
        const serviceSettings: ServiceSettings = {
            hostName: settings.hostName,
            privateAddress: settings.privateAddress,
            primaryAddress: settings.primaryAddress,
            clusterAddresses: settings.clusterAddresses,
            channel: settings.channel,
            logLevel: settings.logLevel,
            ...(settings.httpProxy !== undefined ? { httpProxy: settings.httpProxy } : {}),
            airgap: settings.airgap !== undefined,
            uiPort: settings.console.port,
            uiBindAddress: settings.console.bindAddress,
            daemonToken,
        };
        const containerHost: ContainerHostArgs = {
            stack,
            settings: serviceSettings,
            uid: this.uid,
            dockerGid: this.dockerGid,
            legacyRoot: settings.runAs === "root",
            allowAllInterfaces: settings.allowAllInterfaces,
            network: serviceNet.name,
            provider: dockerProvider,
            dependsOn: hostReady,
        };
        const isPrimary = role === "primary";
        const core = new CoreServices(
            `${name}-core`,
            {
                ...containerHost,
                role,
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
                    statsd: settings.sidecars.statsd,
                    premkit: settings.sidecars.premkit,
                    images: {
                        statsd: settings.sidecars.statsd ? images.imageOf("replicated-statsd") : undefined,
                        premkit: settings.sidecars.premkit ? images.imageOf("replicated-premkit") : undefined,
                    },
                },
                { parent: this },
            );
            sidecarContainers = sidecars.containers;
        }
        // --- health gate: every Replicated container of the host healthy ---
        const health = new ContainerHealth(name, { containers: { ...core.containers, ...sidecarContainers }, target }, { parent: this });
        this.ready = health.ready;

        // --- end of a takeover ---
        // Disarms the takeover's fallback once the health gate found every Replicated container
        // here healthy; a no-op on a host that was not taken over.
        new TakeoverConfirmation(name, { target, role }, { parent: this, dependsOn: [health.ready] });

        // --- elevated operations ---
        // One short-lived root helper container per requested operation (support bundle and
        // volumes on every host, snapshot on the primary), after the directories and the helper
        // image. Owners default to the service uid and the docker gid. Operations of one host run
        // one after another, so a snapshot never copies while another op writes.
        let previousOperation: pulumi.Resource | undefined;
        const operationResults: Record<string, pulumi.Output<Record<string, unknown>>> = {};
        const requested = settings.operations;
        const operationPlan = plannedOperations(
            {
                operations: {
                    timeoutSeconds: requested.timeoutSeconds,
                    ...(requested.supportBundle !== undefined ? { supportBundle: requested.supportBundle } : {}),
                    ...(requested.volumes !== undefined ? { volumes: { request: requested.volumes.request, items: [...requested.volumes.items] } } : {}),
                    ...(requested.snapshot !== undefined ? { snapshot: requested.snapshot } : {}),
                },
                volumeRoots: [...settings.volumeRoots],
                dataPrefixes: [...settings.dataPrefixes],
            },
            { role },
        );
        for (const planned of operationPlan) {
            const operation = new ElevatedOperation(
                `${name}-op-${planned.operation}`,
                {
                    request: requestFromPlan(planned, this.uid, this.dockerGid),
                    target,
                    stack,
                    helperImage: images.helperImage ?? helperReference,
                    helperImageId: images.helperImagePin,
                    timeoutSeconds: settings.operations.timeoutSeconds,
                    dataPrefixes: settings.dataPrefixes,
                    // The support bundle redacts the daemon token by value (it lives only in the containers' env).
                    secretValues: planned.operation === "support-bundle" ? [daemonToken] : undefined,
                    dependsOn: [...hostReady, ...images.resources, ...(previousOperation ? [previousOperation] : [])],
                },
                { parent: this },
            );
            operationResults[planned.operation] = operation.result;
            previousOperation = operation.command;
        }
        this.operations = operationResults;

        // --- application containers ---
        // The stack's own containers that run on this host: their volume directories first, by
        // one elevated `volumes` run after the other operations, then one hardened container
        // each, as the user of its mode (image, service or <uid>:<gid>).
        if (settings.applications.length > 0) {
            new ApplicationContainers(
                `${name}-apps`,
                {
                    stack,
                    hostName: settings.hostName,
                    privateAddress: settings.privateAddress,
                    applications: settings.applications,
                    runAs: settings.runAs,
                    volumeRoots: settings.volumeRoots,
                    serviceUid: this.uid,
                    dockerGid: this.dockerGid,
                    allowAllInterfaces: settings.allowAllInterfaces,
                    imageId: (reference) => images.image(reference),
                    network: serviceNet.name,
                    provider: dockerProvider,
                    target,
                    helperImage: images.helperImage ?? helperReference,
                    helperImageId: images.helperImagePin,
                    timeoutSeconds: settings.operations.timeoutSeconds,
                    dataPrefixes: settings.dataPrefixes,
                    volumesDependOn: [...hostReady, ...images.resources, ...(previousOperation ? [previousOperation] : [])],
                    dependsOn: hostReady,
                },
                { parent: this },
            );
        }

        this.registerOutputs({ uid: this.uid, dockerGid: this.dockerGid, operations: this.operations });
    }
}
