/**
 * The docker provider model (tools/docker-provider-model.ts) without a host: Read of engine
 * answers, the bridge's diff rules, the create/delete requests, and the program's containers
 * against the known read-back cases (memorySwap, daemon log-opts, default-network-opts).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
    CONTAINER,
    NETWORK,
    REMOTE_IMAGE,
    containerCreatePlan,
    containerDeletePlan,
    containerUpdateBody,
    diffResource,
    formatGoDuration,
    networkCreateBody,
    parseGoDuration,
    plannedAction,
    plannedState,
    portsDidNotChange,
    readContainer,
    readNetwork,
    readRemoteImage,
    type ContainerInspect,
    type NetworkInspect,
    type Values,
} from "../../tools/docker-provider-model";
import { containerSpec, type ServiceDefinition } from "../../components/docker/container-spec";
import { serviceNetworkArgs } from "../../components/docker/network";
import { operatorService, type ServiceSettings } from "../../components/docker/services";

const SETTINGS: ServiceSettings = {
    hostName: "node-1",
    privateAddress: "10.0.0.5",
    primaryAddress: "10.0.0.5",
    clusterAddresses: ["10.0.0.5"],
    channel: "stable",
    logLevel: "info",
    airgap: false,
    uiPort: 8800,
    uiBindAddress: "10.0.0.5",
    daemonToken: "token",
};

/** The program's inputs for one service, plain (ids known). */
function programInputs(definition: ServiceDefinition = operatorService(SETTINGS, { local: true })): { inputs: Values; ignoreChanges: string[]; replaceOnChanges: string[] } {
    const spec = containerSpec({ ...definition, secretEnv: undefined }, { stack: "s", hostName: "node-1", uid: 1001, dockerGid: 999, image: "sha256:abc", network: "replicated" });
    return { inputs: JSON.parse(JSON.stringify(spec.args)) as Values, ignoreChanges: spec.ignoreChanges, replaceOnChanges: spec.replaceOnChanges };
}

/**
 * What Docker 26 answers to `docker inspect` for a container the provider created from
 * `inputs`: the create request as the engine stores it, plus the engine's own additions
 * (`daemonLogOpts` merged into the log config, MemorySwap doubled when unset), as observed on
 * the test hosts.
 */
function engineInspect(inputs: Values, options: { daemonLogOpts?: Record<string, string>; swapLimit?: boolean } = {}): ContainerInspect {
    const plan = containerCreatePlan(inputs);
    const body = JSON.parse(JSON.stringify(plan.body)) as Values;
    const hostConfig = body.HostConfig as Values;
    const memory = Number(hostConfig.Memory ?? 0);
    if (memory > 0 && Number(hostConfig.MemorySwap ?? 0) === 0) hostConfig.MemorySwap = memory * 2; // adaptContainerSettings
    if (options.swapLimit === false && Number(hostConfig.MemorySwap ?? 0) !== 0) hostConfig.MemorySwap = -1; // no swap accounting
    const logConfig = hostConfig.LogConfig as { Type: string; Config?: Record<string, string> };
    logConfig.Config = { ...(options.daemonLogOpts ?? {}), ...(logConfig.Config ?? {}) }; // mergeAndVerifyLogConfig
    hostConfig.ShmSize = 64 * 1024 * 1024;
    const ports: Record<string, Array<{ HostIp: string; HostPort: string }>> = {};
    for (const [key, bindings] of Object.entries((hostConfig.PortBindings ?? {}) as Record<string, Array<{ HostIp: string; HostPort: string }>>)) {
        ports[key] = bindings;
    }
    const { HostConfig: _hostConfig, NetworkingConfig: _networking, ...config } = body;
    return {
        Id: "c0ffee",
        Name: `/${plan.name}`,
        Image: String(inputs.image),
        State: { Running: true, ExitCode: 0 },
        // The engine fills what the request leaves empty: hostname, the image's command.
        Config: { WorkingDir: "", Cmd: ["/bin/sh"], Entrypoint: null, ...config, Hostname: config.Hostname || "c0ffee" },
        HostConfig: hostConfig,
        NetworkSettings: { Bridge: "", Ports: ports },
    };
}

