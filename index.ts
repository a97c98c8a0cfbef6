/**
 * Wiring only: load the validated stack config, generate the shared daemon token, and provision
 * one ReplicatedHost per configured host.
 */
import * as random from "@pulumi/random";
import { loadConfig } from "./components/config";
import { assertDockerEnvironment } from "./components/docker/provider";
import { ReplicatedHost } from "./components/replicated-host";

export = async () => {
    const config = loadConfig();
    // Before any resource: DOCKER_CONTEXT and TLS variables would redirect every docker provider.
    assertDockerEnvironment();

    // Shared secret between the daemon on the primary and every operator (DAEMON_TOKEN).
    const daemonToken = new random.RandomPassword("daemon-token", { length: 32, special: false });

    const hosts = config.hosts.map(
        (host) => new ReplicatedHost(host.name, { config, host, daemonToken: daemonToken.result }),
    );

    return {
        stack: config.stack,
        version: config.version,
        runAs: config.runAs,
        hosts: Object.fromEntries(
            hosts.map((host, index) => [
                config.hosts[index].name,
                { uid: host.uid, dockerGid: host.dockerGid, operations: host.operations },
            ]),
        ),
    };
};
