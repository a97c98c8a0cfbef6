/**
 * Host tier: hostile values in every config string that reaches a host are refused before any
 * remote call, and nothing they try to run ever runs.
 *
 * 1. parseConfig refuses each hostile value in each field, naming the key (in-process, fast).
 * 2. The program, evaluated with the resolve hook that runs commands on a real test host, fails
 *    on its config with zero commands seen by the hook (counted), for each hostile value.
 * 3. The scripts themselves, run directly with hostile arguments (bypassing validation), refuse
 *    them: quoting delivers them literally, and the scripts validate again.
 * After all of it, no marker file exists on the host.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { after, before, describe, test } from "node:test";
import { ConfigError, parseConfig } from "../../components/config";
import { loadScript, remoteInvocation } from "../../components/shell";
import { recordOnHosts, testHostConfig } from "../support/host-runner";
import { encodeConfig } from "../support/mock-recorder";
import { hostTierAvailability, requireHostTier } from "../support/preflight";
import { run, startHosts, stopHosts, type TestHost } from "../support/testhost";

const MARKER = "/tmp/pwned";

/** Hostile values every string field must refuse. */
const HOSTILE: Record<string, string> = {
    semicolon: `a;touch ${MARKER}`,
    "command substitution": `$(touch ${MARKER})`,
    backticks: `\`touch ${MARKER}\``,
    newline: `a\ntouch ${MARKER}`,
    "single quote": `a'; touch ${MARKER}; echo '`,
    "leading dash": "-rf",
    "dot-dot": "..",
    empty: "",
    "Cyrillic look-alike": "replicаted", // U+0430 CYRILLIC SMALL LETTER A
};

/**
 * The string fields that reach a host (as script arguments, SSH connection settings, image
 * references, paths or names), with a value just over each field's length limit where it has one.
 */
const FIELDS: Array<{ path: Array<string | number>; tooLong?: string }> = [
    { path: ["serviceUser", "name"], tooLong: "a".repeat(32) },
    { path: ["hosts", 0, "name"], tooLong: "a".repeat(64) },
    { path: ["hosts", 0, "user"], tooLong: "a".repeat(32) },
    { path: ["hosts", 0, "address"], tooLong: "a".repeat(64) },
    { path: ["hosts", 0, "privateAddress"], tooLong: "1".repeat(33) },
    { path: ["hosts", 0, "publicAddress"], tooLong: "a".repeat(64) },
    { path: ["hosts", 0, "hostKey"] },
    { path: ["hosts", 0, "become"], tooLong: "sudo".repeat(9) },
    { path: ["hosts", 0, "role"], tooLong: "primary".repeat(5) },
    { path: ["runAs"], tooLong: "replicated".repeat(4) },
    { path: ["version"], tooLong: `2.${"1".repeat(33)}.0` },
    { path: ["channel"], tooLong: "a".repeat(33) },
    { path: ["images", "registry"] },
    { path: ["images", "helper"] },
    { path: ["airgap", "imagesDir"] },
    { path: ["volumeRoots", 0] },
    { path: ["httpProxy"] },
    { path: ["logLevel"], tooLong: "debug".repeat(7) },
    { path: ["uiBindAddress"], tooLong: "1".repeat(33) },
    { path: ["operations", "supportBundle", "request"], tooLong: "a".repeat(65) },
    { path: ["operations", "snapshot", "request"], tooLong: "a".repeat(65) },
    { path: ["operations", "snapshot", "destination"] },
    { path: ["applications", 0, "name"], tooLong: "a".repeat(64) },
    { path: ["applications", 0, "image"] },
    { path: ["applications", 0, "user"], tooLong: `${"1".repeat(11)}:1` },
];

/** `["hosts", 0, "user"]` → `replicated:hosts[0].user` (as config errors name keys). */
function keyOf(path: Array<string | number>): string {
    return path.reduce<string>((key, part, index) => (typeof part === "number" ? `${key}[${part}]` : index === 0 ? `${key}:${part}` : `${key}.${part}`), "replicated");
}

