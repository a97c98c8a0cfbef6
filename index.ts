/**
 * The stack program, a thin consumer of the library: stack config → validated args → components.
 * It loads the validated stack config, decides the shared daemon token, and provisions one
 * ReplicatedHost per configured host (the mapping is components/args-from-config.ts).
 */
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { hostTargetFromConfig, replicatedHostArgsFromConfig } from "./components/args-from-config";
import { loadConfig } from "./components/config";
import { assertDockerEnvironment } from "./components/docker/provider";
import { DaemonTokenCarryOver } from "./components/host";
import { ReplicatedHost } from "./components/replicated-host";

export = async () => {
    const config = loadConfig();
    // Before any resource: DOCKER_CONTEXT and TLS variables would redirect every docker provider.
    assertDockerEnvironment();

    // Shared secret between the daemon on the primary and every operator (DAEMON_TOKEN): the one
    // Replicated's install script left on the primary, else the generated one (stacks without a
    // script install keep theirs unchanged). takeover.rotateDaemonToken always uses the generated one.
    const generatedToken = new random.RandomPassword("daemon-token", { length: 32, special: false });
    const daemonToken = config.takeover.rotateDaemonToken
        ? generatedToken.result
        : new DaemonTokenCarryOver(`${config.primary.name}-daemon-token`, { target: hostTargetFromConfig(config, config.primary), generated: generatedToken.result }).token;

    // Every host's first changing step waits for the install detection of every host.
    let releaseGate: (detections: readonly pulumi.Resource[]) => void = () => undefined;
    const installGate = new Promise<readonly pulumi.Resource[]>((resolve) => {
        releaseGate = resolve;
    });
    const hosts = config.hosts.map((host) => new ReplicatedHost(host.name, replicatedHostArgsFromConfig(config, host, { daemonToken, installGate })));
    releaseGate(hosts.map((host) => host.installDetection.command));

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
