/**
 * Pure least-privilege rules over the resources this program declares. No Pulumi runtime and no
 * policy server here: each rule is a function of one resource's inputs (the shape of
 * `@pulumi/policy`'s ResourceValidationArgs) and its pack config, and reports through a callback.
 * `policy/index.ts` wraps them into the PolicyPack; tests call them directly.
 *
 * Resource shapes: `docker:index/container:Container` inputs as @pulumi/docker 5.x ContainerArgs
 * (user, privileged, pidMode, ipcMode, networkMode, usernsMode, cgroupnsMode, mounts, volumes,
 * ports, publishAllPorts, memory, readOnly, labels [{label, value}], name), and
 * `command:remote:Command` inputs (connection, create, update, delete, stdin, triggers).
 */
import { DEV_STACK } from "../components/config";
import { isWildcardAddress } from "../components/shell";

// ---------------------------------------------------------------------------------------------
// Types

/** The part of `@pulumi/policy`'s ResourceValidationArgs the rules read. */
export interface RuleArgs {
    /** Type token, e.g. `docker:index/container:Container`. */
    readonly type: string;
    /** Resource inputs (secrets unwrapped, as the policy engine passes them). */
    readonly props: Record<string, unknown>;
    /** Logical resource name. */
    readonly name: string;
    /** `urn:pulumi:<stack>::<project>::<type chain>::<name>`; the rules read the stack from it. */
    readonly urn: string;
}

/** Reports one violation of the rule being run (same contract as pulumi-policy's ReportViolation). */
export type Reporter = (message: string) => void;

export type EnforcementLevel = "advisory" | "mandatory";

/** JSON schema of one config property (the subset pulumi-policy's PolicyConfigSchema uses here). */
export interface ConfigProperty {
    readonly type: "boolean" | "string" | "array";
    readonly description: string;
    readonly default: unknown;
    readonly items?: { readonly type: "string" };
}

/** One rule: what the PolicyPack needs to register it, plus the pure check. */
export interface Rule {
    readonly name: string;
    readonly description: string;
    readonly enforcementLevel: EnforcementLevel;
    /** Pack config this rule reads (under its own name in the pack config file). */
    readonly configSchema?: { readonly properties: Record<string, ConfigProperty> };
    /** Resource types the rule looks at; others are not applicable. */
    readonly appliesTo: readonly string[];
    /** The check. `config` already has the schema defaults applied. */
    validate(args: RuleArgs, report: Reporter, config: Record<string, unknown>): void;
}

export const CONTAINER = "docker:index/container:Container";
export const REMOTE_COMMAND = "command:remote:Command";

// ---------------------------------------------------------------------------------------------
// Facts the rules share

/** Replicated's own containers (fixed docker container names). */
export const REPLICATED_SERVICES: readonly string[] = [
    "replicated",
    "replicated-ui",
    "replicated-operator",
    "replicated-statsd",
    "replicated-premkit",
];

/** The only containers that may reach the Docker API: the daemon schedules apps, the operator runs them. */
export const DOCKER_SOCKET_SERVICES: readonly string[] = ["replicated", "replicated-operator"];

/** Label that marks an application container (value: the application name). */
export const APPLICATION_LABEL = "replicated.application";
/** Label that marks a Replicated service container (value: the service name). */
export const SERVICE_LABEL = "replicated.service";
/** Label that documents an accepted root application container (value `true`). */
export const ALLOW_ROOT_LABEL = "replicated.allowRoot";

/**
 * Header line of the host script that runs elevated operations. A `command:remote:Command` is an
 * elevated operation when, and only when, its stdin is that script AND it has `triggers` (it runs
 * once per request id). Those are the only commands allowed to start a container as root.
 */
export const ELEVATED_SCRIPT_HEADER = "# replicated-script: elevated-run";

/** Host paths whose bind mount hands out the Docker API: the socket and every directory above it. */
const DOCKER_SOCKET_PATHS = ["/var/run/docker.sock", "/run/docker.sock", "/var/run", "/run", "/var", "/"];

/** Host paths CIS Docker 5.6 says must never be mounted writable. */
const SYSTEM_PATHS = ["/", "/boot", "/dev", "/etc", "/lib", "/proc", "/sys", "/usr"];

// ---------------------------------------------------------------------------------------------
// Small readers (tolerant of missing values: a missing input means the provider default)

