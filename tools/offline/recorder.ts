/**
 * The offline evaluation engine: runs the program (or any component code) under
 * `pulumi.runtime.setMocks` and records every
 * resource registration exactly as the engine would receive it: type, name, parent, inputs
 * (with the paths that were secret), and the resource options that reach the engine
 * (dependsOn, deleteBeforeReplace, ignoreChanges, retainOnDelete, additionalSecretOutputs, ...).
 *
 * A `resolve` hook decides each custom resource's outputs. The unit tier uses canned outputs;
 * the host and engine tiers resolve `command:remote:Command` by running the recorded command on
 * a real test host, so dependent resources see real uids and gids, in dependency order, just as
 * `pulumi up` would run them.
 *
 * Pulumi's runtime state is process-global: record once at a time per process, queued with
 * {@link recordProgramQueued} (the unit tier runs all its files in one process).
 * plan-diff, fleet and every test tier use this one module.
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";

const SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

/** Options as the engine receives them. URNs are shortened to `<type>::<name>`. */
export interface RecordedOptions {
    readonly dependsOn: string[];
    readonly deleteBeforeReplace: boolean;
    readonly ignoreChanges: string[];
    readonly replaceOnChanges: string[];
    readonly additionalSecretOutputs: string[];
    readonly retainOnDelete: boolean;
    readonly protect: boolean;
    readonly deletedWith?: string;
    readonly provider?: string;
}

export interface RecordedResource {
    readonly type: string;
    readonly name: string;
    /** `<type>::<name>` of the parent, or undefined for top-level resources. */
    readonly parent?: string;
    readonly custom: boolean;
    /** Inputs with secrets unwrapped and unknowns as `undefined`. */
    readonly inputs: Record<string, unknown>;
    /** Dotted paths of the inputs that were secret (e.g. `connection.privateKey`). */
    readonly secretPaths: string[];
    readonly options: RecordedOptions;
    /** The state the resolve hook returned (outputs the program saw). */
    state: Record<string, unknown>;
}

export interface Recording {
    readonly resources: RecordedResource[];
    /** Stack outputs, fully resolved (secrets unwrapped). */
    readonly outputs: Record<string, unknown>;
    byType(type: string): RecordedResource[];
    find(type: string, name: string): RecordedResource;
    /** Children (direct) of the resource `<type>::<name>`. */
    childrenOf(ref: string): RecordedResource[];
}

/** Returns extra state (outputs) for a custom resource; undefined → echo the inputs. */
export type Resolver = (resource: RecordedResource) => Promise<Record<string, unknown> | undefined> | Record<string, unknown> | undefined;

export interface RecordOptions {
    readonly stack: string;
    readonly project?: string;
    /** Config without namespace (`{ version: "2.53.2", hosts: [...] }`); objects are JSON-encoded. */
    readonly config: Record<string, unknown>;
    /** Keys (without namespace) stored as secrets. */
    readonly secretKeys?: readonly string[];
    readonly preview?: boolean;
    readonly resolve?: Resolver;
    /** The program to run; default: the project's index.ts default export. */
    readonly program?: () => unknown;
    /**
     * Whether the SDK captures a stack trace for every internal promise (default true, as the
     * real runtime does). Those traces serve only the SDK's promise-leak report
     * (PULUMI_DEBUG_PROMISE_LEAKS) and change nothing that is recorded; offline tools turn them off
     * because they are most of an evaluation's time. With PULUMI_DEBUG_PROMISE_LEAKS set they stay on.
     */
    readonly sdkStackTraces?: boolean;
    /** Called for every registration as it reaches the engine (also when the program fails later). */
    readonly onRegister?: (resource: RecordedResource) => void;
}

/** The plain data of a recording (what crosses a process boundary or is kept between evaluations). */
export interface RecordingData {
    readonly resources: readonly RecordedResource[];
    readonly outputs: Record<string, unknown>;
    /** Stack outputs that are (or hold) secrets: compared, never shown. */
    readonly secretOutputs?: readonly string[];
}

export function ref(type: string, name: string): string {
    return `${type}::${name}`;
}

function shortUrn(urn: string): string {
    // urn:pulumi:stack::project::parentType$type::name
    const parts = urn.split("::");
    const name = parts.slice(3).join("::");
    const typeChain = parts[2] ?? "";
    const type = typeChain.split("$").pop() ?? typeChain;
    return ref(type, name);
}

