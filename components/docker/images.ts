/**
 * The images one host runs, in one of two modes:
 *
 * - registry (default): one `docker.RemoteImage` per reference; the engine pulls it once and
 *   keeps it (`keepLocally`: `pulumi destroy` or an upgrade never deletes an image a container
 *   may still use).
 * - air-gap (`airgap.imagesDir`): a remote command runs `load-images.sh`, which `docker load`s
 *   every missing image from `<imagesDir>/<name>.tar` (see image-refs.ts) and never pulls. The
 *   `RemoteImage` resources are then declared after that command: the provider finds each image
 *   locally and pulls nothing, and containers still take `image` from a resource's `imageId`
 *   (a plain name can cause perpetual replacements).
 *
 * Pins (`images.pins`: image name or application reference -> image id) are checked in both
 * modes before any container gets the image: in air-gap mode on the host by the loader (after
 * every load and once more at the end), and in both modes on each image resource's `imageId`,
 * so a container or an elevated operation never starts from an image that is not the pinned one.
 * A digest reference (`repo@sha256:...`) is accepted in registry mode only.
 *
 * Other components get an image with {@link Images.image} (any reference listed in `references`
 * or `additionalReferences`), the helper image reference with {@link Images.helperImage}, and
 * {@link Images.resources} to depend on.
 */
import * as remote from "@pulumi/command/remote";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { hostConnection } from "../host/connection";
import { checkedHostTarget, invocationOn, type HostTarget } from "../host/host-target";
import { loadScript } from "../shell";
import {
    IMAGE_PIN_PATTERN,
    checkTarballNames,
    isDigestReference,
    isImageReference,
    referenceSlug,
    replicatedImageReference,
    type ReplicatedImageName,
} from "./image-refs";

export interface ImagesArgs {
    /** Registry and path of the Replicated images, e.g. `quay.io/replicated`. */
    readonly registry: string;
    /** Release channel: tags are `<channel>-<version>`. */
    readonly channel: string;
    /** Replicated version. */
    readonly version: string;
    /** Replicated images this host needs (see `imagesForHost`). */
    readonly names: readonly ReplicatedImageName[];
    /** Reference of the helper image. Default: `<registry>/replicated-helper:<channel>-<version>`. */
    readonly helperReference?: string;
    /** Other references provided the same way (application images). Default: none. */
    readonly additionalReferences?: readonly string[];
    /** Air-gap mode: directory on the host holding `<name>.tar` files. Default: registry mode. */
    readonly airgap?: { readonly imagesDir: string };
    /**
     * Expected image ids (`sha256:<64 hex>`, as `docker image inspect --format '{{.Id}}'` prints
     * them), keyed by Replicated image name (`replicated-helper`, ...) or by an additional
     * reference. Default: none pinned.
     */
    readonly pins?: Readonly<Record<string, string>>;
    /** Docker provider of the host. */
    readonly provider: docker.Provider;
    /** How SSH reaches the host, for the air-gap load command (address, port, user, become, keys). Required. */
    readonly target: HostTarget;
    /** What the load command and every image wait for (the host's version guard). Default: none. */
    readonly dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/** Images of one host, pulled or loaded. */
export class Images extends pulumi.ComponentResource {
    /** Reference → image resource. */
    private readonly byReference: ReadonlyMap<string, docker.RemoteImage>;
    /** References of the Replicated images, by name. */
    public readonly references: Readonly<Partial<Record<ReplicatedImageName, string>>>;
    /** The helper image reference, resolved once the image is present and its pin checked (undefined when not needed). */
    public readonly helperImage?: pulumi.Output<string>;
    /** The helper's pinned image id, which the elevated operations check again on the host (undefined when not pinned). */
    public readonly helperImagePin?: string;
    /** Reference -> image id, resolved only once it matched its pin. */
    private readonly checkedIds: ReadonlyMap<string, pulumi.Output<string>>;
    /** Every image resource and the load command: what users of the images depend on. */
    public readonly resources: pulumi.Resource[];
    /** The air-gap load command, in air-gap mode. */
    public readonly loadCommand?: remote.Command;

