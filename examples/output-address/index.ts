/**
 * A consumer of the replicated library: one Replicated host whose SSH address is known only
 * at deploy time, built from plain typed arguments (no stack-config parser). A local command
 * stands in for the resource that would create the machine (an @pulumi/aws instance, a Hetzner
 * server, a Proxmox VM): its stdout is the address.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { ReplicatedHost } from "replicated";

export = async () => {
    // This example's settings (Pulumi.demo.yaml), kept in the library's namespace.
    const settings = new pulumi.Config("replicated");

    // Stand-in for a VM: prints the address the machine got.
    const machine = new command.local.Command("machine", { create: "printf %s 10.30.0.11" });

    // Shared secret between the daemon and operators (DAEMON_TOKEN).
    const daemonToken = new random.RandomPassword("daemon-token", { length: 32, special: false });

    const replicated = new ReplicatedHost("demo-1", {
        target: {
            address: machine.stdout,
            user: "deploy",
            privateKeyFile: settings.require("sshPrivateKeyPath"),
            hostKey: settings.require("hostKey"),
        },
        version: settings.require("version"),
        privateAddress: "10.30.0.11",
        daemonToken: daemonToken.result,
    });

    return { uid: replicated.uid, dockerGid: replicated.dockerGid };
};