function unwrap(value: unknown, at: string, secrets: string[]): unknown {
    if (value === UNKNOWN) {
        return undefined;
    }
    if (Array.isArray(value)) {
        return value.map((item, index) => unwrap(item, `${at}[${index}]`, secrets));
    }
    if (value !== null && typeof value === "object") {
        const record = value as Record<string, unknown>;
        if (record[SECRET_SIG_KEY] === SECRET_SIG) {
            secrets.push(at);
            return unwrap(record.value, at, []);
        }
        if (record[SECRET_SIG_KEY] !== undefined) {
            // resource references, assets: keep as is
            return record;
        }
        const out: Record<string, unknown> = {};
        for (const [key, child] of Object.entries(record)) {
            out[key] = unwrap(child, at ? `${at}.${key}` : key, secrets);
        }
        return out;
    }
    return value;
}

/** Encode a config object the way the CLI hands it to the program: `project:key` → string. */
export function encodeConfig(project: string, config: Record<string, unknown>): Record<string, string> {
    const encoded: Record<string, string> = {};
    for (const [key, value] of Object.entries(config)) {
        if (value === undefined) {
            continue;
        }
        encoded[`${project}:${key}`] = typeof value === "string" ? value : JSON.stringify(value);
    }
    return encoded;
}

/** The part of the engine's RegisterResourceRequest (protobuf) read here. */
interface MonitorRequest {
    getParent(): string;
    getObject(): { toJavaScript(): Record<string, unknown> } | undefined;
    getDependenciesList(): string[];
    getDeletebeforereplace(): boolean;
    getIgnorechangesList(): string[];
    getReplaceonchangesList(): string[];
    getAdditionalsecretoutputsList(): string[];
    getRetainondelete?(): boolean;
    getProtect?(): boolean;
    getDeletedwith(): string;
}

/**
 * What a registration carries that the public mock hook does not give. `newResource` receives a
 * `MockResourceArgs`: type, name, inputs, provider, custom and id, nothing else
 * (node_modules/@pulumi/pulumi/runtime/mocks.d.ts, 3.248.0; `MockMonitor.registerResource` in
 * runtime/mocks.js builds it from the request). The parent and the options the engine receives
 * (dependsOn, deleteBeforeReplace, ignoreChanges, replaceOnChanges, additionalSecretOutputs,
 * retainOnDelete, protect, deletedWith) are only in the request; so are the inputs with each
 * secret where it was: the hook's inputs went through `deserializeProperties` (runtime/rpc.js),
 * which marks a whole list secret when one element is, and turns resource references into live
 * objects.
 */
interface RequestOnly {
    readonly parent?: string;
    readonly inputs: Record<string, unknown>;
    readonly secretPaths: string[];
    readonly options: Omit<RecordedOptions, "provider">;
}

function requestOnly(req: MonitorRequest): RequestOnly {
    const secretPaths: string[] = [];
    const inputs = unwrap(req.getObject()?.toJavaScript() ?? {}, "", secretPaths) as Record<string, unknown>;
    const parentUrn = req.getParent();
    return {
        parent: parentUrn ? shortUrn(parentUrn) : undefined,
        inputs,
        secretPaths,
        options: {
            dependsOn: req.getDependenciesList().map(shortUrn),
            deleteBeforeReplace: req.getDeletebeforereplace(),
            ignoreChanges: req.getIgnorechangesList(),
            replaceOnChanges: req.getReplaceonchangesList(),
            additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
            retainOnDelete: req.getRetainondelete?.() ?? false,
            protect: req.getProtect?.() ?? false,
            deletedWith: req.getDeletedwith() ? shortUrn(req.getDeletedwith()) : undefined,
        },
    };
}

/** A provider reference (`<urn>::<id>`, as MockResourceArgs.provider holds it) as `<type>::<name>`. */
function providerRef(reference: string | undefined): string | undefined {
    return reference ? shortUrn(reference.split("::").slice(0, -1).join("::")) : undefined;
}

interface MockMonitorInstance {
    registerResource(req: MonitorRequest, callback: unknown): Promise<void>;
}