    constructor(name: string, args: ImagesArgs, opts?: pulumi.ComponentResourceOptions) {
        const target = checkedHostTarget(`Images ${name}`, args.target);
        super("replicated:docker:Images", name, {}, opts);

        const references: Partial<Record<ReplicatedImageName, string>> = {};
        for (const image of args.names) {
            references[image] =
                image === "replicated-helper" && args.helperReference !== undefined
                    ? args.helperReference
                    : replicatedImageReference(args.registry, image, args.channel, args.version);
        }
        const additional = [...(args.additionalReferences ?? [])];
        for (const reference of [...Object.values(references), ...additional]) {
            if (isDigestReference(reference)) {
                if (args.airgap !== undefined) {
                    throw new Error(
                        `Images ${name}: ${reference} is a digest reference, which air-gap mode cannot honour: docker load keeps no ` +
                            "registry digest to check it against. Fix: use a tagged reference and pin its image id in " +
                            `replicated:images.pins (key ${pinKeyOf(reference, references)})`,
                    );
                }
            } else if (!isImageReference(reference)) {
                throw new Error(`Images ${name}: ${JSON.stringify(reference)} is not an image reference with a tag`);
            }
        }
        const all = [...new Set([...Object.values(references), ...additional])];
        const pins = new Map<string, string>();
        for (const reference of all) {
            const key = pinKeyOf(reference, references);
            const pin = args.pins?.[key];
            if (pin === undefined) {
                continue;
            }
            if (!IMAGE_PIN_PATTERN.test(pin)) {
                throw new Error(
                    `Images ${name}: replicated:images.pins.${key} must be an image id sha256:<64 hex> ` +
                        `(docker image inspect --format '{{.Id}}' ${reference})`,
                );
            }
            pins.set(reference, pin);
        }

        const resources: pulumi.Resource[] = [];
        let loadCommand: remote.Command | undefined;
        if (args.airgap !== undefined) {
            checkTarballNames(all);
            const invocation = invocationOn(target, loadScript("load-images"), airgapLoadArgs(args.airgap.imagesDir, all, pins));
            loadCommand = new remote.Command(
                `${name}-load`,
                {
                    connection: hostConnection(target),
                    create: invocation.command,
                    stdin: invocation.stdin,
                    addPreviousOutputInEnv: false,
                    logging: "stdoutAndStderr",
                },
                { parent: this, dependsOn: args.dependsOn },
            );
            resources.push(loadCommand);
        }

        const byReference = new Map<string, docker.RemoteImage>();
        const checkedIds = new Map<string, pulumi.Output<string>>();
        for (const reference of all) {
            const imageName = (Object.entries(references).find(([, ref]) => ref === reference)?.[0] ?? `ref-${referenceSlug(reference)}`);
            const image = new docker.RemoteImage(
                `${name}-${imageName}`,
                { name: reference, keepLocally: true },
                { parent: this, provider: args.provider, dependsOn: loadCommand ? [loadCommand] : args.dependsOn },
            );
            byReference.set(reference, image);
            resources.push(image);
            const pin = pins.get(reference);
            checkedIds.set(
                reference,
                pin === undefined
                    ? image.imageId
                    : image.imageId.apply((id) => {
                          if (id !== pin) {
                              throw new Error(
                                  `image ${reference} on this host is ${id}, but replicated:images.pins.${pinKeyOf(reference, references)} is ${pin}. ` +
                                      "Fix: provide the pinned image under that reference (push or load it), or correct the pin",
                              );
                          }
                          return id;
                      }),
            );
        }

        this.byReference = byReference;
        this.checkedIds = checkedIds;
        this.references = Object.freeze(references);
        this.resources = resources;
        this.loadCommand = loadCommand;
        const helper = references["replicated-helper"];
        const helperImage = helper !== undefined ? byReference.get(helper) : undefined;
        const helperPin = helper !== undefined ? pins.get(helper) : undefined;
        const helperId = helper !== undefined ? checkedIds.get(helper) : undefined;
        // A pinned helper is handed out only after its id matched; an unpinned one as before, by name.
        this.helperImage =
            helperImage === undefined
                ? undefined
                : helperPin !== undefined && helperId !== undefined
                  ? pulumi.all([helperImage.name, helperId]).apply(([reference]) => reference)
                  : helperImage.name;
        this.helperImagePin = helperPin;

        this.registerOutputs({ references: this.references, helperImage: this.helperImage });
    }

    /** The image id for `reference` (a Replicated image of this host or an additional reference), once it matched its pin. */
    public image(reference: string): pulumi.Output<string> {
        const image = this.checkedIds.get(reference);
        if (image === undefined) {
            throw new Error(
                `image ${reference} is not provided on this host; known: ${[...this.byReference.keys()].join(", ")}. ` +
                    "Fix: pass it in additionalReferences",
            );
        }
        return image;
    }

    /** The image id of a Replicated image by name. */
    public imageOf(name: ReplicatedImageName): pulumi.Output<string> {
        const reference = this.references[name];
        if (reference === undefined) {
            throw new Error(`image ${name} is not needed on this host (role or sidecar settings)`);
        }
        return this.image(reference);
    }
}

/**
 * The arguments of load-images.sh: `IMAGES_DIR REF PIN [REF PIN]...`, PIN the reference's
 * pinned image id or `-`.
 */
export function airgapLoadArgs(imagesDir: string, references: readonly string[], pins: ReadonlyMap<string, string>): string[] {
    return [imagesDir, ...references.flatMap((reference) => [reference, pins.get(reference) ?? "-"])];
}

/** The `images.pins` key of a reference: its Replicated image name, else the reference itself. */
function pinKeyOf(reference: string, references: Partial<Record<ReplicatedImageName, string>>): string {
    return Object.entries(references).find(([, ref]) => ref === reference)?.[0] ?? reference;
}
