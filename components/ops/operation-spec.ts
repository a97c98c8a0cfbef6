/**
 * Pure: what an elevated operation is and how one request becomes a remote invocation.
 *
 * An operation runs on the host as `elevated-run` (components/scripts/elevated-run.sh), which
 * starts one short-lived root helper container and feeds it the operation's own static script
 * (components/scripts/ops/<operation>.sh) on stdin. Both scripts travel in the invocation's
 * stdin: elevated-run's text, then the line
 * `run_elevated "$@" 3<<'SECRETS_DELIMITER' <<'SCRIPT_DELIMITER'`, the generated secret values
 * (one per line, possibly none), their delimiter line, the operation script, and its delimiter
 * line. Every other value reaches them as a validated, quoted positional argument; none is
 * pasted into script text. The secrets are on stdin because a command line is logged, stored in
 * state and visible in the host's process list; the stdin of an invocation that carries them is
 * a Pulumi secret.
 *
 * Nothing here talks to Pulumi or to a host (tested in test/unit/elevated-operations.test.ts).
 */
import { DEFAULT_DATA_PREFIXES, type HostConfig, type ReplicatedConfig } from "../config";
import {
    MAX_ID,
    REQUEST_ID_PATTERN,
    isCleanAbsolutePath,
    isPathWithin,
    isProtectedHostPath,
    loadScript,
    readScriptWithIncludes,
    remoteInvocation,
    type Become,
    type RemoteInvocation,
} from "../shell";

/** The operations, by the name used in container names, audit lines and scripts. */
export const OPERATION_NAMES = ["support-bundle", "volumes", "snapshot"] as const;
export type OperationName = (typeof OPERATION_NAMES)[number];

/** A Linux capability an operation adds after `--cap-drop ALL`, and why it needs it. */
export interface CapabilityGrant {
    readonly capability: "CHOWN" | "DAC_OVERRIDE" | "DAC_READ_SEARCH" | "FOWNER";
    readonly reason: string;
}

/** How the helper container of one operation is confined (mirrors the case in elevated-run.sh). */
export interface OperationProfile {
    /** Capabilities added after `--cap-drop ALL` (elevated-run.sh adds exactly these). */
    readonly capabilities: readonly CapabilityGrant[];
    /** Memory limit, also the swap limit (docker `--memory`). */
    readonly memory: string;
    /** Host paths bound into the container, and how. */
    readonly mounts: readonly string[];
    /** Which hosts run it. */
    readonly hosts: "every host" | "primary";
}

export const OPERATION_PROFILES: Readonly<Record<OperationName, OperationProfile>> = Object.freeze({
    "support-bundle": {
        capabilities: [
            {
                capability: "DAC_OVERRIDE",
                reason: "read root-only files and other users' logs under /var/log, and write the archive into the service user's 0750 directory",
            },
            { capability: "CHOWN", reason: "hand the archive to the service user" },
        ],
        memory: "768m",
        mounts: [
            "/var/log read-only",
            "each existing /etc/default/replicated*, /etc/sysconfig/replicated*, /etc/replicated.conf read-only",
            "the host-collected docker info/ps, container logs and journal (a root-only temporary directory) read-only",
            "/var/lib/replicated read-write (the archive goes to support-bundles/)",
        ],
        hosts: "every host",
    },
    volumes: {
        capabilities: [
            { capability: "CHOWN", reason: "give each volume directory its configured owner and group (any uid)" },
            { capability: "FOWNER", reason: "correct the mode of a volume directory another uid already owns" },
            { capability: "DAC_OVERRIDE", reason: "create a volume inside a directory owned by another user (nested volumes)" },
        ],
        memory: "64m",
        mounts: ["each volume root that holds a requested volume, read-write, at its own path"],
        hosts: "every host",
    },
    snapshot: {
        capabilities: [
            {
                capability: "DAC_OVERRIDE",
                reason: "read the whole state tree (0600/0700 files of the service user) and write into a destination another user owns",
            },
            { capability: "CHOWN", reason: "keep ownership while copying, then give the copy to the requested owner" },
            { capability: "FOWNER", reason: "keep the modes and times of copied files that no longer belong to root" },
        ],
        memory: "256m",
        mounts: ["/var/lib/replicated read-only", "the destination read-write, at its own path"],
        hosts: "primary",
    },
});

