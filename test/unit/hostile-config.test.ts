/**
 * The hostile-input corpus: values an attacker, a typo or a copy-paste puts into a stack, across
 * every field that reaches a host or a container. Each one is evaluated through the real program
 * (index.ts under Pulumi's mocks) and must be refused by the configuration check before a single
 * resource is registered, with a message that names the key and carries a fix, and that never
 * contains a secret value, an environment value or URL credentials.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CONFIG_KEYS, ConfigError, SYSTEM_ACCOUNT_NAMES } from "../../components/config";
import { recordProgramQueued, type RecordedResource } from "../support/mock-recorder";

const ED25519 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHv1QoDMUJG9Vzwh+v7j/6TKXtlqwLDwtc74b6Rt0eOn";
const ECDSA = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBC0hre/yC/N/3KdJyt4O+vDoQMu+ww/OgJh5s9+Q/aWCoHD50ENmKXR3MEPplvgcGd+ZLRgOKuuFe7db2TPGM78=";
const RSA =
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQCUdGDVllDRGlMWl/2AKwVFuuPgGfE6yl2gXV2ygvGrL5lVMFttGk5q8o0jXu4HjuMkWDEcUvaaAx2jtyJAx5qowr7BRsSYCLwKht3IhWCAO5gPKUpFCmdPEjjhNzmtv3iqTHxWhj4OnzWlYpIaMr6Xom3l1xSL0IKpM6WYzEY7mXwKN/DvF8yPNbrRNYHPUsGk0yDEDxIus5Fffg1qXBX+F6GrWdyjjvenRNmS5GAx3kc9WHue89nThsLn4o/5D7H6M/EevUYUOyZi0Yu9r2wL5DvNuJ81OYwbCR9rmA/eJY4Z4yEXHFXyfAFs7PQfLfgEM6ja3kDGyatKa4eW8P3d";
const SSH_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nhostile-corpus-key-material-0123456789\n-----END OPENSSH PRIVATE KEY-----";
const MARKER = "/tmp/pwned";

type Config = Record<string, unknown>;
type Mutation = (config: Config, hosts: Array<Record<string, unknown>>) => void;

interface Case {
    /** The class of attack or mistake (the issue's findings, and plain injection). */
    readonly kind: string;
    readonly description: string;
    readonly mutate: Mutation;
    /** The config key the message must name. */
    readonly key: string;
    /** Keys (without namespace) stored as secrets in this case. Default: sshPrivateKey. */
    readonly secretKeys?: readonly string[];
    /** Values that must never appear in the message. */
    readonly neverShown?: readonly string[];
}

function validConfig(): Config {
    return {
        version: "2.53.2",
        sshPrivateKey: SSH_KEY,
        hosts: [
            { name: "primary-1", address: "10.0.0.11", role: "primary", privateAddress: "10.0.0.11", hostKey: ED25519 },
            { name: "node-1", address: "node-1.example.com", user: "deploy", role: "operator", privateAddress: "10.0.0.12", hostKey: ECDSA },
        ],
        volumeRoots: ["/srv/replicated-volumes"],
    };
}

const cases: Case[] = [];
const add = (kind: string, description: string, key: string, mutate: Mutation, extra: Partial<Case> = {}): void => {
    cases.push({ kind, description, key, mutate, ...extra });
};

// --- every interface under other spellings (finding 3) ---
const WILDCARDS = ["0.0.0.0", "::", "::ffff:0.0.0.0", "0:0:0:0:0:0:0:0", "::0", "0::", "::0.0.0.0"];
for (const address of WILDCARDS) {
    add("wildcard address", `uiBindAddress ${address}`, "replicated:uiBindAddress", (c) => (c.uiBindAddress = address));
    add("wildcard address", `privateAddress ${address}`, "replicated:hosts[0].privateAddress", (_c, h) => (h[0].privateAddress = address));
    add("wildcard address", `privateAddress ${address} even with allowAllInterfaces`, "replicated:hosts[1].privateAddress", (c, h) => {
        c.allowAllInterfaces = true;
        h[1].privateAddress = address;
    });
}
for (const address of ["0.0.0.0", "::", "0::"]) {
    add("wildcard address", `SSH address ${address}`, "replicated:hosts[0].address", (_c, h) => (h[0].address = address));
    add("wildcard address", `publicAddress ${address}`, "replicated:hosts[0].publicAddress", (_c, h) => (h[0].publicAddress = address));
}

