/**
 * The defaults of the stack configuration, each written once: the schema applies them and the
 * cross-field rules (which read the raw input, before defaults) fall back to the same values.
 * docs/configuration.md and Pulumi.yaml show them through tools/config-docs.ts.
 */

/** The config namespace: every key is `replicated:<key>`. */
export const CONFIG_NAMESPACE = "replicated";

/** The one stack allowed to connect without a pinned host key (the local sandbox). */
export const DEV_STACK = "dev";

/**
 * Where volume roots and snapshot destinations may lie (`replicated:dataPrefixes`, extendable):
 * directories meant for data, so that no operation writes below /var/spool/cron, /var/lib/dpkg,
 * /var/cache, /var/lock or the like.
 */
export const DEFAULT_DATA_PREFIXES: readonly string[] = Object.freeze(["/srv", "/data"]);

/** `runAs`: the 2.5.0+ least-privilege layout. */
export const DEFAULT_RUN_AS = "replicated";
/** `serviceUser.name`. */
export const DEFAULT_SERVICE_ACCOUNT = "replicated";
/** `hosts[].user`: the SSH login. */
export const DEFAULT_SSH_USER = "root";
/** `hosts[].port`. */
export const DEFAULT_SSH_PORT = 22;
/** `uiPort`: host port of the admin console. */
export const DEFAULT_UI_PORT = 8800;
/** `images.registry`. */
export const DEFAULT_REGISTRY = "quay.io/replicated";
/** `applications[].user`: the image's own user. */
export const DEFAULT_APPLICATION_USER = "image";
/** `applications[].volumes[].mode`. */
export const DEFAULT_VOLUME_MODE = "0750";
/** `operations.timeoutSeconds` and `takeover.fallbackSeconds`. */
export const DEFAULT_OPERATION_TIMEOUT_SECONDS = 300;
export const DEFAULT_TAKEOVER_FALLBACK_SECONDS = 300;

/** `become` when a host does not set it: none for root, sudo for anyone else. */
export function defaultBecome(user: string): "sudo" | "none" {
    return user === "root" ? "none" : "sudo";
}
