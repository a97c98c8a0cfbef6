/**
 * Stack config validation: defaults, freezing, and every class of bad input failing before any
 * resource is registered, with one message that names each bad key and an example fix.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { ConfigError, parseConfig, type ReplicatedConfig } from "../../components/config";
import { encodeConfig } from "../support/mock-recorder";
import { fixtureKeyFile } from "../support/stacks";

const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHt0lW8jY2OFo3QhMbo7V1H0Lr1iJ5qk3o1pQ0yTw9nA";

function validConfig(): Record<string, unknown> {
    return {
        version: "2.53.2",
        sshPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----",
        hosts: [
            { name: "primary-1", address: "10.0.0.11", role: "primary", privateAddress: "10.0.0.11", hostKey: HOST_KEY },
            { name: "node-1", address: "node-1.example.com", user: "deploy", role: "operator", privateAddress: "10.0.0.12", hostKey: HOST_KEY },
        ],
    };
}

function parse(config: Record<string, unknown>, stack = "customer"): ReplicatedConfig {
    return parseConfig(encodeConfig("replicated", config), stack, "replicated", { secretKeys: ["replicated:sshPrivateKey"] });
}

function problemsOf(config: Record<string, unknown>, stack = "customer"): string[] {
    try {
        parse(config, stack);
    } catch (err) {
        assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
        return [...err.problems];
    }
    assert.fail("expected the config to be rejected");
}

/** Apply `mutate` to a fresh valid config. */
function variant(mutate: (config: Record<string, unknown>, hosts: Array<Record<string, unknown>>) => void): Record<string, unknown> {
    const config = validConfig();
    mutate(config, config.hosts as Array<Record<string, unknown>>);
    return config;
}

describe("a valid config", () => {
    test("gets defaults, a frozen result and the derived fields", () => {
        const config = parse(validConfig());
        assert.equal(config.channel, "stable");
        assert.equal(config.runAs, "replicated");
        assert.equal(config.serviceUser.name, "replicated");
        assert.equal(config.serviceUser.uid, undefined);
        assert.equal(config.uiPort, 8800);
        assert.equal(config.uiBindAddress, "10.0.0.11", "UI binds to the primary's private address by default");
        assert.equal(config.images.registry, "quay.io/replicated");
        assert.deepEqual({ ...config.sidecars }, { statsd: true, premkit: true });
        assert.equal(config.hosts[0].port, 22);
        assert.equal(config.hosts[0].user, "root");
        assert.equal(config.hosts[0].become, "none", "root logs in directly");
        assert.equal(config.hosts[1].become, "sudo", "a non-root user escalates with sudo by default");
        assert.equal(config.primary.name, "primary-1");
        assert.ok(Object.isFrozen(config) && Object.isFrozen(config.hosts) && Object.isFrozen(config.hosts[0]));
        assert.throws(() => {
            (config.hosts as unknown as HostMutable[])[0].address = "evil";
        }, TypeError);
    });

    test("the dev stack may omit hostKey", () => {
        const config = parse(
            variant((_c, hosts) => hosts.forEach((host) => delete host.hostKey)),
            "dev",
        );
        assert.equal(config.hosts[0].hostKey, undefined);
    });

    test("sshPrivateKeyPath is read into a secret", () => {
        const config = parse(
            variant((c) => {
                delete c.sshPrivateKey;
                c.sshPrivateKeyPath = fixtureKeyFile();
            }),
        );
        assert.equal(config.ssh.path, fixtureKeyFile());
    });

    test("uid 65534 is accepted with the explicit opt-in", () => {
        const config = parse(variant((c) => (c.serviceUser = { uid: 65534, allowNobodyUid: true })));
        assert.equal(config.serviceUser.uid, 65534);
    });
});

type HostMutable = { address: string };

