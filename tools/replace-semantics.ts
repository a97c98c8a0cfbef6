/**
 * What a changed input does to an existing resource, per provider, as `pulumi up` would do it.
 * Docker resources: the schema of tools/docker-provider-model.ts (kreuzwerker v4.5.0 behind
 * @pulumi/docker 5.2.0): a ForceNew attribute replaces; the container attributes the provider's
 * Update passes to ContainerUpdate change the running container; any other container attribute
 * is only recorded in the state. Remote commands: pulumi-command 1.x (`triggers` replaces; any
 * other change is an update that re-runs `update`, or `create` when no update command is set; a
 * connection change is an update, pulumi-command#447). random_password: every input replaces.
 *
 * This is per top-level input; the exact diff of a stored state against new inputs (sets,
 * defaults, read-back values, ignoreChanges) is diffResource in tools/docker-provider-model.ts.
 */
import { CONTAINER, CONTAINER_UPDATED_IN_PLACE, NETWORK, REMOTE_IMAGE, schemaOf } from "./docker-provider-model";

/** How Pulumi applies a change. */
export type ChangeAction = "replace" | "update";

export interface InputSemantics {
    readonly action: ChangeAction;
    /** One short sentence for the reader: what happens on the host. */
    readonly effect: string;
}

export { CONTAINER, NETWORK, REMOTE_IMAGE };
export const REMOTE_COMMAND = "command:remote:Command";
export const RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword";

/**
 * The semantics of a change to the top-level input `key` of a resource of `type`. `inputs` are the
 * resource's new inputs (a remote.Command with an `update` command runs that instead of create).
 */
export function inputSemantics(type: string, key: string, inputs: Record<string, unknown> = {}): InputSemantics {
    switch (type) {
        case CONTAINER:
        case REMOTE_IMAGE:
        case NETWORK: {
            const attribute = schemaOf(type)?.[key];
            if (attribute === undefined) {
                return { action: "update", effect: "not in the provider model; check the provider's docs" };
            }
            if (attribute.forceNew) {
                const effect = type === CONTAINER ? "container recreated" : type === NETWORK ? "network recreated" : "image pulled again";
                return { action: "replace", effect };
            }
            if (type === CONTAINER && CONTAINER_UPDATED_IN_PLACE.includes(key)) {
                return { action: "update", effect: "applied to the running container (docker update)" };
            }
            if (type === CONTAINER) {
                return { action: "update", effect: "recorded only; the running container keeps the old value until it is recreated" };
            }
            return { action: "update", effect: "provider setting only" };
        }
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
