/**
 * A model of the docker provider behind `@pulumi/docker` 5.2.0, for the fields this program sets
 * on containers, networks and images: what the provider sends to the Docker engine on create,
 * update and delete, what its Read stores in the Pulumi state afterwards, and the diff the
 * Terraform bridge computes from that state and the next inputs (what `pulumi preview` shows).
 *
 * Versions, confirmed from source:
 * - pulumi/pulumi-docker: the `upstream` submodule at v5.1.0 and at every later commit up to the
 *   5.2.0 SDK's era (bridge upgrades only) is kreuzwerker/terraform-provider-docker 5074970c,
 *   tagged v4.5.0 ("chore: Prepare release v4.5.0"). The @pulumi/docker 5.2.0 SDK carries
 *   `ServiceTaskSpecContainerSpec.init`, which upstream added in v4.5.0 (#949): v4.5.0 it is.
 *   `provider/resources.go` maps docker_container with `DeleteBeforeReplace: true`,
 *   docker_image to RemoteImage, and renames `command`/`networks_advanced`; nothing else.
 * - pulumi/pulumi-terraform-bridge v3.136 (`pkg/tfbridge/provider.go` Diff,
 *   `pkg/tfbridge/diff.go` computeIgnoreChanges, `pkg/tfshim/sdk-v2/provider2.go`
 *   PlanResourceChange) on pulumi/terraform-plugin-sdk (`helper/schema/schema.go` schemaMap.diff,
 *   diffString, diffList, diffSet, diffMap, finalizeDiff). The fork commit pulumi-docker pins
 *   (5525259d096b) is newer than the stored history; the diff functions read are the fork's head.
 * - moby/moby (Docker 26, the test hosts' engine) for what the engine stores: daemon/create.go
 *   adaptContainerSettings (MemorySwap = 2 x Memory when 0), daemon/logs.go
 *   mergeAndVerifyLogConfig (daemon `log-opts` merged into the container's LogConfig when the
 *   driver is the daemon's default), daemon/network.go createNetwork (`default-network-opts`
 *   merged into the network's Options), oci/caps/utils.go NormalizeLegacyCapabilities (CAP_
 *   prefix, upper case, "ALL" kept).
 *
 * Every rule below names its upstream function. Field names are Pulumi's (camelCase, plural
 * lists, MaxItems=1 blocks as objects); the Terraform name is in each schema entry.
 *
 * Pure: no I/O. The runner (test/support) sends the requests and feeds `docker inspect` back in.
 */

// ---------------------------------------------------------------------------------------------
// Schema: kreuzwerker v4.5.0 internal/provider/resource_docker_container.go,
// resource_docker_network.go, resource_docker_image.go (the attributes that matter here)

/** Terraform SDK attribute kinds. `object*` are nested blocks (Elem *schema.Resource). */
export type AttributeKind = "string" | "int" | "bool" | "list" | "set" | "map" | "objectList" | "objectSet";

export interface Attribute {
    /** Terraform attribute name (for messages and citations). */
    readonly tf: string;
    readonly kind: AttributeKind;
    readonly optional?: boolean;
    readonly required?: boolean;
    readonly computed?: boolean;
    readonly forceNew?: boolean;
    /** Schema `Default` (the SDK's ConfigFieldReader reads it for an absent value). */
    readonly default?: unknown;
    /** MaxItems: 1 blocks the bridge flattens to one object. */
    readonly maxItemsOne?: boolean;
    /** Nested block fields (objectList, objectSet), by Pulumi name. */
    readonly fields?: Readonly<Record<string, Attribute>>;
    /** DiffSuppressFunc: `emptyNewIsNoop` (user, working_dir), `portsByInternal` (ports). */
    readonly suppress?: "emptyNewIsNoop" | "portsByInternal";
    /** StateFunc: ports.ip maps "" to 0.0.0.0. */
    readonly stateFunc?: "emptyIpIsWildcard";
}

const str = (tf: string, extra: Partial<Attribute> = {}): Attribute => ({ tf, kind: "string", optional: true, ...extra });
const int = (tf: string, extra: Partial<Attribute> = {}): Attribute => ({ tf, kind: "int", optional: true, ...extra });
const bool = (tf: string, extra: Partial<Attribute> = {}): Attribute => ({ tf, kind: "bool", optional: true, ...extra });
const F = { forceNew: true } as const;
const C = { computed: true } as const;

const LABEL_FIELDS: Readonly<Record<string, Attribute>> = {
    label: { tf: "label", kind: "string", required: true, forceNew: true },
    value: { tf: "value", kind: "string", required: true, forceNew: true },
};

