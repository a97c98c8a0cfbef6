/**
 * Host tier: the health gate script (components/scripts/container-health.sh) on a real test
 * host, through the exact invocation the ContainerHealth component builds. Containers made here
 * from a busybox image: one healthy, one crash-looping that prints a secret, one that exits at
 * once without a restart policy, one whose healthcheck fails, one without a healthcheck.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { containerHealthScriptArgs, parseContainerHealthSummary } from "../../components/docker/container-health";
import { loadScript, remoteInvocation } from "../../components/shell";
import { hostTierAvailability, requireHostTier } from "../support/preflight";
import { run, startHosts, stopHosts, type TestHost, type RunResult } from "../support/testhost";

const SECRET = "s3cr3t-daemon-token-4711";
const PROXY_CREDENTIAL = "proxyuser:proxypass";

const SETUP = `set -eu
w=$(mktemp -d)
mkdir -p "$w/bin"
cp /bin/busybox "$w/bin/busybox"
for applet in sh sleep echo printf true false; do ln -s busybox "$w/bin/$applet"; done
tar -C "$w" -c . | docker import - health-test:1 >/dev/null
rm -rf "$w"
docker run -d --name gate-good --health-cmd true --health-interval 1s health-test:1 /bin/sleep 100000 >/dev/null
docker run -d --name gate-crash --restart unless-stopped --health-cmd true --health-interval 1s \\
	-e DAEMON_TOKEN=${SECRET} -e HTTP_PROXY=http://${PROXY_CREDENTIAL}@proxy:3128 -e LOG_LEVEL=info \\
	health-test:1 /bin/sh -c 'echo "start with token ${SECRET} via http://${PROXY_CREDENTIAL}@proxy:3128 at level info"; printf "bell\\007 escape\\033[31m\\n"; echo fatal: cannot open /data; exit 1' >/dev/null
docker run -d --name gate-exited --health-cmd true --health-interval 1s health-test:1 /bin/sh -c 'echo bye; exit 3' >/dev/null
docker run -d --name gate-unhealthy --health-cmd false --health-interval 1s --health-retries 1 health-test:1 /bin/sleep 100000 >/dev/null
docker run -d --name gate-nocheck health-test:1 /bin/sleep 100000 >/dev/null
`;

let host: TestHost | undefined;
let hosts: TestHost[] = [];

before(async () => {
    if (!(await hostTierAvailability()).ok) return;
    hosts = await startHosts(1);
    host = hosts[0];
    const result = await run(host, SETUP, { timeoutMs: 120_000 });
    assert.equal(result.code, 0, result.stderr);
});

after(async () => {
    await stopHosts(hosts);
});

function gate(h: TestHost, timeoutSeconds: number, names: string[]): Promise<RunResult> {
    const invocation = remoteInvocation(loadScript("container-health"), containerHealthScriptArgs(timeoutSeconds, names), "none");
    return run(h, invocation.command, { stdin: invocation.stdin, timeoutMs: 180_000 });
}

async function ready(t: Parameters<typeof requireHostTier>[0]): Promise<TestHost | undefined> {
    if (!(await requireHostTier(t))) return undefined;
    assert.ok(host, "setup did not complete (see the before hook's error)");
    return host;
}

describe("host tier: the health gate script", () => {
    test("healthy containers pass, twice, and the gate changes nothing on the host", async (t) => {
        const h = await ready(t);
        if (!h) return;
        const state = async () => (await run(h, "docker inspect --format '{{.Id}} {{.State.StartedAt}} {{.RestartCount}}' gate-good gate-nocheck")).stdout;
        const before = await state();
        for (let round = 0; round < 2; round++) {
            const result = await gate(h, 60, ["gate-good"]);
            assert.equal(result.code, 0, result.stderr);
            assert.deepEqual(parseContainerHealthSummary(result.stdout), { healthy: ["gate-good"], failed: [], seconds: parseContainerHealthSummary(result.stdout).seconds, changed: 0 });
            assert.equal(result.stderr, "");
        }
        assert.equal(await state(), before, "same containers, not restarted");
    });

    test("each way of not coming up fails, naming the container and why; the healthy one is still reported", async (t) => {
        const h = await ready(t);
        if (!h) return;
        const result = await gate(h, 30, ["gate-good", "gate-crash", "gate-exited", "gate-unhealthy", "gate-nocheck", "gate-missing"]);
        assert.equal(result.code, 1);
        const summary = parseContainerHealthSummary(result.stdout);
        assert.deepEqual(summary.healthy, ["gate-good"]);
        assert.deepEqual([...summary.failed].sort(), ["gate-crash", "gate-exited", "gate-missing", "gate-nocheck", "gate-unhealthy"]);
        assert.match(result.stderr, /container gate-crash is not healthy: it keeps crashing \(restarted \d+ times\)/);
        assert.match(result.stderr, /container gate-exited is not healthy: it is exited \(exit code 3\)/);
        assert.match(result.stderr, /container gate-unhealthy is not healthy: its healthcheck reports unhealthy/);
        assert.match(result.stderr, /container gate-nocheck is not healthy: it has no healthcheck to wait for/);
        assert.match(result.stderr, /container gate-missing is not healthy: no such container/);
        assert.match(result.stderr, /last 20 log lines of gate-exited:\n {4}\| bye/);
    });

    test("log lines are redacted by value and stripped of control characters", async (t) => {
        const h = await ready(t);
        if (!h) return;
        const result = await gate(h, 30, ["gate-crash"]);
        assert.equal(result.code, 1);
        assert.ok(!result.stderr.includes(SECRET), "the token is not printed");
        assert.ok(!result.stderr.includes(PROXY_CREDENTIAL), "the proxy credentials are not printed");
        assert.match(result.stderr, /\| start with token <redacted> via \S*<redacted>\S* at level info/, "only secret values are redacted, LOG_LEVEL's stays");
        assert.match(result.stderr, /\| bell escape\[31m/);
        assert.ok(!result.stderr.includes("\u0007") && !result.stderr.includes("\u001b"), "no control characters reach the error");
        assert.match(result.stderr, /\| fatal: cannot open \/data/);
    });

    test("a container still starting when the time is up fails with the time", async (t) => {
        const h = await ready(t);
        if (!h) return;
        const started = await run(h, "docker run -d --name gate-slow --health-cmd true --health-interval 300s --health-start-period 300s health-test:1 /bin/sleep 100000");
        assert.equal(started.code, 0, started.stderr);
        const result = await gate(h, 3, ["gate-slow"]);
        assert.equal(result.code, 1);
        assert.match(result.stderr, /container gate-slow is not healthy: not healthy after 3s \(health: starting\)/);
    });

    test("arguments that are not container names are refused before docker is asked", async (t) => {
        const h = await ready(t);
        if (!h) return;
        assert.throws(() => containerHealthScriptArgs(30, ["a;touch /tmp/x"]), /not a lowercase DNS label/);
        assert.throws(() => containerHealthScriptArgs(0, ["gate-good"]), /between 1 and 3600/);
        // The script refuses them too, whatever reaches it.
        const invocation = remoteInvocation(loadScript("container-health"), ["30", "-rf"], "none");
        const result = await run(h, invocation.command, { stdin: invocation.stdin });
        assert.equal(result.code, 1);
        assert.match(result.stderr, /container name -rf is not a lowercase DNS label/);
    });
});
