/**
 * Every stack in stacks/, evaluated under mocks: the images, network, docker provider and
 * containers each host gets, with their hardening, user mapping, mounts, ports and secrets;
 * what a version change or a sidecar switched off touches on a host (the stack's hosts built
 * with plain args, compared with the stack's own recording); and that the engine tier can apply
 * every recorded container (container-runner translates each input or refuses it).
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import { describe, test } from "node:test";
import { CANNED_DAEMON_TOKEN, CANNED_DOCKER_GID, CANNED_UID, scriptNameOf } from "../support/canned-outputs";
import { providerSettings } from "../support/container-runner";
import { containerCreatePlan, diffResource, networkCreateBody, plannedState } from "../../tools/docker-provider-model";
import { parseConfig } from "../../components/config";
import { hostTargetFromConfig } from "../../components/args-from-config";
import { hostDockerProvider } from "../../components/docker/provider";
import { recordComponent } from "../support/component-recorder";
import { encodeConfig, type RecordedResource, type Recording } from "../support/mock-recorder";
import { buildStackHosts, stackHostArgs, stackHostResources } from "../support/stack-hosts";
import { readStackConfig, recordStack, stackConfigForTest, stackNames } from "../support/stacks";
import { assertHardenedContainer, stringsIn, type Mount, type Port } from "../support/recorded-inputs";

const CONTAINER = "docker:index/container:Container";
const IMAGE = "docker:index/remoteImage:RemoteImage";
const COMMAND = "command:remote:Command";
const SOCKET = "/var/run/docker.sock";
const SOCKET_SERVICES = ["replicated", "replicated-operator"];

interface StackHost {
    name: string;
    address: string;
    port?: number;
    user?: string;
    role: "primary" | "operator";
    privateAddress: string;
    hostKey?: string;
}

const NEXT_VERSION = "2.54.0";
/**
 * Stacks whose version change is compared: registry + service account + one host, and air-gap +
 * legacy root + several hosts (dev adds no combination of its own).
 */
const VERSION_CHANGE_STACKS = stackNames().filter((stack) => stack !== "dev");
// Start every recording now, so they overlap with each other and with the assertions.
for (const stack of stackNames()) {
    void recordStack(stack);
}
/** Every host of the compared stacks at the next version, built with plain args: one evaluation for all of them. */
const nextVersion = recordComponent(() => {
    for (const stack of VERSION_CHANGE_STACKS) {
        buildStackHosts(stackHostArgs(stack).map((args) => ({ ...args, version: NEXT_VERSION })));
    }
});
nextVersion.catch(() => undefined); // reported by the tests that await it
/** acme-online's host with the statsd sidecar switched off. */
const statsdOff = recordComponent(() => buildStackHosts(stackHostArgs("acme-online", { sidecars: { statsd: false, premkit: true } })));
statsdOff.catch(() => undefined);

/** Containers of one host: children of its CoreServices / Sidecars components. */
function containersOf(recording: Recording, host: string): RecordedResource[] {
    return recording.byType(CONTAINER).filter((c) => c.parent === `replicated:docker:CoreServices::${host}-core` || c.parent === `replicated:docker:Sidecars::${host}-sidecars`);
}