/** Where every run appends one JSON line (root:root 0640, directory 0750). */
export const AUDIT_LOG = "/var/log/replicated/elevated.log";
/** Records of requests that succeeded (root-only): a done request never runs again. */
export const DONE_DIR = "/var/lib/replicated-elevated";
/** Where support bundles are written, as `<request>.tar.gz`. */
export const SUPPORT_BUNDLE_DIR = "/var/lib/replicated/support-bundles";
/** Replicated's state: the source of a snapshot. */
export const STATE_DIR = "/var/lib/replicated";
/** Default hard timeout of one run, seconds (config `operations.timeoutSeconds`). */
export const DEFAULT_TIMEOUT_SECONDS = 300;
/** The here-document delimiter between elevated-run and the operation script. */
export const OPERATION_SCRIPT_DELIMITER = "REPLICATED_OPERATION_SCRIPT";
/** The here-document delimiter (fd 3) after the generated secret values. */
export const SECRET_VALUES_DELIMITER = "REPLICATED_SECRET_VALUES";
/** Where volume roots and snapshot destinations may lie by default (`replicated:dataPrefixes`). */
export { DEFAULT_DATA_PREFIXES };
/** An image id as `docker image inspect --format '{{.Id}}'` prints it: what a pin holds. */
export const IMAGE_ID_PATTERN = /^sha256:[0-9a-f]{64}$/;

/** Stack names as they reach a host (Pulumi stack names are a subset). */
const STACK_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
/** Image references elevated-run accepts: a tagged reference, or an id/digest form. */
const IMAGE_PATTERN = /^[a-z0-9][A-Za-z0-9._:/@-]{0,254}$/;
const MODE_PATTERN = /^0?[0-7]{3}$/;

/** Thrown for an operation request that must never reach a host; says what and how to fix it. */
export class OperationSpecError extends Error {
    constructor(message: string) {
        super(message);
        this.name = "OperationSpecError";
    }
}

/** One application volume directory: path below a volume root, owner, group, octal mode. */
export interface VolumeItem {
    readonly path: string;
    readonly owner: number;
    readonly group: number;
    readonly mode: string;
}

/** One requested operation with every value resolved (plain data, validated by {@link operationArgs}). */
export type OperationRequest =
    | { readonly operation: "support-bundle"; readonly request: string; readonly ownerUid: number; readonly ownerGid: number }
    | { readonly operation: "volumes"; readonly request: string; readonly roots: readonly string[]; readonly items: readonly VolumeItem[] }
    | {
          readonly operation: "snapshot";
          readonly request: string;
          readonly destination: string;
          readonly ownerUid: number;
          readonly ownerGid: number;
      };

/** What every run of one stack shares. */
export interface RunSettings {
    /** Stack name, recorded in the audit line. */
    readonly stack: string;
    /** Helper image reference (or image id) present on the host. */
    readonly helperImage: string;
    /** Hard timeout in seconds after which the container is killed and removed. */
    readonly timeoutSeconds: number;
    /**
     * Directories volume roots and snapshot destinations must lie strictly below
     * (`replicated:dataPrefixes`). Default: {@link DEFAULT_DATA_PREFIXES}.
     */
    readonly dataPrefixes?: readonly string[];
    /**
     * The helper's pinned image id (`replicated:images.pins`, `sha256:<64 hex>`): the host
     * refuses to run another image under the helper's reference. Default: not pinned.
     */
    readonly helperImageId?: string;
}

export { isProtectedHostPath };

