/**
 * Applies recorded docker resources to a real Docker engine the way the docker provider does,
 * with the provider model of tools/docker-provider-model.ts:
 *
 * - a Container is created with the Engine API requests resourceDockerContainerCreate sends
 *   ({@link createContainer}: ContainerCreate with the provider's Config/HostConfig, disconnect
 *   from "bridge", connect each `networksAdvanced` network, start, the optional `wait`), then
 *   read back as resourceDockerContainerRead stores it: that read-back is the resource's state;
 * - a name already held by another container is a create conflict, as for the provider: nothing
 *   is ever removed by name ({@link deleteContainer} removes by the id in the state);
 * - delete and replace stop with the state's `destroyGraceSeconds` (0 when unset: SIGKILL right
 *   after the stop signal) and remove with the state's `removeVolumes` (default true), from the
 *   state being deleted (a replacement deletes with the OLD state);
 * - a Network is created with resourceDockerNetworkCreate's request and read back;
 * - a RemoteImage is looked up on the host (there is no registry to pull from) and read back.
 *
 * Inputs the model does not know fail (ProviderInputError, or the model's "no schema entry"),
 * so a new input in the container spec fails the engine tier until it is modelled.
 *
 * {@link dockerEngineResolver} is a `resolve` hook for recordProgram: it maps each docker
 * resource to the test host of its provider (`ssh://user@127.0.0.1:<port>`), checks the
 * provider's recorded SSH settings by really dialling `docker system dial-stdio` with them, and
 * creates what the program declares. Combine it with host-runner's `hostResolver` (as
 * `fallback`) so the remote commands run too.
 */
import { spawn } from "node:child_process";
import {
    CONTAINER,
    NETWORK,
    REMOTE_IMAGE,
    containerCreatePlan,
    containerDeletePlan,
    diffResource,
    networkCreateBody,
    plannedState,
    readContainer,
    readNetwork,
    readRemoteImage,
    type ContainerInspect,
    type NetworkInspect,
    type ResourceDiff,
    type Values,
} from "../../tools/docker-provider-model";
import { cannedResolver } from "./canned-outputs";
import { EngineApiError, engineApi } from "./engine-api";
import type { RecordedResource, Resolver } from "./mock-recorder";
import { docker, type TestHost } from "./testhost";

type Inputs = Record<string, unknown>;

/** Whether an engine error is one the provider ignores (containsIgnorableErrorMessage). */
function ignorable(error: unknown, ...messages: string[]): boolean {
    return error instanceof EngineApiError && messages.some((message) => error.daemonMessage.includes(message));
}

/**
 * resourceDockerContainerCreate, then Read: returns the state the provider stores. Errors carry
 * the provider's wording ("Unable to create container: Error response from daemon: ...").
 */
export async function createContainer(host: TestHost, inputs: Inputs, resource: string): Promise<Values> {
    const plan = containerCreatePlan(inputs, resource);
    let id: string;
    try {
        id = ((await engineApi(host, "POST", "/containers/create", { query: { name: plan.name }, body: plan.body })).body as { Id: string }).Id;
    } catch (error) {
        throw new Error(`${resource}: Unable to create container: ${error instanceof Error ? error.message : String(error)}`);
    }
    if (plan.networks.length > 0) {
        try {
            await engineApi(host, "POST", "/networks/bridge/disconnect", { body: { Container: id, Force: false } });
        } catch (error) {
            if (!ignorable(error, "is not connected to the network bridge", "is not connected to network bridge")) {
                throw new Error(`${resource}: Unable to disconnect the default network: ${String(error)}`);
            }
        }
        for (const network of plan.networks) {
            try {
                await engineApi(host, "POST", `/networks/${encodeURIComponent(network.name)}/connect`, { body: { Container: id, EndpointConfig: network.endpointConfig } });
            } catch (error) {
                throw new Error(`${resource}: Unable to connect to network '${network.name}': ${String(error)}`);
            }
        }
    }
    if (plan.start) {
        try {
            await engineApi(host, "POST", `/containers/${id}/start`);
        } catch (error) {
            throw new Error(`${resource}: Unable to start container: ${error instanceof Error ? error.message : String(error)}`);
        }
        if (plan.waitSeconds !== undefined) {
            const deadline = Date.now() + plan.waitSeconds * 1000;
            for (;;) {
                const inspect = (await engineApi(host, "GET", `/containers/${id}/json`)).body as { State?: { Health?: { Status?: string } } };
                if (inspect.State?.Health === undefined) {
                    throw new Error(`${resource}: you have supplied a 'wait' argument, but the container does not have a healthcheck defined`);
                }
                if (inspect.State.Health.Status === "healthy") break;
                if (Date.now() > deadline) throw new Error(`${resource}: container failed to be in healthy state`);
                await new Promise((done) => setTimeout(done, 1000));
            }
        }
    }
    return readContainerState(host, id, plannedState(CONTAINER, inputs));
}