describe("read-back of the program's containers (the known cases)", () => {
    test("memorySwap unset: dockerd stores twice the memory, the provider reads it back, and every preview shows an update", () => {
        const { inputs, ignoreChanges } = programInputs();
        delete inputs.memorySwap; // the old program
        const state = readContainer(engineInspect(inputs), plannedState(CONTAINER, inputs));
        assert.equal(state.memorySwap, 2048);
        const diff = diffResource(CONTAINER, state, inputs, { ignoreChanges });
        assert.deepEqual(diff.changedKeys, ["memorySwap"]);
        assert.equal(plannedAction(diff), "update");
        assert.ok(containerUpdateBody(diff, inputs), "the update runs ContainerUpdate, which keeps the doubled swap");
    });

    test("the program pins memorySwap to the memory limit: the read-back matches", () => {
        const { inputs, ignoreChanges } = programInputs();
        const state = readContainer(engineInspect(inputs), plannedState(CONTAINER, inputs));
        assert.equal(state.memorySwap, inputs.memory);
        assert.ok(diffResource(CONTAINER, state, inputs, { ignoreChanges }).empty);
    });

    test("a kernel without swap accounting stores -1: the documented limit (an update on every preview)", () => {
        const { inputs, ignoreChanges } = programInputs();
        const state = readContainer(engineInspect(inputs, { swapLimit: false }), plannedState(CONTAINER, inputs));
        assert.deepEqual(diffResource(CONTAINER, state, inputs, { ignoreChanges }).changedKeys, ["memorySwap"]);
    });

    test("daemon log-opts are merged into the read-back: logOpts (ForceNew) would replace every container; the program ignores it", () => {
        const { inputs, ignoreChanges } = programInputs();
        const state = readContainer(engineInspect(inputs, { daemonLogOpts: { compress: "true", mode: "non-blocking" } }), plannedState(CONTAINER, inputs));
        assert.deepEqual(state.logOpts, { compress: "true", mode: "non-blocking", "max-file": "3", "max-size": "10m" });
        const unguarded = diffResource(CONTAINER, state, inputs);
        assert.deepEqual(unguarded.replaceKeys, ["logOpts"]);
        assert.equal(plannedAction(unguarded), "replace");
        assert.deepEqual(ignoreChanges, ["logOpts"]);
        assert.ok(diffResource(CONTAINER, state, inputs, { ignoreChanges }).empty);
    });

    test("default-network-opts are added to the network's options (Computed + ForceNew): replacement unless ignored", () => {
        const args = JSON.parse(JSON.stringify(serviceNetworkArgs({ stack: "s", hostName: "node-1", privateAddress: "10.0.0.5" }))) as Values;
        const body = networkCreateBody(args);
        const inspect: NetworkInspect = {
            Id: "n1",
            Name: "replicated",
            Driver: "bridge",
            Scope: "local",
            EnableIPv6: false,
            Internal: false,
            Attachable: false,
            Ingress: false,
            IPAM: { Driver: "default", Options: {}, Config: [{ Subnet: "10.214.1.0/24", Gateway: "10.214.1.1" }] },
            Options: { ...(body.Options as Record<string, string>), "com.docker.network.driver.mtu": "1400" },
            Labels: body.Labels as Record<string, string>,
        };
        const state = readNetwork(inspect, plannedState(NETWORK, args));
        assert.deepEqual(diffResource(NETWORK, state, args).replaceKeys, ["options"]);
        assert.ok(diffResource(NETWORK, state, args, { ignoreChanges: ["options"] }).empty);
        const plain = readNetwork({ ...inspect, Options: body.Options as Record<string, string> }, plannedState(NETWORK, args));
        assert.ok(diffResource(NETWORK, plain, args).empty, "without daemon defaults the read-back matches");
    });

    test("init, networkMode, capability names, ipcMode and user read back as the program sets them", () => {
        const { inputs } = programInputs();
        const state = readContainer(engineInspect(inputs), plannedState(CONTAINER, inputs));
        assert.equal(state.init, false, "the provider always sends Init (false when unset); init is Computed");
        assert.equal(state.networkMode, "bridge", "the schema default, sent on create and read back");
        assert.deepEqual(state.capabilities, { adds: [], drops: ["ALL"] }, "Docker 26 stores capability names as sent (checked on the test hosts)");
        assert.equal(state.ipcMode, "private");
        assert.equal(state.user, "1001:999");
        assert.deepEqual(state.healthcheck, { ...(inputs.healthcheck as Values), startInterval: "0s" });
    });
});