/** [description, config mutation, key the message must name, fragment it must contain] */
const BAD_INPUTS: Array<[string, (c: Record<string, unknown>, h: Array<Record<string, unknown>>) => void, string, string]> = [
    ["no primary", (_c, h) => (h[0].role = "operator"), "replicated:hosts", 'exactly one host must have role "primary", found 0'],
    ["two primaries", (_c, h) => (h[1].role = "primary"), "replicated:hosts", "found 2"],
    ["duplicate host names", (_c, h) => (h[1].name = "primary-1"), "replicated:hosts[1].name", "duplicate host name"],
    ["no hosts at all", (c) => delete c.hosts, "replicated:hosts", "is required"],
    ["empty host list", (c) => (c.hosts = []), "replicated:hosts", "at least one host"],
    ["uid 0", (c) => (c.serviceUser = { uid: 0 }), "replicated:serviceUser.uid", "0 is root"],
    ["uid 65534 without opt-in", (c) => (c.serviceUser = { uid: 65534 }), "replicated:serviceUser.uid", "allowNobodyUid"],
    ["uid above 2^31-2", (c) => (c.serviceUser = { uid: 2 ** 31 - 1 }), "replicated:serviceUser.uid", "at most 2147483646"],
    ["fractional uid", (c) => (c.serviceUser = { uid: 1.5 }), "replicated:serviceUser.uid", "integer"],
    ["user name with ;", (c) => (c.serviceUser = { name: "a;touch /tmp/pwned" }), "replicated:serviceUser.name", "^[a-z_]"],
    ["user name with $(id)", (c) => (c.serviceUser = { name: "$(id)" }), "replicated:serviceUser.name", "^[a-z_]"],
    ["user name with a newline", (c) => (c.serviceUser = { name: "repl\nicated" }), "replicated:serviceUser.name", "^[a-z_]"],
    ["user name of 33 characters", (c) => (c.serviceUser = { name: "a".repeat(33) }), "replicated:serviceUser.name", "^[a-z_]"],
    ["user name all digits", (c) => (c.serviceUser = { name: "1234" }), "replicated:serviceUser.name", "all digits"],
    ["user name with a Cyrillic look-alike", (c) => (c.serviceUser = { name: "replicаted" }), "replicated:serviceUser.name", "^[a-z_]"],
    ["SSH user with a leading dash", (_c, h) => (h[1].user = "-oProxyCommand=x"), "replicated:hosts[1].user", "^[a-z_]"],
    ["relative imagesDir", (c) => (c.airgap = { imagesDir: "images" }), "replicated:airgap.imagesDir", "absolute path"],
    ["imagesDir with ..", (c) => (c.airgap = { imagesDir: "/var/lib/../etc" }), "replicated:airgap.imagesDir", "'..'"],
    ["imagesDir with a space and ;", (c) => (c.airgap = { imagesDir: "/var/x;rm -rf /" }), "replicated:airgap.imagesDir", "absolute path"],
    ["port 0", (_c, h) => (h[0].port = 0), "replicated:hosts[0].port", "between 1 and 65535"],
    ["port 70000", (_c, h) => (h[0].port = 70000), "replicated:hosts[0].port", "between 1 and 65535"],
    ["uiPort 70000", (c) => (c.uiPort = 70000), "replicated:uiPort", "between 1 and 65535"],
    ["uiPort not a number", (c) => (c.uiPort = "http"), "replicated:uiPort", "must be an integer"],
    ["unknown runAs", (c) => (c.runAs = "admin"), "replicated:runAs", '"replicated" or "root"'],
    ["unknown role", (_c, h) => (h[1].role = "worker"), "replicated:hosts[1].role", '"primary" or "operator"'],
    ["unknown become", (_c, h) => (h[1].become = "su"), "replicated:hosts[1].become", '"sudo" or "none"'],
    ["non-root user without become", (_c, h) => (h[1].become = "none"), "replicated:hosts[1].become", "needs become: sudo"],
    ["missing hostKey on a customer stack", (_c, h) => delete h[1].hostKey, "replicated:hosts[1].hostKey", "required outside"],
    ["malformed hostKey", (_c, h) => (h[0].hostKey = "ssh-ed25519 AAAA; rm -rf /"), "replicated:hosts[0].hostKey", "public host key"],
    ["both key sources", (c) => (c.sshPrivateKeyPath = "/root/.ssh/id_ed25519"), "replicated:sshPrivateKey", "exactly one"],
    ["no key source", (c) => delete c.sshPrivateKey, "replicated:sshPrivateKey", "neither is set"],
    ["key file that does not exist", (c) => { delete c.sshPrivateKey; c.sshPrivateKeyPath = "/nonexistent/id_ed25519"; }, "replicated:sshPrivateKeyPath", "cannot read"],
    ["key path with ..", (c) => { delete c.sshPrivateKey; c.sshPrivateKeyPath = "../keys/id"; }, "replicated:sshPrivateKeyPath", "'..'"],
    ["private address that is a host name", (_c, h) => (h[0].privateAddress = "primary.local"), "replicated:hosts[0].privateAddress", "IPv4 or IPv6"],
    ["address with a shell metacharacter", (_c, h) => (h[0].address = "10.0.0.1;id"), "replicated:hosts[0].address", "host name or an IP"],
    ["host name with upper case and _", (_c, h) => (h[0].name = "Primary_1"), "replicated:hosts[0].name", "DNS label"],
    ["UI on 0.0.0.0 without allowAllInterfaces", (c) => (c.uiBindAddress = "0.0.0.0"), "replicated:uiBindAddress", "allowAllInterfaces"],
    ["version that is not 2.x", (c) => (c.version = "3.0.0"), "replicated:version", "2.<minor>.<patch>"],
    ["missing version", (c) => delete c.version, "replicated:version", "is required"],
    ["channel with a slash", (c) => (c.channel = "stable/../x"), "replicated:channel", "must match"],
    ["unknown top-level key", (c) => (c.sidecar = { statsd: false }), "replicated:sidecar", "unknown key"],
    ["unknown nested key", (_c, h) => (h[0].hostkey = HOST_KEY), "replicated:hosts[0].hostkey", "unknown key"],
    ["sidecar flag that is not a boolean", (c) => (c.sidecars = { statsd: "yes" }), "replicated:sidecars.statsd", "true or false"],
    ["proxy that is not a URL", (c) => (c.httpProxy = "proxy:3128"), "replicated:httpProxy", "http(s)://"],
    ["registry with a shell metacharacter", (c) => (c.images = { registry: "quay.io/$(id)" }), "replicated:images.registry", "registry host"],
    ["request id with a space", (c) => (c.operations = { supportBundle: { request: "a b" } }), "replicated:operations.supportBundle.request", "must match"],
    ["volume outside the allowed roots", (c) => { c.volumeRoots = ["/srv/volumes"]; c.operations = { volumes: { request: "v1", items: [{ path: "/etc/app", owner: 1234, group: 1234, mode: "0700" }] } }; }, "replicated:operations.volumes.items[0].path", "not below an allowed root"],
    ["volume path with ..", (c) => { c.volumeRoots = ["/srv/volumes"]; c.operations = { volumes: { request: "v1", items: [{ path: "/srv/volumes/../etc", owner: 1, group: 1, mode: "0700" }] } }; }, "replicated:operations.volumes.items[0].path", "'..'"],
    ["volume mode with setuid", (c) => { c.volumeRoots = ["/srv/volumes"]; c.operations = { volumes: { request: "v1", items: [{ path: "/srv/volumes/a", owner: 1, group: 1, mode: "4755" }] } }; }, "replicated:operations.volumes.items[0].mode", "octal mode"],
    ["volume root that is a system path", (c) => (c.volumeRoots = ["/"]), "replicated:volumeRoots[0]", "system or Replicated path"],
    ["volume root inside /etc", (c) => (c.volumeRoots = ["/etc/app"]), "replicated:volumeRoots[0]", "system or Replicated path"],
    ["snapshot into Replicated's own state", (c) => (c.operations = { snapshot: { request: "s1", destination: "/var/lib/replicated/snap" } }), "replicated:operations.snapshot.destination", "system or Replicated path"],
];

