/**
 * The least-privilege pack on application containers: for each user mode, the container args the
 * program really builds (the pure application spec) are judged by the pure rules, with and
 * without `requireNonRootApplications`. A root application is advisory by default, mandatory with
 * the flag, and accepted when its exception is recorded (`allowRoot: true`). The same holds for
 * the containers the whole program declares for a stack with applications.
 */
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { applicationSpec, type ApplicationContext } from "../../components/apps/application-spec";
import { parseConfig, type ApplicationConfig } from "../../components/config";
import { CONTAINER, RULES, packConfigForStack, ruleConfig, validateResource, type PackConfig, type RuleArgs, type Violation } from "../../policy/rules";
import { encodeConfig, recordCanned, type Recording } from "../support/mock-recorder";
import { stackConfigForTest } from "../support/stacks";

const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHt0lW8jY2OFo3QhMbo7V1H0Lr1iJ5qk3o1pQ0yTw9nA";
const ROOT = "/srv/replicated-volumes";
const ADVISORY = "application-containers-non-root";
const MANDATORY = "application-containers-non-root-required";
const STRICT: PackConfig = { [MANDATORY]: { requireNonRootApplications: true } };

/** One validated application (defaults applied), as components/config/ hands it to the program. */
function application(definition: Record<string, unknown>, runAs: "replicated" | "root" = "replicated"): ApplicationConfig {
    const raw = {
        version: "2.53.2",
        runAs,
        sshPrivateKey: "-----BEGIN OPENSSH PRIVATE KEY-----\nx\n-----END OPENSSH PRIVATE KEY-----",
        hosts: [{ name: "acme-1", address: "10.20.0.11", role: "primary", privateAddress: "10.20.0.11", hostKey: HOST_KEY }],
        volumeRoots: [ROOT],
        applications: [{ name: "app-web", image: "registry.example.com/acme/web:1.4.2", ports: [{ internal: 8080, external: 18080 }], ...definition }],
    };
    return parseConfig(encodeConfig("replicated", raw), "acme-online", "replicated", { secretKeys: ["replicated:sshPrivateKey"] }).applications[0];
}

function context(runAs: "replicated" | "root" = "replicated"): ApplicationContext {
    return {
        stack: "acme-online",
        hostName: "acme-1",
        privateAddress: "10.20.0.11",
        runAs,
        serviceUid: runAs === "root" ? 0 : 1017,
        dockerGid: 999,
        image: "sha256:0123",
        network: "replicated",
    };
}

/** The rule args of the container the program would declare for `app`. */
function containerArgs(app: ApplicationConfig, runAs: "replicated" | "root" = "replicated"): RuleArgs {
    const props = applicationSpec(app, context(runAs)).args as unknown as Record<string, unknown>;
    const name = `acme-1-apps-${app.name}`;
    return { type: CONTAINER, props, name, urn: `urn:pulumi:acme-online::replicated::replicated:index:ReplicatedHost$replicated:apps:ApplicationContainers$${CONTAINER}::${name}` };
}

function rulesOf(violations: Violation[]): string[] {
    return violations.map((v) => `${v.rule} (${v.enforcementLevel})`).sort();
}