/** `replicated-op-<operation>-<request>`: the helper container's name (also a lock per request). */
export function containerName(operation: OperationName, request: string): string {
    return `replicated-op-${operation}-${request}`;
}

function checkId(value: number, what: string): string {
    if (!Number.isInteger(value) || value < 0 || value > MAX_ID) {
        throw new OperationSpecError(`${what} must be an integer from 0 to ${MAX_ID}, got ${String(value)}`);
    }
    return String(value);
}

function checkPath(value: string, what: string): string {
    if (!isCleanAbsolutePath(value) || value === "/") {
        throw new OperationSpecError(
            `${what} ${JSON.stringify(value)} must be an absolute path of [A-Za-z0-9._/-] with no '.', '..' or empty component`,
        );
    }
    if (isProtectedHostPath(value)) {
        throw new OperationSpecError(
            `${what} ${value} is a system or Replicated path (/etc, /usr, /var/lib/docker, /var/lib/replicated, /tmp, ...). ` +
                "Fix: use a dedicated directory such as /srv/replicated-volumes or /srv/replicated-snapshots",
        );
    }
    return value;
}

/** The data prefixes, each checked: clean, absolute, not `/` and not a system or Replicated path. */
export function checkDataPrefixes(prefixes: readonly string[]): string[] {
    if (prefixes.length === 0) {
        throw new OperationSpecError(
            'replicated:dataPrefixes is empty: no volume root or snapshot destination could be allowed. Fix: list at least one directory, e.g. ["/srv", "/data"]',
        );
    }
    return prefixes.map((prefix) => checkPath(prefix, "replicated:dataPrefixes entry"));
}

/** A path (volume root, snapshot destination) that must lie strictly below a data prefix. */
function checkBelowPrefix(value: string, what: string, prefixes: readonly string[]): string {
    checkPath(value, what);
    if (!prefixes.some((prefix) => isPathWithin(value, prefix) && value !== prefix)) {
        throw new OperationSpecError(
            `${what} ${value} is not below a data prefix (replicated:dataPrefixes = ${JSON.stringify(prefixes)}). ` +
                "Fix: move it below one of them, or add its parent to replicated:dataPrefixes",
        );
    }
    return value;
}

/**
 * The positional arguments of elevated-run for one request, every value validated:
 * `OPERATION REQUEST STACK IMAGE TIMEOUT` then the operation's own arguments. Throws
 * {@link OperationSpecError} naming the bad value.
 */
