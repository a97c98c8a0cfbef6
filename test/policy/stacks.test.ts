/**
 * The pack over what the program really declares: every stack in stacks/ (and one with every
 * elevated operation requested) is evaluated under mocks and each recorded resource is validated
 * with the pack config that mirrors the stack's settings. No mandatory rule may fire. A
 * deliberately weakened container spec must fail with the expected rule names.
 */
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import {
    CONTAINER,
    REMOTE_COMMAND,
    dockerRuns,
    isElevatedOperation,
    packConfigForStack,
    validateResource,
    type PackConfig,
    type RuleArgs,
    type Violation,
} from "../../policy/rules";
import { recordCanned, type RecordedResource, type Recording } from "../support/mock-recorder";
import { readStackConfig, stackConfigForTest, stackNames } from "../support/stacks";

interface Case {
    readonly label: string;
    readonly stack: string;
    readonly config: Record<string, unknown>;
}

/** acme-online with every elevated operation requested, so their commands are judged too. */
const WITH_OPERATIONS: Case = {
    label: "acme-online + operations",
    stack: "acme-online",
    config: stackConfigForTest("acme-online", {
        volumeRoots: ["/srv/replicated-volumes"],
        operations: {
            timeoutSeconds: 120,
            supportBundle: { request: "bundle-1" },
            volumes: { request: "volumes-1", items: [{ path: "/srv/replicated-volumes/web", owner: 1234, group: 1234, mode: "0750" }] },
            snapshot: { request: "snapshot-1", destination: "/srv/replicated-snapshots" },
        },
    }),
};

const CASES: Case[] = [...stackNames().map((stack) => ({ label: stack, stack, config: stackConfigForTest(stack) })), WITH_OPERATIONS];

const recordings = new Map<string, Recording>();
const failures = new Map<string, Error>();

before(async () => {
    await Promise.all(
        CASES.map((c) =>
            recordCanned({ stack: c.stack, config: c.config }).then(
                (recording) => recordings.set(c.label, recording),
                (err: Error) => failures.set(c.label, err),
            ),
        ),
    );
});

/** The recording of a case; a program that does not evaluate fails the test that needs it. */
function recordingOf(label: string): Recording {
    const recording = recordings.get(label);
    if (recording === undefined) {
        throw new Error(`${label} does not evaluate under mocks: ${failures.get(label)?.message ?? "not recorded"}`);
    }
    return recording;
}

function argsOf(stack: string, resource: RecordedResource): RuleArgs {
    return { type: resource.type, props: resource.inputs, name: resource.name, urn: `urn:pulumi:${stack}::replicated::${resource.type}::${resource.name}` };
}

function violationsOf(c: Case, packConfig: PackConfig): Violation[] {
    return recordingOf(c.label).resources.filter((resource) => resource.custom).flatMap((resource) => validateResource(argsOf(c.stack, resource), packConfig));
}

describe("every stack passes the pack", () => {
    for (const c of CASES) {
        test(`${c.label}: no mandatory violation`, (t) => {
            const violations = violationsOf(c, packConfigForStack(c.stack, readStackConfig(c.stack)));
            const mandatory = violations.filter((v) => v.enforcementLevel === "mandatory");
            assert.deepEqual(mandatory.map((v) => `${v.rule} ${v.resource}: ${v.message}`), []);
            const judged = recordingOf(c.label).resources.filter((r) => r.type === CONTAINER || r.type === REMOTE_COMMAND).length;
            t.diagnostic(`${judged} containers and remote commands judged; advisory: ${violations.length === 0 ? "none" : violations.map((v) => `${v.rule} ${v.resource}`).join("; ")}`);
            assert.ok(judged > 0, "the program declares resources the pack judges");
        });
    }

    test("legacy root stacks need their pack config: without it, root Replicated containers are reported", () => {
        const legacy = CASES.filter((c) => readStackConfig(c.stack).runAs === "root");
        assert.ok(legacy.length > 0, "stacks/ holds a legacy root-mode stack");
        for (const c of legacy) {
            const containers = recordingOf(c.label).byType(CONTAINER);
            const strict = violationsOf(c, {}).filter((v) => v.rule === "no-root-containers");
            // Holds now (no containers yet: nothing to report) and once containers run as 0:<gid>.
            assert.equal(strict.length, containers.filter((r) => String(r.inputs.user ?? "").startsWith("0:")).length);
        }
    });

    test("only elevated operations start containers from remote commands, and each has a request-id trigger", () => {
        for (const c of CASES) {
            for (const resource of recordingOf(c.label).byType(REMOTE_COMMAND)) {
                const text = ["create", "update", "delete", "stdin"].map((key) => String(resource.inputs[key] ?? "")).join("\n");
                const elevated = /^# replicated-script: elevated-run$/m.test(String(resource.inputs.stdin ?? ""));
                if (elevated) {
                    assert.ok(isElevatedOperation(resource.inputs), `${c.label} ${resource.name}: elevated-run without triggers`);
                } else {
                    assert.deepEqual(
                        dockerRuns(text).map((run) => run.text),
                        [],
                        `${c.label} ${resource.name} starts a container but is not an elevated operation`,
                    );
                }
            }
        }
    });
});

