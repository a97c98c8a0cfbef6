/**
 * Pure: the hand-written baseline of the fresh-host benchmark, generated from what one runner
 * apply recorded. One POSIX shell session (`sh -s` over one SSH connection) that does the work
 * of the apply in the order its steps started: each remote command's `create` line with its
 * `stdin` as a here-document, `docker network create` from the network's create body, one
 * `docker image inspect` of the images the apply read, `docker run -d` per container from the
 * container's create plan, then the recorded health gate. Each step is timed on the host
 * (`date +%s.%N`), and its output is framed by marker lines so it can be read back.
 *
 * Every field of a create body is either translated to a `docker` CLI flag or, when it holds a
 * value the translation does not know, makes the generation throw: a dropped field would make
 * the baseline do less than the runner.
 */
import { containerCreatePlan, networkCreateBody, type Values } from "../../tools/docker-provider-model";

export const COMMAND_TYPE = "command:remote:Command";
export const CONTAINER_TYPE = "docker:index/container:Container";
export const NETWORK_TYPE = "docker:index/network:Network";
export const IMAGE_TYPE = "docker:index/remoteImage:RemoteImage";
export const PROVIDER_TYPE = "pulumi:providers:docker";

/** What the generator needs of one recorded resource (a subset of RecordedResource). */
export interface RecordedInputs {
    readonly type: string;
    readonly name: string;
    readonly inputs: Record<string, unknown>;
}

/** What the generator needs of one runner step (a subset of UpStep). */
export interface StartedStep {
    readonly type: string;
    readonly name: string;
    readonly started: number;
}

/** Host-specific values of the runner's host and their replacements on the baseline's host. */
export interface HostSwap {
    readonly from: { readonly name: string; readonly privateAddress: string };
    readonly to: { readonly name: string; readonly privateAddress: string };
}

/** One step of the session, as generated. */
export interface SessionStep {
    /** The runner resource(s) it stands for. */
    readonly resources: readonly string[];
    readonly kind: "command" | "network" | "images" | "container";
    /** Shell text (may span lines: here-documents). */
    readonly shell: string;
}

export interface SessionScript {
    readonly script: string;
    /** Steps inside the timed window, in order. */
    readonly steps: readonly SessionStep[];
    /** Commands the runner ran after the health gate (outside the window), in order. */
    readonly after: readonly SessionStep[];
    /** The SSH user every command ran as (the session's login). */
    readonly user: string;
}

const MARK = "@@e2e";