// --- existing system and daemon accounts (finding 4) ---
for (const name of ["root", "daemon", "bin", "www-data", "nobody", "sshd", "messagebus", "_apt", "docker", "dockremap", "systemd-network", "systemd-timesync", "postfix", "polkitd"]) {
    assert.ok(name.startsWith("systemd-") || SYSTEM_ACCOUNT_NAMES.includes(name), name);
    add("system account", `serviceUser.name ${name}`, "replicated:serviceUser.name", (c) => (c.serviceUser = { name }));
}
add("system account", "adoptExisting of another name", "replicated:serviceUser.adoptExisting", (c) => (c.serviceUser = { name: "replicated", adoptExisting: "svc" }));

// --- data prefixes: an allow-list, not a deny-list (finding 6) ---
for (const root of ["/var/spool/cron", "/var/lib/dpkg", "/var/lib/sudo", "/var/cache", "/var/backups", "/var/lock", "/opt/volumes", "/mnt/data"]) {
    add("not a data directory", `volume root ${root}`, "replicated:volumeRoots[0]", (c) => (c.volumeRoots = [root]));
}
for (const destination of ["/var/spool/cron/snap", "/var/lib/dpkg/snap", "/var/cache/snap", "/var/backups/snap", "/var/lock/snap", "/srv"]) {
    add("not a data directory", `snapshot destination ${destination}`, "replicated:operations.snapshot.destination", (c) => {
        c.operations = { snapshot: { request: "s1", destination } };
    });
}
for (const prefix of ["/", "/var", "/etc", "/var/lib/replicated", "/tmp"]) {
    add("not a data directory", `data prefix ${prefix}`, "replicated:dataPrefixes[0]", (c) => (c.dataPrefixes = [prefix]));
}

// --- air-gap images from a directory others can write, and image pins (finding 7) ---
for (const imagesDir of ["/var/lib/replicated/tmp", "/var/run/replicated", "/run/replicated/images", "/var/lib/replicated-operator/images", "/tmp/images", "/var/tmp/images", "/dev/shm/images", "/srv/replicated-volumes/images", "/"]) {
    add("writable images directory", `imagesDir ${imagesDir}`, "replicated:airgap.imagesDir", (c) => (c.airgap = { imagesDir }));
}
for (const pin of ["sha256:abc", "md5:0123456789abcdef0123456789abcdef", "latest", `sha256:${"A".repeat(64)}`, "0".repeat(64), `sha256:${"0".repeat(63)}g`]) {
    add("bad image pin", `pin ${pin}`, "replicated:images.pins.replicated-helper", (c) => (c.images = { pins: { "replicated-helper": pin } }));
}
add("bad image pin", "pin of an image nothing runs", "replicated:images.pins.replicated-mystery", (c) => (c.images = { pins: { "replicated-mystery": `sha256:${"1".repeat(64)}` } }));
add("bad image pin", "digest helper in air-gap mode", "replicated:images.helper", (c) => {
    c.airgap = { imagesDir: "/var/lib/replicated-images" };
    c.images = { helper: `quay.io/replicated/replicated-helper@sha256:${"2".repeat(64)}` };
});