function str(value: unknown): string | undefined {
    return typeof value === "string" ? value : undefined;
}

function list(value: unknown): Record<string, unknown>[] {
    return Array.isArray(value) ? value.filter((item): item is Record<string, unknown> => item !== null && typeof item === "object") : [];
}

/** The stack name from a URN (`urn:pulumi:<stack>::...`). */
export function stackOf(urn: string): string {
    const match = /^urn:pulumi:([^:]+)::/.exec(urn);
    return match?.[1] ?? "";
}

/** Container labels (a list of {label, value}) as a map. */
export function labelsOf(props: Record<string, unknown>): Map<string, string> {
    const labels = new Map<string, string>();
    for (const item of list(props.labels)) {
        const label = str(item.label);
        if (label !== undefined) {
            labels.set(label, String(item.value ?? ""));
        }
    }
    return labels;
}

/** The docker container name: the `name` input, else the resource name (Pulumi auto-naming). */
export function containerName(args: RuleArgs): string {
    return str(args.props.name) ?? args.name;
}

export function isApplicationContainer(props: Record<string, unknown>): boolean {
    return labelsOf(props).has(APPLICATION_LABEL);
}

/**
 * Whether a docker `user` value runs the process as root: empty or missing (the image default,
 * which for most images is root), uid 0, or the name `root`, with or without a group.
 */
export function isRootUser(user: string | undefined): boolean {
    if (user === undefined || user.trim() === "") {
        return true;
    }
    const account = user.split(":")[0].trim();
    return account === "root" || /^0+$/.test(account);
}

/** Why a user value is root, for messages. */
function describeUser(user: string | undefined): string {
    return user === undefined || user.trim() === "" ? "no user (the image default, usually root)" : `user "${user}"`;
}

/** Whether a host path is the docker socket or a directory that contains it. */
export function exposesDockerSocket(hostPath: string): boolean {
    const clean = hostPath.replace(/\/+$/, "") || "/";
    return DOCKER_SOCKET_PATHS.includes(clean);
}

/** Bind-mounted host paths of a container with their read-only flag (mounts and volumes). */
export function hostMounts(props: Record<string, unknown>): { source: string; target: string; readOnly: boolean }[] {
    const found: { source: string; target: string; readOnly: boolean }[] = [];
    for (const mount of list(props.mounts)) {
        const source = str(mount.source);
        if ((mount.type === undefined || mount.type === "bind") && source !== undefined && source.startsWith("/")) {
            found.push({ source, target: str(mount.target) ?? "", readOnly: mount.readOnly === true });
        }
    }
    for (const volume of list(props.volumes)) {
        const source = str(volume.hostPath);
        if (source !== undefined) {
            found.push({ source, target: str(volume.containerPath) ?? "", readOnly: volume.readOnly === true });
        }
    }
    return found;
}

// ---------------------------------------------------------------------------------------------
// `docker run` inside remote commands

/** One `docker run` / `docker create` found in a command's text, with the options read from its line. */
export interface DockerRun {
    /** The invocation as written, for messages. */
    readonly text: string;
    /** Value of --user / -u (undefined when absent). */
    readonly user?: string;
    /** Values of -p/--publish. */
    readonly publishes: string[];
    /** -P/--publish-all is set. */
    readonly publishAll: boolean;
}

const DOCKER_RUN = /\bdocker\s+(?:container\s+)?(?:run|create)\b/;

/** Shell words of one logical line: quotes removed, no expansion (values with `$` stay literal). */
function shellWords(line: string): string[] {
    const words: string[] = [];
    const pattern = /"((?:[^"\\]|\\.)*)"|'([^']*)'|([^\s"']+)/g;
    let match: RegExpExecArray | null;
    let current = "";
    let lastEnd = -1;
    while ((match = pattern.exec(line)) !== null) {
        const piece = match[1] ?? match[2] ?? match[3] ?? "";
        // Adjacent pieces without whitespace form one word (e.g. --user="0:0").
        if (match.index === lastEnd) {
            current += piece;
        } else {
            if (lastEnd !== -1) {
                words.push(current);
            }
            current = piece;
        }
        lastEnd = match.index + match[0].length;
    }
    if (lastEnd !== -1) {
        words.push(current);
    }
    return words;
}