/** POSIX single-quoting. */
export function quote(value: string): string {
    return `'${value.replace(/'/g, `'\\''`)}'`;
}

function escapeRegExp(text: string): string {
    return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Replace the runner host's name and private address by the baseline host's (whole tokens only). */
export function swapHostValues(text: string, swap: HostSwap): string {
    let out = text;
    if (swap.from.name !== swap.to.name) {
        out = out.replace(new RegExp(`(?<![A-Za-z0-9-])${escapeRegExp(swap.from.name)}(?![A-Za-z0-9-])`, "g"), swap.to.name);
    }
    if (swap.from.privateAddress !== swap.to.privateAddress) {
        out = out.replace(new RegExp(`(?<![0-9.])${escapeRegExp(swap.from.privateAddress)}(?![0-9])`, "g"), swap.to.privateAddress);
    }
    return out;
}

/** Deep {@link swapHostValues} over every string in a JSON value. */
function swapDeep<T>(value: T, swap: HostSwap): T {
    return JSON.parse(swapHostValues(JSON.stringify(value), swap)) as T;
}

/** Takes known fields off a copy of a create body; {@link rest} lists what nobody took. */
class Fields {
    private readonly left: Map<string, unknown>;
    constructor(
        private readonly where: string,
        body: Values,
    ) {
        this.left = new Map(Object.entries(body));
    }
    take(key: string): unknown {
        const value = this.left.get(key);
        this.left.delete(key);
        return value;
    }
    /** Take a field that must hold its default (the CLI's own default): anything else fails. */
    expectDefault(key: string, isDefault: (value: unknown) => boolean): void {
        const value = this.take(key);
        if (value !== undefined && !isDefault(value)) {
            throw new Error(`${this.where}: ${key} = ${JSON.stringify(value)} has no docker CLI translation here`);
        }
    }
    /** Throw when a field was not translated. */
    done(): void {
        const left = [...this.left.keys()];
        if (left.length > 0) {
            throw new Error(`${this.where}: field(s) ${left.join(", ")} not translated to docker CLI flags: ${JSON.stringify(Object.fromEntries(this.left))}`);
        }
    }
}

const isEmpty = (value: unknown): boolean =>
    value === undefined ||
    value === null || value === "" || value === false || value === 0 || (Array.isArray(value) && value.length === 0) || (typeof value === "object" && value !== null && Object.keys(value).length === 0);

function strings(value: unknown, where: string): string[] {
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value) || !value.every((item) => typeof item === "string")) {
        throw new Error(`${where}: expected a list of strings, got ${JSON.stringify(value)}`);
    }
    return value;
}

function stringMap(value: unknown, where: string): Array<[string, string]> {
    if (value === undefined || value === null) return [];
    if (typeof value !== "object" || Array.isArray(value) || !Object.values(value).every((item) => typeof item === "string")) {
        throw new Error(`${where}: expected a map of strings, got ${JSON.stringify(value)}`);
    }
    return Object.entries(value as Record<string, string>);
}

/** `docker network create` arguments for the provider's NetworkCreate body. */
export function networkCreateArgs(body: Values): string[] {
    const fields = new Fields(`network ${String(body.Name)}`, body);
    const name = String(fields.take("Name"));
    const args = ["network", "create"];
    const driver = fields.take("Driver");
    if (driver !== undefined) args.push("--driver", String(driver));
    for (const [key, value] of stringMap(fields.take("Labels"), "network Labels")) args.push("--label", `${key}=${value}`);
    for (const [key, value] of stringMap(fields.take("Options"), "network Options")) args.push("--opt", `${key}=${value}`);
    if (fields.take("Internal") === true) args.push("--internal");
    if (fields.take("Attachable") === true) args.push("--attachable");
    if (fields.take("EnableIPv6") === true) args.push("--ipv6");
    const ipam = fields.take("IPAM") as Values | undefined;
    if (ipam !== undefined) {
        const ipamFields = new Fields(`network ${name} IPAM`, ipam);
        const ipamDriver = ipamFields.take("Driver");
        if (ipamDriver !== undefined && ipamDriver !== "default") args.push("--ipam-driver", String(ipamDriver));
        ipamFields.done();
    }
    fields.done();
    args.push(name);
    return args;
}

/** Nanoseconds as a Go duration the CLI parses exactly (`15000000000ns`). */
function duration(value: unknown, where: string): string {
    if (typeof value !== "number" || !Number.isInteger(value) || value < 0) {
        throw new Error(`${where}: expected nanoseconds, got ${JSON.stringify(value)}`);
    }
    return `${value}ns`;
}

/**
 * `docker run -d` arguments for a container from the provider's create plan: ContainerCreate's
 * Config and HostConfig, the networks it connects before the start, the start itself.
 * `imageReference` maps the image id the plan names to the reference the session uses.
 */
export function dockerRunArgs(inputs: Record<string, unknown>, resource: string, imageReference: (image: string) => string): string[] {
    const plan = containerCreatePlan(inputs as Values, resource);
    if (!plan.start) throw new Error(`${resource}: a container created without a start has no docker run translation`);
    if (plan.waitSeconds !== undefined) throw new Error(`${resource}: the provider's wait for health has no docker run translation`);
    const config = new Fields(resource, plan.body);
    const args = ["run", "-d", "--name", plan.name];
    config.expectDefault("Hostname", isEmpty);
    config.expectDefault("Domainname", isEmpty);
    config.expectDefault("Tty", isEmpty);
    config.expectDefault("OpenStdin", isEmpty);
    const stopSignal = config.take("StopSignal");
    if (!isEmpty(stopSignal)) args.push("--stop-signal", String(stopSignal));
    const stopTimeout = config.take("StopTimeout");
    if (stopTimeout !== undefined) args.push("--stop-timeout", String(stopTimeout));
    for (const env of strings(config.take("Env"), `${resource} Env`)) args.push("--env", env);
    const user = config.take("User");
    if (user !== undefined) args.push("--user", String(user));
    const workingDir = config.take("WorkingDir");
    if (workingDir !== undefined) args.push("--workdir", String(workingDir));
    for (const [key, value] of stringMap(config.take("Labels"), `${resource} Labels`)) args.push("--label", `${key}=${value}`);
    const entrypoint = strings(config.take("Entrypoint"), `${resource} Entrypoint`);
    if (entrypoint.length > 1) throw new Error(`${resource}: an entrypoint of several words has no docker run translation`);
    if (entrypoint.length === 1) args.push("--entrypoint", entrypoint[0]);
    const command = strings(config.take("Cmd"), `${resource} Cmd`);

    const healthcheck = config.take("Healthcheck") as Values | undefined;
    if (healthcheck !== undefined) {
        const check = new Fields(`${resource} Healthcheck`, healthcheck);
        const test = strings(check.take("Test"), `${resource} Healthcheck.Test`);
        if (test.length === 1 && test[0] === "NONE") {
            args.push("--no-healthcheck");
        } else if (test.length === 2 && test[0] === "CMD-SHELL") {
            args.push("--health-cmd", test[1]);
        } else {
            throw new Error(`${resource}: healthcheck test ${JSON.stringify(test)} has no docker run translation (only CMD-SHELL and NONE)`);
        }
        for (const [key, flag] of [["Interval", "--health-interval"], ["Timeout", "--health-timeout"], ["StartPeriod", "--health-start-period"], ["StartInterval", "--health-start-interval"]] as const) {
            const value = check.take(key);
            if (value !== undefined && value !== 0) args.push(flag, duration(value, `${resource} Healthcheck.${key}`));
        }
        const retries = check.take("Retries");
        if (retries !== undefined && retries !== 0) args.push("--health-retries", String(retries));
        check.done();
    }

    const exposed = new Set(Object.keys((config.take("ExposedPorts") as Values | undefined) ?? {}));
    const networking = config.take("NetworkingConfig");
    if (!isEmpty(networking)) throw new Error(`${resource}: NetworkingConfig ${JSON.stringify(networking)} is not translated`);

    const host = new Fields(`${resource} HostConfig`, (config.take("HostConfig") as Values | undefined) ?? {});
    if (host.take("Privileged") === true) args.push("--privileged");
    if (host.take("PublishAllPorts") === true) args.push("--publish-all");
    const restart = host.take("RestartPolicy") as { Name?: string; MaximumRetryCount?: number } | undefined;
    if (restart !== undefined && restart.Name !== undefined && restart.Name !== "" && restart.Name !== "no") {
        args.push("--restart", restart.MaximumRetryCount ? `${restart.Name}:${restart.MaximumRetryCount}` : restart.Name);
    } else if (restart?.MaximumRetryCount) {
        throw new Error(`${resource}: a retry count without a restart policy is not translated`);
    }
    const runtime = host.take("Runtime");
    if (!isEmpty(runtime)) args.push("--runtime", String(runtime));
    for (const mount of (host.take("Mounts") as Values[] | undefined) ?? []) {
        const m = new Fields(`${resource} mount ${String(mount.Target)}`, mount);
        const parts = [`type=${String(m.take("Type"))}`];
        const source = m.take("Source");
        if (!isEmpty(source)) parts.push(`source=${String(source)}`);
        parts.push(`target=${String(m.take("Target"))}`);
        if (m.take("ReadOnly") === true) parts.push("readonly");
        const bind = m.take("BindOptions") as Values | undefined;
        if (bind !== undefined) {
            const b = new Fields(`${resource} mount BindOptions`, bind);
            const propagation = b.take("Propagation");
            if (!isEmpty(propagation)) parts.push(`bind-propagation=${String(propagation)}`);
            b.done();
        }
        const tmpfs = m.take("TmpfsOptions") as Values | undefined;
        if (tmpfs !== undefined) {
            const t = new Fields(`${resource} mount TmpfsOptions`, tmpfs);
            const size = t.take("SizeBytes");
            const mode = t.take("Mode");
            if (!isEmpty(size)) parts.push(`tmpfs-size=${String(size)}`);
            if (!isEmpty(mode)) parts.push(`tmpfs-mode=${Number(mode).toString(8)}`);
            t.done();
        }
        m.done();
        if (parts.some((part) => part.includes(","))) throw new Error(`${resource}: a mount field holds a comma, which --mount cannot carry: ${parts.join(" ")}`);
        args.push("--mount", parts.join(","));
    }
    if (host.take("AutoRemove") === true) args.push("--rm");
    if (host.take("ReadonlyRootfs") === true) args.push("--read-only");
    const log = host.take("LogConfig") as { Type?: string; Config?: Record<string, string> } | undefined;
    if (log?.Type) args.push("--log-driver", log.Type);
    for (const [key, value] of stringMap(log?.Config, `${resource} LogConfig.Config`)) args.push("--log-opt", `${key}=${value}`);
    for (const [path, options] of stringMap(host.take("Tmpfs"), `${resource} Tmpfs`)) args.push("--tmpfs", options === "" ? path : `${path}:${options}`);
    const bindings = (host.take("PortBindings") as Record<string, Array<{ HostIp: string; HostPort: string }>> | undefined) ?? {};
    for (const [port, list] of Object.entries(bindings)) {
        exposed.delete(port);
        for (const binding of list) {
            args.push("--publish", `${binding.HostIp ? `${binding.HostIp}:` : ""}${binding.HostPort}:${port}`.replace(/^:/, ""));
        }
    }
    for (const port of exposed) args.push("--expose", port);
    for (const cap of strings(host.take("CapAdd"), `${resource} CapAdd`)) args.push("--cap-add", cap);
    for (const cap of strings(host.take("CapDrop"), `${resource} CapDrop`)) args.push("--cap-drop", cap);
    for (const [key, flag] of [["Dns", "--dns"], ["DnsOptions", "--dns-option"], ["DnsSearch", "--dns-search"], ["SecurityOpt", "--security-opt"]] as const) {
        for (const value of strings(host.take(key), `${resource} ${key}`)) args.push(flag, value);
    }
    for (const [key, flag] of [
        ["Memory", "--memory"],
        ["MemoryReservation", "--memory-reservation"],
        ["MemorySwap", "--memory-swap"],
        ["ShmSize", "--shm-size"],
        ["CpuPeriod", "--cpu-period"],
        ["CpuQuota", "--cpu-quota"],
        ["CpuShares", "--cpu-shares"],
    ] as const) {
        const value = host.take(key);
        if (value !== undefined) args.push(flag, String(value));
    }
    for (const [key, flag] of [
        ["CpusetCpus", "--cpuset-cpus"],
        ["UsernsMode", "--userns"],
        ["PidMode", "--pid"],
        ["IpcMode", "--ipc"],
        ["CgroupnsMode", "--cgroupns"],
        ["CgroupParent", "--cgroup-parent"],
    ] as const) {
        const value = host.take(key);
        if (!isEmpty(value)) args.push(flag, String(value));
    }
    for (const [key, value] of stringMap(host.take("Sysctls"), `${resource} Sysctls`)) args.push("--sysctl", `${key}=${value}`);
    for (const [key, value] of stringMap(host.take("StorageOpt"), `${resource} StorageOpt`)) args.push("--storage-opt", `${key}=${value}`);
    for (const group of strings(host.take("GroupAdd"), `${resource} GroupAdd`)) args.push("--group-add", group);
    // The provider always sends Init (false when unset); the CLI sends it only with --init.
    if (host.take("Init") === true) args.push("--init");
    const networkMode = host.take("NetworkMode");
    host.done();

    // The provider creates on the default network, disconnects "bridge" and connects the
    // networks before the start: with one network that is `--network <name>` on docker run.
    if (plan.networks.length > 1) throw new Error(`${resource}: more than one network is not translated to docker run`);
    if (plan.networks.length === 1) {
        if (!isEmpty(networkMode) && networkMode !== "bridge" && networkMode !== "default") {
            throw new Error(`${resource}: network mode ${String(networkMode)} together with a network is not translated`);
        }
        const network = plan.networks[0];
        const endpoint = new Fields(`${resource} network ${network.name}`, network.endpointConfig as unknown as Values);
        args.push("--network", network.name);
        for (const alias of strings(endpoint.take("Aliases"), `${resource} Aliases`)) args.push("--network-alias", alias);
        const ipam = new Fields(`${resource} IPAMConfig`, (endpoint.take("IPAMConfig") as Values | undefined) ?? {});
        const ipv4 = ipam.take("IPv4Address");
        if (!isEmpty(ipv4)) args.push("--ip", String(ipv4));
        const ipv6 = ipam.take("IPv6Address");
        if (!isEmpty(ipv6)) args.push("--ip6", String(ipv6));
        for (const ip of strings(ipam.take("LinkLocalIPs"), `${resource} LinkLocalIPs`)) args.push("--link-local-ip", ip);
        ipam.done();
        const mac = endpoint.take("MacAddress");
        if (!isEmpty(mac)) args.push("--mac-address", String(mac));
        endpoint.expectDefault("DriverOpts", isEmpty);
        endpoint.expectDefault("GwPriority", isEmpty);
        endpoint.done();
    } else if (!isEmpty(networkMode)) {
        args.push("--network", String(networkMode));
    }
    const image = config.take("Image");
    config.done();
    args.push("--", imageReference(String(image)), ...command);
    return args;
}