export function operationArgs(request: OperationRequest, settings: RunSettings): string[] {
    if (!(OPERATION_NAMES as readonly string[]).includes(request.operation)) {
        throw new OperationSpecError(`unknown operation ${JSON.stringify(request.operation)}: use one of ${OPERATION_NAMES.join(", ")}`);
    }
    if (!REQUEST_ID_PATTERN.test(request.request)) {
        throw new OperationSpecError(`request id ${JSON.stringify(request.request)} must match ${REQUEST_ID_PATTERN.source}`);
    }
    if (!STACK_PATTERN.test(settings.stack)) {
        throw new OperationSpecError(`stack name ${JSON.stringify(settings.stack)} must match ${STACK_PATTERN.source}`);
    }
    if (!IMAGE_PATTERN.test(settings.helperImage)) {
        throw new OperationSpecError(`helper image ${JSON.stringify(settings.helperImage)} is not an image reference`);
    }
    if (!Number.isInteger(settings.timeoutSeconds) || settings.timeoutSeconds < 1 || settings.timeoutSeconds > 3600) {
        throw new OperationSpecError(`timeout must be a whole number of seconds from 1 to 3600, got ${String(settings.timeoutSeconds)}`);
    }
    if (settings.helperImageId !== undefined && !IMAGE_ID_PATTERN.test(settings.helperImageId)) {
        throw new OperationSpecError(
            `helper image pin ${JSON.stringify(settings.helperImageId)} must be an image id sha256:<64 hex> (replicated:images.pins)`,
        );
    }
    const prefixes = checkDataPrefixes(settings.dataPrefixes ?? DEFAULT_DATA_PREFIXES);
    const common = [
        request.operation,
        request.request,
        settings.stack,
        settings.helperImage,
        String(settings.timeoutSeconds),
        settings.helperImageId ?? "-",
        prefixes.join(":"),
    ];
    switch (request.operation) {
        case "support-bundle":
            return [...common, checkId(request.ownerUid, "support bundle owner uid"), checkId(request.ownerGid, "support bundle owner gid")];
        case "snapshot":
            return [
                ...common,
                checkBelowPrefix(request.destination, "snapshot destination", prefixes),
                checkId(request.ownerUid, "snapshot owner uid"),
                checkId(request.ownerGid, "snapshot owner gid"),
            ];
        case "volumes": {
            if (request.items.length === 0) {
                throw new OperationSpecError("volumes: at least one volume is required");
            }
            const roots = [...new Set(request.roots.map((root) => checkPath(root, "volume root")))];
            for (const root of roots) {
                checkBelowPrefix(root, "volume root", prefixes);
            }
            const used = roots.filter((root) => request.items.some((item) => isPathWithin(item.path, root) && item.path !== root));
            const itemArgs = request.items.flatMap((item, index) => {
                checkPath(item.path, `volume ${index} path`);
                if (!roots.some((root) => isPathWithin(item.path, root) && item.path !== root)) {
                    throw new OperationSpecError(
                        `volume ${index} path ${item.path} is not below an allowed root (${roots.join(", ") || "none configured"}). ` +
                            "Fix: add its parent to replicated:volumeRoots or move the volume below an allowed root",
                    );
                }
                if (!MODE_PATTERN.test(item.mode)) {
                    throw new OperationSpecError(`volume ${index} mode ${JSON.stringify(item.mode)} must be octal such as "0750"`);
                }
                return [item.path, checkId(item.owner, `volume ${index} owner`), checkId(item.group, `volume ${index} group`), item.mode];
            });
            return [...common, String(used.length), ...used, ...itemArgs];
        }
    }
}

const opScriptCache = new Map<OperationName, string>();

/**
 * The static script that runs inside the helper container (components/scripts/ops/<name>.sh),
 * with every `# replicated-include: <lib>` line replaced by components/scripts/lib/<lib>.sh, as
 * loadScript does for host scripts (the container, too, gets one self-contained script).
 */
export function operationScript(operation: OperationName): string {
    let text = opScriptCache.get(operation);
    if (text === undefined) {
        text = readScriptWithIncludes(`ops/${operation}.sh`);
        opScriptCache.set(operation, text);
    }
    return text;
}

/**
 * Check the generated secret values before they go on stdin: each a non-empty single line that
 * is neither delimiter. Messages never quote a value.
 */
export function checkSecretValues(values: readonly string[]): string[] {
    return values.map((value, index) => {
        if (typeof value !== "string" || value.length === 0) {
            throw new OperationSpecError(`secret value ${index} is empty`);
        }
        if (/[\n\r\0]/.test(value)) {
            throw new OperationSpecError(`secret value ${index} contains a line break or NUL byte; it cannot be passed on one line`);
        }
        if (value === SECRET_VALUES_DELIMITER || value === OPERATION_SCRIPT_DELIMITER) {
            throw new OperationSpecError(`secret value ${index} equals a here-document delimiter`);
        }
        return value;
    });
}

/**
 * elevated-run's text followed by `run_elevated "$@"` with two quoted here-documents (no
 * expansion): on fd 3 the secret values, one per line, then on stdin the operation script,
 * byte for byte.
 */
