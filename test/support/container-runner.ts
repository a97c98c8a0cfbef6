/**
 * Applies recorded docker resources to a real Docker engine, the way the docker provider would.
 *
 * {@link containerPlan} translates the inputs of a recorded `docker:index/container:Container`
 * (ContainerArgs as the engine receives them) into `docker create` arguments plus the network
 * steps the provider performs after creating (it creates the container on the default bridge,
 * disconnects it, then connects each `networksAdvanced` network). Every input is either
 * translated or rejected with {@link UnsupportedInputError}: nothing is dropped silently, so a
 * new input in the container spec fails the engine tier until it is translated here.
 * {@link networkCreateArgs} does the same for `docker:index/network:Network`.
 *
 * {@link dockerEngineResolver} is a `resolve` hook for recordProgram: it maps each docker
 * resource to the test host of its provider (`ssh://user@127.0.0.1:<port>`), checks the
 * provider's recorded SSH settings by really dialling `docker system dial-stdio` with them,
 * resolves RemoteImage against the host's images (never pulls: there is no registry), creates
 * networks and creates + starts containers. Combine it with host-runner's `hostResolver`
 * (as `fallback`) so the remote commands run too.
 */
import { spawn } from "node:child_process";
import { cannedResolver } from "./canned-outputs";
import type { RecordedResource, Resolver } from "./mock-recorder";
import { docker, type TestHost } from "./testhost";

/** An input the runner cannot translate faithfully. */
export class UnsupportedInputError extends Error {
    constructor(resource: string, input: string, why: string) {
        super(`container-runner: ${resource}: input "${input}" is not supported (${why}); translate it in test/support/container-runner.ts`);
        this.name = "UnsupportedInputError";
    }
}

/** What to run for one container. */
export interface ContainerPlan {
    readonly name: string;
    /** Arguments of `docker create` (without "create"). */
    readonly create: string[];
    /** Networks to connect after `docker network disconnect bridge` (provider order). */
    readonly networks: Array<{ name: string; args: string[] }>;
    /** Start after creating (`start`, default true). */
    readonly start: boolean;
    /** Wait for a healthy status (`wait`), with this timeout in seconds. */
    readonly waitHealthySeconds?: number;
}

type Inputs = Record<string, unknown>;

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === "object" && !Array.isArray(value);

function strings(resource: string, key: string, value: unknown): string[] {
    if (!Array.isArray(value) || !value.every((item) => typeof item === "string")) {
        throw new UnsupportedInputError(resource, key, `expected a list of strings, got ${JSON.stringify(value)}`);
    }
    return value as string[];
}

function stringMap(resource: string, key: string, value: unknown): Record<string, string> {
    if (!isObject(value) || !Object.values(value).every((item) => typeof item === "string")) {
        throw new UnsupportedInputError(resource, key, `expected a map of strings, got ${JSON.stringify(value)}`);
    }
    return value as Record<string, string>;
}

/** Reject keys of a nested object the runner does not translate. */
function onlyKeys(resource: string, key: string, value: Record<string, unknown>, allowed: readonly string[]): void {
    for (const inner of Object.keys(value)) {
        if (!allowed.includes(inner) && value[inner] !== undefined) {
            throw new UnsupportedInputError(resource, `${key}.${inner}`, "no docker CLI translation implemented");
        }
    }
}

function hostIp(ip: string): string {
    return ip.includes(":") ? `[${ip}]` : ip;
}

/**
 * Provider lifecycle inputs with no effect on the created container (they steer how the provider
 * reads, deletes or waits); accepted with their documented meaning.
 */
const LIFECYCLE_ONLY = ["destroyGraceSeconds", "removeVolumes", "containerReadRefreshTimeoutMilliseconds", "mustRun"] as const;

