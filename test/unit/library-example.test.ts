/**
 * The example consumer (examples/output-address) under mocks: its host's address is another
 * resource's output, and every SSH step (remote commands, the docker provider and its
 * known_hosts file) reaches the host at that address once it resolves. In this repository the
 * example's `import ... from "replicated"` resolves to components/index.ts (tsconfig paths).
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { checkedHostTarget, targetAddressProblem } from "../../components/host/host-target";
import { cannedResolver } from "../../tools/offline/host-model";
import { encodeConfig, recordProgramQueued, type RecordedResource, type Recording } from "../../tools/offline/recorder";
import { parseStackConfig, standInKeyFile } from "../../tools/offline/stacks";

const EXAMPLE_DIR = path.join(__dirname, "..", "..", "examples", "output-address");
/** What the stand-in machine resource "prints": not the config's hosts[].address (10.30.0.11). */
const MACHINE_ADDRESS = "192.0.2.7";

async function recordExample(machineAddress: string): Promise<Recording> {
    const config = parseStackConfig(fs.readFileSync(path.join(EXAMPLE_DIR, "Pulumi.demo.yaml"), "utf8"));
    config.sshPrivateKeyPath = standInKeyFile();
    return recordProgramQueued({
        stack: "demo",
        project: "replicated-output-address",
        config: {},
        sdkStackTraces: false,
        resolve: (resource: RecordedResource) =>
            resource.type === "command:local:Command" ? { stdout: machineAddress } : cannedResolver(resource),
        program: async () => {
            // The library's keys live in their own namespace (replicated:), not the project's.
            pulumi.runtime.setAllConfig(encodeConfig("replicated", config));
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            const main = require(path.join(EXAMPLE_DIR, "index.ts")) as () => Promise<unknown>;
            return main();
        },
    });
}

test("the example's host is reached at its machine's output address by every SSH step", async () => {
    const recording = await recordExample(MACHINE_ADDRESS);
    assert.equal(recording.byType("replicated:index:ReplicatedHost").length, 1);
    const remoteCommands = recording.byType("command:remote:Command");
    assert.ok(remoteCommands.length >= 6, `recorded ${remoteCommands.length} remote commands`);
    for (const remote of remoteCommands) {
        const connection = remote.inputs.connection as { host?: unknown };
        assert.equal(connection.host, MACHINE_ADDRESS, `${remote.name} dials the machine's address`);
    }
    const [provider] = recording.byType("pulumi:providers:docker");
    assert.equal(provider.inputs.host, `ssh://deploy@${MACHINE_ADDRESS}:22`);
    // The address carries its resource as a dependency, so nothing dials before the machine exists.
    const detection = recording.find("command:remote:Command", "demo-1-detect-install");
    assert.ok(detection.options.dependsOn.includes("command:local:Command::machine"), `depends on ${detection.options.dependsOn.join(", ")}`);
    // The pinned key is written for the resolved address, where the provider's ssh looks it up.
    const knownHosts = fs.readFileSync(path.join(standInKnownHostsDir(), "replicated-output-address-demo-demo-1.known_hosts"), "utf8");
    assert.match(knownHosts, new RegExp(`^${MACHINE_ADDRESS.replace(/\./g, "\\.")} ssh-ed25519 `));
    assert.equal(typeof recording.outputs.uid, "number");
});

test("a target address that is no host name or IP address is refused, naming target.address", () => {
    assert.throws(() => checkedHostTarget("ReplicatedHost demo-1", { address: "not an address; rm -rf /", privateKey: "key" }), /ReplicatedHost demo-1: target\.address "not an address; rm -rf \/" must be a DNS host name or an IP address/);
    // An address known only at deploy time is checked by the same rule when it resolves.
    assert.match(targetAddressProblem("ReplicatedHost demo-1", "") ?? "", /target\.address "" must be/);
    assert.equal(targetAddressProblem("ReplicatedHost demo-1", MACHINE_ADDRESS), undefined);
    const checked = checkedHostTarget("ReplicatedHost demo-1", { address: MACHINE_ADDRESS, privateKey: "key" });
    assert.equal(checkedHostTarget("ReplicatedHost demo-1", checked), checked, "a checked target is used as it is");
});

function standInKnownHostsDir(): string {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { defaultSshFilesLocation } = require("../../components/docker/provider") as typeof import("../../components/docker/provider");
    return defaultSshFilesLocation().localPath;
}