/** One timed step: a group (so a failure of any part is caught) with the markers around it. */
function marked(label: string, shell: string, stdin?: string): string {
    const lines = [`printf '${MARK}-begin %s\\n' ${quote(label)}`, "e2e_t0=$(date +%s.%N)"];
    if (stdin === undefined) {
        lines.push(`{ ${shell}\n} </dev/null || { e2e_rc=$?; printf '\\n${MARK}-fail %s %s\\n' ${quote(label)} "$e2e_rc"; exit 1; }`);
    } else {
        let delimiter = "E2E_STDIN";
        for (let n = 0; stdin.split("\n").includes(delimiter); n++) delimiter = `E2E_STDIN_${n}`;
        lines.push(`{ ${shell}\n} <<'${delimiter}' || { e2e_rc=$?; printf '\\n${MARK}-fail %s %s\\n' ${quote(label)} "$e2e_rc"; exit 1; }`);
        lines.push(stdin.endsWith("\n") ? stdin.slice(0, -1) : stdin, delimiter);
    }
    lines.push(`e2e_t1=$(date +%s.%N); printf '\\n${MARK}-end %s %s %s\\n' ${quote(label)} "$e2e_t0" "$e2e_t1"`);
    return lines.join("\n");
}

/**
 * The session script for the baseline host. `imageIds` maps each image id the containers name
 * to its reference (the RemoteImage states of the runner apply).
 */