/** docker_container (resource_docker_container.go, resourceDockerContainer). */
export const CONTAINER_SCHEMA: Readonly<Record<string, Attribute>> = {
    name: { tf: "name", kind: "string", required: true, forceNew: true },
    rm: bool("rm", { default: false }),
    readOnly: bool("read_only", { default: false, ...F }),
    start: bool("start", { default: true }),
    wait: bool("wait", { default: false }),
    waitTimeout: int("wait_timeout", { default: 60 }),
    attach: bool("attach", { default: false }),
    logs: bool("logs", { default: false }),
    mustRun: bool("must_run", { default: true }),
    image: { tf: "image", kind: "string", required: true, forceNew: true },
    hostname: str("hostname", { ...F, ...C }),
    domainname: str("domainname", F),
    command: { tf: "command", kind: "list", optional: true, forceNew: true, computed: true },
    entrypoints: { tf: "entrypoint", kind: "list", optional: true, forceNew: true, computed: true },
    user: str("user", { ...F, suppress: "emptyNewIsNoop" }),
    dns: { tf: "dns", kind: "set", optional: true, forceNew: true },
    dnsOpts: { tf: "dns_opts", kind: "set", optional: true, forceNew: true },
    dnsSearches: { tf: "dns_search", kind: "set", optional: true, forceNew: true },
    publishAllPorts: bool("publish_all_ports", F),
    restart: str("restart", { default: "no" }),
    maxRetryCount: int("max_retry_count"),
    workingDir: str("working_dir", { ...F, suppress: "emptyNewIsNoop" }),
    removeVolumes: bool("remove_volumes", { default: true }),
    capabilities: {
        tf: "capabilities",
        kind: "objectSet",
        optional: true,
        forceNew: true,
        maxItemsOne: true,
        fields: {
            adds: { tf: "add", kind: "set", optional: true, forceNew: true },
            drops: { tf: "drop", kind: "set", optional: true, forceNew: true },
        },
    },
    securityOpts: { tf: "security_opts", kind: "set", optional: true, forceNew: true, computed: true },
    runtime: str("runtime", { ...F, ...C }),
    platform: str("platform", { ...F, ...C }),
    stopSignal: str("stop_signal", { ...F, ...C }),
    stopTimeout: int("stop_timeout", { ...F, ...C }),
    mounts: {
        tf: "mounts",
        kind: "objectSet",
        optional: true,
        forceNew: true,
        // No nested field is ForceNew: only a change of the count forces a new container.
        fields: {
            target: { tf: "target", kind: "string", required: true },
            source: str("source"),
            type: { tf: "type", kind: "string", required: true },
            readOnly: bool("read_only"),
            bindOptions: {
                tf: "bind_options",
                kind: "objectList",
                optional: true,
                maxItemsOne: true,
                fields: { propagation: str("propagation") },
            },
            volumeOptions: {
                tf: "volume_options",
                kind: "objectList",
                optional: true,
                maxItemsOne: true,
                fields: {
                    noCopy: bool("no_copy"),
                    labels: { tf: "labels", kind: "objectSet", optional: true, fields: LABEL_FIELDS },
                    driverName: str("driver_name"),
                    driverOptions: { tf: "driver_options", kind: "map", optional: true },
                    subpath: str("subpath", F),
                },
            },
            tmpfsOptions: {
                tf: "tmpfs_options",
                kind: "objectList",
                optional: true,
                forceNew: true,
                maxItemsOne: true,
                fields: { sizeBytes: int("size_bytes"), mode: int("mode") },
            },
        },
    },
    volumes: {
        tf: "volumes",
        kind: "objectSet",
        optional: true,
        forceNew: true,
        fields: {
            fromContainer: str("from_container", F),
            containerPath: str("container_path", F),
            hostPath: str("host_path", F),
            volumeName: str("volume_name", F),
            readOnly: bool("read_only", F),
            selinuxRelabel: str("selinux_relabel", F),
        },
    },
    tmpfs: { tf: "tmpfs", kind: "map", optional: true },
    ports: {
        tf: "ports",
        kind: "objectList",
        optional: true,
        forceNew: true,
        suppress: "portsByInternal",
        fields: {
            internal: { tf: "internal", kind: "int", required: true, forceNew: true },
            external: int("external", { ...C, ...F }),
            ip: str("ip", { default: "0.0.0.0", ...F, stateFunc: "emptyIpIsWildcard" }),
            protocol: str("protocol", { default: "tcp", ...F }),
        },
    },
    envs: { tf: "env", kind: "set", optional: true, forceNew: true, computed: true },
    privileged: bool("privileged", F),
    destroyGraceSeconds: int("destroy_grace_seconds"),
    labels: { tf: "labels", kind: "objectSet", optional: true, forceNew: true, computed: true, fields: LABEL_FIELDS },
    memory: int("memory"),
    memoryReservation: int("memory_reservation", { default: 0 }),
    memorySwap: int("memory_swap"),
    shmSize: int("shm_size", { ...F, ...C }),
    cpuShares: int("cpu_shares"),
    cpuSet: str("cpu_set"),
    logDriver: str("log_driver", { ...C, ...F }),
    logOpts: { tf: "log_opts", kind: "map", optional: true, forceNew: true },
    networkMode: str("network_mode", { ...F, default: "bridge" }),
    networksAdvanced: {
        tf: "networks_advanced",
        kind: "objectSet",
        optional: true,
        forceNew: true,
        fields: {
            name: { tf: "name", kind: "string", required: true, forceNew: true },
            aliases: { tf: "aliases", kind: "set", optional: true, forceNew: true },
            ipv4Address: str("ipv4_address", F),
            ipv6Address: str("ipv6_address", F),
            linkLocalIps: { tf: "link_local_ips", kind: "set", optional: true, forceNew: true },
            macAddress: str("mac_address", F),
            driverOpts: { tf: "driver_opts", kind: "set", optional: true, forceNew: true },
            gwPriority: int("gw_priority", F),
        },
    },
    pidMode: str("pid_mode", F),
    usernsMode: str("userns_mode", F),
    healthcheck: {
        tf: "healthcheck",
        kind: "objectList",
        optional: true,
        computed: true,
        maxItemsOne: true,
        fields: {
            tests: { tf: "test", kind: "list", optional: true },
            interval: str("interval", { default: "0s" }),
            timeout: str("timeout", { default: "0s" }),
            startPeriod: str("start_period", { default: "0s" }),
            startInterval: str("start_interval", { default: "0s" }),
            retries: int("retries", { default: 0 }),
        },
    },
    containerReadRefreshTimeoutMilliseconds: int("container_read_refresh_timeout_milliseconds", { default: 15000 }),
    sysctls: { tf: "sysctls", kind: "map", optional: true, forceNew: true },
    ipcMode: str("ipc_mode", { ...F, ...C }),
    groupAdds: { tf: "group_add", kind: "set", optional: true, forceNew: true },
    init: bool("init", C),
    tty: bool("tty", { default: false, ...F }),
    stdinOpen: bool("stdin_open", { default: false, ...F }),
    storageOpts: { tf: "storage_opts", kind: "map", optional: true, forceNew: true },
    gpus: str("gpus", F),
    cpus: str("cpus", F),
    cpuPeriod: int("cpu_period"),
    cpuQuota: int("cpu_quota"),
    cgroupnsMode: str("cgroupns_mode", F),
    cgroupParent: str("cgroup_parent", F),
};

/** docker_network (resource_docker_network.go, resourceDockerNetwork). */
export const NETWORK_SCHEMA: Readonly<Record<string, Attribute>> = {
    name: { tf: "name", kind: "string", required: true, forceNew: true },
    labels: { tf: "labels", kind: "objectSet", optional: true, forceNew: true, fields: LABEL_FIELDS },
    driver: str("driver", { ...F, ...C }),
    options: { tf: "options", kind: "map", optional: true, forceNew: true, computed: true },
    internal: bool("internal", { ...C, ...F }),
    attachable: bool("attachable", F),
    ingress: bool("ingress", F),
    ipv6: bool("ipv6", F),
    ipamDriver: str("ipam_driver", { default: "default", ...F }),
    ipamOptions: { tf: "ipam_options", kind: "map", optional: true, forceNew: true },
    ipamConfigs: {
        tf: "ipam_config",
        kind: "objectSet",
        optional: true,
        computed: true,
        forceNew: true,
        fields: {
            subnet: str("subnet", F),
            ipRange: str("ip_range", F),
            gateway: str("gateway", F),
            auxAddress: { tf: "aux_address", kind: "map", optional: true, forceNew: true },
        },
    },
};

/** docker_image, Pulumi's RemoteImage (resource_docker_image.go, resourceDockerImage). */
export const REMOTE_IMAGE_SCHEMA: Readonly<Record<string, Attribute>> = {
    name: { tf: "name", kind: "string", required: true, forceNew: true },
    keepLocally: bool("keep_locally"),
    pullTriggers: { tf: "pull_triggers", kind: "set", optional: true, forceNew: true },
    forceRemove: bool("force_remove"),
    triggers: { tf: "triggers", kind: "map", optional: true, forceNew: true },
    platform: str("platform", { default: "", ...F }),
};

export const CONTAINER = "docker:index/container:Container";
export const NETWORK = "docker:index/network:Network";
export const REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage";

/** The schema of a modelled docker resource type, or undefined. */
export function schemaOf(type: string): Readonly<Record<string, Attribute>> | undefined {
    switch (type) {
        case CONTAINER:
            return CONTAINER_SCHEMA;
        case NETWORK:
            return NETWORK_SCHEMA;
        case REMOTE_IMAGE:
            return REMOTE_IMAGE_SCHEMA;
        default:
            return undefined;
    }
}

/**
 * Container attributes the provider's Update applies to the running container with
 * ContainerUpdate (resource_docker_container_funcs.go, resourceDockerContainerUpdate `attrs`);
 * `mustRun` false -> true starts it. Any other non-ForceNew change only lands in the state.
 */
export const CONTAINER_UPDATED_IN_PLACE: readonly string[] = Object.freeze([
    "restart",
    "maxRetryCount",
    "cpuShares",
    "memory",
    "memoryReservation",
    "cpuSet",
    "memorySwap",
]);

// ---------------------------------------------------------------------------------------------
// Values

