/**
 * The service components of one host, each constructed with plain args under the canned host
 * outputs: CoreServices (daemon, console, operator), Sidecars (statsd, premkit) and
 * ContainerHealth (the health gate). What each registers (container inputs and options, the
 * gate's command and its arguments) and the argument errors its constructor raises.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as remote from "@pulumi/command/remote";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import {
    ContainerHealth,
    CoreServices,
    HEALTHCHECK_TIMING,
    IGNORED_READ_BACK,
    REPLACE_ON_CHANGES,
    Sidecars,
    healthWaitSeconds,
    type ContainerHostArgs,
    type CoreServicesArgs,
    type ServiceSettings,
    type SidecarsArgs,
} from "../../components/docker";
import { scriptArgsOf, scriptNameOf } from "../support/canned-outputs";
import { recordComponent } from "../support/component-recorder";
import type { RecordedResource, Recording } from "../support/mock-recorder";
import { assertHardenedContainer, stringsIn, type Mount, type Port } from "../support/recorded-inputs";

const CONTAINER = "docker:index/container:Container";
const COMMAND = "command:remote:Command";
const SOCKET = "/var/run/docker.sock";
const TARGET = { address: "10.0.0.1", privateKey: "test-key" };
const TOKEN = "serviceComponentsToken0123456789";
const UID = 1017;
const DOCKER_GID = 999;
const PRIMARY = "10.0.0.1";
const OPERATOR = "10.0.0.2";
const CONSOLE_BIND = "10.0.0.9";
const PROVIDER = "pulumi:providers:docker::h-docker";
const DIRECTORIES = `${COMMAND}::h-directories`;
const imageId = (name: string): string => `sha256:${Buffer.from(name).toString("hex").padEnd(64, "0").slice(0, 64)}`;
const IMAGES = { replicated: imageId("replicated"), ui: imageId("ui"), operator: imageId("operator"), statsd: imageId("statsd"), premkit: imageId("premkit") };

function settings(privateAddress: string, extra: Partial<ServiceSettings> = {}): ServiceSettings {
    return {
        hostName: privateAddress === PRIMARY ? "p" : "o",
        privateAddress,
        primaryAddress: PRIMARY,
        clusterAddresses: [PRIMARY, OPERATOR],
        channel: "stable",
        logLevel: "info",
        airgap: false,
        uiPort: 8800,
        uiBindAddress: CONSOLE_BIND,
        daemonToken: pulumi.secret(TOKEN),
        ...extra,
    };
}

const localProvider = (): docker.Provider => new docker.Provider("h-docker", { host: "unix:///var/run/docker.sock" });

/** The provider and the directories step every container of a host waits for. */
function hostBasics(): { provider: docker.Provider; directories: remote.Command } {
    const provider = localProvider();
    const directories = new remote.Command("h-directories", { create: "true", connection: { host: PRIMARY } });
    return { provider, directories };
}

function containerHost(basics: ReturnType<typeof hostBasics>, privateAddress: string, extra: Partial<ContainerHostArgs> = {}): ContainerHostArgs {
    return {
        stack: "unit",
        settings: settings(privateAddress),
        uid: UID,
        dockerGid: pulumi.output(DOCKER_GID),
        network: "replicated",
        provider: basics.provider,
        dependsOn: [basics.directories],
        ...extra,
    };
}

/** A primary (core + sidecars), an operator and a legacy-root primary, side by side. */
const services: Promise<Recording> = recordComponent(() => {
    const basics = hostBasics();
    new CoreServices("p-core", { ...containerHost(basics, PRIMARY), role: "primary", images: IMAGES });
    new Sidecars("p-sidecars", { ...containerHost(basics, PRIMARY), statsd: true, premkit: true, images: IMAGES });
    new CoreServices("o-core", { ...containerHost(basics, OPERATOR), role: "operator", images: { operator: IMAGES.operator } });
    new CoreServices("r-core", { ...containerHost(basics, PRIMARY, { uid: 0, legacyRoot: true }), role: "primary", images: IMAGES });
});
services.catch(() => undefined); // reported by the tests that await it