/** Script text without comment lines and with `\` continuations joined. */
function codeOf(text: string): string {
    return text
        .replace(/\\\n/g, " ")
        .split("\n")
        .filter((line) => !/^\s*#/.test(line))
        .join("\n");
}

/**
 * Every `docker run` / `docker create` in a script or command string. Comment lines are dropped
 * and `\` continuations joined; an invocation ends at `;`, `|`, `&` or the end of the line.
 * Only literal option values can be judged: a value held in a shell variable is kept as written.
 */
export function dockerRuns(text: string): DockerRun[] {
    const runs: DockerRun[] = [];
    for (const line of codeOf(text).split("\n")) {
        let rest = line;
        let match: RegExpExecArray | null;
        while ((match = DOCKER_RUN.exec(rest)) !== null) {
            const after = rest.slice(match.index + match[0].length);
            const end = after.search(/[;|&]/);
            const segment = end < 0 ? after : after.slice(0, end);
            runs.push(parseDockerRun(`${match[0]}${segment}`.trim(), shellWords(segment)));
            rest = end < 0 ? "" : after.slice(end);
        }
    }
    return runs;
}

/** docker run options that take a value, so the parser does not mistake the value for the image. */
const WITH_VALUE = new Set([
    "--name", "-e", "--env", "--env-file", "-w", "--workdir", "--entrypoint", "--cap-add", "--cap-drop",
    "--security-opt", "--memory", "-m", "--cpus", "--cpu-shares", "-c", "--label", "-l", "--log-driver",
    "--log-opt", "--tmpfs", "--group-add", "--restart", "--stop-timeout", "--health-cmd", "--pids-limit",
    "--ulimit", "--device", "--hostname", "-h", "--add-host", "--dns", "--platform", "--pull", "--init-path",
    "--stop-signal", "--shm-size", "--memory-swap", "--cidfile", "--expose", "--link", "--volumes-from",
    "--pid", "--ipc", "--network", "--net", "--uts", "--userns", "--cgroupns", "-v", "--volume", "--mount",
]);

function parseDockerRun(text: string, words: string[]): DockerRun {
    let user: string | undefined;
    let publishAll = false;
    const publishes: string[] = [];
    for (let index = 0; index < words.length; index++) {
        const word = words[index];
        if (!word.startsWith("-")) {
            // The first operand is the image: everything after it is the container's own command.
            break;
        }
        const eq = word.startsWith("--") ? word.indexOf("=") : -1;
        const flag = eq > 0 ? word.slice(0, eq) : word;
        const inline = eq > 0 ? word.slice(eq + 1) : undefined;
        const value = (): string => inline ?? words[++index] ?? "";
        if (flag === "--user" || flag === "-u") {
            user = value();
        } else if (/^-u./.test(word)) {
            user = word.slice(2);
        } else if (flag === "-p" || flag === "--publish") {
            publishes.push(value());
        } else if (flag === "-P" || flag === "--publish-all") {
            publishAll = true;
        } else if (WITH_VALUE.has(flag) && inline === undefined) {
            index++;
        }
    }
    return { text, user, publishes, publishAll };
}

/** Everything a remote command runs on the host: its command strings and the script on stdin. */
function commandText(props: Record<string, unknown>): string {
    return ["create", "update", "delete", "stdin"].map((key) => str(props[key]) ?? "").join("\n");
}

/**
 * docker run options found anywhere in a command that starts containers, not only on the
 * `docker run` line: scripts often assemble the options first (`set -- --user 0:0 ...`, then
 * `docker run "$@"`). Only options with an unambiguous spelling are searched this way.
 */
export interface ScriptOptions {
    /** `--privileged` occurrences. */
    readonly privileged: string[];
    /** Namespaces joined with `--<ns>=host` / `--<ns> host`. */
    readonly hostNamespaces: string[];
    /** Mount sources of `-v src:dst`, `--volume`, `--mount ...source=`. */
    readonly mountSources: string[];
}

export function scriptOptions(text: string): ScriptOptions {
    const code = codeOf(text);
    const privileged = [...code.matchAll(/(?:^|[\s"'])(--privileged(?:=true)?)(?=$|[\s"'])/gm)].map((m) => m[1]);
    const names: Record<string, string> = { pid: "pid", ipc: "ipc", uts: "uts", userns: "userns", cgroupns: "cgroupns", network: "network", net: "network" };
    const hostNamespaces = [...code.matchAll(/(?:^|[\s"'])--(pid|ipc|uts|userns|cgroupns|network|net)(?:=|\s+)["']?host(?=$|[\s"';])/gm)].map((m) => names[m[1]]);
    const mountSources = [
        ...[...code.matchAll(/(?:^|[\s"'])(?:-v|--volume)(?:=|\s+)["']?([^\s"':]+):/gm)].map((m) => m[1]),
        ...[...code.matchAll(/(?:^|[\s"'])--mount(?:=|\s+)["']?([^\s"']+)/gm)].flatMap((m) => {
            const fields = new Map(m[1].split(",").map((field) => field.split("=") as [string, string]));
            const source = fields.get("source") ?? fields.get("src");
            return source !== undefined && (fields.get("type") ?? "volume") === "bind" ? [source] : [];
        }),
    ];
    return { privileged, hostNamespaces, mountSources };
}

/** The options of a command that starts containers (none when it starts no container). */
function commandOptions(props: Record<string, unknown>): ScriptOptions {
    const text = commandText(props);
    return dockerRuns(text).length > 0 ? scriptOptions(text) : { privileged: [], hostNamespaces: [], mountSources: [] };
}

/** Whether a remote command is an elevated operation (see {@link ELEVATED_SCRIPT_HEADER}). */
export function isElevatedOperation(props: Record<string, unknown>): boolean {
    const stdin = str(props.stdin) ?? "";
    const triggers = props.triggers;
    const hasTriggers = Array.isArray(triggers) ? triggers.length > 0 : triggers !== undefined && triggers !== null;
    return stdin.split("\n").some((line) => line.trim() === ELEVATED_SCRIPT_HEADER) && hasTriggers;
}

/** Whether a published port spec (`[ip:]host:container[/proto]` or `container`) binds every interface. */
export function publishesOnAllInterfaces(spec: string): boolean {
    const bracketed = /^\[([^\]]*)\]:/.exec(spec);
    if (bracketed) {
        return isWildcardAddress(bracketed[1]) || bracketed[1] === "";
    }
    const parts = spec.split("/")[0].split(":");
    // "8080" or "8080:80": no address, docker binds 0.0.0.0. "ip:host:container": check the ip,
    // which is everything before the last two fields (an unbracketed IPv6 address has colons).
    const ip = parts.slice(0, -2).join(":");
    return parts.length < 3 || ip === "" || isWildcardAddress(ip);
}

// ---------------------------------------------------------------------------------------------
// Rules

const noRootContainers: Rule = {
    name: "no-root-containers",
    description:
        "Containers run as a non-root numeric user. Only elevated operations (remote commands that run the " +
        "elevated-run script with a request-id trigger) start root containers; Replicated's own containers " +
        "may run as uid 0 only in stacks listed in legacyRootStacks (installs still in legacy root mode).",
    enforcementLevel: "mandatory",
    appliesTo: [CONTAINER, REMOTE_COMMAND],
    configSchema: {
        properties: {
            legacyRootStacks: {
                type: "array",
                items: { type: "string" },
                default: [],
                description: "Stacks still in legacy root mode (runAs: root): their Replicated service containers may run as uid 0.",
            },
        },
    },
    validate(args, report, config) {
        if (args.type === REMOTE_COMMAND) {
            if (isElevatedOperation(args.props)) {
                return;
            }
            for (const run of dockerRuns(commandText(args.props))) {
                if (run.user !== undefined && run.user.includes("$")) {
                    report(`"${run.text}" sets --user from a shell variable, which cannot be checked. Only elevated operations may start containers whose user is not a literal non-root id.`);
                } else if (isRootUser(run.user)) {
                    report(
                        `"${run.text}" starts a container with ${describeUser(run.user)}. Only elevated operations ` +
                            `(stdin "${ELEVATED_SCRIPT_HEADER}" with a request-id trigger) may run root containers. Fix: pass --user <uid>:<gid>, or move the task into an elevated operation.`,
                    );
                }
            }
            return;
        }
        if (isApplicationContainer(args.props)) {
            return; // governed by application-containers-non-root(-required)
        }
        const user = str(args.props.user);
        if (!isRootUser(user)) {
            return;
        }
        const name = containerName(args);
        const legacyStacks = Array.isArray(config.legacyRootStacks) ? (config.legacyRootStacks as unknown[]) : [];
        const legacy = legacyStacks.includes(stackOf(args.urn)) && REPLICATED_SERVICES.includes(name);
        if (legacy && user !== undefined && user.trim() !== "") {
            return;
        }
        report(
            `container "${name}" runs with ${describeUser(user)}. Fix: set user "<uid>:<docker gid>" (runAs: replicated); ` +
                (REPLICATED_SERVICES.includes(name)
                    ? `a stack still in legacy root mode lists its name in the pack config no-root-containers.legacyRootStacks.`
                    : `root tasks belong in an elevated operation.`),
        );
    },
};

const noPrivileged: Rule = {
    name: "no-privileged-containers",
    description: "No container runs in privileged mode (CIS Docker 5.5), elevated operations included.",
    enforcementLevel: "mandatory",
    appliesTo: [CONTAINER, REMOTE_COMMAND],
    validate(args, report) {
        if (args.type === REMOTE_COMMAND) {
            if (commandOptions(args.props).privileged.length > 0) {
                report(`remote command "${args.name}" starts a container with --privileged. Fix: drop it and add only the capabilities the task needs (--cap-add).`);
            }
            return;
        }
        if (args.props.privileged === true) {
            report(`container "${containerName(args)}" sets privileged: true. Fix: remove it; add single capabilities instead.`);
        }
    },
};

const NAMESPACE_INPUTS: Record<string, string> = {
    pidMode: "pid",
    ipcMode: "ipc",
    networkMode: "network",
    utsMode: "uts", // not an input of @pulumi/docker 5.x; checked should a provider version add it
    usernsMode: "user",
    cgroupnsMode: "cgroup",
};

const noHostNamespaces: Rule = {
    name: "no-host-namespaces",
    description:
        "No container shares the host's pid, ipc, network, uts, user or cgroup namespace (CIS Docker 5.10, 5.16, 5.17, 5.21).",
    enforcementLevel: "mandatory",
    appliesTo: [CONTAINER, REMOTE_COMMAND],
    validate(args, report) {
        if (args.type === REMOTE_COMMAND) {
            for (const namespace of new Set(commandOptions(args.props).hostNamespaces)) {
                report(`remote command "${args.name}" starts a container in the host ${namespace} namespace. Fix: remove --${namespace}=host.`);
            }
            return;
        }
        for (const [input, namespace] of Object.entries(NAMESPACE_INPUTS)) {
            if (str(args.props[input]) === "host") {
                report(`container "${containerName(args)}" sets ${input}: "host" (the host ${namespace} namespace). Fix: remove it; use a user-defined network for traffic.`);
            }
        }
    },
};

const dockerSocket: Rule = {
    name: "docker-socket-only-core-services",
    description:
        "Only the replicated and replicated-operator containers mount the Docker socket (or a directory holding it): " +
        "access to it is root-equivalent (CIS Docker 5.32).",
    enforcementLevel: "mandatory",
    appliesTo: [CONTAINER, REMOTE_COMMAND],
    validate(args, report) {
        if (args.type === REMOTE_COMMAND) {
            for (const source of new Set(commandOptions(args.props).mountSources.filter(exposesDockerSocket))) {
                report(`remote command "${args.name}" mounts ${source} into a container, which exposes the Docker socket. Fix: remove the mount; run docker commands host-side instead.`);
            }
            return;
        }
        const name = containerName(args);
        if (DOCKER_SOCKET_SERVICES.includes(name)) {
            return;
        }
        for (const mount of hostMounts(args.props).filter((m) => exposesDockerSocket(m.source))) {
            report(
                `container "${name}" mounts ${mount.source} (→ ${mount.target}), which exposes the Docker socket. ` +
                    `Only ${DOCKER_SOCKET_SERVICES.join(" and ")} may. Fix: remove the mount.`,
            );
        }
    },
};

const noWildcardPorts: Rule = {
    name: "no-wildcard-port-bindings",
    description:
        "Published ports bind to a specific address, never 0.0.0.0 or :: (a missing ip means 0.0.0.0), unless allowAllInterfaces is set (CIS Docker 5.14).",
    enforcementLevel: "mandatory",
    appliesTo: [CONTAINER, REMOTE_COMMAND],
    configSchema: {
        properties: {
            allowAllInterfaces: {
                type: "boolean",
                default: false,
                description: "Accept ports bound to every interface (mirror of the stack's replicated:allowAllInterfaces).",
            },
        },
    },
    validate(args, report, config) {
        if (config.allowAllInterfaces === true) {
            return;
        }
        const fix = "Fix: bind to the host's private address, or set allowAllInterfaces in the pack config (and replicated:allowAllInterfaces in the stack).";
        if (args.type === REMOTE_COMMAND) {
            for (const run of dockerRuns(commandText(args.props))) {
                if (run.publishAll) {
                    report(`"${run.text}" publishes every exposed port on all interfaces (-P). ${fix}`);
                }
                for (const spec of run.publishes.filter(publishesOnAllInterfaces)) {
                    report(`"${run.text}" publishes ${spec} on all interfaces. ${fix}`);
                }
            }
            return;
        }
        const name = containerName(args);
        if (args.props.publishAllPorts === true) {
            report(`container "${name}" sets publishAllPorts: true, which binds every exposed port on 0.0.0.0. ${fix}`);
        }
        for (const port of list(args.props.ports)) {
            const ip = str(port.ip);
            if (ip === undefined || ip === "" || isWildcardAddress(ip)) {
                report(
                    `container "${name}" publishes port ${String(port.external ?? "(random)")}→${String(port.internal)} on ${ip ? ip : "0.0.0.0 (no ip set)"}. ${fix}`,
                );
            }
        }
    },
};

const pinnedHostKey: Rule = {
    name: "remote-commands-pin-host-key",
    description: "Every remote command checks the host's identity with a pinned host key (connection.hostKey), except in the stacks listed in unpinnedStacks.",
    enforcementLevel: "mandatory",
    appliesTo: [REMOTE_COMMAND],
    configSchema: {
        properties: {
            unpinnedStacks: {
                type: "array",
                items: { type: "string" },
                default: [DEV_STACK],
                description: `Stacks allowed to connect without a pinned host key. Default ["${DEV_STACK}"] (the local sandbox, recreated often).`,
            },
        },
    },
    validate(args, report, config) {
        const unpinned = Array.isArray(config.unpinnedStacks) ? (config.unpinnedStacks as unknown[]) : [DEV_STACK];
        const stack = stackOf(args.urn);
        if (unpinned.includes(stack)) {
            return;
        }
        const connection = (args.props.connection ?? {}) as Record<string, unknown>;
        const hostKey = str(connection.hostKey);
        if (hostKey === undefined || hostKey.trim() === "") {
            report(
                `remote command "${args.name}" connects to ${String(connection.host ?? "(no host)")} without a pinned host key in stack "${stack}", ` +
                    "so the host's identity is not checked. Fix: pulumi config set --path 'replicated:hosts[N].hostKey' \"$(ssh-keyscan -t ed25519 <address> | cut -d' ' -f2-)\".",
            );
        }
    },
};

const memoryLimit: Rule = {
    name: "containers-memory-limit",
    description: "Every container has a memory limit (CIS Docker 5.11).",
    enforcementLevel: "advisory",
    appliesTo: [CONTAINER],
    validate(args, report) {
        const memory = args.props.memory;
        if (typeof memory !== "number" || memory <= 0) {
            report(`container "${containerName(args)}" has no memory limit. Fix: set memory (MiB).`);
        }
    },
};

const readOnlyRoot: Rule = {
    name: "containers-read-only-root",
    description: "Every container mounts its root file system read-only, with tmpfs for scratch (CIS Docker 5.13).",
    enforcementLevel: "advisory",
    appliesTo: [CONTAINER],
    validate(args, report) {
        if (args.props.readOnly !== true) {
            report(`container "${containerName(args)}" has a writable root file system. Fix: set readOnly: true and tmpfs for scratch paths.`);
        }
    },
};

const systemMounts: Rule = {
    name: "no-writable-system-mounts",
    description: "Host system directories (/, /boot, /dev, /etc, /lib, /proc, /sys, /usr) are mounted read-only if at all (CIS Docker 5.6).",
    enforcementLevel: "advisory",
    appliesTo: [CONTAINER],
    validate(args, report) {
        for (const mount of hostMounts(args.props)) {
            const clean = mount.source.replace(/\/+$/, "") || "/";
            if (SYSTEM_PATHS.includes(clean) && !mount.readOnly) {
                report(`container "${containerName(args)}" mounts ${clean} writable (→ ${mount.target}). Fix: set readOnly: true on the mount.`);
            }
        }
    },
};

/** Shared check of the two application rules. */
function rootApplication(args: RuleArgs): string | undefined {
    if (args.type !== CONTAINER || !isApplicationContainer(args.props)) {
        return undefined;
    }
    const labels = labelsOf(args.props);
    const user = str(args.props.user);
    if (!isRootUser(user) || labels.get(ALLOW_ROOT_LABEL) === "true") {
        return undefined;
    }
    return (
        `application container "${containerName(args)}" (${APPLICATION_LABEL}=${labels.get(APPLICATION_LABEL) ?? ""}) runs with ${describeUser(user)}. ` +
        `Fix: set the application's user to "<uid>:<gid>" (or "service"), or set allowRoot: true to record the exception (label ${ALLOW_ROOT_LABEL}=true).`
    );
}

const applicationsNonRoot: Rule = {
    name: "application-containers-non-root",
    description: `Application containers (label ${APPLICATION_LABEL}) should not run as root unless labelled ${ALLOW_ROOT_LABEL}=true. Advisory; see application-containers-non-root-required.`,
    enforcementLevel: "advisory",
    appliesTo: [CONTAINER],
    validate(args, report) {
        const problem = rootApplication(args);
        if (problem !== undefined) {
            report(problem);
        }
    },
};

const applicationsNonRootRequired: Rule = {
    name: "application-containers-non-root-required",
    description: `With requireNonRootApplications: true, an application container running as root without ${ALLOW_ROOT_LABEL}=true blocks the update.`,
    enforcementLevel: "mandatory",
    appliesTo: [CONTAINER],
    configSchema: {
        properties: {
            requireNonRootApplications: {
                type: "boolean",
                default: false,
                description: "Make the non-root application rule mandatory (mirror of the stack's replicated:requireNonRootApplications).",
            },
        },
    },
    validate(args, report, config) {
        if (config.requireNonRootApplications !== true) {
            return;
        }
        const problem = rootApplication(args);
        if (problem !== undefined) {
            report(problem);
        }
    },
};

/** Every rule of the pack, mandatory first. */
export const RULES: readonly Rule[] = [
    noRootContainers,
    noPrivileged,
    noHostNamespaces,
    dockerSocket,
    noWildcardPorts,
    pinnedHostKey,
    applicationsNonRootRequired,
    memoryLimit,
    readOnlyRoot,
    systemMounts,
    applicationsNonRoot,
];

// ---------------------------------------------------------------------------------------------
// Running the rules without a policy server

/** Pack config as the policy config file holds it: `{ "<rule name>": { <property>: value } }`. */
export type PackConfig = Record<string, Record<string, unknown>>;

/** One reported violation. */
export interface Violation {
    readonly rule: string;
    readonly enforcementLevel: EnforcementLevel;
    readonly resource: string;
    readonly message: string;
}

/** A rule's config: schema defaults, then what the pack config sets for it. */
export function ruleConfig(rule: Rule, packConfig: PackConfig = {}): Record<string, unknown> {
    const defaults = Object.fromEntries(Object.entries(rule.configSchema?.properties ?? {}).map(([key, property]) => [key, property.default]));
    return { ...defaults, ...(packConfig[rule.name] ?? {}) };
}

/** Run every applicable rule on one resource and collect the violations. */
export function validateResource(args: RuleArgs, packConfig: PackConfig = {}): Violation[] {
    const violations: Violation[] = [];
    for (const rule of RULES) {
        if (!rule.appliesTo.includes(args.type)) {
            continue;
        }
        rule.validate(
            args,
            (message) => violations.push({ rule: rule.name, enforcementLevel: rule.enforcementLevel, resource: `${args.type}::${args.name}`, message }),
            ruleConfig(rule, packConfig),
        );
    }
    return violations;
}

/**
 * The pack config that matches a stack's own settings: legacy root mode, allowAllInterfaces and
 * requireNonRootApplications. Operators write the same values into the pack config file they pass
 * with `--policy-pack-config` (a policy pack cannot read stack config).
 */
export function packConfigForStack(stack: string, stackConfig: Record<string, unknown>): PackConfig {
    return {
        "no-root-containers": { legacyRootStacks: stackConfig.runAs === "root" ? [stack] : [] },
        "no-wildcard-port-bindings": { allowAllInterfaces: stackConfig.allowAllInterfaces === true },
        "application-containers-non-root-required": { requireNonRootApplications: stackConfig.requireNonRootApplications === true },
    };
}