export function sessionScript(options: {
    readonly resources: readonly RecordedInputs[];
    readonly steps: readonly StartedStep[];
    readonly imageIds: ReadonlyMap<string, string>;
    readonly swap: HostSwap;
}): SessionScript {
    const byName = new Map(options.resources.map((resource) => [`${resource.type}::${resource.name}`, resource]));
    const ordered = [...options.steps].filter((step) => [COMMAND_TYPE, CONTAINER_TYPE, NETWORK_TYPE, IMAGE_TYPE].includes(step.type)).sort((a, b) => a.started - b.started);
    const health = ordered.findIndex((step) => step.type === COMMAND_TYPE && step.name.endsWith("-health"));
    if (health < 0) throw new Error("the runner apply has no health gate step (<host>-health)");
    const imageReference = (image: string): string => {
        const reference = options.imageIds.get(image);
        if (reference === undefined) throw new Error(`image ${image} is none of the images the apply read`);
        return reference;
    };
    const users = new Set<string>();
    const steps: SessionStep[] = [];
    const after: SessionStep[] = [];
    let images: string[] = [];
    const flushImages = (): void => {
        if (images.length > 0) {
            const references = images.map((name) => String(byName.get(`${IMAGE_TYPE}::${name}`)?.inputs.name));
            steps.push({ resources: images, kind: "images", shell: ["docker", "image", "inspect", "--", ...references].map(quote).join(" ") + " >/dev/null" });
            images = [];
        }
    };
    ordered.forEach((step, index) => {
        const recorded = byName.get(`${step.type}::${step.name}`);
        if (recorded === undefined) throw new Error(`step ${step.type} ${step.name} has no recorded resource`);
        const inputs = swapDeep(recorded.inputs, options.swap);
        if (step.type === IMAGE_TYPE) {
            images.push(step.name);
            return;
        }
        flushImages();
        let generated: SessionStep;
        if (step.type === COMMAND_TYPE) {
            const connection = (inputs.connection ?? {}) as { user?: string };
            users.add(connection.user ?? "root");
            if (typeof inputs.create !== "string") throw new Error(`${step.name}: no create command recorded`);
            if (inputs.stdin !== undefined && typeof inputs.stdin !== "string") throw new Error(`${step.name}: stdin is not text`);
            for (const key of Object.keys(inputs)) {
                if (!["connection", "create", "stdin", "logging", "addPreviousOutputInEnv", "triggers"].includes(key)) {
                    throw new Error(`${step.name}: command input ${key} is not replayed by the session`);
                }
            }
            generated = { resources: [step.name], kind: "command", shell: marked(step.name, inputs.create, inputs.stdin as string | undefined) };
        } else if (step.type === NETWORK_TYPE) {
            generated = { resources: [step.name], kind: "network", shell: ["docker", ...networkCreateArgs(networkCreateBody(inputs as Values))].map(quote).join(" ") + " >/dev/null" };
        } else {
            generated = { resources: [step.name], kind: "container", shell: ["docker", ...dockerRunArgs(inputs, step.name, imageReference)].map(quote).join(" ") + " >/dev/null" };
        }
        (index > health ? after : steps).push(generated);
    });
    flushImages();
    if (users.size !== 1) throw new Error(`the session logs in once, but the commands ran as ${[...users].join(", ") || "nobody"}`);
    // The session's docker steps call the engine directly, as the provider's root login does.
    if (!users.has("root")) throw new Error(`the commands ran as ${[...users][0]}; the session's docker steps need a root login`);
    const text = (step: SessionStep): string => (step.kind === "command" ? step.shell : marked(step.resources.join(" "), step.shell));
    const script = [
        "#!/bin/sh",
        "# The hand-written session: the apply's work in one shell, each step timed on the host.",
        `printf '${MARK}-window-start %s\\n' "$(date +%s.%N)"`,
        ...steps.map(text),
        `printf '${MARK}-window-end %s\\n' "$(date +%s.%N)"`,
        ...after.map(text),
        "exit 0",
        "",
    ].join("\n");
    return { script, steps, after, user: [...users][0] };
}

