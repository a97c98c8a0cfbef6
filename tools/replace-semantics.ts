/**
 * What a changed input does to an existing resource, per provider, as `pulumi up` would do it.
 * Sources: the provider schemas (ForceNew fields of terraform-provider-docker's docker_container,
 * docker_image and docker_network behind @pulumi/docker 5.x; random_password's RequiresReplace
 * fields) and pulumi-command 1.x (`triggers` replaces; any other change is an update that re-runs
 * `update`, or `create` when no update command is set; a connection change is an update,
 * pulumi-command#447). Docker has no API to modify a network, so every Network input replaces.
 */

/** How Pulumi applies a change. */
export type ChangeAction = "replace" | "update";

export interface InputSemantics {
    readonly action: ChangeAction;
    /** One short sentence for the reader: what happens on the host. */
    readonly effect: string;
}

export const CONTAINER = "docker:index/container:Container";
export const REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage";
export const NETWORK = "docker:index/network:Network";
export const REMOTE_COMMAND = "command:remote:Command";
export const RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword";

/** Container inputs the provider changes on the running container (`docker update`). */
const CONTAINER_UPDATED_IN_PLACE = new Set(["restart", "maxRetryCount", "cpuShares", "memory", "memorySwap", "cpuSet"]);

/**
 * Container inputs that are not ForceNew but that the provider's update does not apply to the
 * running container: they are stored in state and take effect the next time it is recreated.
 */
const CONTAINER_STATE_ONLY = new Set([
    "tmpfs",
    "healthcheck",
    "init",
    "cpuPeriod",
    "cpuQuota",
    "rm",
    "start",
    "wait",
    "waitTimeout",
    "attach",
    "logs",
    "mustRun",
    "removeVolumes",
    "destroyGraceSeconds",
    "containerReadRefreshTimeoutMilliseconds",
]);

const REMOTE_IMAGE_REPLACES = new Set(["name", "platform", "pullTriggers", "triggers", "build"]);

/**
 * The semantics of a change to the top-level input `key` of a resource of `type`. `inputs` are the
 * resource's new inputs (a remote.Command with an `update` command runs that instead of create).
 */
export function inputSemantics(type: string, key: string, inputs: Record<string, unknown> = {}): InputSemantics {
    switch (type) {
        case CONTAINER:
            if (CONTAINER_UPDATED_IN_PLACE.has(key)) {
                return { action: "update", effect: "applied to the running container (docker update)" };
            }
            if (CONTAINER_STATE_ONLY.has(key)) {
                return { action: "update", effect: "recorded only; the running container keeps the old value until it is recreated" };
            }
            return { action: "replace", effect: "container recreated" };
        case REMOTE_IMAGE:
            return REMOTE_IMAGE_REPLACES.has(key)
                ? { action: "replace", effect: "image pulled again" }
                : { action: "update", effect: "provider setting only" };
        case NETWORK:
            return { action: "replace", effect: "network recreated (Docker cannot modify a network)" };
        case RANDOM_PASSWORD:
            return { action: "replace", effect: "a new value is generated" };
        case REMOTE_COMMAND:
            if (key === "triggers") {
                return { action: "replace", effect: "runs create on the host again (new resource)" };
            }
            if (key === "connection") {
                return { action: "update", effect: `connection changed; re-runs ${typeof inputs.update === "string" ? "update" : "create"} on the host` };
            }
            return { action: "update", effect: `re-runs ${typeof inputs.update === "string" ? "update" : "create"} on the host` };
        default:
            if (type.startsWith("pulumi:providers:")) {
                return { action: "update", effect: "provider configuration changed" };
            }
            return { action: "update", effect: "update (semantics of this resource type are not modelled; check the provider's docs)" };
    }
}

/** What creating a resource does on the host, in one short phrase. */
export function creationEffect(type: string): string | undefined {
    switch (type) {
        case REMOTE_COMMAND:
            return "runs create on the host";
        case CONTAINER:
            return "container created";
        case REMOTE_IMAGE:
            return "image pulled";
        default:
            return undefined;
    }
}

/** What deleting a resource does on the host, in one short phrase. */
export function deletionEffect(type: string, inputs: Record<string, unknown>): string | undefined {
    switch (type) {
        case REMOTE_COMMAND:
            return typeof inputs.delete === "string" ? "runs its delete command on the host" : "no delete command: nothing runs on the host";
        case CONTAINER:
            return "container stopped and removed";
        case REMOTE_IMAGE:
            return inputs.keepLocally === true ? "image kept on the host (keepLocally)" : "image removed from the host";
        case NETWORK:
            return "network removed";
        default:
            return undefined;
    }
}