/** Translate recorded Container inputs into docker CLI steps. Throws for anything untranslated. */
export function containerPlan(inputs: Inputs, resource = String(inputs.name ?? "container")): ContainerPlan {
    const args: string[] = [];
    const networks: ContainerPlan["networks"] = [];
    let start = true;
    let waitHealthySeconds: number | undefined;
    let image: string | undefined;
    let command: string[] = [];
    let restart: string | undefined;
    let maxRetryCount: number | undefined;

    for (const [key, value] of Object.entries(inputs)) {
        if (value === undefined) {
            continue;
        }
        switch (key) {
            case "name":
                args.push("--name", String(value));
                break;
            case "image":
                image = String(value);
                break;
            case "user":
                args.push("--user", String(value));
                break;
            case "groupAdds":
                for (const group of strings(resource, key, value)) args.push("--group-add", group);
                break;
            case "capabilities": {
                if (!isObject(value)) throw new UnsupportedInputError(resource, key, "expected an object");
                onlyKeys(resource, key, value, ["adds", "drops"]);
                for (const cap of strings(resource, `${key}.drops`, value.drops ?? [])) args.push("--cap-drop", cap);
                for (const cap of strings(resource, `${key}.adds`, value.adds ?? [])) args.push("--cap-add", cap);
                break;
            }
            case "securityOpts":
                for (const opt of strings(resource, key, value)) args.push("--security-opt", opt);
                break;
            case "privileged":
                if (value === true) args.push("--privileged");
                break;
            case "readOnly":
                if (value === true) args.push("--read-only");
                break;
            case "tmpfs":
                for (const [path, options] of Object.entries(stringMap(resource, key, value))) {
                    args.push("--tmpfs", options ? `${path}:${options}` : path);
                }
                break;
            case "mounts": {
                if (!Array.isArray(value)) throw new UnsupportedInputError(resource, key, "expected a list");
                for (const mount of value) {
                    if (!isObject(mount)) throw new UnsupportedInputError(resource, key, "expected objects");
                    onlyKeys(resource, key, mount, ["type", "source", "target", "readOnly", "bindOptions", "tmpfsOptions"]);
                    const fields = [`type=${String(mount.type)}`];
                    if (mount.source !== undefined) fields.push(`source=${String(mount.source)}`);
                    fields.push(`target=${String(mount.target)}`);
                    if (mount.readOnly === true) fields.push("readonly");
                    if (isObject(mount.bindOptions)) {
                        onlyKeys(resource, `${key}.bindOptions`, mount.bindOptions, ["propagation"]);
                        if (mount.bindOptions.propagation !== undefined) fields.push(`bind-propagation=${String(mount.bindOptions.propagation)}`);
                    }
                    if (isObject(mount.tmpfsOptions)) {
                        onlyKeys(resource, `${key}.tmpfsOptions`, mount.tmpfsOptions, ["sizeBytes", "mode"]);
                        if (mount.tmpfsOptions.sizeBytes !== undefined) fields.push(`tmpfs-size=${String(mount.tmpfsOptions.sizeBytes)}`);
                        if (mount.tmpfsOptions.mode !== undefined) fields.push(`tmpfs-mode=${Number(mount.tmpfsOptions.mode).toString(8)}`);
                    }
                    if (fields.some((field) => field.includes(","))) {
                        throw new UnsupportedInputError(resource, key, `a comma in ${JSON.stringify(mount)} cannot be passed to --mount`);
                    }
                    args.push("--mount", fields.join(","));
                }
                break;
            }
            case "volumes": {
                if (!Array.isArray(value)) throw new UnsupportedInputError(resource, key, "expected a list");
                for (const volume of value) {
                    if (!isObject(volume)) throw new UnsupportedInputError(resource, key, "expected objects");
                    onlyKeys(resource, key, volume, ["hostPath", "containerPath", "readOnly", "volumeName", "fromContainer"]);
                    if (volume.fromContainer !== undefined) {
                        args.push("--volumes-from", String(volume.fromContainer));
                        continue;
                    }
                    const source = volume.hostPath ?? volume.volumeName;
                    const spec = source !== undefined ? `${String(source)}:${String(volume.containerPath)}` : String(volume.containerPath);
                    args.push("--volume", volume.readOnly === true ? `${spec}:ro` : spec);
                }
                break;
            }
            case "ports": {
                if (!Array.isArray(value)) throw new UnsupportedInputError(resource, key, "expected a list");
                for (const port of value) {
                    if (!isObject(port)) throw new UnsupportedInputError(resource, key, "expected objects");
                    onlyKeys(resource, key, port, ["internal", "external", "ip", "protocol"]);
                    // The provider's default bind address is 0.0.0.0: translate it as such.
                    const ip = hostIp(typeof port.ip === "string" ? port.ip : "0.0.0.0");
                    const external = port.external !== undefined ? String(port.external) : "";
                    const protocol = typeof port.protocol === "string" ? port.protocol : "tcp";
                    args.push("--publish", `${ip}:${external}:${String(port.internal)}/${protocol}`);
                }
                break;
            }
            case "publishAllPorts":
                if (value === true) args.push("--publish-all");
                break;
            case "envs":
                for (const env of strings(resource, key, value)) args.push("--env", env);
                break;
            case "networksAdvanced": {
                if (!Array.isArray(value)) throw new UnsupportedInputError(resource, key, "expected a list");
                for (const network of value) {
                    if (!isObject(network)) throw new UnsupportedInputError(resource, key, "expected objects");
                    onlyKeys(resource, key, network, ["name", "aliases", "ipv4Address", "ipv6Address"]);
                    const connectArgs: string[] = [];
                    for (const alias of strings(resource, `${key}.aliases`, network.aliases ?? [])) connectArgs.push("--alias", alias);
                    if (network.ipv4Address !== undefined) connectArgs.push("--ip", String(network.ipv4Address));
                    if (network.ipv6Address !== undefined) connectArgs.push("--ip6", String(network.ipv6Address));
                    networks.push({ name: String(network.name), args: connectArgs });
                }
                break;
            }
            case "networkMode":
                args.push("--network", String(value));
                break;
            case "restart":
                restart = String(value);
                break;
            case "maxRetryCount":
                maxRetryCount = Number(value);
                break;
            case "memory":
                // The provider's unit is MB (x 1024 x 1024), docker's "m" suffix is MiB: the same.
                args.push("--memory", `${Number(value)}m`);
                break;
            case "memorySwap":
                args.push("--memory-swap", Number(value) > 0 ? `${Number(value)}m` : String(value));
                break;
            case "cpuShares":
                args.push("--cpu-shares", String(value));
                break;
            case "cpuSet":
                args.push("--cpuset-cpus", String(value));
                break;
            case "cpus":
                args.push("--cpus", String(value));
                break;
            case "logDriver":
                args.push("--log-driver", String(value));
                break;
            case "logOpts":
                for (const [name, option] of Object.entries(stringMap(resource, key, value))) args.push("--log-opt", `${name}=${option}`);
                break;
            case "labels": {
                if (!Array.isArray(value)) throw new UnsupportedInputError(resource, key, "expected a list");
                for (const label of value) {
                    if (!isObject(label)) throw new UnsupportedInputError(resource, key, "expected objects");
                    onlyKeys(resource, key, label, ["label", "value"]);
                    args.push("--label", `${String(label.label)}=${String(label.value)}`);
                }
                break;
            }
            case "healthcheck": {
                if (!isObject(value)) throw new UnsupportedInputError(resource, key, "expected an object");
                onlyKeys(resource, key, value, ["tests", "interval", "timeout", "retries", "startPeriod"]);
                const tests = strings(resource, `${key}.tests`, value.tests ?? []);
                if (tests[0] === "NONE") {
                    args.push("--no-healthcheck");
                    break;
                }
                if (tests[0] !== "CMD-SHELL" || tests.length !== 2) {
                    // The CLI's --health-cmd always means CMD-SHELL; the exec form has no CLI spelling.
                    throw new UnsupportedInputError(resource, `${key}.tests`, `only ["CMD-SHELL", "<command>"] has a docker CLI form, got ${JSON.stringify(tests)}`);
                }
                args.push("--health-cmd", tests[1]);
                if (value.interval !== undefined) args.push("--health-interval", String(value.interval));
                if (value.timeout !== undefined) args.push("--health-timeout", String(value.timeout));
                if (value.retries !== undefined) args.push("--health-retries", String(value.retries));
                if (value.startPeriod !== undefined) args.push("--health-start-period", String(value.startPeriod));
                break;
            }
            case "command":
                command = strings(resource, key, value);
                break;
            case "entrypoints": {
                const entrypoint = strings(resource, key, value);
                if (entrypoint.length > 1) {
                    throw new UnsupportedInputError(resource, key, "the CLI's --entrypoint takes one element");
                }
                if (entrypoint.length === 1) args.push("--entrypoint", entrypoint[0]);
                break;
            }
            case "ipcMode":
                args.push("--ipc", String(value));
                break;
            case "pidMode":
                args.push("--pid", String(value));
                break;
            case "usernsMode":
                args.push("--userns", String(value));
                break;
            case "cgroupnsMode":
                args.push("--cgroupns", String(value));
                break;
            case "init":
                if (value === true) args.push("--init");
                break;
            case "hostname":
                args.push("--hostname", String(value));
                break;
            case "domainname":
                args.push("--domainname", String(value));
                break;
            case "workingDir":
                args.push("--workdir", String(value));
                break;
            case "stopSignal":
                args.push("--stop-signal", String(value));
                break;
            case "stopTimeout":
                args.push("--stop-timeout", String(value));
                break;
            case "shmSize":
                args.push("--shm-size", `${Number(value)}m`);
                break;
            case "sysctls":
                for (const [name, setting] of Object.entries(stringMap(resource, key, value))) args.push("--sysctl", `${name}=${setting}`);
                break;
            case "ulimits": {
                if (!Array.isArray(value)) throw new UnsupportedInputError(resource, key, "expected a list");
                for (const ulimit of value) {
                    if (!isObject(ulimit)) throw new UnsupportedInputError(resource, key, "expected objects");
                    onlyKeys(resource, key, ulimit, ["name", "soft", "hard"]);
                    args.push("--ulimit", `${String(ulimit.name)}=${String(ulimit.soft)}:${String(ulimit.hard)}`);
                }
                break;
            }
            case "rm":
                if (value === true) args.push("--rm");
                break;
            case "tty":
                if (value === true) args.push("--tty");
                break;
            case "stdinOpen":
                if (value === true) args.push("--interactive");
                break;
            case "start":
                start = value !== false;
                break;
            case "wait":
                if (value === true) waitHealthySeconds ??= 60;
                break;
            case "waitTimeout":
                waitHealthySeconds = Number(value);
                break;
            case "attach":
            case "logs":
                if (value === true) throw new UnsupportedInputError(resource, key, "attaching is not emulated");
                break;
            default:
                if ((LIFECYCLE_ONLY as readonly string[]).includes(key)) {
                    break;
                }
                throw new UnsupportedInputError(resource, key, "no docker CLI translation implemented");
        }
    }

    if (restart !== undefined) {
        if (restart === "on-failure" && maxRetryCount !== undefined && maxRetryCount > 0) {
            args.push("--restart", `on-failure:${maxRetryCount}`);
        } else {
            if (maxRetryCount !== undefined && maxRetryCount > 0) {
                throw new UnsupportedInputError(resource, "maxRetryCount", `only meaningful with restart on-failure, not ${restart}`);
            }
            args.push("--restart", restart);
        }
    } else if (maxRetryCount !== undefined && maxRetryCount > 0) {
        throw new UnsupportedInputError(resource, "maxRetryCount", "set without restart on-failure");
    }
    if (image === undefined) {
        throw new UnsupportedInputError(resource, "image", "missing or unknown in the recorded inputs");
    }
    return {
        name: String(inputs.name ?? resource),
        create: [...args, image, ...command],
        networks,
        start,
        ...(waitHealthySeconds !== undefined ? { waitHealthySeconds } : {}),
    };
}