function childrenOf(recording: Recording, component: string): RecordedResource[] {
    return recording.byType(CONTAINER).filter((c) => c.parent === component);
}
const primaryCore = (r: Recording): RecordedResource[] => childrenOf(r, "replicated:docker:CoreServices::p-core");
const operatorCore = (r: Recording): RecordedResource[] => childrenOf(r, "replicated:docker:CoreServices::o-core");
const sidecars = (r: Recording): RecordedResource[] => childrenOf(r, "replicated:docker:Sidecars::p-sidecars");
const rootCore = (r: Recording): RecordedResource[] => childrenOf(r, "replicated:docker:CoreServices::r-core");
const serviceAccountContainers = (r: Recording): RecordedResource[] => [...primaryCore(r), ...sidecars(r), ...operatorCore(r)];
const byService = (containers: RecordedResource[], service: string): RecordedResource => {
    const found = containers.find((c) => c.inputs.name === service);
    assert.ok(found, `container ${service}`);
    return found;
};


describe("CoreServices", () => {
    test("the primary runs the daemon, the console and the local operator; an operator host only the operator", async () => {
        const recording = await services;
        assert.deepEqual(primaryCore(recording).map((c) => c.inputs.name).sort(), ["replicated", "replicated-operator", "replicated-ui"]);
        assert.deepEqual(primaryCore(recording).map((c) => c.name).sort(), ["p-core-replicated", "p-core-replicated-operator", "p-core-replicated-ui"]);
        assert.deepEqual(operatorCore(recording).map((c) => c.inputs.name), ["replicated-operator"]);
        assert.equal(byService(primaryCore(recording), "replicated").inputs.image, IMAGES.replicated);
        assert.equal(byService(primaryCore(recording), "replicated-ui").inputs.image, IMAGES.ui);
        for (const core of [primaryCore(recording), operatorCore(recording)]) {
            assert.equal(byService(core, "replicated-operator").inputs.image, IMAGES.operator, "the image id it was given");
        }
    });

    test("every container is on the host's provider and network and waits for what the host gives it", async () => {
        const recording = await services;
        const all = [...serviceAccountContainers(recording), ...rootCore(recording)];
        assert.equal(all.length, 3 + 2 + 1 + 3);
        for (const c of all) {
            assert.equal(c.options.provider, PROVIDER, c.name);
            assert.deepEqual(c.inputs.networksAdvanced, [{ name: "replicated" }], c.name);
            assert.deepEqual(c.options.dependsOn, [DIRECTORIES], `${c.name} waits for the directories`);
            assert.equal(c.options.deleteBeforeReplace, true, c.name);
            assert.deepEqual(c.options.replaceOnChanges, [...REPLACE_ON_CHANGES], c.name);
            assert.deepEqual(c.options.ignoreChanges, [...IGNORED_READ_BACK], c.name);
        }
    });

    test("user mapping, groups, capabilities, security options, read-only root, restart policy, limits and health check", async () => {
        const recording = await services;
        const expectations: Array<[RecordedResource[], string]> = [
            [serviceAccountContainers(recording), `${UID}:${DOCKER_GID}`],
            [rootCore(recording), `0:${DOCKER_GID}`],
        ];
        for (const [containers, user] of expectations) {
            for (const c of containers) {
                assertHardenedContainer(c, user, DOCKER_GID);
                const healthcheck = c.inputs.healthcheck as { tests: string[]; interval: string; retries: number };
                assert.equal(healthcheck.tests.length, 2, c.name);
                assert.equal(healthcheck.tests[0], "CMD-SHELL", c.name);
                assert.match(healthcheck.tests[1], /^nc -w 3 \S+ \d+ /, c.name);
                assert.equal(healthcheck.interval, HEALTHCHECK_TIMING.interval, c.name);
                assert.equal(healthcheck.retries, HEALTHCHECK_TIMING.retries, c.name);
            }
        }
        // Healthy means: the daemon endpoint answers from the operator.
        assert.match((byService(operatorCore(recording), "replicated-operator").inputs.healthcheck as { tests: string[] }).tests[1], /^nc -w 3 10\.0\.0\.1 9879 /);
    });

    test("mounts: the docker socket only in replicated and replicated-operator; host system dirs only read-only; bind mounts only", async () => {
        const recording = await services;
        for (const c of serviceAccountContainers(recording)) {
            const mounts = (c.inputs.mounts ?? []) as Mount[];
            const service = String(c.inputs.name);
            assert.equal(mounts.some((m) => m.source === SOCKET), ["replicated", "replicated-operator"].includes(service), `${c.name} socket`);
            for (const m of mounts) {
                assert.equal(m.type, "bind");
                if (["/", "/etc", "/proc", "/sys", "/usr", "/boot", "/dev", "/lib", SOCKET].includes(m.source)) {
                    assert.equal(m.readOnly, true, `${c.name} ${m.source}`);
                }
            }
            assert.equal((c.inputs.volumes as unknown[] | undefined)?.length ?? 0, 0, `${c.name}: bind mounts only (volumes would create missing sources as root)`);
        }
    });

    test("ports: none on 0.0.0.0, all on the host's private address, the console on its bind address and port", async () => {
        const recording = await services;
        const hosts: Array<[RecordedResource[], string]> = [
            [[...primaryCore(recording), ...sidecars(recording)], PRIMARY],
            [operatorCore(recording), OPERATOR],
        ];
        for (const [containers, privateAddress] of hosts) {
            for (const c of containers) {
                for (const port of (c.inputs.ports ?? []) as Port[]) {
                    assert.ok(port.ip !== "0.0.0.0" && port.ip !== "::", `${c.name}: ${JSON.stringify(port)}`);
                    assert.equal(port.ip, c.inputs.name === "replicated-ui" ? CONSOLE_BIND : privateAddress, `${c.name} ${port.external}`);
                }
            }
        }
        assert.ok(((byService(primaryCore(recording), "replicated-ui").inputs.ports ?? []) as Port[]).some((p) => p.external === 8800));
        assert.deepEqual(byService(operatorCore(recording), "replicated-operator").inputs.ports ?? [], [], "the operator publishes nothing");
    });

    test("operators point at the primary's private address, port 9879; only the primary's operator is tagged local", async () => {
        const recording = await services;
        for (const [core, privateAddress, local] of [[primaryCore(recording), PRIMARY, true], [operatorCore(recording), OPERATOR, false]] as const) {
            const envs = byService(core, "replicated-operator").inputs.envs as string[];
            assert.ok(envs.includes(`DAEMON_ENDPOINT=${PRIMARY}:9879`), privateAddress);
            assert.ok(envs.includes(`PRIVATE_ADDRESS=${privateAddress}`), privateAddress);
            assert.equal(envs.includes("TAGS=local"), local, privateAddress);
        }
        assert.ok((byService(primaryCore(recording), "replicated").inputs.envs as string[]).includes(`LOCAL_ADDRESS=${PRIMARY}`));
    });

    test("the daemon token is secret wherever it is used and appears in no other input", async () => {
        const recording = await services;
        const carriers: string[] = [];
        for (const resource of recording.resources) {
            for (const [at, value] of stringsIn(resource.inputs)) {
                if (!value.includes(TOKEN)) continue;
                const secret = resource.secretPaths.some((p) => at === p || at.startsWith(`${p}.`) || at.startsWith(`${p}[`));
                assert.ok(secret, `${resource.type} ${resource.name} carries the token in non-secret input ${at}`);
                carriers.push(resource.name);
            }
            if (resource.type === CONTAINER && (resource.inputs.envs as string[]).some((e) => e.startsWith("DAEMON_TOKEN="))) {
                assert.ok(resource.secretPaths.includes("envs"), `${resource.name}: envs secret`);
                assert.deepEqual(resource.options.additionalSecretOutputs, ["envs"], `${resource.name}: envs output secret`);
            }
        }
        // The daemons (both primaries) and every operator.
        assert.deepEqual(carriers.sort(), ["o-core-replicated-operator", "p-core-replicated", "p-core-replicated-operator", "r-core-replicated", "r-core-replicated-operator"]);
    });

    test("a new image id changes only the image input of each container", async () => {
        const next = { replicated: imageId("replicated-next"), ui: imageId("ui-next"), operator: imageId("operator-next") };
        const build = (images: CoreServicesArgs["images"]) => () => {
            const basics = hostBasics();
            new CoreServices("p-core", { ...containerHost(basics, PRIMARY), role: "primary", images });
        };
        const [before, after] = await Promise.all([recordComponent(build(IMAGES)), recordComponent(build(next))]);
        const afterByName = new Map(after.byType(CONTAINER).map((c) => [c.name, c]));
        assert.equal(before.byType(CONTAINER).length, 3);
        assert.equal(after.resources.length, before.resources.length);
        for (const c of before.byType(CONTAINER)) {
            const other = afterByName.get(c.name);
            assert.ok(other, `${c.name} still exists`);
            const keys = Object.keys({ ...c.inputs, ...other.inputs }).filter((key) => JSON.stringify(c.inputs[key]) !== JSON.stringify(other.inputs[key]));
            assert.deepEqual(keys, ["image"], `${c.name}: only the image changes`);
            assert.deepEqual(other.options, c.options, `${c.name}: options unchanged`);
        }
    });

    test("the primary without the replicated and replicated-ui images is refused before any container", async () => {
        for (const images of [{ operator: IMAGES.operator }, { operator: IMAGES.operator, replicated: IMAGES.replicated }, { operator: IMAGES.operator, ui: IMAGES.ui }]) {
            const registered: string[] = [];
            await assert.rejects(
                recordComponent(
                    () => {
                        const basics = hostBasics();
                        new CoreServices("p-core", { ...containerHost(basics, PRIMARY), role: "primary", images });
                    },
                    { resolve: (resource) => void registered.push(resource.type) },
                ),
                /CoreServices p-core: the primary needs the replicated and replicated-ui images/,
            );
            assert.ok(!registered.includes(CONTAINER), "no container was registered");
        }
    });
});

