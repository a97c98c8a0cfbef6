/**
 * Pulumi.yaml passes the Pulumi CLI's own config rules for every stack in stacks/ and for minimal
 * stacks that set only the required keys, and the defaults the CLI inserts change nothing the
 * program sees. The rules are modelled in test/support/cli-config-rules.ts from pulumi/pulumi
 * v3.248.0 `sdk/go/common/workspace/config.go` (mergeConfig, validateStackConfigValues) and
 * `project.go` (Project.Validate, ValidateConfigValue); the CLI applies them before the program
 * runs, so a stack they refuse never reaches components/config/.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import { parse } from "yaml";
import { CONFIG_KEYS, parseConfig, type ReplicatedConfig } from "../../components/config";
import {
    loadProjectConfig,
    mergeConfig,
    programConfig,
    stackConfigFromYaml,
    stackValueFromYaml,
    type ConfigTypeDeclaration,
    type ProjectConfig,
    type StackConfig,
} from "../support/cli-config-rules";
import { PROJECT_DIR, STACKS_DIR, fixtureKeyFile, stackNames } from "../support/stacks";

const PROJECT_FILE_TEXT = fs.readFileSync(path.join(PROJECT_DIR, "Pulumi.yaml"), "utf8");
const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHt0lW8jY2OFo3QhMbo7V1H0Lr1iJ5qk3o1pQ0yTw9nA";
const KEY_TEXT = "-----BEGIN OPENSSH PRIVATE KEY-----\nunit-test-fixture\n-----END OPENSSH PRIVATE KEY-----\n";

/** Keys the program treats as optional with no default: the CLI cannot declare them (mergeConfig would demand them). */
const OPTIONAL_WITHOUT_DEFAULT = ["sshPrivateKey", "sshPrivateKeyPath", "uiBindAddress", "airgap", "httpProxy"];

interface StackCase {
    readonly name: string;
    /** The `config:` map of the stack file (full keys). */
    readonly config: Record<string, unknown>;
}

function stackFileCase(stack: string): StackCase {
    const doc = (parse(fs.readFileSync(path.join(STACKS_DIR, `Pulumi.${stack}.yaml`), "utf8")) ?? {}) as { config?: Record<string, unknown> };
    return { name: stack, config: doc.config ?? {} };
}

/** The least a stack must set: the version, one host with its pinned key, and one login key. */
const MINIMAL_HOSTS = [{ name: "host-1", address: "10.0.0.11", role: "primary", privateAddress: "10.0.0.11", hostKey: HOST_KEY }];
const MINIMAL_WITH_KEY_PATH: StackCase = {
    name: "minimal",
    config: { "replicated:version": "2.53.2", "replicated:hosts": MINIMAL_HOSTS, "replicated:sshPrivateKeyPath": "~/.ssh/id_ed25519" },
};
/** A secret as `pulumi config set --secret` stores it; the model's "ciphertext" is the plaintext. */
const MINIMAL_WITH_SECRET_KEY: StackCase = {
    name: "minimal",
    config: { "replicated:version": "2.53.2", "replicated:hosts": MINIMAL_HOSTS, "replicated:sshPrivateKey": { secure: KEY_TEXT } },
};

const CASES: StackCase[] = [...stackNames().map(stackFileCase), MINIMAL_WITH_KEY_PATH, MINIMAL_WITH_SECRET_KEY];
const caseLabel = (c: StackCase): string =>
    c === MINIMAL_WITH_KEY_PATH ? "minimal stack (sshPrivateKeyPath)" : c === MINIMAL_WITH_SECRET_KEY ? "minimal stack (secret sshPrivateKey)" : `stack ${c.name}`;

function project(): ProjectConfig {
    return loadProjectConfig(parse(PROJECT_FILE_TEXT));
}

function stackConfig(c: StackCase): StackConfig {
    return stackConfigFromYaml(c.config);
}

/**
 * The program's view of a raw config: parsed by components/config/, with the key file
 * replaced by the fixture (stack files point at operators' keys) and the key contents (an
 * Output) left out of the comparison.
 */
function programView(raw: Record<string, string>, stack: string, secretKeys: string[]): unknown {
    const withFixtureKey = { ...raw };
    if (withFixtureKey["replicated:sshPrivateKeyPath"] !== undefined) {
        withFixtureKey["replicated:sshPrivateKeyPath"] = fixtureKeyFile();
    }
    const config: ReplicatedConfig = parseConfig(withFixtureKey, stack, "replicated", { secretKeys, projectDir: PROJECT_DIR });
    const { ssh, ...rest } = config;
    return JSON.parse(JSON.stringify({ ...rest, sshKeyPath: ssh.path }));
}

