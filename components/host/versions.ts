/**
 * Replicated versions as the version guard compares them: pure, so the offline tools (plan-diff's
 * version notes) use them without loading the SDK.
 */

/** `<major>.<minor>.<patch>`, numbers without leading zeros (the script accepts the same). */
const VERSION_PATTERN = /^(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})\.(0|[1-9][0-9]{0,8})$/;

/** True for `2.53.2`-style versions the guard can compare. */
export function isComparableVersion(version: string): boolean {
    return VERSION_PATTERN.test(version);
}

/**
 * Semantic comparison of two `<major>.<minor>.<patch>` versions: negative when `a` is older than
 * `b`, 0 when equal, positive when newer (the script's `compare_versions` in TypeScript).
 */
export function compareVersions(a: string, b: string): number {
    for (const version of [a, b]) {
        if (!isComparableVersion(version)) {
            throw new Error(`invalid version ${JSON.stringify(version)}: it must be <major>.<minor>.<patch>, e.g. 2.53.2`);
        }
    }
    const left = a.split(".").map(Number);
    const right = b.split(".").map(Number);
    for (let index = 0; index < 3; index++) {
        if (left[index] !== right[index]) {
            return Math.sign(left[index] - right[index]);
        }
    }
    return 0;
}