/** Translate recorded Network inputs into `docker network create` arguments (name last). */
export function networkCreateArgs(inputs: Inputs, resource = String(inputs.name ?? "network")): string[] {
    const args: string[] = [];
    let name: string | undefined;
    for (const [key, value] of Object.entries(inputs)) {
        if (value === undefined) {
            continue;
        }
        switch (key) {
            case "name":
                name = String(value);
                break;
            case "driver":
                args.push("--driver", String(value));
                break;
            case "options":
                for (const [option, setting] of Object.entries(stringMap(resource, key, value))) args.push("--opt", `${option}=${setting}`);
                break;
            case "labels": {
                if (!Array.isArray(value)) throw new UnsupportedInputError(resource, key, "expected a list");
                for (const label of value) {
                    if (!isObject(label)) throw new UnsupportedInputError(resource, key, "expected objects");
                    args.push("--label", `${String(label.label)}=${String(label.value)}`);
                }
                break;
            }
            case "internal":
                if (value === true) args.push("--internal");
                break;
            case "attachable":
                if (value === true) args.push("--attachable");
                break;
            case "ipv6":
                if (value === true) args.push("--ipv6");
                break;
            case "ipamDriver":
                args.push("--ipam-driver", String(value));
                break;
            case "ipamOptions":
                for (const [option, setting] of Object.entries(stringMap(resource, key, value))) args.push("--ipam-opt", `${option}=${setting}`);
                break;
            case "ipamConfigs": {
                if (!Array.isArray(value)) throw new UnsupportedInputError(resource, key, "expected a list");
                for (const config of value) {
                    if (!isObject(config)) throw new UnsupportedInputError(resource, key, "expected objects");
                    onlyKeys(resource, key, config, ["subnet", "ipRange", "gateway"]);
                    if (config.subnet !== undefined) args.push("--subnet", String(config.subnet));
                    if (config.ipRange !== undefined) args.push("--ip-range", String(config.ipRange));
                    if (config.gateway !== undefined) args.push("--gateway", String(config.gateway));
                }
                break;
            }
            default:
                throw new UnsupportedInputError(resource, key, "no docker network create translation implemented");
        }
    }
    if (name === undefined) {
        throw new UnsupportedInputError(resource, "name", "a network needs a fixed name here");
    }
    return [...args, name];
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

async function dockerOk(host: TestHost, args: string[], what: string): Promise<string> {
    const result = await docker(host, args, { timeoutMs: 180_000 });
    if (result.code !== 0) {
        throw new Error(`${what} on ${host.name}: docker ${args.join(" ")} failed (exit ${result.code}): ${result.stderr.trim() || result.stdout.trim()}`);
    }
    return result.stdout.trim();
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
            case "docker:index/remoteImage:RemoteImage": {
                const host = hostOf(resource);
                const name = String(resource.inputs.name);
                const result = await docker(host, ["image", "inspect", "--format", "{{.Id}}", name]);
                if (result.code !== 0) {
                    // The provider would pull here; the test hosts have no registry.
                    throw new Error(`RemoteImage ${resource.name}: ${name} is not on ${host.name} and there is no registry to pull it from`);
                }
                emit(resource.type, resource.name, host, result.stdout.trim(), started);
                return { imageId: result.stdout.trim(), repoDigest: "" };
            }
            case "docker:index/network:Network": {
                const host = hostOf(resource);
                const id = await dockerOk(host, ["network", "create", ...networkCreateArgs(resource.inputs, resource.name)], `Network ${resource.name}`);
                emit(resource.type, resource.name, host, id, started);
                return { id };
            }
            case "docker:index/container:Container": {
                const host = hostOf(resource);
                const plan = containerPlan(resource.inputs, resource.name);
                const id = await dockerOk(host, ["create", ...plan.create], `Container ${resource.name}`);
                if (plan.networks.length > 0) {
                    const disconnect = await docker(host, ["network", "disconnect", "bridge", id]);
                    if (disconnect.code !== 0 && !/is not connected/.test(disconnect.stderr)) {
                        throw new Error(`Container ${resource.name}: disconnecting the default bridge failed: ${disconnect.stderr.trim()}`);
                    }
                    for (const network of plan.networks) {
                        await dockerOk(host, ["network", "connect", ...network.args, network.name, id], `Container ${resource.name}`);
                    }
                }
                if (plan.start) {
                    await dockerOk(host, ["start", id], `Container ${resource.name}`);
                }
                if (plan.waitHealthySeconds !== undefined) {
                    await waitHealthy(host, id, plan.waitHealthySeconds);
                }
                emit(resource.type, resource.name, host, id, started);
                return { id, containerId: id };
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
