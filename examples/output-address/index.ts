/**
 * A consumer of the replicated library: one Replicated host whose SSH address is known only
 * at deploy time. A local command stands in for the resource that would create the machine
 * (an @pulumi/aws instance, a Hetzner server, a Proxmox VM): its stdout is the address.
 */
import * as command from "@pulumi/command";
import * as random from "@pulumi/random";
import { loadConfig, ReplicatedHost } from "replicated";

export = async () => {
    // The library's config keys (replicated:*) of this stack, validated as the library's own program does.
    const config = loadConfig();
    const host = config.primary;

    // Stand-in for a VM: prints the address the machine got.
    const machine = new command.local.Command("machine", { create: "printf %s 10.30.0.11" });

    // Shared secret between the daemon and operators (DAEMON_TOKEN).
    const daemonToken = new random.RandomPassword("daemon-token", { length: 32, special: false });

    const replicated = new ReplicatedHost(host.name, {
        config,
        host,
        target: { address: machine.stdout },
        daemonToken: daemonToken.result,
    });

    return { uid: replicated.uid, dockerGid: replicated.dockerGid };
};