for (const stack of stackNames()) {
    describe(`stack ${stack}`, () => {
        const raw = readStackConfig(stack);
        const hosts = raw.hosts as StackHost[];
        const runAs = (raw.runAs as string | undefined) ?? "replicated";
        const sidecars = { statsd: true, premkit: true, ...((raw.sidecars as object | undefined) ?? {}) };
        const primary = hosts.find((h) => h.role === "primary") as StackHost;
        const uiBindAddress = (raw.uiBindAddress as string | undefined) ?? primary.privateAddress;

        test("each host gets the containers of its role, on its own provider and network", async () => {
            const recording = await recordStack(stack);
            for (const host of hosts) {
                const names = containersOf(recording, host.name).map((c) => c.inputs.name).sort();
                const expected =
                    host.role === "primary"
                        ? ["replicated", "replicated-ui", "replicated-operator", ...(sidecars.statsd ? ["replicated-statsd"] : []), ...(sidecars.premkit ? ["replicated-premkit"] : [])]
                        : ["replicated-operator"];
                assert.deepEqual(names, expected.sort(), host.name);
                const provider = recording.find("pulumi:providers:docker", `${host.name}-docker`);
                const settings = providerSettings(provider.inputs);
                assert.equal(settings.host, `ssh://${host.user ?? "root"}@${host.address}:${host.port ?? 22}`);
                assert.ok(settings.sshOpts.includes(host.hostKey ? "StrictHostKeyChecking=yes" : "StrictHostKeyChecking=accept-new"));
                const network = recording.find("docker:index/network:Network", `${host.name}-network`);
                assert.equal(network.options.provider, `pulumi:providers:docker::${host.name}-docker`);
                assert.equal(network.options.deleteBeforeReplace, true);
                for (const container of containersOf(recording, host.name)) {
                    assert.equal(container.options.provider, `pulumi:providers:docker::${host.name}-docker`, container.name);
                    assert.deepEqual(container.inputs.networksAdvanced, [{ name: "replicated" }]);
                    assert.ok(container.options.dependsOn.includes(`docker:index/network:Network::${host.name}-network`), `${container.name} waits for the network`);
                }
            }
        });

        test("user mapping, groups, capabilities, security options, read-only root, deleteBeforeReplace", async () => {
            const recording = await recordStack(stack);
            const expectedUser = runAs === "root" ? `0:${CANNED_DOCKER_GID}` : `${CANNED_UID}:${CANNED_DOCKER_GID}`;
            const containers = recording.byType(CONTAINER);
            assert.ok(containers.length > 0);
            for (const c of containers) {
                assertHardenedContainer(c, expectedUser, CANNED_DOCKER_GID);
                assert.equal(c.options.deleteBeforeReplace, true, c.name);
                assert.ok((c.inputs.healthcheck as { tests: string[] }).tests.length === 2, c.name);
                assert.ok(String(c.inputs.image).startsWith("sha256:"), `${c.name} image comes from the image resource's imageId`);
                // Containers wait for the host's directories (and repair) before they start.
                assert.ok(c.options.dependsOn.some((d) => d.endsWith("-directories")), `${c.name} depends on the directories`);
            }
        });

        test("mounts: the docker socket only in replicated and replicated-operator; host system dirs only read-only", async () => {
            const recording = await recordStack(stack);
            for (const c of recording.byType(CONTAINER)) {
                const mounts = (c.inputs.mounts ?? []) as Mount[];
                const service = String(c.inputs.name);
                assert.equal(mounts.some((m) => m.source === SOCKET), SOCKET_SERVICES.includes(service), `${c.name} socket`);
                for (const m of mounts) {
                    assert.equal(m.type, "bind");
                    if (["/", "/etc", "/proc", "/sys", "/usr", "/boot", "/dev", "/lib", SOCKET].includes(m.source)) {
                        assert.equal(m.readOnly, true, `${c.name} ${m.source}`);
                    }
                }
                assert.equal((c.inputs.volumes as unknown[] | undefined)?.length ?? 0, 0, `${c.name}: bind mounts only (volumes would create missing sources as root)`);
            }
        });

        test("ports: none on 0.0.0.0, all on the host's private address, the console on uiBindAddress", async () => {
            const recording = await recordStack(stack);
            for (const host of hosts) {
                for (const c of containersOf(recording, host.name)) {
                    for (const port of (c.inputs.ports ?? []) as Port[]) {
                        assert.ok(port.ip !== undefined && port.ip !== "0.0.0.0" && port.ip !== "::", `${c.name}: ${JSON.stringify(port)}`);
                        const expected = c.inputs.name === "replicated-ui" ? uiBindAddress : host.privateAddress;
                        assert.equal(port.ip, expected, `${c.name} ${port.external}`);
                    }
                }
            }
        });

        test("operators point at the primary's private address, port 9879; only the primary's operator is tagged local", async () => {
            const recording = await recordStack(stack);
            for (const host of hosts) {
                const operator = containersOf(recording, host.name).find((c) => c.inputs.name === "replicated-operator");
                assert.ok(operator);
                const envs = operator.inputs.envs as string[];
                assert.ok(envs.includes(`DAEMON_ENDPOINT=${primary.privateAddress}:9879`), host.name);
                assert.ok(envs.includes(`PRIVATE_ADDRESS=${host.privateAddress}`), host.name);
                assert.equal(envs.includes("TAGS=local"), host.role === "primary", host.name);
            }
        });

        test("the daemon token is secret wherever it is used and appears in no other input", async () => {
            const recording = await recordStack(stack);
            let carriers = 0;
            for (const resource of recording.resources) {
                for (const [at, value] of stringsIn(resource.inputs)) {
                    if (!value.includes(CANNED_DAEMON_TOKEN)) continue;
                    const secret = resource.secretPaths.some((p) => at === p || at.startsWith(`${p}.`) || at.startsWith(`${p}[`));
                    assert.ok(secret, `${resource.type} ${resource.name} carries the token in non-secret input ${at}`);
                    carriers++;
                }
                if (resource.type === CONTAINER && (resource.inputs.envs as string[]).some((e) => e.startsWith("DAEMON_TOKEN="))) {
                    assert.ok(resource.secretPaths.includes("envs"), `${resource.name}: envs secret`);
                    assert.deepEqual(resource.options.additionalSecretOutputs, ["envs"], `${resource.name}: envs output secret`);
                }
            }
            // The daemon (primary) and every operator.
            assert.equal(carriers, hosts.length + 1);
        });

        test("images: one per needed image, kept locally; air-gap stacks load them first", async () => {
            const recording = await recordStack(stack);
            const airgap = raw.airgap as { imagesDir: string } | undefined;
            const registry = ((raw.images as { registry?: string } | undefined)?.registry ?? "quay.io/replicated").replace(/\/$/, "");
            const channel = (raw.channel as string | undefined) ?? "stable";
            for (const host of hosts) {
                const images = recording.byType(IMAGE).filter((i) => i.parent === `replicated:docker:Images::${host.name}-images`);
                // Application images come through the same component; their names are the customer's.
                const applicationImages = new Set(((raw.applications as Array<{ image: string }> | undefined) ?? []).map((app) => app.image));
                for (const image of images) {
                    assert.equal(image.inputs.keepLocally, true);
                    if (applicationImages.has(String(image.inputs.name))) {
                        continue;
                    }
                    assert.match(String(image.inputs.name), new RegExp(`^${registry.replace(/[.]/g, "\\.")}/replicated(-[a-z]+)?:${channel}-${String(raw.version).replace(/[.]/g, "\\.")}$`));
                }
                const load = recording.byType(COMMAND).find((c) => c.name === `${host.name}-images-load`);
                if (airgap) {
                    assert.ok(load, `${host.name}: air-gap load command`);
                    assert.equal(scriptNameOf(load), "load-images");
                    assert.equal(load.inputs.addPreviousOutputInEnv, false);
                    assert.match(String(load.inputs.create), new RegExp(`sh -s -- '${airgap.imagesDir}'`));
                    for (const image of images) {
                        assert.ok(String(load.inputs.create).includes(`'${String(image.inputs.name)}'`), `${image.name} is loaded`);
                        assert.deepEqual(image.options.dependsOn, [`command:remote:Command::${host.name}-images-load`]);
                    }
                } else {
                    assert.equal(load, undefined);
                }
                const helper = images.find((i) => i.name === `${host.name}-images-replicated-helper`);
                assert.ok(helper, `${host.name}: helper image`);
            }
        });

        test("the provider model can create every recorded container and network, and plans no change against its own plan", async () => {
            const recording = await recordStack(stack);
            for (const c of recording.byType(CONTAINER)) {
                const plan = containerCreatePlan(c.inputs, c.name);
                const hostConfig = plan.body.HostConfig as Record<string, unknown>;
                assert.equal(hostConfig.ReadonlyRootfs, true, c.name);
                assert.match(String(plan.body.User ?? ""), /^\d+:\d+$/, c.name);
                assert.deepEqual(plan.networks.map((n) => n.name), ["replicated"]);
                assert.equal(hostConfig.MemorySwap, hostConfig.Memory, `${c.name}: swap pinned to the memory limit`);
                // The planned state against the same inputs: every input is known to the model.
                assert.deepEqual(diffResource(CONTAINER, plannedState(CONTAINER, c.inputs), c.inputs).changedKeys, [], c.name);
            }
            for (const n of recording.byType("docker:index/network:Network")) {
                assert.equal(networkCreateBody(n.inputs).Name, "replicated");
            }
        });
    });
}

