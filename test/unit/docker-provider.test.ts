/**
 * The docker provider's pure parts: how a configured key file is named for ssh, and the
 * environment variables that would redirect the provider. That the providers' inputs are the
 * same on every machine is shown with two machines' processes in
 * test/process/docker-provider-inputs.test.ts.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { assertDockerEnvironment, dockerEnvironmentProblems, portableKeyPath } from "../../components/docker/provider";

describe("naming a configured key file for ssh", () => {
    const places = { projectDir: "/home/alice/src/replicated", home: "/home/alice", passwdHome: "/home/alice" };
    test("inside the project: relative to it; below the home directory: ~/; elsewhere: as configured", () => {
        assert.equal(portableKeyPath("/home/alice/src/replicated/.sandbox/id_ed25519", places), ".sandbox/id_ed25519");
        assert.equal(portableKeyPath("/home/alice/.ssh/acme_ed25519", places), "~/.ssh/acme_ed25519");
        assert.equal(portableKeyPath("/etc/replicated/keys/acme", places), "/etc/replicated/keys/acme");
    });
    test("$HOME other than the passwd home: ssh's ~ names another file, so the key is copied", () => {
        assert.equal(portableKeyPath("/tmp/ci-home/.ssh/acme_ed25519", { ...places, home: "/tmp/ci-home" }), undefined);
    });
});

describe("environment that redirects the docker provider", () => {
    test("DOCKER_CONTEXT and the TLS variables are refused, each named with its fix", () => {
        assert.deepEqual(dockerEnvironmentProblems({ DOCKER_HOST: "tcp://x:2376", DOCKER_SSH_OPTS: "-v", HOME: "/root" }), []);
        const problems = dockerEnvironmentProblems({ DOCKER_CONTEXT: "remote", DOCKER_CERT_PATH: "/certs", DOCKER_CERT_MATERIAL: "", DOCKER_KEY_MATERIAL: "k" });
        assert.equal(problems.length, 3);
        assert.match(problems[0], /^DOCKER_CONTEXT is set: .*Fix: unset DOCKER_CONTEXT/);
        assert.match(problems[1], /^DOCKER_CERT_PATH is set: .*TLS/);
        assert.match(problems[2], /^DOCKER_KEY_MATERIAL is set/);
        assert.throws(() => assertDockerEnvironment({ DOCKER_CONTEXT: "remote" }), /redirect the docker provider:\n {2}- DOCKER_CONTEXT/);
    });
});
