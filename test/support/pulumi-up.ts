/**
 * A second (third, ...) `pulumi up` on test hosts: the program is recorded again and each
 * resource is compared with the state the previous apply left, as the engine does, then:
 *
 * - same inputs: nothing runs, the previous outputs are reused;
 * - new resource: created (remote commands run over SSH via host-runner, docker resources on the
 *   host's engine via container-runner);
 * - docker resources (Container, Network, RemoteImage): the stored state is what the provider's
 *   Read stored after the create (container-runner reads the real engine back through the model
 *   of tools/docker-provider-model.ts), and the next diff is the bridge's diff of that state
 *   against the new inputs (ignoreChanges applied as the engine and the bridge do:
 *   pulumi/pulumi step_generator.go processIgnoreChanges puts the OLD inputs back, the bridge
 *   drops the attribute diffs), not inputs against inputs. An update applies what the
 *   provider's Update applies (ContainerUpdate for restart, memory, swap, CPU); a replacement of
 *   a container always deletes first (the bridge's ResourceInfo sets DeleteBeforeReplace for
 *   docker_container), stopping and removing the old container with the OLD state's
 *   destroyGraceSeconds and removeVolumes; a name held by a container the runner did not create
 *   is the provider's create conflict, never something to remove;
 * - other resources: changed inputs and tools/replace-semantics decide. A remote command update
 *   re-runs its create, a `triggers` change replaces it (create runs again);
 * - resources gone from the program: deleted after a successful run (a remote command without a
 *   delete command runs nothing, a container is stopped and removed as on a replacement, a
 *   network removed).
 *
 * A failed resource keeps its previous state and stops everything that depends on it, as on
 * `pulumi up`. Pulumi's runtime is process-global, so each apply runs in a child process (this
 * file is its entry point); the request travels in a temp file (the previous state holds every
 * script text, too large for an environment variable).
 *
 * ```ts
 * const first = await pulumiUp({ stack: "migration", config, hosts });
 * const second = await pulumiUp({ stack: "migration", config: optedIn, hosts, previous: first.state });
 * ```
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { containerUpdateBody, diffResource, plannedAction, plannedState, schemaOf, type Values } from "../../tools/docker-provider-model";
import { CONTAINER, NETWORK, REMOTE_COMMAND, REMOTE_IMAGE, inputSemantics } from "../../tools/replace-semantics";
import {
    deleteContainer,
    deleteNetwork,
    dockerEngineResolver,
    providerSettings,
    startContainer,
    updateContainer,
    type ContainerDeletion,
    type EngineEvent,
} from "./container-runner";
import { engineConnectionsOpened } from "./engine-api";
import { hostResolver, type CommandRun } from "./host-runner";
import { recordProgram, type RecordedResource, type Resolver } from "./mock-recorder";
import { docker, run, shQuote, type TestHost } from "./testhost";

/** What the emulated engine did to one resource, with wall-clock times (ms since the epoch). */
export interface UpStep {
    readonly op: "same" | "create" | "update" | "replace" | "delete";
    readonly type: string;
    readonly name: string;
    /** The top-level inputs that changed (update, replace). */
    readonly changed?: string[];
    readonly started: number;
    readonly finished: number;
    /** For a replacement with deleteBeforeReplace: when the old resource was gone. */
    readonly oldDeleted?: number;
    /** A container stopped and removed (replace, delete): with which settings of the old state. */
    readonly deletion?: ContainerDeletion;
    /** The step failed with this message. */
    readonly error?: string;
}

export interface UpOptions {
    readonly stack: string;
    /** Stack config, namespace stripped. */
    readonly config: Record<string, unknown>;
    readonly hosts: readonly TestHost[];
    /** The state the previous apply left ({@link UpResult.state}); none for a first `pulumi up`. */
    readonly previous?: readonly RecordedResource[];
    /** Daemon token the RandomPassword resolves to on its creation. Default: the canned token. */
    readonly daemonToken?: string;
    /**
     * Emulate a `pulumi up` killed while `resource` (a remote command) runs: its recorded create
     * starts on the host in its own process group, the whole group gets SIGKILL after
     * `afterSeconds`, and the apply stops there, as if the operator's machine had died. The
     * resource is not in the resulting state, so the next apply creates (runs) it again.
     */
    readonly interrupt?: { readonly resource: string; readonly afterSeconds: number };
    /** Budget per remote command, default 600 000 ms. */
    readonly commandTimeoutMs?: number;
    /** Budget for the whole child process, default 1 200 000 ms. */
    readonly timeoutMs?: number;
}

