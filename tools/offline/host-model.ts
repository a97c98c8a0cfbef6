/**
 * The host model of offline evaluation: what each host script prints on a converged host, so the
 * program can be evaluated without a host (the unit tier, plan-diff, fleet). Scripts are
 * recognised by their header line `# replicated-script: <name>`; the host tier replaces these
 * with real runs.
 */
import { createHash } from "node:crypto";
import { CONTAINER, inputSemantics } from "../replace-semantics";
import type { RecordedResource, Resolver } from "./recorder";

/** Service uid and docker gid the canned account summary reports. */
export const CANNED_UID = 1017;
export const CANNED_DOCKER_GID = 999;

const SUMMARIES: Record<string, (args: string[]) => Record<string, unknown>> = {
    account: (args) =>
        args[0] === "root"
            ? { user: "root", uid: 0, gid: 0, dockerGid: CANNED_DOCKER_GID, changed: 0 }
            : { user: args[1] ?? "replicated", uid: CANNED_UID, gid: CANNED_DOCKER_GID, dockerGid: CANNED_DOCKER_GID, changed: 0 },
    directories: (args) => ({
        changed: 0,
        uid: Number(args[0]),
        gid: Number(args[1]),
        role: args[2],
        directories: args[2] === "primary" ? 10 : 5,
        tmpfiles: "applied",
    }),
    "repair-ownership": () => ({ changed: 0, skipped: 0, trees: 4, mountsLeftAlone: 0, protectedHardlinks: 1, stoppedContainers: [], restartedContainers: [] }),
    // The configured version is the one recorded on the host (a converged host): nothing written.
    "version-guard": (args) => ({
        previous: args[0],
        previousChannel: args[1],
        previousSource: "record",
        version: args[0],
        channel: args[1],
        direction: "same",
        changed: 0,
    }),
    // Every image already present (a converged host): nothing loaded.
    "load-images": (args) => ({ loaded: [], present: args.slice(1), changed: 0 }),
    // A host with nothing of Replicated's own install script: nothing detected, taken over or carried over.
    "detect-install": () => ({
        init: "systemd",
        install: "none",
        mode: null,
        serviceUid: null,
        version: null,
        units: [],
        envFiles: [],
        user: null,
        containers: [],
        images: [],
        dataOwners: {},
        takeoverPhase: null,
        takeOver: false,
        changed: 0,
    }),
    takeover: (args) => ({ install: "none", init: "systemd", units: 0, stopped: 0, containersRemoved: 0, fallbackArmed: false, fallbackSeconds: Number(args[1]), changed: 0 }),
    "takeover-confirm": () => ({ phase: null, armed: false, waitedSeconds: 0, gapSeconds: null, changed: 0 }),
    "read-daemon-token": () => ({ found: false, source: null, token: null, changed: 0 }),
    // An elevated operation that just ran: OPERATION REQUEST ... (the summary shape varies by operation).
    "elevated-run": (args) => ({ operation: args[0], request: args[1], changed: 1 }),
    // Every container healthy: TIMEOUT CONTAINER...
    "container-health": (args) => ({ healthy: args.slice(1), failed: [], seconds: 0, changed: 0 }),
};

/** The script name from the `# replicated-script: <name>` header of a command's stdin. */
export function scriptNameOf(resource: RecordedResource): string | undefined {
    const stdin = resource.inputs.stdin;
    if (typeof stdin !== "string") {
        return undefined;
    }
    return /^# replicated-script: ([a-z0-9-]+)$/m.exec(stdin)?.[1];
}

/** Positional arguments of `sh -s -- 'a' 'b'` in a recorded create command. */
export function scriptArgsOf(resource: RecordedResource): string[] {
    const create = typeof resource.inputs.create === "string" ? resource.inputs.create : "";
    const index = create.lastIndexOf("sh -s --");
    if (index < 0) {
        return [];
    }
    const rest = create.slice(index + "sh -s --".length);
    const args: string[] = [];
    const pattern = /'((?:[^']|'\\'')*)'/g;
    let match: RegExpExecArray | null;
    while ((match = pattern.exec(rest)) !== null) {
        args.push(match[1].replace(/'\\''/g, "'"));
    }
    return args;
}

/** The daemon token the canned RandomPassword returns: tests assert it never leaks into commands. */
export const CANNED_DAEMON_TOKEN = "cannedDaemonToken0123456789abcdef";

/** Resolver for the unit tier: canned stdout for known scripts, inputs echoed for the rest. */
export const cannedResolver: Resolver = (resource) => {
    if (resource.type === "random:index/randomPassword:RandomPassword") {
        return { result: CANNED_DAEMON_TOKEN };
    }
    if (resource.type === "docker:index/remoteImage:RemoteImage") {
        // A stable fake image id derived from the reference, as the provider reports `sha256:<hex>`.
        const name = String(resource.inputs.name ?? "");
        return { imageId: `sha256:${createHash("sha256").update(name).digest("hex")}`, repoDigest: "" };
    }
    if (resource.type !== "command:remote:Command") {
        return undefined;
    }
    const script = scriptNameOf(resource);
    const summary = script ? SUMMARIES[script] : undefined;
    const stdout = summary ? JSON.stringify(summary(scriptArgsOf(resource))) : JSON.stringify({ changed: 0 });
    return { stdout, stderr: "" };
};

/**
 * Resolver for plan-diff and fleet: the canned host outputs, plus a RemoteImage id and repo
 * digest per image name, so a new tag shows up in every container that uses the image, as it
 * does on `pulumi up`, and a container id per container (see {@link containerId}).
 */
export const modelledResolver: Resolver = async (resource) => {
    const canned = await cannedResolver(resource);
    if (resource.type === CONTAINER) {
        return { ...(canned ?? {}), id: containerId(resource) };
    }
    if (resource.type === "docker:index/remoteImage:RemoteImage" && typeof resource.inputs.name === "string") {
        const name = resource.inputs.name;
        const digest = createHash("sha256").update(name).digest("hex");
        return { imageId: `sha256:${digest}`, repoDigest: `${name.replace(/:[^/:]+$/, "")}@sha256:${digest}`, ...(canned ?? {}) };
    }
    return canned;
};

/**
 * The id Docker gives a container, modelled: a hash of its name and of every input whose change
 * replaces it. A replaced container comes back with a new id, as a new container does on the
 * engine, so whatever is keyed on container ids (the health gate's triggers) changes with it;
 * a container updated in place keeps its id.
 */
export function containerId(resource: Pick<RecordedResource, "name" | "inputs">): string {
    const replacing = Object.keys(resource.inputs)
        .filter((key) => inputSemantics(CONTAINER, key, resource.inputs).action === "replace")
        .sort()
        .map((key) => [key, resource.inputs[key]]);
    return createHash("sha256").update(JSON.stringify([resource.name, replacing])).digest("hex");
}