function setAt(target: Record<string, unknown>, path: Array<string | number>, value: unknown): void {
    let current = target as Record<string | number, unknown>;
    for (const part of path.slice(0, -1)) {
        current = current[part] as Record<string | number, unknown>;
    }
    current[path[path.length - 1]] = value;
}

/** A valid config that sets every field above, pointing at `host` (or at a placeholder). */
function fullConfig(host?: TestHost): Record<string, unknown> {
    const hostPart = host
        ? testHostConfig([host])
        : {
              version: "2.53.2",
              runAs: "replicated",
              sshPrivateKeyPath: "/etc/hostname",
              hosts: [
                  {
                      name: "h1",
                      address: "127.0.0.1",
                      port: 2222,
                      user: "root",
                      become: "none",
                      role: "primary",
                      privateAddress: "10.0.0.2",
                      hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHt0lW8jY2OFo3QhMbo7V1H0Lr1iJ5qk3o1pQ0yTw9nA",
                  },
              ],
          };
    const config = structuredClone(hostPart) as Record<string, unknown>;
    const hosts = config.hosts as Array<Record<string, unknown>>;
    hosts[0].publicAddress = "replicated.example.com";
    return {
        ...config,
        serviceUser: { name: "replicated" },
        channel: "stable",
        images: { registry: "registry.example.com/replicated", helper: "registry.example.com/replicated/replicated-helper:stable-2.53.2" },
        airgap: { imagesDir: "/var/lib/replicated-images" },
        volumeRoots: ["/srv/replicated-volumes"],
        httpProxy: "http://proxy.example.com:3128",
        logLevel: "info",
        uiBindAddress: hosts[0].privateAddress,
        operations: {
            supportBundle: { request: "bundle-1" },
            snapshot: { request: "snapshot-1", destination: "/srv/replicated-snapshots" },
        },
        applications: [{ name: "app-web", image: "registry.example.com/acme/web:1.4.2", user: "1234:1234" }],
    };
}

function valuesFor(field: { tooLong?: string }): Array<[string, string]> {
    const values = Object.entries(HOSTILE);
    return field.tooLong === undefined ? values : [...values, ["over the length limit", field.tooLong]];
}

// ---------------------------------------------------------------------------------------------
// 1. parseConfig, every field x every value

describe("parseConfig refuses hostile values in every field that reaches a host", () => {
    test("the unmodified full config is valid (so each refusal below is caused by the hostile value)", () => {
        assert.doesNotThrow(() => parseConfig(encodeConfig("replicated", fullConfig()), "hosttest", "replicated"));
    });
    for (const field of FIELDS) {
        test(keyOf(field.path), () => {
            for (const [label, value] of valuesFor(field)) {
                const config = fullConfig();
                setAt(config, field.path, value);
                assert.throws(
                    () => parseConfig(encodeConfig("replicated", config), "hosttest", "replicated"),
                    (error: unknown) => error instanceof ConfigError && error.message.includes(keyOf(field.path)),
                    `${keyOf(field.path)} accepted ${label}: ${JSON.stringify(value)}`,
                );
            }
        });
    }
});

// ---------------------------------------------------------------------------------------------
// 2 and 3: on a real host

let hosts: TestHost[] = [];
let host: TestHost;

before(async () => {
    if (!(await hostTierAvailability()).ok) {
        return;
    }
    hosts = await startHosts(1);
    [host] = hosts;
});

after(async () => {
    if (hosts.length > 0) {
        await stopHosts(hosts);
    }
});

async function markersOnHost(): Promise<string> {
    const result = await run(host, "ls -d /tmp/pwned* /root/pwned* /pwned* /home/*/pwned* /var/lib/replicated*/pwned* 2>/dev/null; true");
    return result.stdout.trim();
}