/** resourceDockerContainerRead of container `id` over `planned` (the state before the read). */
export async function readContainerState(host: TestHost, id: string, planned: Values): Promise<Values> {
    const inspect = (await engineApi(host, "GET", `/containers/${encodeURIComponent(id)}/json`)).body as ContainerInspect;
    return readContainer(inspect, planned);
}

/** What {@link deleteContainer} did. */
export interface ContainerDeletion {
    readonly id: string;
    readonly stopTimeoutSeconds: number;
    readonly removeVolumes: boolean;
}

/** resourceDockerContainerDelete with the settings of `state` (the state being deleted). */
export async function deleteContainer(host: TestHost, state: Values, resource: string): Promise<ContainerDeletion> {
    const id = state.id;
    if (typeof id !== "string" || id === "") {
        throw new Error(`${resource}: the state holds no container id; the runner never removes a container by name`);
    }
    const plan = containerDeletePlan(state);
    if (state.attach !== true) {
        try {
            await engineApi(host, "POST", `/containers/${id}/stop`, { query: { t: String(plan.stopTimeoutSeconds) }, timeoutMs: (plan.stopTimeoutSeconds + 120) * 1000 });
        } catch (error) {
            if (!ignorable(error, "No such container")) throw new Error(`${resource}: Error stopping container ${id}: ${String(error)}`);
        }
    }
    try {
        await engineApi(host, "DELETE", `/containers/${id}`, { query: { v: plan.removeVolumes ? "1" : "0", force: "1" } });
    } catch (error) {
        if (!ignorable(error, "No such container", "is already in progress")) throw new Error(`${resource}: Error deleting container ${id}: ${String(error)}`);
    }
    try {
        await engineApi(host, "POST", `/containers/${id}/wait`, { query: { condition: state.rm === true ? "removed" : "not-running" } });
    } catch (error) {
        if (!ignorable(error, "No such container", "is already in progress")) throw new Error(`${resource}: Error waiting for container removal '${id}': ${String(error)}`);
    }
    return { id, stopTimeoutSeconds: plan.stopTimeoutSeconds, removeVolumes: plan.removeVolumes };
}

/** resourceDockerContainerUpdate's ContainerUpdate (`body` from containerUpdateBody). */
export async function updateContainer(host: TestHost, state: Values, body: Values, resource: string): Promise<void> {
    try {
        await engineApi(host, "POST", `/containers/${String(state.id)}/update`, { body });
    } catch (error) {
        throw new Error(`${resource}: Unable to update a container: ${String(error)}`);
    }
}

/** resourceDockerContainerUpdate: must_run false -> true starts the stopped container. */
export async function startContainer(host: TestHost, state: Values, resource: string): Promise<void> {
    try {
        await engineApi(host, "POST", `/containers/${String(state.id)}/start`);
    } catch (error) {
        throw new Error(`${resource}: Unable to start container: ${String(error)}`);
    }
}

/** resourceDockerNetworkCreate, then Read. */
export async function createNetwork(host: TestHost, inputs: Inputs, resource: string): Promise<Values> {
    let id: string;
    try {
        id = ((await engineApi(host, "POST", "/networks/create", { body: networkCreateBody(inputs) })).body as { Id: string }).Id;
    } catch (error) {
        throw new Error(`${resource}: Unable to create network: ${error instanceof Error ? error.message : String(error)}`);
    }
    return readNetworkState(host, id, plannedState(NETWORK, inputs));
}

/** resourceDockerNetworkReadRefreshFunc over `planned`. */
export async function readNetworkState(host: TestHost, id: string, planned: Values): Promise<Values> {
    const inspect = (await engineApi(host, "GET", `/networks/${encodeURIComponent(id)}`)).body as NetworkInspect;
    return readNetwork(inspect, planned);
}