/** The program's view of a stack without the CLI's defaults and with them. */
function viewsWithAndWithoutDefaults(c: StackCase, schema: ProjectConfig): { plain: unknown; merged: unknown } {
    const stack = stackConfig(c);
    const secretKeys = [...stack].filter(([, value]) => value.secure).map(([key]) => key);
    return {
        plain: programView(programConfig(stack), c.name, secretKeys),
        merged: programView(programConfig(mergeConfig(c.name, schema, stack)), c.name, secretKeys),
    };
}

function withDeclaration(schema: ProjectConfig, key: string, declaration: ConfigTypeDeclaration): ProjectConfig {
    return { ...schema, config: { ...schema.config, [key]: declaration } };
}

describe("Pulumi.yaml under the Pulumi CLI's rules", () => {
    test("loads: attributes, types and defaults as project.json and Project.Validate require", () => {
        const schema = project();
        assert.equal(schema.name, "replicated");
        for (const [key, declaration] of Object.entries(schema.config)) {
            assert.ok(declaration.type !== undefined, `${key} declares a type the CLI checks`);
            assert.ok((declaration.description ?? "").length > 20, `${key} has a description`);
            assert.notEqual(declaration.secret, true, `${key}: a secret key would need a value in every stack (no default may be given)`);
        }
    });

    for (const c of CASES) {
        test(`${caseLabel(c)}: mergeConfig finds no missing key and every value has the declared type`, () => {
            assert.doesNotThrow(() => mergeConfig(c.name, project(), stackConfig(c)));
        });
    }

    for (const c of CASES) {
        test(`${caseLabel(c)}: the defaults the CLI inserts change nothing the program sees`, () => {
            const { plain, merged } = viewsWithAndWithoutDefaults(c, project());
            assert.deepEqual(merged, plain);
        });
    }

    test("each default is the program's own default for that key", () => {
        const schema = project();
        const base = stackConfig(MINIMAL_WITH_SECRET_KEY);
        const secretKeys = ["replicated:sshPrivateKey"];
        const plain = programView(programConfig(base), "minimal", secretKeys);
        const defaulted = Object.entries(schema.config).filter(([, declaration]) => declaration.default !== undefined);
        assert.ok(defaulted.length >= 10, "the schema declares its defaults");
        for (const [key, declaration] of defaulted) {
            const single = withDeclaration({ ...schema, config: {} }, key, declaration);
            const merged = mergeConfig("minimal", single, base);
            assert.ok(merged.has(`replicated:${key}`), `${key}: the CLI inserts its default`);
            assert.deepEqual(programView(programConfig(merged), "minimal", secretKeys), plain, `${key}: default ${JSON.stringify(declaration.default)}`);
        }
    });

    test("declares every program key that is required or has a default; the others are listed in its comment", () => {
        const declared = Object.keys(project().config);
        assert.deepEqual([...declared].sort(), CONFIG_KEYS.filter((key) => !OPTIONAL_WITHOUT_DEFAULT.includes(key)).sort());
        const comment = PROJECT_FILE_TEXT.split("\nconfig:")[0];
        for (const key of OPTIONAL_WITHOUT_DEFAULT) {
            assert.match(comment, new RegExp(`^#\\s+${key}\\s`, "m"), `${key} is described in Pulumi.yaml's comment`);
        }
    });

    test("an optional key without a default cannot be declared: some stack would then miss it", () => {
        for (const key of OPTIONAL_WITHOUT_DEFAULT) {
            const schema = withDeclaration(project(), key, { type: key === "airgap" ? "object" : "string", description: "optional" });
            const refusedBy = CASES.filter((c) => {
                try {
                    mergeConfig(c.name, schema, stackConfig(c));
                    return false;
                } catch (err) {
                    return new RegExp(`is missing configuration values? .*'${key}'`).test((err as Error).message);
                }
            });
            assert.ok(refusedBy.length > 0, `${key}: declaring it makes the CLI refuse a stack`);
        }
    });
});