describe("bad input is rejected with a message naming the key", () => {
    for (const [description, mutate, key, fragment] of BAD_INPUTS) {
        test(description, () => {
            const problems = problemsOf(variant(mutate));
            const naming = problems.filter((problem) => problem.startsWith(key));
            assert.ok(naming.length > 0, `no problem names ${key}:\n${problems.join("\n")}`);
            assert.ok(
                naming.some((problem) => problem.includes(fragment)),
                `no message for ${key} contains ${JSON.stringify(fragment)}:\n${naming.join("\n")}`,
            );
            assert.ok(
                naming.every((problem) => problem.includes("Fix:")),
                `every message carries an example fix:\n${naming.join("\n")}`,
            );
        });
    }

    test(`covers at least 25 bad inputs (${BAD_INPUTS.length})`, () => {
        assert.ok(BAD_INPUTS.length >= 25);
    });

    test("several bad keys are reported together in ONE error", () => {
        const config = variant((c, h) => {
            c.runAs = "admin";
            h[0].port = 0;
            c.serviceUser = { uid: 0, name: "$(id)" };
        });
        let message = "";
        try {
            parse(config);
        } catch (err) {
            message = (err as Error).message;
        }
        for (const key of ["replicated:runAs", "replicated:hosts[0].port", "replicated:serviceUser.uid", "replicated:serviceUser.name"]) {
            assert.ok(message.includes(key), `${key} missing from:\n${message}`);
        }
        assert.match(message, /^Invalid configuration for stack "customer" \(\d+ problems\):/);
    });

    test("a secret value is never echoed in an error", () => {
        const secret = "super-secret-key-material";
        // A valid key stored in plain text is flagged without echoing it.
        const plain = (() => {
            try {
                parseConfig(encodeConfig("replicated", variant((c) => (c.sshPrivateKey = secret))), "customer", "replicated", { secretKeys: [] });
            } catch (err) {
                return (err as Error).message;
            }
            return "";
        })();
        assert.match(plain, /replicated:sshPrivateKey: is stored in plain text/);
        assert.ok(!plain.includes(secret));
    });
});