describe("what a change touches", () => {
    const unchangedScripts = ["account", "directories", "repair-ownership"];
    /** What the program registers for the stack's hosts and its daemon token's carry-over (all but the generated token). */
    const ofHosts = (recording: Recording, stack: string): RecordedResource[] => {
        const hosts = readStackConfig(stack).hosts as StackHost[];
        const primary = hosts.find((host) => host.role === "primary") as StackHost;
        return stackHostResources(recording, primary.name, hosts.map((host) => host.name));
    };

    for (const stack of VERSION_CHANGE_STACKS) {
        test(`${stack}: a version change alters only images and containers (image input only), never the account or directory commands`, async () => {
            const before = ofHosts(await recordStack(stack), stack);
            const after = ofHosts(await nextVersion, stack);
            assert.ok(before.length > 0 && before.some((r) => r.type === CONTAINER), "the hosts' resources are compared");
            const afterByRef = new Map(after.map((r) => [`${r.type}::${r.name}`, r]));
            const changed: string[] = [];
            for (const resource of before) {
                const other = afterByRef.get(`${resource.type}::${resource.name}`);
                assert.ok(other, `${resource.type} ${resource.name} still exists`);
                if (resource.type === COMMAND && unchangedScripts.includes(scriptNameOf(resource) ?? "")) {
                    assert.deepEqual(other.inputs, resource.inputs, `${resource.name} must not change`);
                }
                if (JSON.stringify(other.inputs) !== JSON.stringify(resource.inputs)) {
                    changed.push(`${resource.type}::${resource.name}`);
                    if (resource.type === CONTAINER) {
                        const keys = Object.keys({ ...resource.inputs, ...other.inputs }).filter(
                            (key) => JSON.stringify(resource.inputs[key]) !== JSON.stringify(other.inputs[key]),
                        );
                        assert.deepEqual(keys, ["image"], `${resource.name}: only the image changes`);
                    }
                }
            }
            for (const ref of changed) {
                // Images, containers, the air-gap load, and the guard that records the version on the host.
                const isImageSide =
                    ref.startsWith(`${IMAGE}::`) || ref.startsWith(`${CONTAINER}::`) || /-images-load$/.test(ref) || (ref.startsWith(`${COMMAND}::`) && ref.endsWith("-version-guard"));
                assert.ok(isImageSide, `${ref} changed with the version`);
            }
            assert.ok(changed.some((ref) => ref.startsWith(`${CONTAINER}::`)), "containers move to the new image");
            assert.equal(after.length, before.length);
        });
    }

    test("a sidecar switched off removes only that sidecar and its image", async () => {
        const before = ofHosts(await recordStack("acme-online"), "acme-online");
        const after = ofHosts(await statsdOff, "acme-online");
        const refs = (resources: RecordedResource[]): Set<string> => new Set(resources.map((x) => `${x.type}::${x.name}`));
        const gone = [...refs(before)].filter((ref) => !refs(after).has(ref)).sort();
        assert.deepEqual(gone, [`${CONTAINER}::acme-1-sidecars-replicated-statsd`, `${IMAGE}::acme-1-images-replicated-statsd`]);
        assert.deepEqual([...refs(after)].filter((ref) => !refs(before).has(ref)), [], "nothing new");
    });
});