describe("the elevated operations the program declares", () => {
    const elevatedOperations = () => recordingOf(WITH_OPERATIONS.label).byType(REMOTE_COMMAND).filter((r) => isElevatedOperation(r.inputs));
    const rulesOf = (args: RuleArgs) => [...new Set(validateResource(args, packConfigForStack("acme-online", readStackConfig("acme-online"))).map((v) => v.rule))].sort();
    /** The recorded command with extra docker run options injected where the script assembles them. */
    const injected = (resource: RecordedResource, options: string): RuleArgs => {
        const stdin = String(resource.inputs.stdin);
        assert.match(stdin, /set -- --name /, "the script assembles its docker run options with set --");
        return { ...argsOf("acme-online", resource), props: { ...resource.inputs, stdin: stdin.replace("set -- --name ", `set -- ${options} --name `) } };
    };

    test("each requested operation is an elevated operation and passes the pack", () => {
        const operations = elevatedOperations();
        assert.equal(operations.length, 3, "support bundle, volumes and snapshot");
        for (const operation of operations) {
            assert.deepEqual(rulesOf(argsOf("acme-online", operation)), [], operation.name);
        }
    });

    test("privileged mode, a host namespace or the docker socket injected into a real operation fail it", () => {
        const operation = elevatedOperations()[0];
        assert.deepEqual(rulesOf(injected(operation, "--privileged")), ["no-privileged-containers"]);
        assert.deepEqual(rulesOf(injected(operation, "--pid=host")), ["no-host-namespaces"]);
        assert.deepEqual(rulesOf(injected(operation, "-v /var/run/docker.sock:/var/run/docker.sock")), ["docker-socket-only-core-services"]);
    });

    test("without its request-id trigger the same command is no longer an elevated operation and fails no-root-containers", () => {
        const operation = elevatedOperations()[0];
        const props = { ...operation.inputs };
        delete props.triggers;
        assert.deepEqual(rulesOf({ ...argsOf("acme-online", operation), props }), ["no-root-containers"]);
    });
});

describe("a weakened container spec fails the pack", () => {
    /** The UI container the program declares for acme-online, or the documented hardened shape until it exists. */
    function uiContainer(): RuleArgs {
        const recorded = recordingOf("acme-online").byType(CONTAINER).find((r) => r.inputs.name === "replicated-ui");
        if (recorded !== undefined) {
            return argsOf("acme-online", recorded);
        }
        return {
            type: CONTAINER,
            name: "acme-1-replicated-ui",
            urn: "urn:pulumi:acme-online::replicated::docker:index/container:Container::acme-1-replicated-ui",
            props: {
                name: "replicated-ui",
                image: "sha256:0",
                user: "1017:999",
                groupAdds: ["999"],
                readOnly: true,
                memory: 256,
                mounts: [{ type: "bind", source: "/var/run/replicated", target: "/var/run/replicated" }],
                ports: [{ internal: 8800, external: 8800, ip: "10.20.0.11" }],
            },
        };
    }

    const weaken = (args: RuleArgs, props: Record<string, unknown>): RuleArgs => ({ ...args, props: { ...args.props, ...props } });
    const mandatoryRules = (args: RuleArgs) =>
        [...new Set(validateResource(args, packConfigForStack("acme-online", readStackConfig("acme-online"))).filter((v) => v.enforcementLevel === "mandatory").map((v) => v.rule))].sort();
    const socket = { type: "bind", source: "/var/run/docker.sock", target: "/host/var/run/docker.sock" };

    test("the UI container passes as declared", () => {
        assert.deepEqual(mandatoryRules(uiContainer()), []);
    });

    const weakenings: [string, Record<string, unknown> | ((a: RuleArgs) => Record<string, unknown>), string][] = [
        ["privileged", { privileged: true }, "no-privileged-containers"],
        ["user root", { user: "root" }, "no-root-containers"],
        ["no user", { user: undefined }, "no-root-containers"],
        ["port on 0.0.0.0", { ports: [{ internal: 8800, external: 8800, ip: "0.0.0.0" }] }, "no-wildcard-port-bindings"],
        ["port without ip", { ports: [{ internal: 8800, external: 8800 }] }, "no-wildcard-port-bindings"],
        ["docker socket in the UI", (a) => ({ mounts: [...((a.props.mounts as unknown[]) ?? []), socket] }), "docker-socket-only-core-services"],
        ["host network", { networkMode: "host" }, "no-host-namespaces"],
        ["host pid", { pidMode: "host" }, "no-host-namespaces"],
    ];
    for (const [label, change, expected] of weakenings) {
        test(`${label} → ${expected}`, () => {
            const base = uiContainer();
            assert.deepEqual(mandatoryRules(weaken(base, typeof change === "function" ? change(base) : change)), [expected]);
        });
    }

    test("all weakenings at once report every one of those rules", () => {
        const base = uiContainer();
        const weakened = weaken(base, {
            privileged: true,
            user: "root",
            ports: [{ internal: 8800, external: 8800, ip: "0.0.0.0" }],
            mounts: [...((base.props.mounts as unknown[]) ?? []), socket],
            networkMode: "host",
        });
        assert.deepEqual(mandatoryRules(weakened), [
            "docker-socket-only-core-services",
            "no-host-namespaces",
            "no-privileged-containers",
            "no-root-containers",
            "no-wildcard-port-bindings",
        ]);
    });

    test("a remote command without a pinned host key fails outside dev", () => {
        const command = recordingOf("acme-online").byType(REMOTE_COMMAND)[0];
        assert.ok(command, "acme-online declares remote commands");
        const args = argsOf("acme-online", command);
        assert.deepEqual(mandatoryRules(args), []);
        const connection = { ...(args.props.connection as Record<string, unknown>) };
        delete connection.hostKey;
        assert.deepEqual(mandatoryRules(weaken(args, { connection })), ["remote-commands-pin-host-key"]);
    });
});