export type Values = Record<string, unknown>;

const isObject = (value: unknown): value is Values => value !== null && typeof value === "object" && !Array.isArray(value);
const isAbsent = (value: unknown): boolean => value === undefined || value === null;

/** Zero value of a primitive kind (schema.ValueType.Zero). */
function zero(kind: AttributeKind): unknown {
    return kind === "int" ? 0 : kind === "bool" ? false : "";
}

/**
 * mapstructure.WeakDecode of a primitive into a string, as diffString compares (bools as 1/0,
 * which finalizeDiff turns back into true/false for display), absent as "".
 */
function weakString(value: unknown): string {
    if (isAbsent(value)) return "";
    if (typeof value === "boolean") return value ? "1" : "0";
    return String(value);
}

function applyStateFunc(attribute: Attribute, value: unknown): unknown {
    if (attribute.stateFunc === "emptyIpIsWildcard" && value === "") {
        return "0.0.0.0"; // ports.ip StateFunc
    }
    return value;
}

/** A MaxItems=1 block as the SDK sees it: a list of zero or one element. */
function asBlockList(attribute: Attribute, value: unknown): Values[] | undefined {
    if (isAbsent(value)) return undefined;
    if (attribute.maxItemsOne) return isObject(value) ? [value] : [];
    return Array.isArray(value) ? value.filter(isObject) : [];
}

/**
 * A nested block element as the SDK's config reader produces it: every field present, absent
 * ones with their Default or zero value (sets and lists empty, maps empty), StateFunc applied.
 * Computed-only fields absent in the element stay absent.
 */
function completeElement(fields: Readonly<Record<string, Attribute>>, element: Values): Values {
    const out: Values = {};
    for (const [name, attribute] of Object.entries(fields)) {
        const value = element[name];
        switch (attribute.kind) {
            case "string":
            case "int":
            case "bool":
                out[name] = applyStateFunc(attribute, isAbsent(value) ? (attribute.default ?? zero(attribute.kind)) : value);
                break;
            case "list":
            case "set":
                out[name] = Array.isArray(value) ? value.map((item) => (isAbsent(item) ? "" : item)) : [];
                break;
            case "map":
                out[name] = isObject(value) ? value : {};
                break;
            case "objectList":
            case "objectSet":
                out[name] = (asBlockList(attribute, value) ?? []).map((inner) => completeElement(attribute.fields ?? {}, inner));
                break;
        }
    }
    return out;
}

/**
 * The hash key of a set element (schema.HashResource / SerializeResourceForHash): every field
 * that is Optional or Required, in name order, nested sets in order-free form.
 */
function elementCode(fields: Readonly<Record<string, Attribute>>, element: Values): string {
    const parts: string[] = [];
    for (const name of Object.keys(fields).sort()) {
        const attribute = fields[name];
        if (!(attribute.optional || attribute.required)) continue;
        const value = element[name];
        switch (attribute.kind) {
            case "set":
                parts.push(`${name}:${JSON.stringify([...((value as unknown[]) ?? [])].map(weakString).sort())}`);
                break;
            case "list":
                parts.push(`${name}:${JSON.stringify(((value as unknown[]) ?? []).map(weakString))}`);
                break;
            case "map":
                parts.push(`${name}:${JSON.stringify(Object.entries((value as Values) ?? {}).map(([k, v]) => [k, weakString(v)]).sort())}`);
                break;
            case "objectList":
                parts.push(`${name}:[${((value as Values[]) ?? []).map((inner) => elementCode(attribute.fields ?? {}, inner)).join(",")}]`);
                break;
            case "objectSet":
                parts.push(`${name}:[${((value as Values[]) ?? []).map((inner) => elementCode(attribute.fields ?? {}, inner)).sort().join(",")}]`);
                break;
            default:
                parts.push(`${name}:${weakString(value)}`);
        }
    }
    return parts.join(";");
}

// ---------------------------------------------------------------------------------------------
// Diff (terraform-plugin-sdk helper/schema/schema.go, as the bridge calls it)

/** One attribute diff as the SDK records it (a terraform.ResourceAttrDiff). */
export interface AttributeDiff {
    /** Pulumi path of the attribute, e.g. `logOpts.compress`, `ports[0].ip`, `mounts[#2]`. */
    readonly path: string;
    readonly old: string;
    readonly new: string;
    /** The change forces a new resource (finalizeDiff: ForceNew and Old != New). */
    readonly requiresNew: boolean;
}

export interface ResourceDiff {
    /** Every recorded attribute diff (after DiffSuppressFunc and ignoreChanges). */
    readonly attributes: AttributeDiff[];
    /** Top-level properties that differ (what `pulumi preview --diff` lists). */
    readonly changedKeys: string[];
    /** Top-level properties whose change forces a replacement. */
    readonly replaceKeys: string[];
    /** No change at all: the next preview shows this resource unchanged. */
    readonly empty: boolean;
}

interface DiffContext {
    readonly out: AttributeDiff[];
    /** The all flag of schemaMap.diff (set elements record every field). */
    readonly all: boolean;
}

/** finalizeDiff: ForceNew marks RequiresNew when Old != New (a removed value's New is its zero value, or ""). */
function record(ctx: DiffContext, attribute: Attribute, path: string, old: string, next: string): void {
    ctx.out.push({ path, old, new: next, requiresNew: attribute.forceNew === true && old !== next });
}

/** schemaMap.diffString: primitives. */
function diffPrimitive(ctx: DiffContext, attribute: Attribute, path: string, old: unknown, config: unknown): void {
    let next = isAbsent(config) ? attribute.default : config;
    if (!isAbsent(next)) next = applyStateFunc(attribute, next);
    const nraw = isAbsent(next) && !isAbsent(old) ? zero(attribute.kind) : next;
    const os = weakString(old);
    let ns = weakString(nraw);
    if (attribute.suppress === "emptyNewIsNoop" && ns === "") {
        ns = os; // DiffSuppressFunc of user / working_dir: "" is Docker's default, a no-op
    }
    if (os === ns && !ctx.all) return;
    const removed = !isAbsent(old) && isAbsent(next);
    if (removed && attribute.computed) return;
    record(ctx, attribute, path, os, ns);
}

/** schemaMap.diffList for primitive elements (the parent's ForceNew is copied to the elements). */
function diffPrimitiveList(ctx: DiffContext, attribute: Attribute, path: string, old: unknown, config: unknown): void {
    if (!isAbsent(old) && isAbsent(config) && attribute.computed) return;
    const os = (Array.isArray(old) ? old : []).map(weakString);
    const vs = (Array.isArray(config) ? config : []).map(weakString);
    if (!isAbsent(config) && JSON.stringify(os) === JSON.stringify(vs) && !ctx.all) return;
    if (os.length !== vs.length) {
        record(ctx, attribute, `${path}.#`, String(os.length), String(vs.length));
    }
    const element: Attribute = { tf: attribute.tf, kind: "string", optional: true, forceNew: attribute.forceNew };
    for (let index = 0; index < Math.max(os.length, vs.length); index++) {
        diffPrimitive({ ...ctx, all: ctx.all }, element, `${path}[${index}]`, index < os.length ? os[index] : undefined, index < vs.length ? vs[index] : undefined);
    }
}