export interface UpResult {
    /** The program's (or the first failed step's) error; undefined on success. */
    readonly error?: string;
    /** With {@link UpOptions.interrupt}: the killed command's output so far. */
    readonly interrupted?: { readonly stdout: string; readonly stderr: string };
    /** State after this apply: the previous state with every successful step applied. */
    readonly state: RecordedResource[];
    /** This run's resources as registered (those after a failure may be missing). */
    readonly resources: RecordedResource[];
    readonly outputs: Record<string, unknown>;
    /** Every step, in completion order. */
    readonly steps: UpStep[];
    /** Every remote command that ran on a host. */
    readonly runs: CommandRun[];
    readonly engineEvents: EngineEvent[];
    /** SSH connections the docker resources' Engine API client opened (test/support/engine-api.ts). */
    readonly engineConnections: number;
    readonly seconds: number;
}

/** A resource's identity across applies (its URN: type, name, parent). */
export function stateKey(resource: { type: string; name: string; parent?: string }): string {
    return `${resource.type}::${resource.name}::${resource.parent ?? ""}`;
}

/** Top-level input keys whose values differ (JSON comparison; missing equals undefined). */
export function changedInputKeys(before: Record<string, unknown>, after: Record<string, unknown>): string[] {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.filter((key) => JSON.stringify(before[key]) !== JSON.stringify(after[key]));
}

