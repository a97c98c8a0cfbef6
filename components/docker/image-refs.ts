/**
 * Pure: image references and the air-gap tarball naming.
 *
 * Replicated images are `<registry>/<name>:<channel>-<version>`. In air-gap mode each image is
 * loaded from `<imagesDir>/<name>.tar`, where `<name>` is the last path component of the
 * reference without its tag (`registry.example.com/replicated/replicated-ui:stable-2.53.2` ->
 * `replicated-ui.tar`; `registry.example.com/acme/web:1.4.2` -> `web.tar`). The file is what
 * `docker save <reference> -o <name>.tar` writes on a connected machine.
 */

/** Every image this project runs, by name. */
export const REPLICATED_IMAGES = Object.freeze([
    "replicated",
    "replicated-ui",
    "replicated-operator",
    "replicated-statsd",
    "replicated-premkit",
    "replicated-helper",
] as const);

export type ReplicatedImageName = (typeof REPLICATED_IMAGES)[number];

/** An image reference with an explicit tag and no digest: registry host[:port], path, tag. */
const REFERENCE = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?(\/[a-z0-9]([a-z0-9._-]*[a-z0-9])?)*:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** A repository (registry host[:port] and path) without tag or digest. */
const REPOSITORY = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?(\/[a-z0-9]([a-z0-9._-]*[a-z0-9])?)*$/;
/** `@sha256:<64 hex>`: the registry digest of an image manifest. */
const DIGEST_SUFFIX = /@sha256:[0-9a-f]{64}$/;

/** An image id as `docker image inspect --format '{{.Id}}'` prints it: what `images.pins` holds. */
export const IMAGE_PIN_PATTERN = /^sha256:[0-9a-f]{64}$/;

/** True for a reference the air-gap script and the registry path both accept. */
export function isImageReference(reference: string): boolean {
    return REFERENCE.test(reference);
}

/**
 * True for `repo@sha256:<hex>` or `repo:tag@sha256:<hex>`: pinned by registry digest. Only the
 * registry mode can honour one (the engine pulls exactly that manifest); `docker load` keeps no
 * registry digest, so air-gap mode refuses it (pin the image id with `images.pins` instead).
 */
export function isDigestReference(reference: string): boolean {
    if (!DIGEST_SUFFIX.test(reference)) {
        return false;
    }
    const named = reference.slice(0, reference.lastIndexOf("@"));
    return REPOSITORY.test(named) || REFERENCE.test(named);
}

/** `<registry>/<name>:<channel>-<version>` */
export function replicatedImageReference(registry: string, name: ReplicatedImageName, channel: string, version: string): string {
    const reference = `${registry}/${name}:${channel}-${version}`;
    if (!isImageReference(reference)) {
        throw new Error(`image reference ${JSON.stringify(reference)} is not valid: check replicated:images.registry, channel and version`);
    }
    return reference;
}

/** The repository's last path component, without tag: the air-gap tarball's base name. */
export function imageBaseName(reference: string): string {
    const lastComponent = reference.slice(reference.lastIndexOf("/") + 1);
    const colon = lastComponent.indexOf(":");
    return colon < 0 ? lastComponent : lastComponent.slice(0, colon);
}

/** `<name>.tar`: the file load-images.sh looks for in the images directory. */
export function airgapTarballName(reference: string): string {
    return `${imageBaseName(reference)}.tar`;
}

/**
 * Fail when two different references would be loaded from the same tarball (same base name),
 * since one `<name>.tar` cannot be meant for both.
 */
export function checkTarballNames(references: readonly string[]): void {
    const byTarball = new Map<string, string>();
    for (const reference of new Set(references)) {
        const tarball = airgapTarballName(reference);
        const other = byTarball.get(tarball);
        if (other !== undefined) {
            throw new Error(
                `air-gap images ${other} and ${reference} would both load from ${tarball}. ` +
                    "Fix: give one of them a distinct repository name",
            );
        }
        byTarball.set(tarball, reference);
    }
}

/** Which Replicated images a host needs, by its role and the enabled sidecars. */
export function imagesForHost(role: "primary" | "operator", sidecars: { statsd: boolean; premkit: boolean }): ReplicatedImageName[] {
    if (role === "operator") {
        return ["replicated-operator", "replicated-helper"];
    }
    return [
        "replicated",
        "replicated-ui",
        "replicated-operator",
        ...(sidecars.statsd ? (["replicated-statsd"] as const) : []),
        ...(sidecars.premkit ? (["replicated-premkit"] as const) : []),
        "replicated-helper",
    ];
}

/** A Pulumi-name-safe slug of a reference, for the image resource of an arbitrary reference. */
export function referenceSlug(reference: string): string {
    return reference.replace(/[^A-Za-z0-9.-]+/g, "-");
}
