/**
 * Rules for where images come from, in the stack config: the air-gap directory (nothing but root
 * may write there), helper references that can be checked after a load, and pins keyed by a known
 * image. Read on the raw input, so they are reported together with the field errors.
 */
import { rawVolumeRoots, SERVICE_TREES } from "../ops/data-path-rules";
import { isCleanAbsolutePath, isPathWithin } from "../shell";
import { REPLICATED_IMAGES } from "./image-refs";

/** Problems of `replicated:airgap` and `replicated:images`. */
export function imageSourceProblems(input: Readonly<Record<string, unknown>>): string[] {
    const problems: string[] = [];
    const volumeRoots = rawVolumeRoots(input);
    const airgap = input.airgap as Record<string, unknown> | undefined;
    if (typeof airgap?.imagesDir === "string" && isCleanAbsolutePath(airgap.imagesDir)) {
        const imagesDir = airgap.imagesDir;
        const writableByOthers = [...SERVICE_TREES, ...volumeRoots, "/tmp", "/var/tmp", "/dev/shm", "/run/user", "/run/lock", "/var/lock"];
        const inside = writableByOthers.find((tree) => isPathWithin(imagesDir, tree) || isPathWithin(tree, imagesDir));
        if (inside !== undefined || imagesDir === "/") {
            problems.push(
                `replicated:airgap.imagesDir: ${imagesDir} ${inside !== undefined ? `overlaps ${inside}, which the service account, an application or every user can write` : "is the root directory"}; an image planted there would run with the Docker socket. ` +
                    "Fix: pulumi config set --path 'replicated:airgap.imagesDir' /var/lib/replicated-images (a root-owned directory that only root can write)",
            );
        }
    }
    const images = input.images as Record<string, unknown> | undefined;
    if (typeof images?.helper === "string" && images.helper.includes("@sha256:") && input.airgap !== undefined) {
        problems.push(
            `replicated:images.helper: a digest reference cannot be checked after docker load (a loaded image has no registry digest). ` +
                "Fix: in air-gap mode give the helper a tag, and pin its image id: pulumi config set --path 'replicated:images.pins.replicated-helper' sha256:<image id>",
        );
    }
    if (images?.pins !== null && typeof images?.pins === "object") {
        const applicationImages = new Set(
            (Array.isArray(input.applications) ? (input.applications as Array<Record<string, unknown>>) : []).map((app) => app?.image).filter((image): image is string => typeof image === "string"),
        );
        for (const name of Object.keys(images.pins as Record<string, unknown>)) {
            if (!(REPLICATED_IMAGES as readonly string[]).includes(name) && !applicationImages.has(name)) {
                problems.push(
                    `replicated:images.pins.${name}: no image of that name: pins are keyed by ${REPLICATED_IMAGES.join(", ")} or an application's image reference. ` +
                        `Fix: pulumi config rm --path 'replicated:images.pins.${name}', or use one of those names`,
                );
            }
        }
    }
    return problems;
}