describe("the bridge's diff rules", () => {
    const { inputs } = programInputs();
    const state = (): Values => readContainer(engineInspect(inputs), plannedState(CONTAINER, inputs));

    test("sets compare as sets: envs, groupAdds and mounts in another order are no change", () => {
        const reordered = {
            ...inputs,
            envs: [...(inputs.envs as string[])].reverse(),
            mounts: [...(inputs.mounts as Values[])].reverse(),
            groupAdds: [...(inputs.groupAdds as string[])].reverse(),
        };
        assert.ok(diffResource(CONTAINER, state(), reordered).empty);
    });

    test("ports: order does not matter, a changed address replaces", () => {
        const ports = inputs.ports as Values[] | undefined;
        assert.ok(ports === undefined || ports.length === 0, "the operator publishes nothing");
        const old = [{ internal: 8800, external: 8800, ip: "10.0.0.5", protocol: "tcp" }, { internal: 9874, external: 9874, ip: "10.0.0.5", protocol: "tcp" }];
        assert.equal(portsDidNotChange(old, [...old].reverse()), true);
        assert.equal(portsDidNotChange(old, [{ ...old[0], ip: "10.0.0.6" }, old[1]]), false);
        assert.equal(portsDidNotChange(old, [old[0]]), false);
        const withPorts = { ...inputs, ports: old };
        const stored = readContainer(engineInspect(withPorts), plannedState(CONTAINER, withPorts));
        assert.ok(diffResource(CONTAINER, stored, { ...withPorts, ports: [...old].reverse() }).empty);
        assert.deepEqual(diffResource(CONTAINER, stored, { ...withPorts, ports: [{ ...old[0], ip: "10.0.0.6" }, old[1]] }).replaceKeys, ["ports"]);
    });

    test("a changed mount with the same count is an update the provider never applies; the program replaces on it", () => {
        const mounts = (inputs.mounts as Values[]).map((mount, index) => (index === 0 ? { ...mount, readOnly: true } : mount));
        const diff = diffResource(CONTAINER, state(), { ...inputs, mounts });
        assert.deepEqual(diff.changedKeys, ["mounts"]);
        assert.deepEqual(diff.replaceKeys, [], "no nested mount field is ForceNew");
        assert.equal(plannedAction(diff), "update");
        assert.equal(plannedAction(diff, programInputs().replaceOnChanges), "replace");
        const fewer = diffResource(CONTAINER, state(), { ...inputs, mounts: mounts.slice(1) });
        assert.deepEqual(fewer.replaceKeys, ["mounts"], "a changed count is ForceNew");
    });

    test("user \"\" is Docker's default and suppressed; an image's own USER read back is no change", () => {
        const { user: _user, groupAdds: _groups, ...imageUser } = inputs;
        const stored = readContainer({ ...engineInspect(imageUser), Config: { ...engineInspect(imageUser).Config, User: "4321:4321" } }, plannedState(CONTAINER, imageUser));
        assert.equal(stored.user, "4321:4321");
        assert.ok(diffResource(CONTAINER, stored, imageUser).empty);
    });

    test("a Computed attribute the program leaves out (hostname, command, init) is no change", () => {
        const stored = state();
        assert.equal(stored.hostname, "c0ffee");
        assert.deepEqual(stored.command, ["/bin/sh"]);
        assert.ok(diffResource(CONTAINER, stored, inputs).empty);
    });

    test("schema defaults count as set: restart left out means \"no\", a change of the read-back restart policy is an in-place update", () => {
        const { restart: _restart, ...noRestart } = inputs;
        const diff = diffResource(CONTAINER, state(), noRestart);
        assert.deepEqual(diff.changedKeys, ["restart"]);
        assert.equal(plannedAction(diff), "update");
        assert.deepEqual((containerUpdateBody(diff, noRestart)?.RestartPolicy as Values).Name, "no");
    });

    test("a stopped container reads back must_run false: an update that starts it", () => {
        const inspect = engineInspect(inputs);
        const stopped = readContainer({ ...inspect, State: { Running: false, ExitCode: 1 } }, plannedState(CONTAINER, inputs));
        assert.equal(stopped.mustRun, false);
        assert.deepEqual(diffResource(CONTAINER, stopped, inputs).changedKeys, ["mustRun"]);
    });

    test("an input the model does not know fails loudly", () => {
        assert.throws(() => diffResource(CONTAINER, state(), { ...inputs, shinyNewInput: 1 }), /no schema entry/);
    });
});