/** resourceDockerNetworkDelete (NetworkRemove until it is gone). */
export async function deleteNetwork(host: TestHost, state: Values, resource: string): Promise<void> {
    try {
        await engineApi(host, "DELETE", `/networks/${String(state.id)}`);
    } catch (error) {
        if (!ignorable(error, "not found", "No such network")) throw new Error(`${resource}: Error deleting network: ${String(error)}`);
    }
}

/**
 * The next preview of one docker resource as the bridge would compute it after a refresh:
 * Read of what the engine holds now (over the stored state) against the current inputs.
 */
export async function previewAfterRefresh(host: TestHost, resource: RecordedResource): Promise<ResourceDiff> {
    const state = resource.state;
    const id = String(state.id ?? "");
    let refreshed: Values;
    switch (resource.type) {
        case CONTAINER:
            refreshed = await readContainerState(host, id, state);
            break;
        case NETWORK:
            refreshed = await readNetworkState(host, id, state);
            break;
        default:
            throw new Error(`previewAfterRefresh: ${resource.type} is not a container or network`);
    }
    return diffResource(resource.type, refreshed, resource.inputs, { ignoreChanges: resource.options.ignoreChanges });
}

// ---------------------------------------------------------------------------------------------
// Provider check: dial the engine exactly as the docker provider's SSH helper does

/** The recorded provider settings (provider inputs are JSON-encoded strings for non-strings). */
export function providerSettings(inputs: Inputs): { host: string; sshOpts: string[] } {
    const host = inputs.host;
    if (typeof host !== "string" || !host.startsWith("ssh://")) {
        throw new Error(`docker provider host ${JSON.stringify(host)} is not an ssh:// URL`);
    }
    const raw = inputs.sshOpts;
    const sshOpts = typeof raw === "string" ? (JSON.parse(raw) as unknown) : (raw ?? []);
    if (!Array.isArray(sshOpts) || !sshOpts.every((opt) => typeof opt === "string")) {
        throw new Error(`docker provider sshOpts ${JSON.stringify(raw)} is not a list of strings`);
    }
    return { host, sshOpts: sshOpts as string[] };
}

/** `ssh` arguments of docker's connection helper for `ssh://user@host:port` + sshOpts. */
export function dialStdioArgs(hostUrl: string, sshOpts: readonly string[]): string[] {
    const url = new URL(hostUrl);
    const address = url.hostname.replace(/^\[(.*)\]$/, "$1");
    return [
        ...sshOpts,
        "-T",
        ...(url.username ? ["-l", decodeURIComponent(url.username)] : []),
        ...(url.port ? ["-p", url.port] : []),
        "--",
        address,
        "docker",
        "system",
        "dial-stdio",
    ];
}

/**
 * Run the local ssh with the provider's settings, speak HTTP over `docker system dial-stdio`
 * and return the engine's answer to `GET /_ping` (status line + body), or throw with ssh's
 * stderr (host key mismatch, permission denied on the socket, ...).
 */