describe("each user mode against the pack", () => {
    test("image (no user): reported as possibly root, advisory by default", () => {
        const args = containerArgs(application({ user: "image" }));
        assert.equal(args.props.user, undefined);
        const violations = validateResource(args);
        assert.deepEqual(rulesOf(violations), [`${ADVISORY} (advisory)`]);
        assert.match(violations[0].message, /application container "app-web" \(replicated\.application=app-web\) runs with no user \(the image default, usually root\)/);
        assert.match(violations[0].message, /allowRoot: true/);
    });

    test("image (no user): mandatory when the stack requires non-root applications", () => {
        const violations = validateResource(containerArgs(application({ user: "image" })), STRICT);
        assert.deepEqual(rulesOf(violations), [`${MANDATORY} (mandatory)`, `${ADVISORY} (advisory)`].sort());
    });

    test("image with allowRoot: the recorded exception passes, also with the flag", () => {
        const args = containerArgs(application({ user: "image", allowRoot: true }));
        assert.deepEqual(validateResource(args), []);
        assert.deepEqual(validateResource(args, STRICT), []);
    });

    test("service: <service uid>:<docker gid> passes every rule, with or without the flag", () => {
        const args = containerArgs(application({ user: "service", volumes: [{ hostPath: `${ROOT}/web`, containerPath: "/data" }] }));
        assert.equal(args.props.user, "1017:999");
        assert.deepEqual(validateResource(args), []);
        assert.deepEqual(validateResource(args, STRICT), []);
    });

    test("<uid>:<gid>: passes every rule, with or without the flag", () => {
        const args = containerArgs(application({ user: "1234:1234", volumes: [{ hostPath: `${ROOT}/web`, containerPath: "/data" }] }));
        assert.equal(args.props.user, "1234:1234");
        assert.deepEqual(validateResource(args), []);
        assert.deepEqual(validateResource(args, STRICT), []);
    });

    test("explicit root ids and service in legacy root mode pass only as recorded exceptions", () => {
        const explicitRoot = containerArgs(application({ user: "0:0", allowRoot: true }));
        assert.equal(explicitRoot.props.user, "0:0");
        assert.deepEqual(validateResource(explicitRoot, STRICT), []);
        const legacy = containerArgs(application({ user: "service", allowRoot: true }, "root"), "root");
        assert.equal(legacy.props.user, "0:999");
        assert.deepEqual(validateResource(legacy, STRICT), []);
        // The same containers without their label are reported: the label is what documents them.
        for (const args of [explicitRoot, legacy]) {
            const labels = (args.props.labels as Array<{ label: string }>).filter((l) => l.label !== "replicated.allowRoot");
            const stripped = { ...args, props: { ...args.props, labels } };
            assert.deepEqual(rulesOf(validateResource(stripped)), [`${ADVISORY} (advisory)`]);
            assert.deepEqual(rulesOf(validateResource(stripped, STRICT)), [`${ADVISORY} (advisory)`, `${MANDATORY} (mandatory)`].sort());
        }
    });

    test("application containers are judged by the application rules only, not no-root-containers", () => {
        const noRoot = RULES.find((r) => r.name === "no-root-containers");
        assert.ok(noRoot);
        const messages: string[] = [];
        noRoot.validate(containerArgs(application({ user: "image" })), (m) => messages.push(m), ruleConfig(noRoot));
        assert.deepEqual(messages, []);
    });

    test("the socket, a host namespace or a wildcard port added to a real application spec fail their mandatory rules", () => {
        const args = containerArgs(application({ user: "1234:1234" }));
        const weaken = (extra: Record<string, unknown>): string[] =>
            rulesOf(validateResource({ ...args, props: { ...args.props, ...extra } })).filter((r) => r.endsWith("(mandatory)"));
        const mounts = [{ type: "bind", source: "/var/run/docker.sock", target: "/var/run/docker.sock", readOnly: true }];
        assert.deepEqual(weaken({ mounts }), ["docker-socket-only-core-services (mandatory)"]);
        assert.deepEqual(weaken({ pidMode: "host" }), ["no-host-namespaces (mandatory)"]);
        assert.deepEqual(weaken({ ports: [{ internal: 8080, external: 18080, ip: "0.0.0.0", protocol: "tcp" }] }), ["no-wildcard-port-bindings (mandatory)"]);
        assert.deepEqual(weaken({ privileged: true }), ["no-privileged-containers (mandatory)"]);
    });
});

describe("the containers the program declares", () => {
    const applications = [
        { name: "app-explicit", image: "registry.example.com/acme/explicit:1.0.0", user: "1234:1234", volumes: [{ hostPath: `${ROOT}/explicit`, containerPath: "/data" }] },
        { name: "app-service", image: "registry.example.com/acme/service:1.0.0", user: "service", ports: [{ internal: 8080, external: 18080 }] },
        { name: "app-image", image: "registry.example.com/acme/image:1.0.0", volumes: [{ hostPath: `${ROOT}/image`, containerPath: "/data", owner: 4321, group: 4321 }] },
        { name: "app-root", image: "registry.example.com/acme/root:1.0.0", user: "0:0", allowRoot: true },
    ];
    const stackConfig = { volumeRoots: [ROOT], applications };
    let recording: Recording;
    before(async () => {
        recording = await recordCanned({ stack: "acme-online", config: stackConfigForTest("acme-online", stackConfig) });
    });

    function judged(packConfig: PackConfig): Violation[] {
        return recording.resources
            .filter((r) => r.custom)
            .flatMap((r) => validateResource({ type: r.type, props: r.inputs, name: r.name, urn: `urn:pulumi:acme-online::replicated::${r.type}::${r.name}` }, packConfig));
    }

    test("no mandatory violation; the image-mode application is the one advisory finding", () => {
        const violations = judged(packConfigForStack("acme-online", stackConfig));
        assert.deepEqual(violations.filter((v) => v.enforcementLevel === "mandatory").map((v) => v.message), []);
        assert.deepEqual(violations.map((v) => `${v.rule} ${v.resource}`), [`${ADVISORY} ${CONTAINER}::acme-1-apps-app-image`]);
    });

    test("with requireNonRootApplications in the pack config the image-mode application blocks the update", () => {
        const mandatory = judged(packConfigForStack("acme-online", { ...stackConfig, requireNonRootApplications: true })).filter((v) => v.enforcementLevel === "mandatory");
        assert.deepEqual(mandatory.map((v) => `${v.rule} ${v.resource}`), [`${MANDATORY} ${CONTAINER}::acme-1-apps-app-image`]);
    });

    test("the application volumes run is an elevated operation that passes the pack", () => {
        const volumes = recording.find("command:remote:Command", "acme-1-apps-volumes-run");
        const violations = validateResource({ type: volumes.type, props: volumes.inputs, name: volumes.name, urn: `urn:pulumi:acme-online::replicated::${volumes.type}::${volumes.name}` });
        assert.deepEqual(violations, []);
        // Without its request-id trigger it would be an ordinary command starting a root container.
        const untriggered = { ...volumes.inputs, triggers: [] };
        const rules = validateResource({ type: volumes.type, props: untriggered, name: volumes.name, urn: `urn:pulumi:acme-online::replicated::${volumes.type}::${volumes.name}` }).map((v) => v.rule);
        assert.ok(rules.includes("no-root-containers"), rules.join(", "));
    });
});