// --- secrets never echoed (finding 8) ---
for (const [index, proxy] of ["http://alice:s3cr3t-pass@proxy.example.com:3128", "https://bob:hunter2-pass@proxy:8443", "http://tok3n-only-user@proxy.example.com", "http://u:p%40ss-word@proxy:3128", "https://admin:correct-horse@10.0.0.5:3128/"].entries()) {
    const secret = proxy.replace(/^https?:\/\//, "").split("@")[0];
    const parts = [secret, ...secret.split(":")].filter((part) => part.length >= 4);
    add("secret in a message", `httpProxy with credentials #${index}`, "replicated:httpProxy", (c) => (c.httpProxy = proxy), { neverShown: parts });
}
for (const [index, value] of ["db-password-value-1", "AKIAexamplekeyvalue2", "tok_3xample_value", "p@ss w0rd value", "x".repeat(40)].entries()) {
    add("secret in a message", `env value with an invalid name #${index}`, "replicated:applications[0].env", (c) => {
        c.applications = [{ name: "web", image: "registry.example.com/web:1.0", user: "1234:1234", env: { "BAD NAME": value } }];
    }, { neverShown: [value] });
    add("secret in a message", `env value with a newline #${index}`, "replicated:applications[0].env.SECRET", (c) => {
        c.applications = [{ name: "web", image: "registry.example.com/web:1.0", user: "1234:1234", env: { SECRET: `${value}\n` } }];
    }, { neverShown: [value] });
}
for (const [index, secretKey] of (["hosts", "uiBindAddress", "httpProxy", "images", "serviceUser"] as const).entries()) {
    // The same key set with --secret: its value is never quoted, not even by cross-field rules.
    const mutate: Mutation = {
        hosts: (_c: Config, h: Array<Record<string, unknown>>) => {
            h[1].name = "primary-1";
            h[1].address = "secret-host-name.internal";
        },
        uiBindAddress: (c: Config) => (c.uiBindAddress = "0:0:0:0:0:0:0:0"),
        httpProxy: (c: Config) => (c.httpProxy = "ftp://secret-proxy-host.internal"),
        images: (c: Config) => (c.images = { registry: "secret-registry.internal:99999/x" }),
        serviceUser: (c: Config) => (c.serviceUser = { name: "secret-svc-name", adoptExisting: "other-secret-name" }),
    }[secretKey];
    const shown = { hosts: "secret-host-name.internal", uiBindAddress: "0:0:0:0:0:0:0:0", httpProxy: "secret-proxy-host.internal", images: "secret-registry.internal", serviceUser: "secret-svc-name" }[secretKey];
    add("secret in a message", `a bad value of ${secretKey} set as a secret #${index}`, `replicated:${secretKey}`, mutate, { secretKeys: ["sshPrivateKey", secretKey], neverShown: [shown] });
}
add("secret in a message", "the SSH key stored in plain text", "replicated:sshPrivateKey", () => undefined, { secretKeys: [], neverShown: [SSH_KEY, "hostile-corpus-key-material"] });

// --- numeric, octal and hex host addresses (finding 10) ---
for (const address of ["2130706433", "0x7f.1", "10.0.0.011", "0x7f000001", "017700000001", "127.1", "0177.0.0.1", "10.0x0.0.1"]) {
    add("numeric address", `SSH address ${address}`, "replicated:hosts[0].address", (_c, h) => (h[0].address = address));
    add("numeric address", `private address ${address}`, "replicated:hosts[1].privateAddress", (_c, h) => (h[1].privateAddress = address));
}

// --- host keys that are not keys, and ssh-rsa (findings 10; issue 12 item 5) ---
for (const [index, key] of [
    "ssh-ed25519 AAAA",
    `ssh-ed25519 ${Buffer.from("hello world, this is not a key").toString("base64")}`,
    `ssh-ed25519 ${ECDSA.split(" ")[1]}`,
    `ecdsa-sha2-nistp256 ${ED25519.split(" ")[1]}`,
    `ecdsa-sha2-nistp256 ${ECDSA.split(" ")[1].slice(0, 60)}`,
    `ssh-dss ${ED25519.split(" ")[1]}`,
    `${ED25519} user@host`,
].entries()) {
    add("invalid host key", `host key #${index}`, "replicated:hosts[0].hostKey", (_c, h) => (h[0].hostKey = key));
}
add("invalid host key", "an ssh-rsa key", "replicated:hosts[1].hostKey", (_c, h) => (h[1].hostKey = RSA));

// --- versions the host would refuse (finding 10) ---
for (const version of ["2.053.2", "2.53.02", "02.53.2", "2.0053.1", "2.53.002", "2.5.3.1", "2.53"]) {
    add("version", `version ${version}`, "replicated:version", (c) => (c.version = version));
}

// --- ports above 65535 (finding 10) ---
for (const registry of ["registry.example.com:65536/replicated", "registry.example.com:99999", "registry.example.com:0/r", "10.0.0.5:70000/x"]) {
    add("port out of range", `registry ${registry}`, "replicated:images.registry", (c) => (c.images = { registry }));
}
for (const proxy of ["http://proxy.example.com:65536", "http://proxy:70000/", "https://proxy:0", "http://proxy:99999"]) {
    add("port out of range", `httpProxy ${proxy}`, "replicated:httpProxy", (c) => (c.httpProxy = proxy));
}

// --- carriage returns in values that reach a container (finding 10) ---
for (const [index, value] of ["a\rb", "\r", "value\r", "\rinjected=1", "x\r\ny"].entries()) {
    add("carriage return", `env value #${index}`, "replicated:applications[0].env.LEVEL", (c) => {
        c.applications = [{ name: "web", image: "registry.example.com/web:1.0", user: "1234:1234", env: { LEVEL: value } }];
    });
}
add("carriage return", "command element", "replicated:applications[0].command[1]", (c) => {
    c.applications = [{ name: "web", image: "registry.example.com/web:1.0", user: "1234:1234", command: ["/bin/web", "--x\r"] }];
});
add("carriage return", "healthcheck", "replicated:applications[0].healthcheck", (c) => {
    c.applications = [{ name: "web", image: "registry.example.com/web:1.0", user: "1234:1234", healthcheck: "true\rtouch /tmp/x" }];
});

// --- shell injection into every string field that reaches a host or a container ---
const INJECTIONS = [`a;touch ${MARKER}`, `$(touch ${MARKER})`, `\`touch ${MARKER}\``, `a\ntouch ${MARKER}`, `a'; touch ${MARKER}; echo '`, "-rf", "..", "replicаted"];
const setAt = (config: Config, path: Array<string | number>, value: unknown): void => {
    let holder = config as Record<string | number, unknown>;
    path.slice(0, -1).forEach((part, index) => {
        holder[part] ??= typeof path[index + 1] === "number" ? [] : {};
        holder = holder[part] as Record<string | number, unknown>;
    });
    holder[path[path.length - 1]] = value;
};
const STRING_FIELDS: Array<Array<string | number>> = [
    ["serviceUser", "name"],
    ["hosts", 0, "name"],
    ["hosts", 0, "user"],
    ["hosts", 0, "address"],
    ["hosts", 0, "privateAddress"],
    ["hosts", 0, "hostKey"],
    ["channel"],
    ["images", "registry"],
    ["images", "helper"],
    ["airgap", "imagesDir"],
    ["volumeRoots", 0],
    ["dataPrefixes", 0],
    ["operations", "supportBundle", "request"],
    ["operations", "snapshot", "destination"],
];
for (const field of STRING_FIELDS) {
    for (const value of INJECTIONS) {
        const key = `replicated:${field.map((part, index) => (typeof part === "number" ? `[${part}]` : index === 0 ? part : `.${part}`)).join("")}`;
        add("shell injection", `${field.join(".")} = ${JSON.stringify(value)}`, key, (c) => {
            if (field[0] === "operations" && field[1] === "snapshot") {
                c.operations = { snapshot: { request: "s1", destination: "/srv/snapshots" } };
            }
            setAt(c, field, value);
        });
    }
}

// ---------------------------------------------------------------------------------------------

interface Outcome {
    readonly problems: readonly string[];
    readonly message: string;
    readonly registered: RecordedResource[];
}

/** Evaluate index.ts with `config` under mocks; the program must fail with a ConfigError. */
async function evaluate(config: Config, secretKeys: readonly string[]): Promise<Outcome> {
    const registered: RecordedResource[] = [];
    try {
        await recordProgramQueued({ stack: "hostile", config, secretKeys, sdkStackTraces: false, onRegister: (resource) => registered.push(resource) });
    } catch (err) {
        assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
        return { problems: err.problems, message: err.message, registered };
    }
    assert.fail("the program accepted the configuration");
}

describe("the hostile-input corpus is refused before any resource is registered", () => {
    test(`the corpus has at least 150 values, at least 5 in every class (${cases.length})`, () => {
        assert.ok(cases.length >= 150, `${cases.length} cases`);
        const perKind = new Map<string, number>();
        for (const c of cases) {
            perKind.set(c.kind, (perKind.get(c.kind) ?? 0) + 1);
        }
        for (const [kind, count] of perKind) {
            assert.ok(count >= 5, `${kind}: ${count} values`);
        }
    });

    for (const c of cases) {
        test(`${c.kind}: ${c.description}`, async () => {
            const config = validConfig();
            c.mutate(config, config.hosts as Array<Record<string, unknown>>);
            const outcome = await evaluate(config, c.secretKeys ?? ["sshPrivateKey"]);
            const resources = outcome.registered.filter((r) => r.type !== "pulumi:pulumi:Stack");
            assert.deepEqual(resources.map((r) => `${r.type} ${r.name}`), [], "no resource is registered");
            const naming = outcome.problems.filter((problem) => problem.startsWith(c.key));
            assert.ok(naming.length > 0, `no problem names ${c.key}:\n${outcome.problems.join("\n")}`);
            assert.ok(naming.every((problem) => problem.includes("Fix:")), `every message carries a fix:\n${naming.join("\n")}`);
            for (const secret of [SSH_KEY, ...(c.neverShown ?? [])]) {
                assert.ok(!outcome.message.includes(secret), `the message shows ${JSON.stringify(secret)}:\n${outcome.message}`);
            }
        });
    }
});

describe("no error message ever contains a secret value", () => {
    test("every key, set as a secret with a bad value, is reported without its value", async () => {
        // sshPrivateKey accepts any text (its plain-text storage is a case above).
        for (const key of CONFIG_KEYS.filter((name) => name !== "sshPrivateKey")) {
            const marker = `Secret-Marker-${key}-Value-0123`;
            const config = validConfig();
            // A string no key accepts as it is: upper case, spaces, not JSON, not a number.
            config[key] = key === "hosts" ? [{ ...(config.hosts as object[])[0], name: marker }] : `${marker} !`;
            const outcome = await evaluate(config, ["sshPrivateKey", key]);
            assert.ok(outcome.problems.some((problem) => problem.startsWith(`replicated:${key}`)), `${key} is reported:\n${outcome.message}`);
            assert.ok(!outcome.message.includes(marker), `${key}: the message shows the secret value:\n${outcome.message}`);
        }
    });
});

describe("the container spec refuses every spelling of the wildcard too (defence in depth behind the config)", () => {
    test("a port bound to any unspecified address needs allowAllInterfaces", async () => {
        const { containerSpec, ContainerSpecError } = await import("../../components/docker/container-spec");
        for (const ip of WILDCARDS) {
            const definition = {
                name: "replicated-ui",
                mounts: [],
                env: {},
                ports: [{ internal: 8800, external: 8800, ip, protocol: "tcp" as const }],
                memoryMb: 512,
                cpuShares: 512,
                healthcheck: "true",
            };
            const context = { stack: "s", hostName: "h", uid: 1017, dockerGid: 999, image: "sha256:0", network: "replicated" };
            assert.throws(() => containerSpec(definition, context), (err: unknown) => err instanceof ContainerSpecError && /every interface/.test(String(err)), ip);
            assert.doesNotThrow(() => containerSpec(definition, { ...context, allowAllInterfaces: true }), ip);
        }
    });
});