/** schemaMap.diffSet for primitive elements: compared as sets; changed elements inherit ForceNew. */
function diffPrimitiveSet(ctx: DiffContext, attribute: Attribute, path: string, old: unknown, config: unknown): void {
    if (!isAbsent(old) && isAbsent(config) && attribute.computed) return;
    const os = new Set((Array.isArray(old) ? old : []).map(weakString));
    const ns = new Set((Array.isArray(config) ? config : []).map(weakString));
    const same = os.size === ns.size && [...os].every((item) => ns.has(item));
    if (!isAbsent(config) && same && !ctx.all) return;
    if (os.size !== ns.size || ctx.all) {
        record(ctx, attribute, `${path}.#`, String(os.size), String(ns.size));
    }
    for (const item of os) {
        if (!ns.has(item)) record(ctx, attribute, `${path}[${JSON.stringify(item)}]`, item, "");
    }
    for (const item of ns) {
        if (!os.has(item)) record(ctx, attribute, `${path}[${JSON.stringify(item)}]`, "", item);
    }
}

/** schemaMap.diffMap. */
function diffMap(ctx: DiffContext, attribute: Attribute, path: string, old: unknown, config: unknown): void {
    const stateMap = isObject(old) ? Object.fromEntries(Object.entries(old).map(([k, v]) => [k, weakString(v)])) : {};
    const configMap = isObject(config) ? Object.fromEntries(Object.entries(config).map(([k, v]) => [k, weakString(v)])) : {};
    const oldLen = Object.keys(stateMap).length;
    const newLen = Object.keys(configMap).length;
    let changed = oldLen !== newLen;
    if (oldLen !== 0 && newLen === 0 && attribute.computed) changed = false;
    const computed = oldLen === 0 && newLen === 0 && attribute.computed === true && isAbsent(old);
    if (changed || computed) {
        ctx.out.push({
            path: `${path}.%`,
            old: computed ? "" : String(oldLen),
            new: computed ? "" : String(newLen),
            requiresNew: attribute.forceNew === true && (computed || oldLen !== newLen),
        });
    }
    if (isAbsent(config) && attribute.computed) return;
    for (const [key, value] of Object.entries(configMap)) {
        const before = stateMap[key];
        delete stateMap[key];
        if (before === value && !ctx.all) continue;
        record(ctx, attribute, `${path}.${key}`, before ?? "", value);
    }
    for (const [key, value] of Object.entries(stateMap)) {
        record(ctx, attribute, `${path}.${key}`, value, "");
    }
}

/** schemaMap.diffList for nested blocks: element by element, each field with its own schema. */
function diffBlockList(ctx: DiffContext, attribute: Attribute, path: string, old: unknown, config: unknown): void {
    const oldList = asBlockList(attribute, old);
    const configList = asBlockList(attribute, config);
    if (oldList !== undefined && configList === undefined && attribute.computed) return;
    const fields = attribute.fields ?? {};
    const os = (oldList ?? []).map((element) => completeElement(fields, element));
    const vs = (configList ?? []).map((element) => completeElement(fields, element));
    if (configList !== undefined && JSON.stringify(os) === JSON.stringify(vs) && !ctx.all) return;
    if (os.length !== vs.length) {
        record(ctx, attribute, `${path}.#`, String(os.length), String(vs.length));
    }
    for (let index = 0; index < Math.max(os.length, vs.length); index++) {
        const before = index < os.length ? os[index] : undefined;
        const after = index < vs.length ? (configList ?? [])[index] : undefined;
        for (const [name, field] of Object.entries(fields)) {
            diffAttribute(ctx, field, `${path}[${index}].${name}`, before?.[name], after?.[name]);
        }
    }
}

/** schemaMap.diffSet for nested blocks: elements by hash; removed and new elements record every field. */
function diffBlockSet(ctx: DiffContext, attribute: Attribute, path: string, old: unknown, config: unknown): void {
    const oldList = asBlockList(attribute, old);
    const configList = asBlockList(attribute, config);
    if (oldList !== undefined && configList === undefined && attribute.computed) return;
    const fields = attribute.fields ?? {};
    const withCodes = (list: Values[] | undefined) =>
        new Map((list ?? []).map((element) => completeElement(fields, element)).map((element) => [elementCode(fields, element), element] as const));
    const os = withCodes(oldList);
    const ns = withCodes(configList);
    const same = os.size === ns.size && [...os.keys()].every((code) => ns.has(code));
    if (configList !== undefined && same && !ctx.all) return;
    if (os.size !== ns.size || ctx.all) {
        record(ctx, attribute, `${path}.#`, String(os.size), String(ns.size));
    }
    const inner: DiffContext = { out: ctx.out, all: true };
    let index = 0;
    for (const [code, element] of os) {
        if (ns.has(code)) continue;
        for (const [name, field] of Object.entries(fields)) {
            diffAttribute(inner, field, `${path}[#${index}].${name}`, element[name], undefined);
        }
        index++;
    }
    for (const [code, element] of ns) {
        const before = os.get(code);
        for (const [name, field] of Object.entries(fields)) {
            diffAttribute(inner, field, `${path}[#${index}].${name}`, before?.[name], element[name]);
        }
        index++;
    }
}

function diffAttribute(ctx: DiffContext, attribute: Attribute, path: string, old: unknown, config: unknown): void {
    switch (attribute.kind) {
        case "string":
        case "int":
        case "bool":
            diffPrimitive(ctx, attribute, path, old, config);
            break;
        case "list":
            diffPrimitiveList(ctx, attribute, path, old, config);
            break;
        case "set":
            diffPrimitiveSet(ctx, attribute, path, old, config);
            break;
        case "map":
            diffMap(ctx, attribute, path, old, config);
            break;
        case "objectList":
            diffBlockList(ctx, attribute, path, old, config);
            break;
        case "objectSet":
            diffBlockSet(ctx, attribute, path, old, config);
            break;
    }
}

/**
 * suppressIfPortsDidNotChangeForMigrationV0ToV1 (resource_docker_container.go): the ports diff
 * is dropped when every old port has a new port with the same internal port and the same
 * protocol, external port and ip (order does not matter); a changed count is never dropped.
 */
export function portsDidNotChange(oldPorts: readonly Values[], newPorts: readonly Values[]): boolean {
    if (oldPorts.length !== newPorts.length) return false;
    const fields = CONTAINER_SCHEMA.ports.fields ?? {};
    const olds = oldPorts.map((port) => completeElement(fields, port));
    const news = newPorts.map((port) => completeElement(fields, port));
    const hasPortWithProtocol = (internal: unknown, protocol: unknown) => news.some((port) => port.internal === internal && port.protocol === protocol);
    for (const portOld of olds) {
        let found = false;
        for (const portNew of news) {
            if (portNew.internal !== portOld.internal) continue;
            if (portNew.protocol !== portOld.protocol) {
                if (hasPortWithProtocol(portOld.internal, portOld.protocol)) continue;
                return false;
            }
            if (portNew.external !== portOld.external || portNew.ip !== portOld.ip) return false;
            found = true;
            break;
        }
        if (!found) return false;
    }
    return true;
}

export interface DiffOptions {
    /** The resource option: these paths (top-level or dotted) drop their attribute diffs (bridge computeIgnoreChanges + processIgnoreChanges). */
    readonly ignoreChanges?: readonly string[];
}