describe("Sidecars", () => {
    test("statsd and premkit: metrics on udp 8125, premkit on 9880, both on the private address, hardened as the core services", async () => {
        const recording = await services;
        const statsd = byService(sidecars(recording), "replicated-statsd");
        const premkit = byService(sidecars(recording), "replicated-premkit");
        assert.equal(statsd.name, "p-sidecars-replicated-statsd");
        assert.equal(statsd.inputs.image, IMAGES.statsd);
        assert.equal(premkit.inputs.image, IMAGES.premkit);
        assert.ok(((statsd.inputs.ports ?? []) as Port[]).some((p) => p.external === 8125 && p.protocol === "udp" && p.ip === PRIMARY));
        assert.ok(((premkit.inputs.ports ?? []) as Port[]).some((p) => p.external === 9880 && p.protocol === "tcp" && p.ip === PRIMARY));
        for (const c of [statsd, premkit]) {
            assert.equal(c.inputs.user, `${UID}:${DOCKER_GID}`);
            assert.deepEqual(c.inputs.capabilities, { drops: ["ALL"] });
            assert.equal(c.inputs.readOnly, true);
            assert.deepEqual(c.options.additionalSecretOutputs, [], `${c.name} holds no secret`);
            assert.ok(((c.inputs.mounts ?? []) as Mount[]).every((m) => m.target === "/data" && m.readOnly === false), `${c.name}: only its data directory`);
        }
    });

    test("a sidecar switched off registers no container and needs no image", async () => {
        const build = (args: Pick<SidecarsArgs, "statsd" | "premkit" | "images">) => () => {
            const basics = hostBasics();
            new Sidecars("p-sidecars", { ...containerHost(basics, PRIMARY), ...args });
        };
        const [statsdOff, bothOff] = await Promise.all([
            recordComponent(build({ statsd: false, premkit: true, images: { premkit: IMAGES.premkit } })),
            recordComponent(build({ statsd: false, premkit: false, images: {} })),
        ]);
        assert.deepEqual(statsdOff.byType(CONTAINER).map((c) => c.name), ["p-sidecars-replicated-premkit"]);
        assert.deepEqual(bothOff.byType(CONTAINER), []);
        assert.equal(bothOff.byType("replicated:docker:Sidecars").length, 1, "the component is still there");
    });

    test("an enabled sidecar without an image is refused, naming it", async () => {
        for (const [args, service] of [
            [{ statsd: true, premkit: false, images: { premkit: IMAGES.premkit } }, "replicated-statsd"],
            [{ statsd: false, premkit: true, images: { statsd: IMAGES.statsd } }, "replicated-premkit"],
        ] as const) {
            await assert.rejects(
                recordComponent(() => {
                    const basics = hostBasics();
                    new Sidecars("p-sidecars", { ...containerHost(basics, PRIMARY), ...args });
                }),
                new RegExp(`Sidecars p-sidecars: ${service} is enabled but no image was given`),
            );
        }
    });
});

