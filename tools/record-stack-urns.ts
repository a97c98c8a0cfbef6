/**
 * Records what every stack in stacks/ registers, as the engine would identify it, and writes (or
 * returns) a normalised fixture: per stack, every resource's URN, type, parent URN, options,
 * secret input paths and inputs. A restructure of the components must leave this unchanged: a
 * changed URN is a replacement or a rename in every deployed stack.
 *
 *   node --import tsx tools/record-stack-urns.ts            # print the fixture
 *   node --import tsx tools/record-stack-urns.ts --write    # rewrite test/fixtures/stack-resources.json
 *
 * Normalised so the fixture is the same on every machine: secret values (the login key, generated
 * and carried-over tokens) become "[secret]", the temp, home and project directories become
 * placeholders, and a script sent on stdin is kept as its SHA-256 (any change to it still shows).
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { evaluateOnThread } from "./offline/evaluation-thread";
import { CANNED_DAEMON_TOKEN } from "./offline/host-model";
import { makeRecording, ref, type RecordedOptions, type RecordedResource, type RecordingData } from "./offline/recorder";
import { PROJECT, PROJECT_DIR, readStackConfig, stackNames, standInKeyFile } from "./offline/stacks";

export const FIXTURE_FILE = path.join(PROJECT_DIR, "test", "fixtures", "stack-resources.json");

const ROOT_STACK_TYPE = "pulumi:pulumi:Stack";

export interface StackResource {
    readonly urn: string;
    readonly type: string;
    readonly parentUrn?: string;
    readonly custom: boolean;
    readonly options: RecordedOptions;
    readonly secretPaths: readonly string[];
    readonly inputs: unknown;
}

/** Stack name → its resources sorted by URN. */
export type StackResources = Record<string, readonly StackResource[]>;

/**
 * The URN the engine gives each recorded resource. The mock monitor joins only the parent's own
 * type; the engine joins the parent's whole qualified type chain and leaves out the root stack's
 * type, as the SDK's `createUrn` does (sdk/nodejs/resource.ts: "Don't prefix the stack type as a
 * parent type").
 */
function engineUrns(stack: string, resources: readonly RecordedResource[]): Map<RecordedResource, string> {
    const byRef = new Map<string, RecordedResource>();
    for (const resource of resources) {
        const key = ref(resource.type, resource.name);
        if (byRef.has(key)) {
            throw new Error(`stack ${stack}: two resources are recorded as ${key}; their URNs cannot be told apart`);
        }
        byRef.set(key, resource);
    }
    const qualifiedTypes = new Map<RecordedResource, string>();
    const qualifiedType = (resource: RecordedResource): string => {
        let known = qualifiedTypes.get(resource);
        if (known === undefined) {
            const parent = resource.parent === undefined ? undefined : byRef.get(resource.parent);
            if (resource.parent !== undefined && parent === undefined) {
                throw new Error(`stack ${stack}: ${ref(resource.type, resource.name)} has the unrecorded parent ${resource.parent}`);
            }
            known = parent === undefined || parent.type === ROOT_STACK_TYPE ? resource.type : `${qualifiedType(parent)}$${resource.type}`;
            qualifiedTypes.set(resource, known);
        }
        return known;
    };
    return new Map(resources.map((resource) => [resource, `urn:pulumi:${stack}::${PROJECT}::${qualifiedType(resource)}::${resource.name}`]));
}

function sha256(text: string): string {
    return `sha256:${crypto.createHash("sha256").update(text).digest("hex")}`;
}

/** Replace secret values and machine-dependent paths in every string of `value`. */
function normalise(value: unknown, replacements: ReadonlyArray<readonly [string, string]>): unknown {
    if (typeof value === "string") {
        let text = value;
        for (const [from, to] of replacements) {
            text = text.split(from).join(to);
        }
        return text;
    }
    if (Array.isArray(value)) {
        return value.map((item) => normalise(item, replacements));
    }
    if (value !== null && typeof value === "object") {
        return Object.fromEntries(
            Object.entries(value as Record<string, unknown>)
                .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
                .map(([key, child]) => [key, normalise(child, replacements)]),
        );
    }
    return value;
}