describe("requests the provider sends", () => {
    const { inputs } = programInputs();

    test("create: the provider's host config (memory in MiB, Init always sent, swap as set, log config)", () => {
        const plan = containerCreatePlan(inputs);
        const hostConfig = plan.body.HostConfig as Values;
        assert.equal(hostConfig.Memory, 1024 * 1024 * 1024);
        assert.equal(hostConfig.MemorySwap, 1024 * 1024 * 1024);
        assert.equal(hostConfig.Init, false);
        assert.equal(hostConfig.NetworkMode, "bridge");
        assert.deepEqual(hostConfig.LogConfig, { Type: "json-file", Config: { "max-size": "10m", "max-file": "3" } });
        assert.equal(plan.body.StopTimeout, 30);
        assert.deepEqual(plan.networks.map((n) => n.name), ["replicated"]);
        assert.equal(plan.start, true);
        assert.equal(plan.waitSeconds, undefined, "the program waits with its health gate, not the provider's wait");
    });

    test("a command with an empty element is refused before the engine is called, as the provider does", () => {
        assert.throws(() => containerCreatePlan({ ...inputs, command: ["/app", ""] }), /values for command may not be empty/);
    });

    test("delete: destroyGraceSeconds (0 when unset: SIGKILL at once) and removeVolumes (default true) from the state being deleted", () => {
        assert.deepEqual(containerDeletePlan({}), { stopTimeoutSeconds: 0, removeVolumes: true });
        assert.deepEqual(containerDeletePlan(plannedState(CONTAINER, inputs)), { stopTimeoutSeconds: 30, removeVolumes: false });
    });

    test("RemoteImage: only image_id and repo_digest are read", () => {
        const state = readRemoteImage({ Id: "sha256:1", RepoDigests: ["quay.io/replicated/replicated@sha256:2"] }, plannedState(REMOTE_IMAGE, { name: "quay.io/replicated/replicated:stable-2.53.2", keepLocally: true }));
        assert.equal(state.imageId, "sha256:1");
        assert.equal(state.repoDigest, "quay.io/replicated/replicated@sha256:2");
        assert.ok(diffResource(REMOTE_IMAGE, state, { name: "quay.io/replicated/replicated:stable-2.53.2", keepLocally: true }).empty);
        assert.deepEqual(diffResource(REMOTE_IMAGE, state, { name: "quay.io/replicated/replicated:stable-2.54.0", keepLocally: true }).replaceKeys, ["name"]);
    });
});

describe("Go durations (healthcheck fields)", () => {
    test("parse and format as time.ParseDuration and Duration.String do", () => {
        assert.equal(parseGoDuration("15s"), 15e9);
        assert.equal(parseGoDuration("1m30s"), 90e9);
        assert.equal(parseGoDuration("500ms"), 5e8);
        assert.equal(formatGoDuration(15e9), "15s");
        assert.equal(formatGoDuration(90e9), "1m30s", "90s reads back as 1m30s: a program writing \"90s\" would see a diff every time");
        assert.equal(formatGoDuration(3600e9), "1h0m0s");
        assert.equal(formatGoDuration(5e8), "500ms");
        assert.equal(formatGoDuration(0), "0s");
        assert.throws(() => parseGoDuration("15"), /invalid duration/);
    });
});