describe("ContainerHealth", () => {
    /** Two containers and the gate over them; the gate's summary becomes the recording's output. */
    function gate(options: { timeoutSeconds?: number; names?: string[] } = {}) {
        return () => {
            const provider = localProvider();
            const names = options.names ?? ["replicated-ui", "replicated"];
            const containers = Object.fromEntries(names.map((name) => [name, new docker.Container(`h-${name}`, { image: IMAGES.ui, name }, { provider })]));
            const health = new ContainerHealth("h", { containers, target: TARGET, ...(options.timeoutSeconds !== undefined ? { timeoutSeconds: options.timeoutSeconds } : {}) });
            return { summary: health.summary };
        };
    }

    test("one command waits for every container by name, triggered by their ids, after them", async () => {
        const recording = await recordComponent(gate());
        const [command] = recording.byType(COMMAND);
        assert.equal(recording.byType(COMMAND).length, 1);
        assert.equal(command.name, "h-health");
        assert.equal(command.parent, "replicated:docker:ContainerHealth::h");
        assert.equal(scriptNameOf(command), "container-health");
        assert.deepEqual(scriptArgsOf(command), [String(healthWaitSeconds()), "replicated", "replicated-ui"], "the default wait, then the names sorted");
        assert.equal(healthWaitSeconds(), 95);
        assert.deepEqual(command.inputs.triggers, ["h-replicated-id", "h-replicated-ui-id"], "a replaced container (new id) runs the gate again");
        assert.deepEqual(command.options.dependsOn.sort(), [`${CONTAINER}::h-replicated`, `${CONTAINER}::h-replicated-ui`]);
        assert.equal(command.inputs.addPreviousOutputInEnv, false);
        assert.equal(command.inputs.logging, "stdoutAndStderr");
        assert.equal((command.inputs.connection as { host: string }).host, TARGET.address);
        assert.deepEqual(command.secretPaths, ["connection"], "the connection, which holds the key, is a secret");
        assert.ok(!String(command.inputs.create).includes(TARGET.privateKey), "the key is never on the command line");
        assert.deepEqual(recording.outputs.summary, { healthy: ["replicated", "replicated-ui"], failed: [], seconds: 0, changed: 0 }, "the summary line, parsed");
    });

    test("a given timeout reaches the script", async () => {
        const recording = await recordComponent(gate({ timeoutSeconds: 600 }));
        assert.deepEqual(scriptArgsOf(recording.find(COMMAND, "h-health")), ["600", "replicated", "replicated-ui"]);
    });

    test("a bad timeout, no container, a name that is not a DNS label or a bad target is refused", async () => {
        await assert.rejects(recordComponent(gate({ timeoutSeconds: 0 })), /ContainerHealth: timeout 0 must be a whole number of seconds between 1 and 3600/);
        await assert.rejects(recordComponent(gate({ timeoutSeconds: 3601 })), /timeout 3601/);
        await assert.rejects(recordComponent(gate({ timeoutSeconds: 1.5 })), /timeout 1\.5/);
        await assert.rejects(recordComponent(gate({ names: [] })), /ContainerHealth: no container to wait for/);
        await assert.rejects(recordComponent(gate({ names: ["Replicated_UI"] })), /ContainerHealth: container name "Replicated_UI" is not a lowercase DNS label/);
        await assert.rejects(
            recordComponent(() => {
                const provider = localProvider();
                const container = new docker.Container("h-replicated", { image: IMAGES.ui, name: "replicated" }, { provider });
                new ContainerHealth("h", { containers: { replicated: container }, target: { address: "10.0.0.1; reboot", privateKey: "test-key" } });
            }),
            /ContainerHealth h: target\.address "10\.0\.0\.1; reboot" must be a DNS host name or an IP address/,
        );
    });
});
