/**
 * The SDK floor of the scale and fleet benchmarks: a trivial program that registers exactly the
 * resources a recording of the real program holds (the same number, the same types through the
 * same provider classes, the same names, parents, providers and options, the same inputs with the
 * same secrets) and nothing else: no config parsing, no validation, no Outputs chained between
 * resources. Run under the same mocks as the program, it is what the Pulumi SDK costs for that
 * set of resources; the program's time and memory above it are the program's own.
 */
import * as command from "@pulumi/command";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { RecordedResource, RecordingData } from "../../tools/offline/recorder";

type Constructor = new (name: string, args: Record<string, unknown>, opts: pulumi.CustomResourceOptions) => pulumi.CustomResource;

/** The provider classes the program registers, by type token. */
const CLASSES: Record<string, Constructor> = {
    "command:remote:Command": command.remote.Command as unknown as Constructor,
    "docker:index/container:Container": docker.Container as unknown as Constructor,
    "docker:index/remoteImage:RemoteImage": docker.RemoteImage as unknown as Constructor,
    "docker:index/network:Network": docker.Network as unknown as Constructor,
    "docker:index/volume:Volume": docker.Volume as unknown as Constructor,
    "pulumi:providers:docker": docker.Provider as unknown as Constructor,
    "pulumi:providers:command": command.Provider as unknown as Constructor,
    "random:index/randomPassword:RandomPassword": random.RandomPassword as unknown as Constructor,
};

/** A component of the recorded type that registers no outputs of its own but closes as the program's do. */
class AnyComponent extends pulumi.ComponentResource {
    constructor(type: string, name: string, opts: pulumi.ComponentResourceOptions) {
        super(type, name, {}, opts);
        this.registerOutputs({});
    }
}

/** Any other custom resource, registered by its type token. */
class AnyResource extends pulumi.CustomResource {
    constructor(type: string, name: string, args: Record<string, unknown>, opts: pulumi.CustomResourceOptions) {
        super(type, name, args, opts);
    }
}

/** The type tokens the floor registers through a provider class (the rest generically). */
export function floorClassTypes(): string[] {
    return Object.keys(CLASSES).sort();
}

/** Wrap the values at `paths` (`connection.privateKey`, `envs[2]`) in pulumi.secret, as the program's inputs were. */
export function withSecrets(inputs: Record<string, unknown>, paths: readonly string[]): Record<string, unknown> {
    if (paths.length === 0) {
        return inputs;
    }
    const copy = JSON.parse(JSON.stringify(inputs)) as Record<string, unknown>;
    for (const secretPath of paths) {
        const parts = secretPath.match(/[^.[\]]+/g) ?? [];
        let holder: Record<string, unknown> = copy;
        for (const part of parts.slice(0, -1)) {
            holder = holder[part] as Record<string, unknown>;
        }
        const last = parts[parts.length - 1];
        if (holder !== undefined && last !== undefined && holder[last] !== undefined) {
            holder[last] = pulumi.secret(holder[last]);
        }
    }
    return copy;
}

/**
 * A provider's recorded inputs as its constructor takes them: the generated provider class
 * JSON-encodes its list and object inputs (@pulumi/docker 5.2.0 provider.ts:
 * `pulumi.output(args.sshOpts).apply(JSON.stringify)`), so they are decoded here and encoded
 * again by the same class on registration.
 */
export function providerArgs(inputs: Record<string, unknown>): Record<string, unknown> {
    return Object.fromEntries(
        Object.entries(inputs).map(([key, value]) => {
            if (typeof value === "string" && /^[[{]/.test(value)) {
                try {
                    return [key, JSON.parse(value) as unknown];
                } catch {
                    return [key, value];
                }
            }
            return [key, value];
        }),
    );
}

/**
 * A program that registers the resources of `recording` in their recorded order (a parent is
 * always recorded before its children). The stack resource itself is left to the runtime.
 */
export function floorProgram(recording: Pick<RecordingData, "resources">): () => Record<string, never> {
    return () => {
        const created = new Map<string, pulumi.Resource>();
        const refOf = (resource: Pick<RecordedResource, "type" | "name">) => `${resource.type}::${resource.name}`;
        for (const resource of recording.resources) {
            if (resource.type === "pulumi:pulumi:Stack") {
                continue;
            }
            const parent = resource.parent === undefined ? undefined : created.get(resource.parent);
            const { options } = resource;
            // Components register their dependencies too (the SDK resolves each one's URN).
            const dependsOn = options.dependsOn.map((ref) => created.get(ref)).filter((r): r is pulumi.Resource => r !== undefined);
            if (!resource.custom) {
                created.set(refOf(resource), new AnyComponent(resource.type, resource.name, { parent, ...(dependsOn.length > 0 ? { dependsOn } : {}) }));
                continue;
            }
            const provider = options.provider === undefined ? undefined : (created.get(options.provider) as pulumi.ProviderResource | undefined);
            const opts: pulumi.CustomResourceOptions = {
                parent,
                ...(provider !== undefined ? { provider } : {}),
                ...(dependsOn.length > 0 ? { dependsOn } : {}),
                ...(options.deleteBeforeReplace ? { deleteBeforeReplace: true } : {}),
                ...(options.ignoreChanges.length > 0 ? { ignoreChanges: options.ignoreChanges } : {}),
                ...(options.replaceOnChanges.length > 0 ? { replaceOnChanges: options.replaceOnChanges } : {}),
                ...(options.additionalSecretOutputs.length > 0 ? { additionalSecretOutputs: options.additionalSecretOutputs } : {}),
                ...(options.retainOnDelete ? { retainOnDelete: true } : {}),
                ...(options.protect ? { protect: true } : {}),
            };
            const inputs = withSecrets(resource.type.startsWith("pulumi:providers:") ? providerArgs(resource.inputs) : resource.inputs, resource.secretPaths);
            const Class = CLASSES[resource.type];
            created.set(refOf(resource), Class !== undefined ? new Class(resource.name, inputs, opts) : new AnyResource(resource.type, resource.name, inputs, opts));
        }
        return {};
    };
}

/** JSON.parse with every string interned, so a loaded recording shares repeated text (scripts) as the program does. */
export function parseInterned<T>(text: string): T {
    const strings = new Map<string, string>();
    return JSON.parse(text, (_key, value: unknown) => {
        if (typeof value !== "string") {
            return value;
        }
        const known = strings.get(value);
        if (known !== undefined) {
            return known;
        }
        strings.set(value, value);
        return value;
    }) as T;
}