describe("docker provider key handling", () => {
    test("a secret sshPrivateKey is copied to a 0600 file that only the provider's sshOpts name", async () => {
        const key = "-----BEGIN OPENSSH PRIVATE KEY-----\nunit-test-secret-key\n-----END OPENSSH PRIVATE KEY-----\n";
        const raw = stackConfigForTest("acme-online");
        delete raw.sshPrivateKeyPath;
        raw.sshPrivateKey = key;
        // A stack name of its own: the key file's path derives from it, and other test runs may
        // evaluate acme-online at the same time.
        const stack = `unit-key-${process.pid}-${Date.now()}`;
        const config = parseConfig(encodeConfig("replicated", raw), stack, "replicated", { secretKeys: ["replicated:sshPrivateKey"] });
        const target = hostTargetFromConfig(config, config.hosts[0]);
        assert.equal(target.privateKeyFile, undefined, "a secret key reaches the target as contents, not as a file");
        const recording = await recordComponent(() => hostDockerProvider("acme-1-docker", { target, hostName: config.hosts[0].name, stack, project: "replicated" }));
        const provider = recording.find("pulumi:providers:docker", "acme-1-docker");
        assert.ok(!JSON.stringify(provider.inputs).includes("unit-test-secret-key"), "key contents never in provider inputs");
        const { sshOpts } = providerSettings(provider.inputs);
        const keyOption = sshOpts[sshOpts.indexOf("-i") + 1];
        assert.equal(keyOption, `~/.ssh/pulumi-replicated/replicated-${stack}.key`, "a path ssh expands itself, the same on every machine");
        // ssh expands ~ from the passwd entry, as os.userInfo() reads it.
        const expand = (file: string): string => file.replace(/^~\//, `${os.userInfo().homedir}/`);
        const keyFile = expand(keyOption);
        try {
            assert.equal(fs.readFileSync(keyFile, "utf8"), key);
            assert.equal(fs.statSync(keyFile).mode & 0o777, 0o600);
            assert.equal(fs.statSync(keyFile.slice(0, keyFile.lastIndexOf("/"))).mode & 0o777, 0o700);
            const knownHosts = expand(sshOpts.find((o) => o.startsWith("UserKnownHostsFile="))?.slice("UserKnownHostsFile=".length) ?? "");
            assert.equal(fs.readFileSync(knownHosts, "utf8"), `10.20.0.11 ${String((readStackConfig("acme-online").hosts as StackHost[])[0].hostKey)}\n`);
        } finally {
            fs.rmSync(keyFile, { force: true });
            fs.rmSync(keyFile.replace(/\.key$/, "-acme-1.known_hosts"), { force: true });
        }
    });
});