/** The top-level property of an attribute path (`logOpts.compress` -> `logOpts`). */
export function topLevelKey(path: string): string {
    return path.split(/[.[]/, 1)[0];
}

/**
 * The diff the bridge computes for a resource of `type` from its stored state (`state`, what
 * Read stored) and the new inputs (`inputs`): schemaMap.Diff attribute by attribute, the
 * DiffSuppressFuncs, then ignoreChanges (an ignored path removes every attribute diff at or
 * below it). Changes of attributes the model has no schema for are compared as plain JSON.
 */
export function diffResource(type: string, state: Values, inputs: Values, options: DiffOptions = {}): ResourceDiff {
    const schema = schemaOf(type);
    if (schema === undefined) {
        throw new Error(`docker provider model: no schema for ${type}`);
    }
    const out: AttributeDiff[] = [];
    for (const [key, attribute] of Object.entries(schema)) {
        const before = out.length;
        diffAttribute({ out, all: false }, attribute, key, state[key], inputs[key]);
        if (attribute.suppress === "portsByInternal" && out.length > before) {
            const oldPorts = asBlockList(attribute, state[key]) ?? [];
            const newPorts = asBlockList(attribute, inputs[key]) ?? [];
            if (portsDidNotChange(oldPorts, newPorts)) {
                out.splice(before); // DiffSuppressFunc applied to every ports.* attribute
            }
        }
    }
    for (const key of Object.keys(inputs)) {
        if (schema[key] === undefined && inputs[key] !== undefined) {
            throw new Error(`docker provider model: ${type} input "${key}" has no schema entry; add it to tools/docker-provider-model.ts`);
        }
    }
    const ignored = options.ignoreChanges ?? [];
    const kept = out.filter((diff) => !ignored.some((path) => diff.path === path || diff.path.startsWith(`${path}.`) || diff.path.startsWith(`${path}[`)));
    const changedKeys = [...new Set(kept.filter((diff) => diff.old !== diff.new).map((diff) => topLevelKey(diff.path)))].sort();
    const replaceKeys = [...new Set(kept.filter((diff) => diff.requiresNew).map((diff) => topLevelKey(diff.path)))].sort();
    return { attributes: kept.filter((diff) => diff.old !== diff.new), changedKeys, replaceKeys, empty: changedKeys.length === 0 };
}

/**
 * What the engine does with a diff: replace when the provider says so or a `replaceOnChanges`
 * path changed, update for any other change, nothing when the diff is empty.
 */
export function plannedAction(diff: ResourceDiff, replaceOnChanges: readonly string[] = []): "same" | "update" | "replace" {
    if (diff.empty) return "same";
    const forced = diff.changedKeys.some((key) =>
        replaceOnChanges.some((pattern) => pattern === "*" || pattern === key || pattern.startsWith(`${key}.`) || pattern.startsWith(`${key}[`)),
    );
    return diff.replaceKeys.length > 0 || forced ? "replace" : "update";
}

// ---------------------------------------------------------------------------------------------
// Planned state: the config with the schema's defaults (bridge Check applies them; the SDK's
// ConfigFieldReader reads them for absent values)

/** The inputs as the provider plans them: every absent attribute with a Default gets it. */
export function plannedState(type: string, inputs: Values): Values {
    const schema = schemaOf(type);
    if (schema === undefined) {
        throw new Error(`docker provider model: no schema for ${type}`);
    }
    const out: Values = {};
    for (const [key, value] of Object.entries(inputs)) {
        if (value !== undefined) out[key] = value;
    }
    for (const [key, attribute] of Object.entries(schema)) {
        if (isAbsent(out[key]) && attribute.default !== undefined) {
            out[key] = attribute.default;
        }
    }
    if (type === CONTAINER) {
        const healthcheck = out.healthcheck;
        if (isObject(healthcheck)) {
            out.healthcheck = completeElement(CONTAINER_SCHEMA.healthcheck.fields ?? {}, healthcheck);
        }
        if (Array.isArray(out.ports)) {
            // Nested defaults (ip 0.0.0.0, protocol tcp); `external` is Computed and stays absent when unset.
            out.ports = out.ports.map((port) =>
                isObject(port) ? { ...port, ip: applyStateFunc(CONTAINER_SCHEMA.ports.fields?.ip ?? str("ip"), port.ip ?? "0.0.0.0"), protocol: port.protocol ?? "tcp" } : port,
            );
        }
    }
    return out;
}

// ---------------------------------------------------------------------------------------------
// Go durations (healthcheck fields travel as time.Duration: ParseDuration on create, String on Read)

const UNIT_NS: Readonly<Record<string, number>> = { ns: 1, us: 1e3, "µs": 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** time.ParseDuration for the forms a config uses ("15s", "1m30s", "500ms"); nanoseconds. */
export function parseGoDuration(text: string): number {
    if (text === "0") return 0;
    const pattern = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/gy;
    let total = 0;
    let consumed = 0;
    for (let match = pattern.exec(text); match !== null; match = pattern.exec(text)) {
        total += Number(match[1]) * UNIT_NS[match[2]];
        consumed = pattern.lastIndex;
    }
    if (consumed !== text.length || text.length === 0) {
        throw new Error(`time: invalid duration ${JSON.stringify(text)}`);
    }
    return Math.round(total);
}

/** time.Duration.String: "15s", "1m30s", "1h0m0s", "500ms", "0s". */
export function formatGoDuration(nanoseconds: number): string {
    if (nanoseconds === 0) return "0s";
    const sign = nanoseconds < 0 ? "-" : "";
    let rest = Math.abs(nanoseconds);
    if (rest < 1e9) {
        const [unit, size] = rest < 1e3 ? ["ns", 1] : rest < 1e6 ? ["µs", 1e3] : ["ms", 1e6];
        return `${sign}${trimFraction(rest / size)}${unit}`;
    }
    const hours = Math.floor(rest / 3600e9);
    rest -= hours * 3600e9;
    const minutes = Math.floor(rest / 60e9);
    rest -= minutes * 60e9;
    const seconds = `${trimFraction(rest / 1e9)}s`;
    if (hours > 0) return `${sign}${hours}h${minutes}m${seconds}`;
    if (minutes > 0) return `${sign}${minutes}m${seconds}`;
    return `${sign}${seconds}`;
}

function trimFraction(value: number): string {
    return Number(value.toFixed(9)).toString();
}

// ---------------------------------------------------------------------------------------------
// Create, update, delete: the Engine API requests of resourceDockerContainerCreate/Update/Delete

/** What resourceDockerContainerCreate sends, in order. */
export interface ContainerCreatePlan {
    readonly name: string;
    /** POST /containers/create?name=<name> body (container.Config + HostConfig + NetworkingConfig). */
    readonly body: Values;
    /** networks_advanced: disconnect "bridge", then POST /networks/<name>/connect with these endpoint settings. */
    readonly networks: ReadonlyArray<{ readonly name: string; readonly endpointConfig: Values }>;
    readonly start: boolean;
    /** `wait`: poll for a healthy status this many seconds, else "container failed to be in healthy state". */
    readonly waitSeconds?: number;
}

/** An input the provider refuses before it calls the engine (same message). */
export class ProviderInputError extends Error {
    constructor(resource: string, message: string) {
        super(`${resource}: ${message}`);
        this.name = "ProviderInputError";
    }
}

const toStrings = (value: unknown): string[] => (Array.isArray(value) ? value.map((item) => String(item)) : []);
const toMap = (value: unknown): Record<string, string> =>
    isObject(value) ? Object.fromEntries(Object.entries(value).filter(([, v]) => !isAbsent(v)).map(([k, v]) => [k, String(v)])) : {};
const MIB = 1024 * 1024;

/** resourceDockerContainerCreate: config, host config and the steps after ContainerCreate. */
export function containerCreatePlan(inputs: Values, resource = String(inputs.name ?? "container")): ContainerCreatePlan {
    const planned = plannedState(CONTAINER, inputs);
    for (const key of ["attach", "logs", "rm"]) {
        if (planned[key] === true) throw new ProviderInputError(resource, `${key} is not modelled (the program never sets it)`);
    }
    for (const key of ["uploads", "devices", "ulimits", "hosts", "gpus", "deviceRequests", "volumes", "platform"]) {
        if (!isAbsent(planned[key])) throw new ProviderInputError(resource, `${key} is not modelled (the program never sets it)`);
    }
    const config: Values = {
        Image: String(planned.image),
        Hostname: planned.hostname ?? "",
        Domainname: planned.domainname ?? "",
        Tty: planned.tty === true,
        OpenStdin: planned.stdinOpen === true,
        StopSignal: planned.stopSignal ?? "",
    };
    if (!isAbsent(planned.stopTimeout) && planned.stopTimeout !== 0) config.StopTimeout = Number(planned.stopTimeout);
    if (Array.isArray(planned.envs) && planned.envs.length > 0) config.Env = toStrings(planned.envs);
    if (Array.isArray(planned.command) && planned.command.length > 0) {
        config.Cmd = toStrings(planned.command);
        if ((config.Cmd as string[]).some((arg) => arg === "")) {
            throw new ProviderInputError(resource, "values for command may not be empty");
        }
    }
    if (Array.isArray(planned.entrypoints) && planned.entrypoints.length > 0) config.Entrypoint = toStrings(planned.entrypoints);
    if (!isAbsent(planned.user) && planned.user !== "") config.User = String(planned.user);
    const exposed: Values = {};
    const bindings: Record<string, Values[]> = {};
    for (const port of Array.isArray(planned.ports) ? planned.ports.filter(isObject) : []) {
        // portSetToDockerPorts
        const key = `${Number(port.internal)}/${String(port.protocol)}`;
        exposed[key] = {};
        (bindings[key] ??= []).push({ HostIp: String(port.ip ?? ""), HostPort: port.external === undefined ? "" : String(port.external) });
    }
    if (Object.keys(exposed).length > 0) config.ExposedPorts = exposed;
    if (!isAbsent(planned.workingDir) && planned.workingDir !== "") config.WorkingDir = String(planned.workingDir);
    if (Array.isArray(planned.labels) && planned.labels.length > 0) {
        config.Labels = Object.fromEntries(planned.labels.filter(isObject).map((label) => [String(label.label), String(label.value)]));
    }
    if (isObject(planned.healthcheck)) {
        const check = planned.healthcheck;
        config.Healthcheck = {
            Test: toStrings(check.tests),
            Interval: parseGoDuration(String(check.interval ?? "0s")),
            Timeout: parseGoDuration(String(check.timeout ?? "0s")),
            StartPeriod: parseGoDuration(String(check.startPeriod ?? "0s")),
            StartInterval: parseGoDuration(String(check.startInterval ?? "0s")),
            Retries: Number(check.retries ?? 0),
        };
    }
    const mounts = (Array.isArray(planned.mounts) ? planned.mounts.filter(isObject) : []).map((mount) => {
        const out: Values = { Type: String(mount.type), Target: String(mount.target), Source: String(mount.source ?? "") };
        if (mount.readOnly !== undefined) out.ReadOnly = mount.readOnly === true;
        if (mount.type === "bind" && isObject(mount.bindOptions)) out.BindOptions = { Propagation: String(mount.bindOptions.propagation ?? "") };
        if (mount.type === "tmpfs" && isObject(mount.tmpfsOptions)) {
            out.TmpfsOptions = { SizeBytes: Number(mount.tmpfsOptions.sizeBytes ?? 0), Mode: Number(mount.tmpfsOptions.mode ?? 0) };
        }
        if (mount.type === "volume" && mount.volumeOptions !== undefined) throw new ProviderInputError(resource, "mounts.volumeOptions is not modelled");
        return out;
    });
    const hostConfig: Values = {
        Privileged: planned.privileged === true,
        PublishAllPorts: planned.publishAllPorts === true,
        RestartPolicy: { Name: String(planned.restart), MaximumRetryCount: Number(planned.maxRetryCount ?? 0) },
        Runtime: planned.runtime ?? "",
        Mounts: mounts,
        AutoRemove: planned.rm === true,
        ReadonlyRootfs: planned.readOnly === true,
        LogConfig: { Type: planned.logDriver ?? "" },
    };
    if (isObject(planned.tmpfs) && Object.keys(planned.tmpfs).length > 0) hostConfig.Tmpfs = toMap(planned.tmpfs);
    if (Object.keys(bindings).length > 0) hostConfig.PortBindings = bindings;
    if (isObject(planned.capabilities)) {
        hostConfig.CapAdd = toStrings(planned.capabilities.adds);
        hostConfig.CapDrop = toStrings(planned.capabilities.drops);
    }
    for (const [key, api] of [["dns", "Dns"], ["dnsOpts", "DnsOptions"], ["dnsSearches", "DnsSearch"]] as const) {
        if (Array.isArray(planned[key]) && (planned[key] as unknown[]).length > 0) hostConfig[api] = toStrings(planned[key]);
    }
    if (Array.isArray(planned.securityOpts) && planned.securityOpts.length > 0) {
        // parseSystemPaths: only systempaths=unconfined is taken out (never set here)
        hostConfig.SecurityOpt = toStrings(planned.securityOpts);
    }
    if (!isAbsent(planned.memory) && planned.memory !== 0) hostConfig.Memory = Number(planned.memory) * MIB;
    if (!isAbsent(planned.memoryReservation) && planned.memoryReservation !== 0) hostConfig.MemoryReservation = Number(planned.memoryReservation) * MIB;
    if (!isAbsent(planned.memorySwap) && planned.memorySwap !== 0) {
        const swap = Number(planned.memorySwap);
        hostConfig.MemorySwap = swap > 0 ? swap * MIB : swap;
    }
    if (!isAbsent(planned.shmSize) && planned.shmSize !== 0) hostConfig.ShmSize = Number(planned.shmSize) * MIB;
    if (!isAbsent(planned.cpus)) throw new ProviderInputError(resource, "cpus is not modelled");
    if (!isAbsent(planned.cpuPeriod) && planned.cpuPeriod !== 0) hostConfig.CpuPeriod = Number(planned.cpuPeriod);
    if (!isAbsent(planned.cpuQuota) && planned.cpuQuota !== 0) hostConfig.CpuQuota = Number(planned.cpuQuota);
    if (!isAbsent(planned.cpuShares) && planned.cpuShares !== 0) hostConfig.CpuShares = Number(planned.cpuShares);
    if (!isAbsent(planned.cpuSet) && planned.cpuSet !== "") hostConfig.CpusetCpus = String(planned.cpuSet);
    if (isObject(planned.logOpts) && Object.keys(planned.logOpts).length > 0) (hostConfig.LogConfig as Values).Config = toMap(planned.logOpts);
    if (!isAbsent(planned.networkMode) && planned.networkMode !== "") hostConfig.NetworkMode = String(planned.networkMode);
    if (!isAbsent(planned.usernsMode) && planned.usernsMode !== "") hostConfig.UsernsMode = String(planned.usernsMode);
    if (!isAbsent(planned.pidMode) && planned.pidMode !== "") hostConfig.PidMode = String(planned.pidMode);
    if (isObject(planned.sysctls) && Object.keys(planned.sysctls).length > 0) hostConfig.Sysctls = toMap(planned.sysctls);
    if (!isAbsent(planned.ipcMode) && planned.ipcMode !== "") hostConfig.IpcMode = String(planned.ipcMode);
    if (Array.isArray(planned.groupAdds) && planned.groupAdds.length > 0) hostConfig.GroupAdd = toStrings(planned.groupAdds);
    if (!isAbsent(planned.cgroupnsMode) && planned.cgroupnsMode !== "") hostConfig.CgroupnsMode = String(planned.cgroupnsMode);
    if (!isAbsent(planned.cgroupParent) && planned.cgroupParent !== "") hostConfig.CgroupParent = String(planned.cgroupParent);
    // `init := d.Get("init").(bool); hostConfig.Init = &init`: always sent, false when unset.
    hostConfig.Init = planned.init === true;
    if (isObject(planned.storageOpts) && Object.keys(planned.storageOpts).length > 0) hostConfig.StorageOpt = toMap(planned.storageOpts);

    const networks = (Array.isArray(planned.networksAdvanced) ? planned.networksAdvanced.filter(isObject) : []).map((network) => ({
        name: String(network.name),
        endpointConfig: {
            Aliases: toStrings(network.aliases),
            IPAMConfig: {
                IPv4Address: String(network.ipv4Address ?? ""),
                IPv6Address: String(network.ipv6Address ?? ""),
                LinkLocalIPs: toStrings(network.linkLocalIps),
            },
            MacAddress: String(network.macAddress ?? ""),
            DriverOpts: Object.fromEntries(toStrings(network.driverOpts).map((opt) => [opt.split("=")[0], opt.split("=").slice(1).join("=")])),
            GwPriority: Number(network.gwPriority ?? 0),
        },
    }));
    return {
        name: String(planned.name),
        body: { ...config, HostConfig: hostConfig, NetworkingConfig: {} },
        networks,
        start: planned.start !== false,
        ...(planned.start !== false && planned.wait === true ? { waitSeconds: Number(planned.waitTimeout) } : {}),
    };
}

/** resourceDockerContainerUpdate: the ContainerUpdate body, or undefined when no in-place attribute changed. */
export function containerUpdateBody(diff: ResourceDiff, inputs: Values): Values | undefined {
    if (!diff.changedKeys.some((key) => CONTAINER_UPDATED_IN_PLACE.includes(key))) {
        return undefined;
    }
    const planned = plannedState(CONTAINER, inputs);
    const body: Values = {
        RestartPolicy: { Name: String(planned.restart), MaximumRetryCount: Number(planned.maxRetryCount ?? 0) },
        CpuShares: Number(planned.cpuShares ?? 0),
        Memory: Number(planned.memory ?? 0) * MIB,
        MemoryReservation: Number(planned.memoryReservation ?? 0) * MIB,
        CpusetCpus: String(planned.cpuSet ?? ""),
    };
    if (!isAbsent(planned.memorySwap) && planned.memorySwap !== 0) {
        const swap = Number(planned.memorySwap);
        body.MemorySwap = swap > 0 ? swap * MIB : swap;
    }
    return body;
}

/**
 * resourceDockerContainerDelete, from the state being deleted (a replacement deletes the OLD
 * resource with the OLD state): ContainerStop with timeout destroy_grace_seconds (0 when unset,
 * so the stop signal is followed by SIGKILL at once), then ContainerRemove with Force and
 * RemoveVolumes = remove_volumes (schema default true), then wait until it is not running.
 */
export function containerDeletePlan(state: Values): { readonly stopTimeoutSeconds: number; readonly removeVolumes: boolean } {
    const grace = Number(state.destroyGraceSeconds ?? 0);
    return {
        stopTimeoutSeconds: grace > 0 ? grace : 0,
        removeVolumes: state.removeVolumes === undefined || state.removeVolumes === null ? true : state.removeVolumes === true,
    };
}

/** resourceDockerNetworkCreate: the NetworkCreate body. */
export function networkCreateBody(inputs: Values): Values {
    const planned = plannedState(NETWORK, inputs);
    for (const key of ["ipamConfigs", "ipamOptions", "ingress"]) {
        if (!isAbsent(planned[key]) && planned[key] !== false) throw new ProviderInputError(String(planned.name), `${key} is not modelled`);
    }
    const body: Values = { Name: String(planned.name) };
    if (Array.isArray(planned.labels) && planned.labels.length > 0) {
        body.Labels = Object.fromEntries(planned.labels.filter(isObject).map((label) => [String(label.label), String(label.value)]));
    }
    if (!isAbsent(planned.driver) && planned.driver !== "") body.Driver = String(planned.driver);
    if (isObject(planned.options) && Object.keys(planned.options).length > 0) body.Options = toMap(planned.options);
    if (planned.internal === true) body.Internal = true;
    if (planned.attachable === true) body.Attachable = true;
    if (planned.ipv6 === true) body.EnableIPv6 = true; // GetOk: false is never sent
    // ipam_driver has a Default ("default"), so GetOk is true and the IPAM block is always sent.
    body.IPAM = { Driver: String(planned.ipamDriver) };
    return body;
}

// ---------------------------------------------------------------------------------------------
// Read: what the provider stores after create (and on refresh)

/** The parts of `docker inspect` (ContainerInspect) Read uses. */
export interface ContainerInspect {
    readonly Id: string;
    readonly Name: string;
    readonly Image: string;
    readonly Platform?: string;
    readonly State: { readonly Running: boolean; readonly ExitCode: number };
    readonly Config: Values;
    readonly HostConfig: Values;
    readonly NetworkSettings?: Values;
}

/** flattenContainerPorts: bindings of NetworkSettings.Ports, sorted by internal port. */
function flattenContainerPorts(ports: unknown): Values[] {
    if (!isObject(ports)) return [];
    const keys = Object.keys(ports).sort((a, b) => Number(a.split("/")[0]) - Number(b.split("/")[0]));
    const out: Values[] = [];
    for (const key of keys) {
        const [internal, protocol] = key.split("/");
        for (const binding of Array.isArray(ports[key]) ? (ports[key] as unknown[]).filter(isObject) : []) {
            out.push({ internal: Number(internal), external: Number(binding.HostPort), ip: String(binding.HostIp ?? ""), protocol });
        }
    }
    return out;
}

/** getDockerContainerMounts. */
function readMounts(mounts: unknown): Values[] {
    return (Array.isArray(mounts) ? mounts.filter(isObject) : []).map((mount) => {
        const out: Values = { target: mount.Target, source: mount.Source ?? "", type: mount.Type, readOnly: mount.ReadOnly === true };
        if (isObject(mount.BindOptions)) out.bindOptions = { propagation: mount.BindOptions.Propagation ?? "" };
        if (isObject(mount.VolumeOptions)) out.volumeOptions = { noCopy: mount.VolumeOptions.NoCopy === true };
        if (isObject(mount.TmpfsOptions)) out.tmpfsOptions = { sizeBytes: mount.TmpfsOptions.SizeBytes ?? 0, mode: mount.TmpfsOptions.Mode ?? 0 };
        return out;
    });
}

const bytesToMiB = (bytes: unknown): number => Math.trunc(Number(bytes ?? 0) / MIB);

/**
 * resourceDockerContainerRead: the state after create (Create ends with Read) or a refresh.
 * `planned` is the state before Read (the planned config on create, the stored state on
 * refresh): attributes Read does not set keep their planned value.
 */
export function readContainer(inspect: ContainerInspect, planned: Values): Values {
    const hostConfig = inspect.HostConfig;
    const config = inspect.Config;
    const state: Values = { ...planned };
    const networkSettings = inspect.NetworkSettings;
    if (networkSettings !== undefined) {
        state.bridge = networkSettings.Bridge ?? "";
        // networks_advanced only when empty (import support); ports only when configured and
        // the container runs or must run.
        if ((inspect.State.Running || planned.mustRun !== false) && Array.isArray(planned.ports) && planned.ports.length > 0) {
            state.ports = flattenContainerPorts(networkSettings.Ports);
        }
    }
    if (!inspect.State.Running) {
        state.exitCode = inspect.State.ExitCode;
        if (planned.mustRun !== false) state.mustRun = false; // a stopped container shows as a must_run change
    }
    state.id = inspect.Id;
    state.name = inspect.Name.replace(/^\/+/, "");
    state.rm = hostConfig.AutoRemove === true;
    state.readOnly = hostConfig.ReadonlyRootfs === true;
    state.image = String(planned.image ?? "").startsWith("sha256:") ? inspect.Image : config.Image;
    state.hostname = config.Hostname ?? "";
    state.domainname = config.Domainname ?? "";
    state.command = config.Cmd ?? [];
    state.entrypoints = config.Entrypoint ?? [];
    state.user = config.User ?? "";
    state.dns = hostConfig.Dns ?? [];
    state.dnsOpts = hostConfig.DnsOptions ?? [];
    state.securityOpts = hostConfig.SecurityOpt ?? [];
    state.dnsSearches = hostConfig.DnsSearch ?? [];
    state.publishAllPorts = hostConfig.PublishAllPorts === true;
    const restart = isObject(hostConfig.RestartPolicy) ? hostConfig.RestartPolicy : {};
    state.restart = restart.Name ?? "";
    state.maxRetryCount = restart.MaximumRetryCount ?? 0;
    state.init = hostConfig.Init === true;
    state.workingDir = config.WorkingDir ?? "";
    const capAdd = toStrings(hostConfig.CapAdd);
    const capDrop = toStrings(hostConfig.CapDrop);
    if (capAdd.length > 0 || capDrop.length > 0) state.capabilities = { adds: capAdd, drops: capDrop };
    state.runtime = hostConfig.Runtime ?? "";
    state.platform = inspect.Platform ?? "";
    state.mounts = readMounts(hostConfig.Mounts);
    state.tmpfs = isObject(hostConfig.Tmpfs) ? hostConfig.Tmpfs : {};
    state.privileged = hostConfig.Privileged === true;
    state.memory = bytesToMiB(hostConfig.Memory);
    const reservation = Number(hostConfig.MemoryReservation ?? 0);
    state.memoryReservation = reservation > 0 ? bytesToMiB(reservation) : reservation;
    const swap = Number(hostConfig.MemorySwap ?? 0);
    state.memorySwap = swap > 0 ? bytesToMiB(swap) : swap;
    state.shmSize = bytesToMiB(hostConfig.ShmSize);
    if (Number(hostConfig.NanoCpus ?? 0) > 0) state.cpus = String(Number(hostConfig.NanoCpus) / 1e9);
    state.cpuShares = hostConfig.CpuShares ?? 0;
    state.cpuSet = hostConfig.CpusetCpus ?? "";
    const logConfig = isObject(hostConfig.LogConfig) ? hostConfig.LogConfig : {};
    state.logDriver = logConfig.Type ?? "";
    // containerLogOptsForState: the engine's map, but only when log_opts is configured.
    state.logOpts = isObject(planned.logOpts) && Object.keys(planned.logOpts).length > 0 ? (logConfig.Config ?? {}) : undefined;
    state.storageOpts = hostConfig.StorageOpt ?? undefined;
    state.networkMode = hostConfig.NetworkMode ?? "";
    if (!isAbsent(planned.pidMode) && planned.pidMode !== "") state.pidMode = hostConfig.PidMode ?? "";
    state.usernsMode = hostConfig.UsernsMode ?? "";
    if (isObject(config.Healthcheck)) {
        const check = config.Healthcheck;
        state.healthcheck = {
            tests: check.Test ?? [],
            interval: formatGoDuration(Number(check.Interval ?? 0)),
            timeout: formatGoDuration(Number(check.Timeout ?? 0)),
            startPeriod: formatGoDuration(Number(check.StartPeriod ?? 0)),
            startInterval: formatGoDuration(Number(check.StartInterval ?? 0)),
            retries: check.Retries ?? 0,
        };
    }
    state.sysctls = hostConfig.Sysctls ?? undefined;
    state.ipcMode = hostConfig.IpcMode ?? "";
    state.groupAdds = hostConfig.GroupAdd ?? [];
    state.tty = config.Tty === true;
    state.stdinOpen = config.OpenStdin === true;
    state.stopSignal = config.StopSignal ?? "";
    state.stopTimeout = config.StopTimeout ?? 0;
    return state;
}

/** The parts of `docker network inspect` Read uses. */
export interface NetworkInspect {
    readonly Id: string;
    readonly Name: string;
    readonly Driver: string;
    readonly Scope: string;
    readonly EnableIPv6: boolean;
    readonly Internal: boolean;
    readonly Attachable: boolean;
    readonly Ingress: boolean;
    readonly IPAM: { readonly Driver: string; readonly Options?: Record<string, string> | null; readonly Config?: Values[] | null };
    readonly Options?: Record<string, string> | null;
    readonly Labels?: Record<string, string> | null;
}

/** resourceDockerNetworkReadRefreshFunc. */
export function readNetwork(inspect: NetworkInspect, planned: Values): Values {
    const state: Values = { ...planned };
    state.id = inspect.Id;
    state.name = inspect.Name;
    state.labels = Object.entries(inspect.Labels ?? {}).map(([label, value]) => ({ label, value }));
    state.driver = inspect.Driver;
    state.internal = inspect.Internal;
    state.attachable = inspect.Attachable;
    state.ingress = inspect.Ingress;
    state.ipv6 = inspect.EnableIPv6;
    state.ipamDriver = inspect.IPAM.Driver;
    state.ipamOptions = inspect.IPAM.Options ?? {};
    state.scope = inspect.Scope;
    state.options = inspect.Options ?? {};
    state.ipamConfigs = (inspect.IPAM.Config ?? []).map((config) => {
        const out: Values = {};
        if (config.Subnet) out.subnet = config.Subnet;
        if (config.IPRange) out.ipRange = config.IPRange;
        if (config.Gateway) out.gateway = config.Gateway;
        if (isObject(config.AuxiliaryAddresses) && Object.keys(config.AuxiliaryAddresses).length > 0) out.auxAddress = config.AuxiliaryAddresses;
        return out;
    });
    return state;
}

/** resourceDockerImageRead: only image_id and repo_digest (and the id) are read. */
export function readRemoteImage(image: { readonly Id: string; readonly RepoDigests?: readonly string[] | null }, planned: Values): Values {
    const name = String(planned.name);
    const repository = name.replace(/(:[^/:]+)?$/, "");
    const digest = (image.RepoDigests ?? []).find((entry) => entry.startsWith(`${repository}@`)) ?? "";
    return { ...planned, id: `${image.Id}${name}`, imageId: image.Id, repoDigest: digest };
}
