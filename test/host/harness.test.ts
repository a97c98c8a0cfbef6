/**
 * Proves the test-host harness itself: image build (cold or cached), two hosts with their
 * own sshd and dockerd on one network, the three users, real SSH with a pinned host key,
 * the private network between hosts, a reboot, and a clean teardown.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { test } from "node:test";
import { requireHostTier } from "../support/preflight";
import {
  HARNESS_LABEL,
  RUN_LABEL,
  buildTestHostImage,
  copyFile,
  docker,
  restartHost,
  run,
  shQuote,
  startHosts,
  stopHosts,
  withHosts,
  type TestHost,
} from "../support/testhost";

/** Asserts exit 0 and returns trimmed stdout, so a failure shows the remote stderr. */
async function ok(host: TestHost, command: string, user?: string): Promise<string> {
  const result = await run(host, command, { user });
  assert.equal(result.code, 0, `${user ?? "root"}@${host.name}: ${command} -> exit ${result.code}: ${result.stderr}`);
  return result.stdout.trim();
}

function localDockerLines(args: string[]): string[] {
  const result = spawnSync("docker", args, { encoding: "utf8" });
  assert.equal(result.status, 0, `docker ${args.join(" ")}: ${result.stderr}`);
  return result.stdout.split("\n").filter(Boolean);
}