function sortedOptions(options: RecordedOptions): RecordedOptions {
    return {
        ...options,
        dependsOn: [...options.dependsOn].sort(),
        ignoreChanges: [...options.ignoreChanges].sort(),
        replaceOnChanges: [...options.replaceOnChanges].sort(),
        additionalSecretOutputs: [...options.additionalSecretOutputs].sort(),
    };
}

/** Evaluates a stack's config with the unit tier's canned host outputs. */
export type CannedEvaluator = (stack: string, config: Record<string, unknown>) => Promise<Pick<RecordingData, "resources" | "outputs">>;

const onThread: CannedEvaluator = (stack, config) => evaluateOnThread({ stack, config, hostModel: "canned" });

/** Record one stack with the unit tier's canned host outputs and its key file swapped for the stand-in. */
async function recordStack(stack: string, evaluate: CannedEvaluator): Promise<StackResource[]> {
    const config = readStackConfig(stack);
    if (config.sshPrivateKeyPath !== undefined) {
        config.sshPrivateKeyPath = standInKeyFile();
    }
    const data = await evaluate(stack, config);
    const recording = makeRecording([...data.resources], data.outputs);
    const secrets = [fs.readFileSync(standInKeyFile(), "utf8"), CANNED_DAEMON_TOKEN];
    for (const password of recording.byType("random:index/randomPassword:RandomPassword")) {
        if (typeof password.state.result === "string") {
            secrets.push(password.state.result);
        }
    }
    if (typeof config.sshPrivateKey === "string") {
        secrets.push(config.sshPrivateKey);
    }
    // Longest first, so a secret that contains another is replaced whole.
    const replacements: Array<readonly [string, string]> = [
        ...[...new Set(secrets)].filter((secret) => secret !== "").sort((a, b) => b.length - a.length).map((secret) => [secret, "[secret]"] as const),
        [PROJECT_DIR, "<project>"],
        [os.tmpdir(), "<tmpdir>"],
        [os.homedir(), "<home>"],
    ];
    const urns = engineUrns(stack, recording.resources);
    return recording.resources
        .map((resource): StackResource => {
            const parent = resource.parent === undefined ? undefined : recording.resources.find((r) => ref(r.type, r.name) === resource.parent);
            const inputs = { ...resource.inputs };
            if (typeof inputs.stdin === "string") {
                inputs.stdin = sha256(inputs.stdin);
            }
            return {
                urn: urns.get(resource) ?? "",
                type: resource.type,
                parentUrn: parent === undefined ? undefined : urns.get(parent),
                custom: resource.custom,
                options: sortedOptions(resource.options),
                secretPaths: [...resource.secretPaths].sort(),
                inputs: normalise(inputs, replacements),
            };
        })
        .sort((a, b) => (a.urn < b.urn ? -1 : a.urn > b.urn ? 1 : 0));
}

/**
 * Every stack's resources, recorded one stack after another in this process; `evaluate` may be
 * one that shares its evaluations (the unit tier's memoised stack recordings).
 */
export async function recordStackResources(evaluate: CannedEvaluator = onThread): Promise<StackResources> {
    const result: Record<string, StackResource[]> = {};
    for (const stack of stackNames()) {
        result[stack] = await recordStack(stack, evaluate);
    }
    // Through JSON, as the fixture is read back: undefined fields are dropped the same way.
    return JSON.parse(JSON.stringify(result)) as StackResources;
}

export function readFixture(file: string = FIXTURE_FILE): StackResources {
    return JSON.parse(fs.readFileSync(file, "utf8")) as StackResources;
}

async function main(): Promise<void> {
    const recorded = await recordStackResources();
    const text = `${JSON.stringify(recorded, null, 2)}\n`;
    if (process.argv.includes("--write")) {
        fs.mkdirSync(path.dirname(FIXTURE_FILE), { recursive: true });
        fs.writeFileSync(FIXTURE_FILE, text);
        const count = Object.values(recorded).reduce((sum, resources) => sum + resources.length, 0);
        console.log(`wrote ${path.relative(process.cwd(), FIXTURE_FILE)}: ${count} resources in ${Object.keys(recorded).length} stacks`);
    } else {
        process.stdout.write(text);
    }
}

if (require.main === module) {
    main().catch((err: unknown) => {
        console.error(err instanceof Error ? err.message : err);
        process.exit(1);
    });
}