/** Record the program's resources under mocks. */
export async function recordProgram(options: RecordOptions): Promise<Recording> {
    const project = options.project ?? "replicated";
    const resources: RecordedResource[] = [];
    /** The request-only part of the registration whose `newResource` call comes next. */
    let registration: RequestOnly | undefined;

    await pulumi.runtime.setMocks(
        {
            newResource: async (args: pulumi.runtime.MockResourceArgs) => {
                // MockMonitor.registerResource calls this hook before its first await, right
                // after the wrapper below has read the request; a read (`get`) has no registration.
                const fromRequest = registration;
                registration = undefined;
                let record: RecordedResource | undefined;
                if (fromRequest !== undefined) {
                    record = {
                        type: args.type,
                        name: args.name,
                        parent: fromRequest.parent,
                        custom: args.custom ?? false,
                        inputs: fromRequest.inputs,
                        secretPaths: fromRequest.secretPaths,
                        options: { ...fromRequest.options, provider: providerRef(args.provider) },
                        state: {},
                    };
                    resources.push(record);
                    options.onRegister?.(record);
                }
                let extra: Record<string, unknown> | undefined;
                if (record && options.resolve) {
                    extra = await options.resolve(record);
                }
                const state = { ...args.inputs, ...(extra ?? {}) };
                if (record) {
                    record.state = state;
                }
                // A resolver that creates the real thing returns its id (a replaced container gets a new one).
                return { id: typeof extra?.id === "string" ? extra.id : `${args.name}-id`, state };
            },
            call: (args: pulumi.runtime.MockCallArgs) => args.inputs,
        },
        project,
        options.stack,
        options.preview ?? false,
    );
    // Only this evaluation's monitor (setMocks made a new one) reads the request first; the
    // MockMonitor class itself is left alone.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const monitor = (require("@pulumi/pulumi/runtime/settings") as { getMonitor(): unknown }).getMonitor() as MockMonitorInstance;
    const registerResource = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req, callback) => {
        registration = requestOnly(req);
        return registerResource(req, callback);
    };
    pulumi.runtime.setAllConfig(
        encodeConfig(project, options.config),
        (options.secretKeys ?? []).map((key) => `${project}:${key}`),
    );

    const program =
        options.program ??
        (() => {
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            const main = require(path.join(__dirname, "..", "..", "index.ts")) as () => unknown;
            return main();
        });

    // Pulumi stamps a stack trace on every internal promise; with source maps on (tsx) each one
    // is re-mapped, which makes an evaluation several times slower. Off while recording.
    const sourceMapsWereEnabled = (process as { sourceMapsEnabled?: boolean }).sourceMapsEnabled === true;
    process.setSourceMapsEnabled(false);
    // The SDK's debuggablePromise reads `new Error().stack` for every promise it makes: with a
    // limit of 0 that is an empty trace. Program errors keep their messages, which is all a
    // recording reports.
    const stackTraceLimit = Error.stackTraceLimit;
    if (options.sdkStackTraces === false && !process.env.PULUMI_DEBUG_PROMISE_LEAKS) {
        Error.stackTraceLimit = 0;
    }
    let outputs: Record<string, unknown> = {};
    try {
        // A program error is caught inside the stack and rethrown after it: rejecting the stack's
        // own init would leave a second, unhandled rejection behind in this (shared) process.
        let programError: unknown;
        const stackOutputs = await pulumi.runtime.runInPulumiStack(async () => {
            try {
                return await program();
            } catch (err) {
                programError = err;
                return undefined;
            }
        });
        if (programError === undefined) {
            outputs = await resolveOutputs((stackOutputs ?? {}) as Record<string, unknown>);
        }
        // Resources nothing exports (containers, ...) may still be registering: wait for every
        // outstanding registration, as the real runtime does before it exits (also after an
        // error, so nothing of this evaluation reaches the next one's mocks).
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        await (require("@pulumi/pulumi/runtime/settings") as { waitForRPCs(): Promise<void> }).waitForRPCs();
        if (programError !== undefined) {
            throw programError;
        }
    } finally {
        process.setSourceMapsEnabled(sourceMapsWereEnabled);
        Error.stackTraceLimit = stackTraceLimit;
    }

    return makeRecording(resources, outputs);
}

async function resolveOutputs(value: Record<string, unknown>): Promise<Record<string, unknown>> {
    const resolved = await new Promise<unknown>((resolve) => pulumi.output(value).apply((v) => resolve(v)));
    return (resolved ?? {}) as Record<string, unknown>;
}

export function makeRecording(resources: RecordedResource[], outputs: Record<string, unknown>): Recording {
    return {
        resources,
        outputs,
        byType: (type) => resources.filter((r) => r.type === type),
        find: (type, name) => {
            const found = resources.find((r) => r.type === type && r.name === name);
            if (!found) {
                const names = resources.filter((r) => r.type === type).map((r) => r.name);
                throw new Error(`no ${type} named ${name}; recorded: ${names.join(", ") || "none"}`);
            }
            return found;
        },
        childrenOf: (parentRef) => resources.filter((r) => r.parent === parentRef),
    };
}

let recordingQueue: Promise<unknown> = Promise.resolve();

/** Run recordings one after another: the Pulumi runtime in this process is shared state. */
function serialized<T>(work: () => Promise<T>): Promise<T> {
    const run = recordingQueue.then(work, work);
    recordingQueue = run.catch(() => undefined);
    return run;
}

/** {@link recordProgram}, queued behind any recording already running in this process. */
export function recordProgramQueued(options: RecordOptions): Promise<Recording> {
    return serialized(() => recordProgram(options));
}