/** Run one `pulumi up` in a child process (see the module comment). Never throws for a failed step. */
export async function pulumiUp(options: UpOptions): Promise<UpResult> {
    const started = performance.now();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pulumi-up-"));
    const requestFile = path.join(dir, "request.json");
    const replyFile = path.join(dir, "reply.json");
    fs.writeFileSync(requestFile, JSON.stringify(options), { mode: 0o600 });
    try {
        const child = spawn(process.execPath, ["--import", "tsx", __filename], {
            env: { ...process.env, [REQUEST_ENV]: requestFile, [REPLY_ENV]: replyFile },
            stdio: ["ignore", "pipe", "pipe"],
        });
        const output: Buffer[] = [];
        child.stdout.on("data", (chunk: Buffer) => output.push(chunk));
        child.stderr.on("data", (chunk: Buffer) => output.push(chunk));
        const timeoutMs = options.timeoutMs ?? 1_200_000;
        const code = await new Promise<number | null>((resolve) => {
            const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
            child.on("close", (exitCode) => {
                clearTimeout(timer);
                resolve(exitCode);
            });
        });
        if (!fs.existsSync(replyFile)) {
            throw new Error(`pulumi-up child exited ${code} without a reply (timeout ${timeoutMs} ms?): ${Buffer.concat(output).toString("utf8").slice(-4000)}`);
        }
        const reply = JSON.parse(fs.readFileSync(replyFile, "utf8")) as Omit<UpResult, "seconds">;
        return { ...reply, seconds: (performance.now() - started) / 1000 };
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
}

/** How long nothing may run after a failed step before the apply counts as stopped. */
const STALL_MS = 3000;
const stallTimers: NodeJS.Timeout[] = [];

const REQUEST_ENV = "REPLICATED_PULUMI_UP_REQUEST";
const REPLY_ENV = "REPLICATED_PULUMI_UP_REPLY";

function errorText(error: unknown): string {
    return error instanceof Error ? error.message : String(error);
}

/** Child side: record the program with the diff-aware resolver. */
async function childMain(): Promise<void> {
    const options = JSON.parse(fs.readFileSync(process.env[REQUEST_ENV] ?? "", "utf8")) as UpOptions;
    const previous = new Map((options.previous ?? []).map((resource) => [stateKey(resource), resource]));
    const steps: UpStep[] = [];
    const runs: CommandRun[] = [];
    const engineEvents: EngineEvent[] = [];
    const errors: string[] = [];
    const applied = new Map<string, RecordedResource>();
    /** Inputs the engine stores for a resource whose ignored properties took their old values. */
    const storedInputs = new Map<string, Record<string, unknown>>();
    /** Docker provider `<type>::<name>` → its test host. */
    const providerHosts = new Map<string, TestHost>();

    const base = hostResolver({
        hosts: options.hosts,
        timeoutMs: options.commandTimeoutMs ?? 600_000,
        onRun: (run) => runs.push(run),
        fallback: dockerEngineResolver({ hosts: options.hosts, daemonToken: options.daemonToken, onEvent: (event) => engineEvents.push(event) }),
    });

    const hostOfDockerResource = (resource: RecordedResource): TestHost => {
        const host = resource.options.provider ? providerHosts.get(resource.options.provider) : undefined;
        if (host === undefined) {
            throw new Error(`${resource.type} ${resource.name}: its provider ${resource.options.provider ?? "(default)"} is not a test-host docker provider`);
        }
        return host;
    };

    /** resourceDockerContainerDelete from `resource`'s stored state (never by name). */
    const removeContainer = (resource: RecordedResource): Promise<ContainerDeletion> => deleteContainer(hostOfDockerResource(resource), resource.state, resource.name);

    /**
     * pulumi/pulumi step_generator.go processIgnoreChanges: for a resource that exists, every
     * ignored property takes its OLD input value (for the diff, an update and a replacement).
     */
    const withIgnoredInputs = (resource: RecordedResource, before: RecordedResource): RecordedResource => {
        if (resource.options.ignoreChanges.length === 0) return resource;
        const inputs = { ...resource.inputs };
        for (const path of resource.options.ignoreChanges) {
            if (/[.[]/.test(path)) {
                throw new Error(`${resource.name}: ignoreChanges path ${path} below the top level is not emulated`);
            }
            if (before.inputs[path] === undefined) delete inputs[path];
            else inputs[path] = before.inputs[path];
        }
        return { ...resource, inputs };
    };

    /** State so far: the previous state with every step that finished applied. */
    const stateNow = (): RecordedResource[] => {
        const state = new Map(previous);
        for (const [key, resource] of applied) {
            state.set(key, resource);
        }
        return [...state.values()];
    };

    /** Start the resource's create in the background, SIGKILL its process group, and end the apply. */
    const killDuring = async (resource: RecordedResource, afterSeconds: number): Promise<never> => {
        const connection = resource.inputs.connection as { host: string; port: number };
        const host = options.hosts.find((h) => h.address === connection.host && h.sshPort === connection.port);
        if (host === undefined || typeof resource.inputs.create !== "string") {
            throw new Error(`${resource.name}: cannot interrupt: no test host or no create command`);
        }
        const dir = `/root/interrupted-${process.pid}`;
        await run(host, `mkdir -p ${dir} && cat > ${dir}/stdin`, { stdin: String(resource.inputs.stdin ?? "") });
        // A background job of a non-interactive sh is no process group leader, so setsid makes
        // the command a group of its own without forking: its pid is the group id.
        const killed = await run(
            host,
            `setsid sh -c ${shQuote(resource.inputs.create)} <${dir}/stdin >${dir}/stdout 2>${dir}/stderr & pid=$!; ` +
                `sleep ${afterSeconds}; kill -9 -- -$pid 2>/dev/null; wait $pid; echo "exit $?"`,
            { timeoutMs: 600_000 },
        );
        const stdout = await run(host, `cat ${dir}/stdout`);
        const stderr = await run(host, `cat ${dir}/stderr; rm -rf ${dir}`);
        steps.push({ op: "create", type: resource.type, name: resource.name, started: Date.now(), finished: Date.now(), error: `killed: ${killed.stdout.trim()}` });
        const reply: Omit<UpResult, "seconds"> = {
            error: `pulumi up interrupted while ${resource.name} ran (${killed.stdout.trim()})`,
            interrupted: { stdout: stdout.stdout, stderr: stderr.stdout },
            state: stateNow(),
            resources: [],
            outputs: {},
            steps,
            runs,
            engineEvents,
            engineConnections: engineConnectionsOpened(),
        };
        fs.writeFileSync(process.env[REPLY_ENV] ?? "", JSON.stringify(reply));
        process.exit(0);
    };

    /**
     * One docker resource that exists: the bridge's diff of the stored (read-back) state against
     * the new inputs decides (tools/docker-provider-model.ts), then the provider's update or
     * replacement runs on the host's engine.
     */
    const dockerStep = async (resource: RecordedResource, before: RecordedResource, begun: number): Promise<Record<string, unknown> | undefined> => {
        const diff = diffResource(resource.type, before.state, resource.inputs, { ignoreChanges: resource.options.ignoreChanges });
        const providerChanged = before.options.provider !== resource.options.provider;
        const action = providerChanged ? "replace" : plannedAction(diff, resource.options.replaceOnChanges);
        const changed = [...diff.changedKeys, ...(providerChanged ? ["(provider)"] : [])];
        const record = (op: UpStep["op"], extra: Partial<UpStep> = {}) =>
            steps.push({ op, type: resource.type, name: resource.name, changed, started: begun, finished: Date.now(), ...extra });
        if (action === "same") {
            record("same");
            return before.state;
        }
        const host = hostOfDockerResource(resource);
        if (action === "update") {
            // The provider's Update does not read back: the state is the planned state over the old one.
            const state: Values = { ...before.state, ...plannedState(resource.type, resource.inputs) };
            for (const key of resource.options.ignoreChanges) state[key] = before.state[key];
            if (resource.type === CONTAINER) {
                const body = containerUpdateBody(diff, resource.inputs);
                if (body !== undefined) await updateContainer(host, before.state, body, resource.name);
                if (before.state.mustRun === false && state.mustRun !== false && state.start !== false) {
                    await startContainer(host, before.state, resource.name);
                }
            } else if (resource.type === REMOTE_IMAGE) {
                // resourceDockerImageUpdate: find the image again and read it back.
                const refreshed = await base(resource);
                record("update");
                return refreshed;
            }
            record("update");
            return state;
        }
        switch (resource.type) {
            case CONTAINER: {
                // docker_container's ResourceInfo sets DeleteBeforeReplace: the old one goes first,
                // with the OLD state's stop timeout and removeVolumes.
                const deletion = await removeContainer(before);
                const oldDeleted = Date.now();
                const state = await base(resource);
                record("replace", { oldDeleted, deletion });
                return state;
            }
            case NETWORK: {
                if (!resource.options.deleteBeforeReplace) {
                    throw new Error(`${resource.name}: replacing network ${String(resource.inputs.name)} without deleteBeforeReplace creates the new one first, which clashes with the old name`);
                }
                await deleteNetwork(host, before.state, resource.name);
                const oldDeleted = Date.now();
                const state = await base(resource);
                record("replace", { oldDeleted });
                return state;
            }
            default: {
                const state = await base(resource);
                if (before.state.keepLocally !== true) {
                    await docker(host, ["rmi", String(before.state.name)]);
                }
                record("replace");
                return state;
            }
        }
    };

    /** What `pulumi up` does for one resource; returns its outputs. */
    const step = async (resource: RecordedResource): Promise<Record<string, unknown> | undefined> => {
        const begun = Date.now();
        if (options.interrupt !== undefined && resource.name === options.interrupt.resource) {
            return killDuring(resource, options.interrupt.afterSeconds);
        }
        const before = previous.get(stateKey(resource));
        if (resource.type === "pulumi:providers:docker") {
            const url = new URL(providerSettings(resource.inputs).host);
            const host = options.hosts.find((h) => h.address === url.hostname && String(h.sshPort) === url.port);
            if (host !== undefined) {
                providerHosts.set(`${resource.type}::${resource.name}`, host);
            }
        }
        if (before === undefined) {
            const state = await base(resource);
            steps.push({ op: "create", type: resource.type, name: resource.name, started: begun, finished: Date.now() });
            return state;
        }
        if (schemaOf(resource.type) !== undefined) {
            const processed = withIgnoredInputs(resource, before);
            storedInputs.set(stateKey(resource), processed.inputs);
            return dockerStep(processed, before, begun);
        }
        const changed = changedInputKeys(before.inputs, resource.inputs);
        if (before.options.provider !== resource.options.provider) {
            changed.push("(provider)");
        }
        if (changed.length === 0) {
            if (resource.type === "pulumi:providers:docker") {
                await base(resource); // the provider is configured again on every run
            }
            steps.push({ op: "same", type: resource.type, name: resource.name, started: begun, finished: Date.now() });
            return before.state;
        }
        const replace =
            changed.includes("(provider)") ||
            changed.some(
                (key) =>
                    inputSemantics(resource.type, key, resource.inputs).action === "replace" ||
                    resource.options.replaceOnChanges.some((pattern) => pattern === key || pattern === "*" || pattern.startsWith(`${key}.`) || pattern.startsWith(`${key}[`)),
            );
        const record = (op: UpStep["op"], extra: Partial<UpStep> = {}) =>
            steps.push({ op, type: resource.type, name: resource.name, changed, started: begun, finished: Date.now(), ...extra });

        if (!replace) {
            switch (resource.type) {
                case REMOTE_COMMAND: {
                    if (typeof resource.inputs.update === "string") {
                        throw new Error(`${resource.name}: running an update command is not emulated (the program sets none)`);
                    }
                    const state = await base(resource); // an update re-runs create
                    record("update");
                    return state;
                }
                default:
                    if (resource.type === "pulumi:providers:docker") {
                        await base(resource);
                    }
                    record("update");
                    return { ...before.state, ...resource.inputs };
            }
        }

        switch (resource.type) {
            case REMOTE_COMMAND: {
                if (typeof before.inputs.delete === "string") {
                    throw new Error(`${resource.name}: running a delete command is not emulated (the program sets none)`);
                }
                const state = await base(resource);
                record("replace");
                return state;
            }
            default: {
                const state = await base(resource);
                record("replace");
                return state;
            }
        }
    };

    const inFlight = new Set<Promise<unknown>>();
    const resolver: Resolver = (resource) => {
        const pending = step(resource).then(
            (state) => {
                const inputs = storedInputs.get(stateKey(resource)) ?? resource.inputs;
                applied.set(stateKey(resource), { ...resource, inputs, state: { ...inputs, ...(state ?? {}) } });
                return state;
            },
            (error: unknown) => {
                const message = errorText(error);
                errors.push(message);
                steps.push({ op: previous.has(stateKey(resource)) ? "update" : "create", type: resource.type, name: resource.name, started: Date.now(), finished: Date.now(), error: message });
                throw error;
            },
        );
        inFlight.add(pending);
        pending.then(
            () => inFlight.delete(pending),
            () => inFlight.delete(pending),
        );
        return pending;
    };
    process.on("unhandledRejection", (reason) => errors.push(errorText(reason)));

    let resources: RecordedResource[] = [];
    let outputs: Record<string, unknown> = {};
    let failure: string | undefined;
    // After a failed step, resources that wait for it never register and the program never
    // settles (the engine would stop there too). Once a step has failed and nothing has run for
    // a while, the apply is over. The timer also keeps the event loop alive meanwhile.
    let idleSince = Date.now();
    const stalled = new Promise<"stalled">((resolve) => {
        const timer = setInterval(() => {
            if (inFlight.size > 0) {
                idleSince = Date.now();
            } else if (errors.length > 0 && Date.now() - idleSince > STALL_MS) {
                clearInterval(timer);
                resolve("stalled");
            }
        }, 200);
        timer.unref?.();
        stallTimers.push(timer);
    });
    const keepAlive = setInterval(() => undefined, 1000);
    try {
        const recording = await Promise.race([recordProgram({ stack: options.stack, config: options.config, resolve: resolver }), stalled]);
        if (recording === "stalled") {
            failure = "the program stopped after a failed step";
        } else {
            resources = recording.resources;
            outputs = recording.outputs;
        }
    } catch (error) {
        failure = errorText(error);
    } finally {
        clearInterval(keepAlive);
        stallTimers.forEach((timer) => clearInterval(timer));
    }
    while (inFlight.size > 0) {
        await Promise.allSettled([...inFlight]);
    }
    const error = errors[0] ?? failure;

    // Components have no step of their own: they are in the state when registered.
    for (const resource of resources.filter((r) => !r.custom)) {
        applied.set(stateKey(resource), resource);
    }
    const state = new Map(stateNow().map((resource) => [stateKey(resource), resource]));
    if (error === undefined) {
        // Deletions run last, and only after a successful run.
        const current = new Set(resources.map(stateKey));
        for (const gone of [...previous.values()].reverse().filter((r) => !current.has(stateKey(r)))) {
            const begun = Date.now();
            let deletion: ContainerDeletion | undefined;
            if (gone.type === CONTAINER) {
                deletion = await removeContainer(gone);
            } else if (gone.type === NETWORK) {
                await deleteNetwork(hostOfDockerResource(gone), gone.state, gone.name);
            } else if (gone.type === REMOTE_IMAGE && gone.state.keepLocally !== true) {
                await docker(hostOfDockerResource(gone), ["rmi", String(gone.state.name)]);
            } else if (gone.type === REMOTE_COMMAND && typeof gone.inputs.delete === "string") {
                throw new Error(`${gone.name}: running a delete command is not emulated (the program sets none)`);
            } else if (gone.custom && ![REMOTE_COMMAND, REMOTE_IMAGE].includes(gone.type)) {
                throw new Error(`${gone.type} ${gone.name}: deleting this type is not emulated`);
            }
            state.delete(stateKey(gone));
            steps.push({ op: "delete", type: gone.type, name: gone.name, started: begun, finished: Date.now(), ...(deletion ? { deletion } : {}) });
        }
    }
    const reply: Omit<UpResult, "seconds"> = { error, state: [...state.values()], resources, outputs, steps, runs, engineEvents, engineConnections: engineConnectionsOpened() };
    fs.writeFileSync(process.env[REPLY_ENV] ?? "", JSON.stringify(reply));
    process.exit(0);
}

if (require.main === module && process.env[REQUEST_ENV] !== undefined) {
    childMain().catch((error: unknown) => {
        const reply = { error: errorText(error), state: [], resources: [], outputs: {}, steps: [], runs: [], engineEvents: [], engineConnections: engineConnectionsOpened() };
        fs.writeFileSync(process.env[REPLY_ENV] ?? "", JSON.stringify(reply));
        process.exit(0);
    });
}
