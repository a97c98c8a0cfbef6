/**
 * The docker provider's recorded connection settings work with the real OpenSSH client: the
 * inputs name the key copy and the known_hosts file as `~/.ssh/pulumi-replicated/...`, ssh gets
 * them as separate arguments without a shell (as docker/cli's commandconn runs it), expands `~`
 * itself from the passwd entry (HOME is pointed elsewhere here), reaches the engine through
 * `docker system dial-stdio`, and checks the pinned host key from that file.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { cannedResolver } from "../support/canned-outputs";
import { pingEngineOverSsh, providerSettings } from "../support/container-runner";
import { testHostConfig } from "../support/host-runner";
import { recordProgramQueued } from "../support/mock-recorder";
import { requireHostTier } from "../support/preflight";
import { startHosts, stopHosts, type TestHost } from "../support/testhost";

const FILES_DIR = path.join(os.userInfo().homedir, ".ssh", "pulumi-replicated");

async function providerOf(stack: string, config: Record<string, unknown>, host: TestHost, secretKeys: string[] = []): Promise<{ url: string; sshOpts: string[] }> {
    const recording = await recordProgramQueued({ stack, config, secretKeys, resolve: cannedResolver });
    const { host: url, sshOpts } = providerSettings(recording.find("pulumi:providers:docker", `${host.name}-docker`).inputs);
    return { url, sshOpts };
}

/** Run `action` with HOME pointing nowhere: ssh must not need it to expand `~`. */
async function withoutHome<T>(action: () => Promise<T>): Promise<T> {
    const saved = process.env.HOME;
    process.env.HOME = "/nonexistent-home";
    try {
        return await action();
    } finally {
        process.env.HOME = saved;
    }
}

test("recorded sshOpts reach the test host's engine with the real ssh", { timeout: 10 * 60_000 }, async (t) => {
    if (!(await requireHostTier(t))) return;
    const hosts = await startHosts(1);
    const [host] = hosts as [TestHost];
    const stacks = [`conn-${process.pid}`, "dev"];
    try {
        await t.test("pinned host key: ~ paths expanded by ssh, engine answers, a wrong pinned key is refused", async () => {
            // The key as a secret: ssh gets the copy, named ~/.ssh/pulumi-replicated/<project>-<stack>.key.
            const config = testHostConfig(hosts);
            config.sshPrivateKey = fs.readFileSync(String(config.sshPrivateKeyPath), "utf8");
            delete config.sshPrivateKeyPath;
            const { url, sshOpts } = await providerOf(stacks[0], config, host, ["sshPrivateKey"]);
            assert.equal(sshOpts[sshOpts.indexOf("-i") + 1], `~/.ssh/pulumi-replicated/replicated-${stacks[0]}.key`);
            assert.ok(sshOpts.includes(`UserKnownHostsFile=~/.ssh/pulumi-replicated/replicated-${stacks[0]}-${host.name}.known_hosts`));
            assert.match(await withoutHome(() => pingEngineOverSsh(url, sshOpts)), /^200 OK/);

            const knownHosts = path.join(FILES_DIR, `replicated-${stacks[0]}-${host.name}.known_hosts`);
            const pinned = fs.readFileSync(knownHosts, "utf8");
            // Another ed25519 key in the file ssh reads: the connection must fail on the host key.
            fs.writeFileSync(knownHosts, pinned.replace(/AAAA\S+/, "AAAAC3NzaC1lZDI1NTE5AAAAIHt0lW8jY2OFo3QhMbo7V1H0Lr1iJ5qk3o1pQ0yTw9nA"));
            await assert.rejects(withoutHome(() => pingEngineOverSsh(url, sshOpts)), /Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/);
        });

        await t.test("dev stack without a pinned key: ssh records the key in the ~ file and checks it from then on", async () => {
            const config = testHostConfig(hosts);
            for (const entry of config.hosts as Array<Record<string, unknown>>) {
                delete entry.hostKey;
            }
            const { url, sshOpts } = await providerOf("dev", config, host);
            const knownHosts = path.join(FILES_DIR, `replicated-dev-${host.name}.known_hosts`);
            fs.rmSync(knownHosts, { force: true });
            assert.match(await withoutHome(() => pingEngineOverSsh(url, sshOpts)), /^200 OK/);
            // ssh wrote the host's key there (hashed, if the system ssh_config says HashKnownHosts).
            assert.ok(fs.readFileSync(knownHosts, "utf8").includes(host.hostKey), `${knownHosts} holds the sandbox's key`);
            assert.match(await withoutHome(() => pingEngineOverSsh(url, sshOpts)), /^200 OK/);
        });
    } finally {
        await stopHosts(hosts);
        // Only what this test wrote: its own stack's key copy, and the unique host's known_hosts files.
        for (const file of [`replicated-${stacks[0]}.key`, ...stacks.map((stack) => `replicated-${stack}-${host.name}.known_hosts`)]) {
            fs.rmSync(path.join(FILES_DIR, file), { force: true });
        }
    }
});