describe("the rules refuse what the CLI refuses", () => {
    test("the schema as it was (every key declared, none with a default) refuses every stack, naming each key it does not set", () => {
        // With the 20 keys of that schema, dev missed 13 and acme-online 11.
        const every: ProjectConfig = { name: "replicated", config: Object.fromEntries(CONFIG_KEYS.map((key) => [key, { description: key }])) };
        for (const c of CASES) {
            const unset = CONFIG_KEYS.filter((key) => !(`replicated:${key}` in c.config)).sort();
            let message = "accepted";
            try {
                mergeConfig(c.name, every, stackConfig(c));
            } catch (err) {
                message = (err as Error).message;
            }
            const listed = [...(message.split(" is missing configuration values ")[1] ?? "").matchAll(/'([A-Za-z]+)'/g)].map((m) => m[1]);
            assert.deepEqual(listed, unset, caseLabel(c));
        }
    });

    test("a secret key with a default: the default is inserted in plain text and validation demands encryption", () => {
        const schema = withDeclaration(project(), "sshPrivateKey", { type: "string", secret: true, default: "none", description: "key" });
        assert.throws(() => mergeConfig("dev", schema, stackConfig(stackFileCase("dev"))), /'sshPrivateKey' must be encrypted as it's secret/);
        const secretOnly = withDeclaration({ name: "replicated", config: {} }, "sshPrivateKey", { type: "string", secret: true });
        assert.throws(() => mergeConfig("x", secretOnly, stackConfigFromYaml({ "replicated:sshPrivateKey": KEY_TEXT })), /must be encrypted/);
        assert.doesNotThrow(() => mergeConfig("x", secretOnly, stackConfigFromYaml({ "replicated:sshPrivateKey": { secure: KEY_TEXT } })));
    });

    test("an empty-string default for sshPrivateKeyPath breaks the exactly-one-of rule for a secret-key stack", () => {
        const schema = withDeclaration(project(), "sshPrivateKeyPath", { type: "string", default: "", description: "path" });
        assert.throws(() => viewsWithAndWithoutDefaults(MINIMAL_WITH_SECRET_KEY, schema), /set exactly one of them \(both are set\)/);
    });

    test("a default that differs from the program's changes what the program sees", () => {
        const schema = withDeclaration(project(), "uiPort", { type: "integer", default: 8080, description: "port" });
        const { plain, merged } = viewsWithAndWithoutDefaults(MINIMAL_WITH_KEY_PATH, schema);
        assert.notDeepEqual(merged, plain);
    });

    test("values of the wrong type are refused, naming the key and the type", () => {
        const dev = stackFileCase("dev").config;
        const refused = (config: Record<string, unknown>): string => {
            try {
                mergeConfig("dev", project(), stackConfigFromYaml(config));
            } catch (err) {
                return (err as Error).message;
            }
            return "accepted";
        };
        assert.equal(refused({ ...dev, "replicated:uiPort": "88a" }), "Stack 'dev' with configuration key 'uiPort' must be of type 'integer'");
        assert.equal(refused({ ...dev, "replicated:uiPort": 8800 }), "accepted");
        assert.equal(refused({ ...dev, "replicated:allowDowngrade": "yes" }), "Stack 'dev' with configuration key 'allowDowngrade' must be of type 'boolean'");
        assert.equal(refused({ ...dev, "replicated:hosts": "sandbox" }), "Stack 'dev' with configuration key 'hosts' must be of type 'array<object>'");
        assert.equal(refused({ ...dev, "replicated:volumeRoots": [1] }), "Stack 'dev' with configuration key 'volumeRoots' must be of type 'array<string>'");
        assert.equal(refused({ ...dev, "replicated:serviceUser": ["replicated"] }), "Stack 'dev' with configuration key 'serviceUser' must be of type 'object'");
    });

    test("a stack value is held as the CLI holds it", () => {
        assert.deepEqual(stackValueFromYaml(8800), { text: "8800", secure: false, object: false });
        assert.deepEqual(stackValueFromYaml(true), { text: "true", secure: false, object: false });
        assert.deepEqual(stackValueFromYaml({ secure: "v1:abc" }), { text: "v1:abc", secure: true, object: false });
        assert.deepEqual(stackValueFromYaml({ name: "x", uid: 1017 }), { text: '{"name":"x","uid":1017}', secure: false, object: true });
    });

    test("project rules: array without items, default of the wrong type, unknown attribute", () => {
        const load = (config: Record<string, unknown>) => () => loadProjectConfig({ name: "replicated", config });
        assert.throws(load({ roots: { type: "array" } }), /does not specify the underlying type via the 'items' attribute/);
        assert.throws(load({ uiPort: { type: "integer", default: "8800x" } }), /default value specified for configuration key 'uiPort' is not of the expected type 'integer'/);
        assert.throws(load({ uiPort: { type: "number" } }), /value must be one of/);
        assert.throws(load({ uiPort: { type: "integer", required: true } }), /'required' not allowed/);
        assert.deepEqual(loadProjectConfig({ name: "replicated", config: { channel: "stable" } }).config.channel, { default: "stable" });
    });
});
