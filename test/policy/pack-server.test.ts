/**
 * The PolicyPack entry as the Pulumi CLI runs it: `policy/` is started with Pulumi's own
 * policy-pack runner (TypeScript compiled and type-checked by ts-node, as `pulumi preview
 * --policy-pack policy` does) and spoken to over its gRPC analyzer interface: the policies it
 * announces, the pack config it accepts, and the violations it reports for hand-built resources.
 * The Pulumi CLI itself is not needed.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import { AnalyzerClient } from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import { AnalyzeRequest, AnalyzerResourceOptions, ConfigureAnalyzerRequest, EnforcementLevel, PolicyConfig, type AnalyzeResponse, type AnalyzerInfo } from "@pulumi/pulumi/proto/analyzer_pb";
import { RULES } from "../../policy/rules";

const PROJECT_DIR = path.resolve(__dirname, "..", "..");
const RUNNER = path.join(PROJECT_DIR, "node_modules", "@pulumi", "pulumi", "cmd", "run-policy-pack");

let pack: ChildProcess | undefined;
let client: AnalyzerClient;
let startupMs = 0;

before(async () => {
    const started = Date.now();
    // The runner's first argument is the engine address; nothing is sent to it by resource policies.
    pack = spawn(process.execPath, [RUNNER, "127.0.0.1:1", "."], { cwd: path.join(PROJECT_DIR, "policy"), stdio: ["ignore", "pipe", "pipe"] });
    const port = await new Promise<string>((resolve, reject) => {
        let stdout = "";
        let stderr = "";
        const timer = setTimeout(() => reject(new Error(`the policy pack did not start within 120 s: ${stderr}`)), 120_000);
        pack?.stdout?.on("data", (chunk: Buffer) => {
            stdout += chunk.toString();
            const match = /^(\d+)\s*$/m.exec(stdout);
            if (match) {
                clearTimeout(timer);
                resolve(match[1]);
            }
        });
        pack?.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
        pack?.on("exit", (code) => {
            clearTimeout(timer);
            reject(new Error(`the policy pack exited with ${String(code)}: ${stderr}`));
        });
    });
    startupMs = Date.now() - started;
    client = new AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
});

after(() => {
    client?.close();
    if (pack?.pid !== undefined && pack.exitCode === null) {
        pack.kill("SIGTERM");
    }
});

function call<Req, Res>(method: (request: Req, callback: (err: grpc.ServiceError | null, response: Res) => void) => unknown, request: Req): Promise<Res> {
    return new Promise((resolve, reject) => method.call(client, request, (err, response) => (err ? reject(err) : resolve(response))));
}

async function configure(config: Record<string, Record<string, unknown>>): Promise<void> {
    const request = new ConfigureAnalyzerRequest();
    for (const [policy, properties] of Object.entries(config)) {
        const entry = new PolicyConfig();
        entry.setEnforcementlevel(RULES.find((rule) => rule.name === policy)?.enforcementLevel === "mandatory" ? EnforcementLevel.MANDATORY : EnforcementLevel.ADVISORY);
        entry.setProperties(Struct.fromJavaScript(properties as Record<string, never>));
        request.getPolicyconfigMap().set(policy, entry);
    }
    await call(client.configure, request);
}

async function analyze(type: string, name: string, stack: string, props: Record<string, unknown>): Promise<{ policy: string; level: string; message: string }[]> {
    const request = new AnalyzeRequest();
    request.setType(type);
    request.setName(name);
    request.setUrn(`urn:pulumi:${stack}::replicated::${type}::${name}`);
    request.setProperties(Struct.fromJavaScript(props as Record<string, never>));
    request.setOptions(new AnalyzerResourceOptions());
    const response = await call<AnalyzeRequest, AnalyzeResponse>(client.analyze, request);
    return response.getDiagnosticsList().map((d) => ({
        policy: d.getPolicyname(),
        level: d.getEnforcementlevel() === EnforcementLevel.MANDATORY ? "mandatory" : "advisory",
        message: d.getMessage(),
    }));
}

const weakened = {
    name: "replicated-ui",
    image: "sha256:0",
    user: "root",
    privileged: true,
    memory: 256,
    readOnly: true,
    ports: [{ internal: 8800, external: 8800, ip: "0.0.0.0" }],
};

describe("the policy pack served as the CLI runs it", () => {
    test("announces every rule with its enforcement level and config schema", async (t) => {
        t.diagnostic(`pack started (compiled and type-checked) in ${startupMs} ms`);
        const info = await call<Empty, AnalyzerInfo>(client.getAnalyzerInfo, new Empty());
        assert.equal(info.getName(), "replicated-least-privilege");
        const policies = info.getPoliciesList();
        assert.deepEqual(policies.map((p) => p.getName()), RULES.map((rule) => rule.name));
        for (const policy of policies) {
            const rule = RULES.find((r) => r.name === policy.getName());
            assert.equal(policy.getEnforcementlevel(), rule?.enforcementLevel === "mandatory" ? EnforcementLevel.MANDATORY : EnforcementLevel.ADVISORY, policy.getName());
            const schema = policy.getConfigschema()?.getProperties()?.toJavaScript() ?? {};
            assert.deepEqual(Object.keys(schema).sort(), Object.keys(rule?.configSchema?.properties ?? {}).sort(), policy.getName());
        }
    });

    test("reports a weakened container with the expected rules and levels", async () => {
        await configure({});
        const diagnostics = await analyze("docker:index/container:Container", "acme-1-core-replicated-ui", "acme-online", weakened);
        const mandatory = [...new Set(diagnostics.filter((d) => d.level === "mandatory").map((d) => d.policy))].sort();
        assert.deepEqual(mandatory, ["no-privileged-containers", "no-root-containers", "no-wildcard-port-bindings"]);
        assert.ok(diagnostics.every((d) => d.message.length > 0));
    });

    test("pack config reaches the rules (allowAllInterfaces, legacyRootStacks)", async () => {
        await configure({
            "no-wildcard-port-bindings": { allowAllInterfaces: true },
            "no-root-containers": { legacyRootStacks: ["globex-airgap"] },
        });
        const acme = await analyze("docker:index/container:Container", "acme-1-core-replicated-ui", "acme-online", weakened);
        assert.deepEqual([...new Set(acme.filter((d) => d.level === "mandatory").map((d) => d.policy))].sort(), ["no-privileged-containers", "no-root-containers"]);
        const legacy = await analyze("docker:index/container:Container", "globex-primary-core-replicated", "globex-airgap", { ...weakened, name: "replicated", user: "0:999", privileged: false });
        assert.deepEqual(legacy.filter((d) => d.level === "mandatory"), []);
        await configure({});
    });

    test("remote commands: host key pinned outside dev; other resource types are not judged", async () => {
        const unpinned = { connection: { host: "10.20.0.11", user: "root", privateKey: "k" }, create: "true" };
        const acme = await analyze("command:remote:Command", "acme-1-account", "acme-online", unpinned);
        assert.deepEqual(acme.map((d) => d.policy), ["remote-commands-pin-host-key"]);
        assert.deepEqual(await analyze("command:remote:Command", "sandbox-account", "dev", unpinned), []);
        assert.deepEqual(await analyze("docker:index/network:Network", "n", "acme-online", { name: "n", driver: "host" }), []);
    });
});