/** One step's timing and output, read back from the session's stdout. */
export interface SessionTiming {
    readonly label: string;
    readonly start: number;
    readonly end: number;
    readonly seconds: number;
    readonly stdout: string;
}

/** The window and every step from the session's stdout; throws when a step failed or a marker is missing. */
export function parseSession(stdout: string): { windowStart: number; windowEnd: number; steps: SessionTiming[] } {
    const failed = new RegExp(`^${MARK}-fail (.*) (\\d+)$`, "m").exec(stdout);
    if (failed) throw new Error(`the session step ${failed[1]} failed (exit ${failed[2]}): ${stdout.slice(-2000)}`);
    const start = new RegExp(`^${MARK}-window-start ([0-9.]+)$`, "m").exec(stdout);
    const end = new RegExp(`^${MARK}-window-end ([0-9.]+)$`, "m").exec(stdout);
    if (!start || !end) throw new Error(`the session did not mark its window: ${stdout.slice(-2000)}`);
    const steps: SessionTiming[] = [];
    const pattern = new RegExp(`^${MARK}-begin (.*)\\n([\\s\\S]*?)\\n?${MARK}-end (.*) ([0-9.]+) ([0-9.]+)$`, "gm");
    for (const match of stdout.matchAll(pattern)) {
        if (match[1] !== match[3]) throw new Error(`session markers out of order: ${match[1]} / ${match[3]}`);
        const t0 = Number(match[4]);
        const t1 = Number(match[5]);
        steps.push({ label: match[1], start: t0, end: t1, seconds: t1 - t0, stdout: match[2] });
    }
    return { windowStart: Number(start[1]), windowEnd: Number(end[1]), steps };
}