export function elevatedRunStdin(operation: OperationName, secretValues: readonly string[] = []): string {
    const runner = loadScript("elevated-run");
    const script = operationScript(operation);
    for (const delimiter of [OPERATION_SCRIPT_DELIMITER, SECRET_VALUES_DELIMITER]) {
        if (script.split("\n").includes(delimiter)) {
            throw new OperationSpecError(`components/scripts/ops/${operation}.sh contains the line ${delimiter}`);
        }
    }
    const secrets = checkSecretValues(secretValues).map((value) => `${value}\n`).join("");
    const body = script.endsWith("\n") ? script : `${script}\n`;
    const separator = runner.endsWith("\n") ? "" : "\n";
    return (
        `${runner}${separator}run_elevated "$@" 3<<'${SECRET_VALUES_DELIMITER}' <<'${OPERATION_SCRIPT_DELIMITER}'\n` +
        `${secrets}${SECRET_VALUES_DELIMITER}\n${body}${OPERATION_SCRIPT_DELIMITER}\n`
    );
}

/**
 * The remote invocation (command line + stdin) that runs one request as root on a host. The
 * secret values go into stdin only; the caller keeps that stdin a secret.
 */
export function operationInvocation(
    request: OperationRequest,
    settings: RunSettings,
    become: Become,
    secretValues: readonly string[] = [],
): RemoteInvocation {
    const args = operationArgs(request, settings);
    const invocation = remoteInvocation("", args, become);
    return { command: invocation.command, stdin: elevatedRunStdin(request.operation, secretValues) };
}

/** `images.helper`, else `<registry>/replicated-helper:<channel>-<version>`. */
export function helperImageReference(config: {
    readonly images: { readonly registry: string; readonly helper?: string };
    readonly channel: string;
    readonly version: string;
}): string {
    return config.images.helper ?? `${config.images.registry}/replicated-helper:${config.channel}-${config.version}`;
}

/**
 * An operation the stack config requests on one host. Owners left as `"service"` are the
 * service uid and the docker gid, known only once the account exists.
 */
export type PlannedOperation =
    | { readonly operation: "support-bundle"; readonly request: string }
    | { readonly operation: "volumes"; readonly request: string; readonly roots: readonly string[]; readonly items: readonly VolumeItem[] }
    | {
          readonly operation: "snapshot";
          readonly request: string;
          readonly destination: string;
          /** Explicit owner uid, or the service uid. */
          readonly owner: number | "service";
          /** Explicit group gid, or the docker gid. */
          readonly group: number | "service";
      };

/**
 * The operations `config.operations` requests on `host`: a support bundle and the volumes on
 * every host (logs and application volumes are per host), a snapshot on the primary only
 * (Replicated's state lives there). Root and path rules are checked here so a bad request fails
 * before anything is registered.
 */
export function plannedOperations(
    config: Pick<ReplicatedConfig, "operations" | "volumeRoots" | "dataPrefixes">,
    host: Pick<HostConfig, "role">,
): PlannedOperation[] {
    const ops = config.operations;
    const prefixes = config.dataPrefixes;
    const planned: PlannedOperation[] = [];
    if (ops.supportBundle !== undefined) {
        planned.push({ operation: "support-bundle", request: ops.supportBundle.request });
    }
    if (ops.volumes !== undefined) {
        for (const root of config.volumeRoots) {
            checkBelowPrefix(root, "replicated:volumeRoots entry", checkDataPrefixes(prefixes));
        }
        planned.push({ operation: "volumes", request: ops.volumes.request, roots: [...config.volumeRoots], items: ops.volumes.items });
    }
    if (ops.snapshot !== undefined && host.role === "primary") {
        checkBelowPrefix(ops.snapshot.destination, "replicated:operations.snapshot.destination", checkDataPrefixes(prefixes));
        planned.push({
            operation: "snapshot",
            request: ops.snapshot.request,
            destination: ops.snapshot.destination,
            owner: ops.snapshot.owner ?? "service",
            group: ops.snapshot.group ?? "service",
        });
    }
    return planned;
}