test("test-host harness: two disposable hosts over real SSH", { timeout: 20 * 60_000 }, async (t) => {
  if (!(await requireHostTier(t))) return;

  const image = await buildTestHostImage();
  console.log(`test-host image ${image.tag}: ${image.cached ? "cached" : "cold build"} in ${image.seconds.toFixed(1)} s`);

  const startedAt = performance.now();
  const hosts = await startHosts(2);
  const [first, second] = hosts as [TestHost, TestHost];
  console.log(
    `started 2 hosts in ${((performance.now() - startedAt) / 1000).toFixed(1)} s ` +
      `(${hosts.map((h) => `${h.name}: ${h.startSeconds.toFixed(1)} s`).join(", ")})`,
  );

  try {
    await t.test("root and deploy log in over SSH", async () => {
      for (const host of hosts) {
        assert.equal(await ok(host, "id -u"), "0");
        const deployUid = Number(await ok(host, "id -u", host.users.sudo));
        assert.ok(Number.isInteger(deployUid) && deployUid > 0, `deploy uid ${deployUid}`);
        assert.equal(await ok(host, "id -un", host.users.sudo), "deploy");
      }
    });

    await t.test("deploy escalates with sudo -n", async () => {
      for (const host of hosts) assert.equal(await ok(host, "sudo -n id -u", host.users.sudo), "0");
    });

    await t.test("prompter's sudo -n fails fast and asks for a password", async () => {
      for (const host of hosts) {
        const began = performance.now();
        const result = await run(host, "sudo -n true", { user: host.users.promptingSudo, timeoutMs: 15_000 });
        assert.notEqual(result.code, 0, "sudo -n must fail without a NOPASSWD rule");
        assert.match(result.stderr, /password/i);
        assert.ok(performance.now() - began < 10_000, "sudo -n must not wait for a prompt");
      }
    });

    await t.test("each host has its own docker engine", async () => {
      const engineIds: string[] = [];
      for (const host of hosts) {
        assert.match(await ok(host, "docker info --format '{{.ServerVersion}}'"), /^\d+\.\d+/);
        const viaHelper = await docker(host, ["info", "--format", "{{.ID}}"]);
        assert.equal(viaHelper.code, 0, viaHelper.stderr);
        engineIds.push(viaHelper.stdout.trim());
      }
      assert.ok(engineIds.every(Boolean), `engine ids: ${engineIds.join(", ")}`);
      assert.notEqual(engineIds[0], engineIds[1], "the two hosts must not share an engine");
    });

    await t.test("the host's engine runs a container from a busybox stand-in image", async () => {
      // The stand-in image is made the air-gap way: a tarball into `docker import`.
      await ok(
        first,
        [
          "set -eu",
          'd=$(mktemp -d); mkdir "$d/bin"; cp /bin/busybox "$d/bin/busybox"; ln -s busybox "$d/bin/sh"',
          'tar -C "$d" -c . | docker import - harness-standin:1 >/dev/null; rm -rf "$d"',
        ].join("\n"),
      );
      const result = await docker(first, ["run", "--rm", "--user", "1000:1000", "harness-standin:1", "/bin/busybox", "id", "-u"]);
      assert.equal(result.code, 0, result.stderr);
      assert.equal(result.stdout.trim(), "1000");
    });

    await t.test("host 1 reaches host 2 on the private network", async () => {
      assert.match(second.privateAddress, /^\d+\.\d+\.\d+\.\d+$/);
      const banner = await ok(
        first,
        `timeout 5 bash -c 'exec 3<>/dev/tcp/'${shQuote(second.privateAddress)}'/22 && head -c 7 <&3'`,
      );
      assert.equal(banner, "SSH-2.0");
    });

    await t.test("a wrong pinned host key is rejected", async () => {
      assert.notEqual(first.hostKey, second.hostKey, "every host must generate its own host key");
      assert.match(first.hostKey, /^ssh-ed25519 AAAA[A-Za-z0-9+/=]+$/);
      await assert.rejects(run({ ...first, hostKey: second.hostKey }, "true"), /host key mismatch/);
    });

    await t.test("copyFile writes with the requested mode and user", async () => {
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), "rtest-copy-"));
      try {
        const local = path.join(dir, "payload");
        await fs.writeFile(local, "it's $(not) expanded\n");
        await copyFile(first, local, "/home/deploy/payload", { mode: 0o640, user: first.users.sudo });
        assert.equal(await ok(first, "stat -c '%a %U' /home/deploy/payload"), "640 deploy");
        assert.equal(await ok(first, "cat /home/deploy/payload"), "it's $(not) expanded");
      } finally {
        await fs.rm(dir, { recursive: true, force: true });
      }
    });

    await t.test("restartHost is a reboot: /run wiped, tmpfiles.d applied, disk and host key kept", async () => {
      await ok(
        second,
        [
          "set -eu",
          "echo 'd /run/harness-boot 0750 deploy deploy -' > /etc/tmpfiles.d/harness.conf",
          "touch /run/harness-marker /var/tmp/harness-disk",
        ].join("\n"),
      );
      const engineBefore = await ok(second, "docker info --format '{{.ID}}'");
      const { seconds } = await restartHost(second);
      console.log(`restarted ${second.name} in ${seconds.toFixed(1)} s`);
      assert.equal(await ok(second, "test -e /run/harness-marker && echo kept || echo wiped"), "wiped");
      assert.equal(await ok(second, "stat -c '%U %a' /run/harness-boot"), "deploy 750");
      assert.equal(await ok(second, "test -e /var/tmp/harness-disk && echo kept"), "kept");
      assert.equal(await ok(second, "docker info --format '{{.ID}}'"), engineBefore);
    });
  } finally {
    await stopHosts(hosts);
  }

  await t.test("stopHosts leaves nothing behind and is idempotent", async () => {
    await stopHosts(hosts);
    const runFilter = `label=${RUN_LABEL}=${first.runId}`;
    assert.deepEqual(localDockerLines(["ps", "--all", "--quiet", "--filter", runFilter]), []);
    assert.deepEqual(localDockerLines(["network", "ls", "--quiet", "--filter", runFilter]), []);
    // Other test files may run hosts in parallel, so only this run's names are checked here.
    const leftovers = localDockerLines(["ps", "--all", "--format", "{{.Names}}", "--filter", `label=${HARNESS_LABEL}`]);
    for (const host of hosts) assert.ok(!leftovers.includes(host.name), `${host.name} still exists`);
    await assert.rejects(fs.access(path.dirname(first.privateKeyPath)), "temp key dir must be removed");
  });

  await t.test("withHosts stops its hosts when the callback throws", async () => {
    let started: TestHost[] = [];
    await assert.rejects(
      withHosts(1, async (hosts) => {
        started = hosts;
        assert.equal(await ok(hosts[0] as TestHost, "hostname"), (hosts[0] as TestHost).name);
        throw new Error("callback failed on purpose");
      }),
      /callback failed on purpose/,
    );
    assert.equal(started.length, 1);
    const runFilter = `label=${RUN_LABEL}=${(started[0] as TestHost).runId}`;
    assert.deepEqual(localDockerLines(["ps", "--all", "--quiet", "--filter", runFilter]), []);
    assert.deepEqual(localDockerLines(["network", "ls", "--quiet", "--filter", runFilter]), []);
  });
});