test("positive control: the same program with the valid config runs its host commands (the hook counts them)", async (t) => {
    if (!(await requireHostTier(t))) return;
    const result = await recordOnHosts({ stack: "hosttest", config: testHostConfig([host]) }, [host], {
        scripts: ["account", "directories", "repair-ownership"],
    });
    assert.equal(result.error, undefined, result.error);
    assert.ok(result.commands.length >= 3, `commands seen: ${result.commands.join(", ")}`);
    assert.equal(result.runs.length, 3);
});

test("the program refuses each hostile value in every field at once, before any remote call", async (t) => {
    if (!(await requireHostTier(t))) return;
    const cases = Object.entries(HOSTILE);
    for (let index = 0; index < cases.length; index += 2) {
        const batch = cases.slice(index, index + 2);
        const results = await Promise.all(
            batch.map(([, value]) => {
                const config = fullConfig(host);
                for (const field of FIELDS) {
                    setAt(config, field.path, value);
                }
                return recordOnHosts({ stack: "hosttest", config }, [host], { timeoutMs: 120_000 });
            }),
        );
        batch.forEach(([label], i) => {
            const result = results[i];
            assert.ok(result.error, `${label}: the program must fail`);
            assert.match(result.error, /Invalid configuration for stack "hosttest"/, label);
            for (const field of FIELDS) {
                assert.ok(result.error.includes(keyOf(field.path)), `${label}: the error names ${keyOf(field.path)}`);
            }
            assert.equal(result.commands.length, 0, `${label}: the resolve hook saw no command (${result.commands.join(", ")})`);
            assert.equal(result.runs.length, 0, `${label}: nothing ran on the host`);
        });
    }
    assert.equal(await markersOnHost(), "", "no marker file on the host");
    assert.equal(fs.existsSync(MARKER), false, "no marker file here either");
});

test("the scripts refuse hostile arguments themselves (quoted literally, validated again)", async (t) => {
    if (!(await requireHostTier(t))) return;
    const attempts: Array<[string, string[], RegExp]> = [];
    for (const value of Object.values(HOSTILE)) {
        attempts.push(["account", ["replicated", value, "", "", "false"], /replicated account: invalid user name/]);
        if (value !== "") {
            // An empty uid is valid for account.sh: it means "no pinned uid"; an empty adopt name "adopt nothing".
            attempts.push(["account", ["replicated", "replicated", value, "", "false"], /replicated account: invalid uid/]);
            attempts.push(["account", ["replicated", "replicated", "", value, "false"], /replicated account: the account to adopt/]);
        }
        attempts.push(["account", ["replicated", "replicated", "", "", value], /replicated account: the fifth argument must be true or false/]);
        attempts.push(["account", [value, "replicated", "", "", "false"], /replicated account: mode must be/]);
        attempts.push(["directories", [value, "999", "primary"], /replicated directories: invalid uid/]);
        attempts.push(["directories", ["1017", "999", value], /replicated directories: role must be/]);
        attempts.push(["repair-ownership", ["1017", value], /replicated repair-ownership: invalid gid/]);
    }
    for (const [script, args, expected] of attempts) {
        const invocation = remoteInvocation(loadScript(script), args, "none");
        const result = await run(host, invocation.command, { stdin: invocation.stdin, timeoutMs: 60_000 });
        assert.equal(result.code, 1, `${script} ${JSON.stringify(args)}: exit ${result.code}, stderr ${result.stderr}`);
        assert.match(result.stderr, expected, `${script} ${JSON.stringify(args)}`);
        assert.equal(result.stdout, "", "no summary line for a refused run");
    }
    // The values arrived literally: the refusal quotes the command substitution unexpanded.
    const literal = remoteInvocation(loadScript("account"), ["replicated", HOSTILE["command substitution"], "", "", "false"], "none");
    const shown = await run(host, literal.command, { stdin: literal.stdin });
    assert.ok(shown.stderr.includes(`invalid user name "$(touch ${MARKER})"`), shown.stderr);
    assert.equal(await markersOnHost(), "", "no marker file on the host");
});