export function pingEngineOverSsh(hostUrl: string, sshOpts: readonly string[], timeoutMs = 30_000): Promise<string> {
    return new Promise((resolve, reject) => {
        const child = spawn("ssh", dialStdioArgs(hostUrl, sshOpts), { stdio: ["pipe", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        const timer = setTimeout(() => {
            child.kill("SIGKILL");
            reject(new Error(`ssh dial-stdio to ${hostUrl}: no answer within ${timeoutMs} ms; stderr: ${stderr.trim()}`));
        }, timeoutMs);
        child.stdout.on("data", (chunk: Buffer) => {
            stdout += chunk.toString("utf8");
        });
        child.stderr.on("data", (chunk: Buffer) => {
            stderr += chunk.toString("utf8");
        });
        child.on("error", (err) => {
            clearTimeout(timer);
            reject(new Error(`cannot run ssh: ${err.message}`));
        });
        child.on("close", (code) => {
            clearTimeout(timer);
            const status = /^HTTP\/1\.[01] (\d{3}[^\r\n]*)/.exec(stdout)?.[1];
            if (status === undefined) {
                reject(new Error(`ssh dial-stdio to ${hostUrl} exited ${code} without an HTTP answer; stderr: ${stderr.trim()}`));
                return;
            }
            const body = stdout.split("\r\n\r\n").slice(1).join("\r\n\r\n").trim();
            resolve(`${status} ${body}`.trim());
        });
        child.stdin.end("GET /_ping HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n");
    });
}

// ---------------------------------------------------------------------------------------------
// The resolve hook

/** What the resolver did, for assertions and timings. */
export interface EngineEvent {
    readonly type: string;
    readonly name: string;
    readonly host: string;
    readonly detail: string;
    readonly seconds: number;
}

export interface DockerEngineResolverOptions {
    /** Test hosts, matched by the provider's `ssh://user@127.0.0.1:<sshPort>`. */
    readonly hosts: readonly TestHost[];
    /** Outputs of everything that is not a docker resource. Default: {@link cannedResolver}. */
    readonly fallback?: Resolver;
    /** Daemon token the RandomPassword resolves to. Default: the canned token. */
    readonly daemonToken?: string;
    /** Check each provider by dialling its engine over SSH with the recorded settings. Default true. */
    readonly checkProviders?: boolean;
    readonly onEvent?: (event: EngineEvent) => void;
}

/** The resolve hook that applies docker resources to the test hosts' engines (see module comment). */
export function dockerEngineResolver(options: DockerEngineResolverOptions): Resolver {
    const fallback = options.fallback ?? cannedResolver;
    const providers = new Map<string, TestHost>();
    const emit = (type: string, name: string, host: TestHost, detail: string, started: number): void =>
        options.onEvent?.({ type, name, host: host.name, detail, seconds: (performance.now() - started) / 1000 });

    const hostOf = (resource: RecordedResource): TestHost => {
        const provider = resource.options.provider;
        const host = provider ? providers.get(provider) : undefined;
        if (!host) {
            throw new Error(`${resource.type} ${resource.name}: its provider ${provider ?? "(default)"} is not a test-host docker provider`);
        }
        return host;
    };

    return async (resource) => {
        const started = performance.now();
        switch (resource.type) {
            case "random:index/randomPassword:RandomPassword":
                return options.daemonToken !== undefined ? { result: options.daemonToken } : fallback(resource);
            case "pulumi:providers:docker": {
                const { host: url, sshOpts } = providerSettings(resource.inputs);
                const parsed = new URL(url);
                const host = options.hosts.find((h) => h.address === parsed.hostname && String(h.sshPort) === parsed.port);
                if (!host) {
                    throw new Error(`provider ${resource.name}: no test host at ${url}`);
                }
                providers.set(`${resource.type}::${resource.name}`, host);
                if (options.checkProviders ?? true) {
                    const answer = await pingEngineOverSsh(url, sshOpts);
                    emit(resource.type, resource.name, host, answer, started);
                }
                return undefined;
            }
            case REMOTE_IMAGE: {
                const host = hostOf(resource);
                const name = String(resource.inputs.name);
                let image: { Id: string; RepoDigests?: string[] | null };
                try {
                    image = (await engineApi(host, "GET", `/images/${encodeURIComponent(name)}/json`)).body as { Id: string; RepoDigests?: string[] | null };
                } catch {
                    // The provider would pull here; the test hosts have no registry.
                    throw new Error(`RemoteImage ${resource.name}: ${name} is not on ${host.name} and there is no registry to pull it from`);
                }
                emit(resource.type, resource.name, host, image.Id, started);
                return readRemoteImage(image, plannedState(REMOTE_IMAGE, resource.inputs));
            }
            case NETWORK: {
                const host = hostOf(resource);
                const state = await createNetwork(host, resource.inputs, resource.name);
                emit(resource.type, resource.name, host, String(state.id), started);
                return state;
            }
            case CONTAINER: {
                const host = hostOf(resource);
                const state = await createContainer(host, resource.inputs, resource.name);
                emit(resource.type, resource.name, host, String(state.id), started);
                return state;
            }
            default:
                return fallback(resource);
        }
    };
}

/** Poll `docker inspect` until the container is healthy; throw with its last health log when not. */
export async function waitHealthy(host: TestHost, container: string, timeoutSeconds: number): Promise<void> {
    const deadline = Date.now() + timeoutSeconds * 1000;
    let last = "";
    while (Date.now() < deadline) {
        last = (await docker(host, ["inspect", "--format", "{{.State.Health.Status}}", container])).stdout.trim();
        if (last === "healthy") {
            return;
        }
        await new Promise((done) => setTimeout(done, 1000));
    }
    const log = (await docker(host, ["inspect", "--format", "{{json .State.Health}}", container])).stdout.trim();
    throw new Error(`${container} on ${host.name} is ${last || "without health status"} after ${timeoutSeconds} s: ${log}`);
}
