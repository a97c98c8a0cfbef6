/**
 * Every least-privilege rule with inputs that pass and inputs that fail, called directly with
 * hand-built ResourceValidationArgs and a collecting reporter (no policy server is started).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
    CONTAINER,
    REMOTE_COMMAND,
    RULES,
    dockerRuns,
    isElevatedOperation,
    isRootUser,
    packConfigForStack,
    publishesOnAllInterfaces,
    ruleConfig,
    scriptOptions,
    validateResource,
    type PackConfig,
    type Rule,
    type RuleArgs,
} from "../../policy/rules";

const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHt0lW8jY2OFo3QhMbo7V1H0Lr1iJ5qk3o1pQ0yTw9nA";

function urn(stack: string, type: string, name: string): string {
    return `urn:pulumi:${stack}::replicated::replicated:index:ReplicatedHost$${type}::${name}`;
}

/** A container spec that every rule accepts (the hardened defaults of the design). */
function hardened(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
        name,
        image: "sha256:0123",
        user: "1017:999",
        groupAdds: ["999"],
        capabilities: { drops: ["ALL"] },
        securityOpts: ["no-new-privileges:true"],
        readOnly: true,
        memory: 512,
        ports: [{ internal: 8800, external: 8800, ip: "10.20.0.11", protocol: "tcp" }],
        labels: [{ label: "replicated.service", value: name }],
        ...extra,
    };
}

function container(props: Record<string, unknown>, stack = "acme-online", resourceName = "acme-1-ui"): RuleArgs {
    return { type: CONTAINER, props, name: resourceName, urn: urn(stack, CONTAINER, resourceName) };
}

function command(props: Record<string, unknown>, stack = "acme-online", name = "acme-1-op"): RuleArgs {
    return {
        type: REMOTE_COMMAND,
        props: { connection: { host: "10.20.0.11", port: 22, user: "root", hostKey: HOST_KEY }, ...props },
        name,
        urn: urn(stack, REMOTE_COMMAND, name),
    };
}

function rule(name: string): Rule {
    const found = RULES.find((candidate) => candidate.name === name);
    assert.ok(found, `rule ${name} exists`);
    return found;
}

/** Messages one rule reports for one resource (with the pack config of that rule). */
function run(ruleName: string, args: RuleArgs, config: Record<string, unknown> = {}): string[] {
    const messages: string[] = [];
    const subject = rule(ruleName);
    if (!subject.appliesTo.includes(args.type)) {
        return messages;
    }
    subject.validate(args, (message) => messages.push(message), ruleConfig(subject, { [ruleName]: config }));
    return messages;
}

const ELEVATED_STDIN = [
    "#!/bin/sh",
    "# replicated-script: elevated-run",
    "# Runs one short-lived root container. Never uses --privileged.",
    "set -eu",
    'docker run --rm -i --name "replicated-op-$1-$2" --user 0:0 --cap-drop ALL --cap-add CHOWN \\',
    '    --security-opt no-new-privileges --network none --memory 256m -v "$3:/target" "$4" sh -s -- "$5"',
].join("\n");

describe("pack shape", () => {
    test("rule names are unique and every rule has a description and a level", () => {
        const names = RULES.map((r) => r.name);
        assert.equal(new Set(names).size, names.length);
        for (const r of RULES) {
            assert.ok(r.description.length > 20, r.name);
            assert.ok(["mandatory", "advisory"].includes(r.enforcementLevel), r.name);
            assert.ok(r.appliesTo.length > 0, r.name);
        }
    });

    test("the mandatory and advisory rules are the documented ones", () => {
        const level = (l: string) => RULES.filter((r) => r.enforcementLevel === l).map((r) => r.name).sort();
        assert.deepEqual(level("mandatory"), [
            "application-containers-non-root-required",
            "docker-socket-only-core-services",
            "no-host-namespaces",
            "no-privileged-containers",
            "no-root-containers",
            "no-wildcard-port-bindings",
            "remote-commands-pin-host-key",
        ]);
        assert.deepEqual(level("advisory"), [
            "application-containers-non-root",
            "containers-memory-limit",
            "containers-read-only-root",
            "no-writable-system-mounts",
        ]);
    });

    test("a hardened container and a pinned remote command pass every rule", () => {
        assert.deepEqual(validateResource(container(hardened("replicated-ui"))), []);
        assert.deepEqual(validateResource(command({ create: "sh -s -- 'replicated'", stdin: "#!/bin/sh\n# replicated-script: account\n" })), []);
    });

    test("resource types the pack does not know are not judged", () => {
        assert.deepEqual(validateResource({ type: "docker:index/network:Network", props: { name: "host", driver: "host" }, name: "n", urn: "urn:pulumi:a::b::c::n" }), []);
    });
});

describe("no-root-containers", () => {
    for (const user of [undefined, "", "0", "0:999", "root", "root:docker", "00:0"]) {
        test(`container with user ${JSON.stringify(user)} fails`, () => {
            const props = hardened("replicated-ui");
            if (user === undefined) {
                delete props.user;
            } else {
                props.user = user;
            }
            const messages = run("no-root-containers", container(props));
            assert.equal(messages.length, 1);
            assert.match(messages[0], /replicated-ui/);
        });
    }

    for (const user of ["1017:999", "1017", "replicated:docker", "10:0"]) {
        test(`container with user ${user} passes`, () => {
            assert.deepEqual(run("no-root-containers", container(hardened("replicated-ui", { user }))), []);
        });
    }

    test("legacy root stacks: Replicated's own containers may run as 0:<gid> there, and only there", () => {
        const legacy = container(hardened("replicated", { user: "0:999" }), "globex-airgap");
        assert.deepEqual(run("no-root-containers", legacy, { legacyRootStacks: ["globex-airgap"] }), []);
        assert.equal(run("no-root-containers", legacy, { legacyRootStacks: ["other"] }).length, 1);
        assert.equal(run("no-root-containers", legacy).length, 1, "default: no legacy stacks");
        // An empty user is never accepted, and other containers get no legacy exception.
        const empty = container(hardened("replicated", { user: "" }), "globex-airgap");
        assert.equal(run("no-root-containers", empty, { legacyRootStacks: ["globex-airgap"] }).length, 1);
        const other = container(hardened("debug-shell", { user: "0:0" }), "globex-airgap");
        assert.equal(run("no-root-containers", other, { legacyRootStacks: ["globex-airgap"] }).length, 1);
    });

    test("application containers are left to the application rules", () => {
        const app = container(hardened("app-web", { user: "", labels: [{ label: "replicated.application", value: "app-web" }] }));
        assert.deepEqual(run("no-root-containers", app), []);
    });

    test("elevated operations (elevated-run script + request-id trigger) may run root containers", () => {
        const op = command({ create: "sh -s -- 'support-bundle' 'req-1'", stdin: ELEVATED_STDIN, triggers: ["req-1"] });
        assert.ok(isElevatedOperation(op.props));
        assert.deepEqual(run("no-root-containers", op), []);
    });

    test("the same script without a trigger is not an elevated operation", () => {
        const op = command({ create: "sh -s -- 'support-bundle' 'req-1'", stdin: ELEVATED_STDIN });
        assert.equal(isElevatedOperation(op.props), false);
        const messages = run("no-root-containers", op);
        assert.equal(messages.length, 1);
        assert.match(messages[0], /user "0:0"/);
    });

    test("other commands that start containers must pass a literal non-root --user", () => {
        const noUser = command({ create: "docker run -d --name x busybox sleep 1" });
        assert.match(run("no-root-containers", noUser)[0], /no user/);
        const root = command({ stdin: "#!/bin/sh\nset -eu\ndocker container create -u root busybox\n" });
        assert.equal(run("no-root-containers", root).length, 1);
        const variable = command({ create: 'docker run --user "$uid" busybox' });
        assert.match(run("no-root-containers", variable)[0], /shell variable/);
        const fine = command({ create: "docker run --rm --user=1017:999 busybox true; docker run -u1017 busybox id" });
        assert.deepEqual(run("no-root-containers", fine), []);
        // docker commands that start no container are not judged
        const load = command({ stdin: "#!/bin/sh\ndocker load -i /x.tar\ndocker image inspect a\ndocker network create n\n" });
        assert.deepEqual(run("no-root-containers", load), []);
    });
});

describe("no-privileged-containers", () => {
    test("privileged: true fails, false or missing passes", () => {
        assert.equal(run("no-privileged-containers", container(hardened("replicated", { privileged: true }))).length, 1);
        assert.deepEqual(run("no-privileged-containers", container(hardened("replicated", { privileged: false }))), []);
        assert.deepEqual(run("no-privileged-containers", container(hardened("replicated"))), []);
    });

    test("--privileged in any command fails, elevated operations included; a comment mentioning it does not", () => {
        const op = command({ stdin: ELEVATED_STDIN.replace("--user 0:0", "--user 0:0 --privileged"), triggers: ["r"] });
        assert.equal(run("no-privileged-containers", op).length, 1);
        assert.deepEqual(run("no-privileged-containers", command({ stdin: ELEVATED_STDIN, triggers: ["r"] })), []);
    });
});

describe("no-host-namespaces", () => {
    for (const input of ["pidMode", "ipcMode", "networkMode", "usernsMode", "cgroupnsMode", "utsMode"]) {
        test(`${input}: host fails`, () => {
            const messages = run("no-host-namespaces", container(hardened("replicated", { [input]: "host" })));
            assert.equal(messages.length, 1);
            assert.match(messages[0], new RegExp(input));
        });
    }

    test("private namespaces and user-defined networks pass", () => {
        const props = hardened("replicated", { networkMode: "bridge", ipcMode: "private", pidMode: "container:replicated" });
        assert.deepEqual(run("no-host-namespaces", container(props)), []);
    });

    test("host namespace flags in commands fail", () => {
        const op = command({ stdin: ELEVATED_STDIN.replace("--network none", "--network=host --pid host --uts=host"), triggers: ["r"] });
        const messages = run("no-host-namespaces", op);
        assert.equal(messages.length, 3);
        assert.deepEqual(run("no-host-namespaces", command({ stdin: ELEVATED_STDIN, triggers: ["r"] })), []);
    });
});

describe("docker-socket-only-core-services", () => {
    const socketMount = { type: "bind", source: "/var/run/docker.sock", target: "/host/var/run/docker.sock" };

    test("replicated and replicated-operator may mount the socket", () => {
        for (const name of ["replicated", "replicated-operator"]) {
            assert.deepEqual(run("docker-socket-only-core-services", container(hardened(name, { mounts: [socketMount] }))), []);
        }
    });

    test("any other container fails, by mount, by volume, or by mounting a directory that holds the socket", () => {
        for (const name of ["replicated-ui", "replicated-statsd", "replicated-premkit", "app-web"]) {
            assert.equal(run("docker-socket-only-core-services", container(hardened(name, { mounts: [socketMount] }))).length, 1, name);
        }
        const byVolume = hardened("replicated-ui", { volumes: [{ hostPath: "/run/docker.sock", containerPath: "/s" }] });
        assert.equal(run("docker-socket-only-core-services", container(byVolume)).length, 1);
        const byParent = hardened("replicated-ui", { mounts: [{ type: "bind", source: "/var/run/", target: "/r" }] });
        assert.equal(run("docker-socket-only-core-services", container(byParent)).length, 1);
        const rootFs = hardened("replicated-ui", { volumes: [{ hostPath: "/", containerPath: "/host", readOnly: true }] });
        assert.equal(run("docker-socket-only-core-services", container(rootFs)).length, 1);
    });

    test("unrelated mounts pass; the container name comes from `name`, else the resource name", () => {
        const props = hardened("replicated-ui", { mounts: [{ type: "bind", source: "/var/run/replicated", target: "/var/run/replicated" }] });
        assert.deepEqual(run("docker-socket-only-core-services", container(props)), []);
        const unnamed = hardened("x", { mounts: [socketMount] });
        delete unnamed.name;
        assert.deepEqual(run("docker-socket-only-core-services", container(unnamed, "s", "replicated")), []);
        assert.equal(run("docker-socket-only-core-services", container(unnamed, "s", "replicated-ui")).length, 1);
    });

    test("commands may not hand the socket to a container", () => {
        const op = command({ stdin: ELEVATED_STDIN.replace('-v "$3:/target"', "-v /var/run/docker.sock:/var/run/docker.sock"), triggers: ["r"] });
        assert.equal(run("docker-socket-only-core-services", op).length, 1);
        const mount = command({ create: "docker run --user 1:1 --mount type=bind,src=/run/docker.sock,dst=/s busybox" });
        assert.equal(run("docker-socket-only-core-services", mount).length, 1);
    });
});

describe("no-wildcard-port-bindings", () => {
    for (const ip of [undefined, "", "0.0.0.0", "::", "[::]"]) {
        test(`port bound to ${JSON.stringify(ip)} fails`, () => {
            const port: Record<string, unknown> = { internal: 8800, external: 8800 };
            if (ip !== undefined) {
                port.ip = ip;
            }
            assert.equal(run("no-wildcard-port-bindings", container(hardened("replicated-ui", { ports: [port] }))).length, 1);
        });
    }

    test("specific addresses pass; allowAllInterfaces accepts wildcards", () => {
        const ports = [
            { internal: 9874, external: 9874, ip: "10.20.0.11" },
            { internal: 9875, external: 9875, ip: "fd00::11" },
            { internal: 9876, external: 9876, ip: "127.0.0.1" },
        ];
        assert.deepEqual(run("no-wildcard-port-bindings", container(hardened("replicated", { ports }))), []);
        const wildcard = container(hardened("replicated-ui", { ports: [{ internal: 8800, external: 8800, ip: "0.0.0.0" }] }));
        assert.deepEqual(run("no-wildcard-port-bindings", wildcard, { allowAllInterfaces: true }), []);
        assert.equal(run("no-wildcard-port-bindings", wildcard, { allowAllInterfaces: false }).length, 1);
    });

    test("every spelling of the unspecified address is a wildcard, in container ports and in docker run -p", () => {
        for (const ip of ["0.0.0.0", "::", "::ffff:0.0.0.0", "0:0:0:0:0:0:0:0", "::0", "0::", "::0.0.0.0"]) {
            const wildcard = container(hardened("replicated-ui", { ports: [{ internal: 8800, external: 8800, ip }] }));
            assert.equal(run("no-wildcard-port-bindings", wildcard).length, 1, ip);
            assert.ok(publishesOnAllInterfaces(`[${ip}]:8080:80`), `[${ip}]`);
            assert.ok(publishesOnAllInterfaces(`${ip}:8080:80/tcp`), ip);
        }
        assert.equal(publishesOnAllInterfaces("[::ffff:10.0.0.5]:8080:80"), false);
        assert.equal(publishesOnAllInterfaces("fd00::1:8080:80"), false);
    });

    test("publishAllPorts fails", () => {
        assert.equal(run("no-wildcard-port-bindings", container(hardened("replicated-ui", { ports: [], publishAllPorts: true }))).length, 1);
    });

    test("-p without an address and -P fail in commands; -p ip:host:container passes", () => {
        assert.ok(publishesOnAllInterfaces("8080:80"));
        assert.ok(publishesOnAllInterfaces("0.0.0.0:8080:80/udp"));
        assert.ok(publishesOnAllInterfaces("80"));
        assert.ok(publishesOnAllInterfaces("[::]:8080:80"));
        assert.equal(publishesOnAllInterfaces("10.0.0.5:8080:80"), false);
        assert.equal(publishesOnAllInterfaces("[fd00::1]:8080:80"), false);
        assert.equal(run("no-wildcard-port-bindings", command({ create: "docker run --user 1:1 -p 8080:80 -P busybox" })).length, 2);
        assert.deepEqual(run("no-wildcard-port-bindings", command({ create: "docker run --user 1:1 -p 10.0.0.5:8080:80 busybox" })), []);
    });
});

describe("remote-commands-pin-host-key", () => {
    test("a command without connection.hostKey fails outside dev, passes in dev", () => {
        const unpinned = (stack: string) => ({
            type: REMOTE_COMMAND,
            props: { connection: { host: "10.20.0.11", user: "root" }, create: "true" },
            name: "acme-1-account",
            urn: urn(stack, REMOTE_COMMAND, "acme-1-account"),
        });
        const messages = run("remote-commands-pin-host-key", unpinned("acme-online"));
        assert.equal(messages.length, 1);
        assert.match(messages[0], /10\.20\.0\.11/);
        assert.match(messages[0], /"acme-online"/);
        assert.deepEqual(run("remote-commands-pin-host-key", unpinned("dev")), []);
        assert.equal(run("remote-commands-pin-host-key", unpinned("dev"), { unpinnedStacks: [] }).length, 1);
        assert.deepEqual(run("remote-commands-pin-host-key", unpinned("lab"), { unpinnedStacks: ["dev", "lab"] }), []);
        const blank = { ...unpinned("acme-online"), props: { connection: { host: "h", hostKey: "  " } } };
        assert.equal(run("remote-commands-pin-host-key", blank).length, 1);
    });

    test("a pinned command passes in any stack", () => {
        assert.deepEqual(run("remote-commands-pin-host-key", command({ create: "true" }, "globex-airgap")), []);
    });
});

describe("advisory rules", () => {
    test("containers-memory-limit", () => {
        assert.deepEqual(run("containers-memory-limit", container(hardened("replicated"))), []);
        const none = hardened("replicated");
        delete none.memory;
        assert.equal(run("containers-memory-limit", container(none)).length, 1);
        assert.equal(run("containers-memory-limit", container(hardened("replicated", { memory: 0 }))).length, 1);
    });

    test("containers-read-only-root", () => {
        assert.deepEqual(run("containers-read-only-root", container(hardened("replicated"))), []);
        assert.equal(run("containers-read-only-root", container(hardened("replicated", { readOnly: false }))).length, 1);
        const none = hardened("replicated");
        delete none.readOnly;
        assert.equal(run("containers-read-only-root", container(none)).length, 1);
    });

    test("no-writable-system-mounts", () => {
        const ro = hardened("replicated", {
            mounts: [
                { type: "bind", source: "/proc", target: "/host/proc", readOnly: true },
                { type: "bind", source: "/etc", target: "/host/etc", readOnly: true },
                { type: "bind", source: "/var/lib/replicated", target: "/var/lib/replicated" },
            ],
        });
        assert.deepEqual(run("no-writable-system-mounts", container(ro)), []);
        const rw = hardened("replicated", { volumes: [{ hostPath: "/etc/", containerPath: "/host/etc" }] });
        assert.equal(run("no-writable-system-mounts", container(rw)).length, 1);
    });
});

describe("application containers", () => {
    const app = (user: string | undefined, allowRoot?: string) =>
        container(
            hardened("app-web", {
                user,
                labels: [
                    { label: "replicated.application", value: "app-web" },
                    ...(allowRoot !== undefined ? [{ label: "replicated.allowRoot", value: allowRoot }] : []),
                ],
            }),
        );

    test("a root application container is reported (advisory) unless labelled allowRoot=true", () => {
        assert.equal(run("application-containers-non-root", app(undefined)).length, 1);
        assert.equal(run("application-containers-non-root", app("0:0")).length, 1);
        assert.equal(run("application-containers-non-root", app("0:0", "false")).length, 1);
        assert.deepEqual(run("application-containers-non-root", app("0:0", "true")), []);
        assert.deepEqual(run("application-containers-non-root", app("1234:1234")), []);
    });

    test("the mandatory twin reports only with requireNonRootApplications: true", () => {
        assert.deepEqual(run("application-containers-non-root-required", app(undefined)), []);
        assert.equal(run("application-containers-non-root-required", app(undefined), { requireNonRootApplications: true }).length, 1);
        assert.deepEqual(run("application-containers-non-root-required", app("0:0", "true"), { requireNonRootApplications: true }), []);
    });

    test("the application rules ignore Replicated's own containers", () => {
        assert.deepEqual(run("application-containers-non-root", container(hardened("replicated", { user: "" }))), []);
    });
});

describe("options assembled before docker run (set -- ..., then docker run \"$@\")", () => {
    const assembled = (options: string) =>
        command({
            stdin: [
                "#!/bin/sh",
                "# replicated-script: elevated-run",
                "set -eu",
                'mkdir -p -- "$1"',
                `mounts="--mount type=bind,source=/var/log,target=/host/var/log,readonly"`,
                `set -- --name op --user 0:0 --cap-drop ALL ${options} $mounts --entrypoint /bin/sh "$image" -s -- "$@"`,
                'timeout -k 10 "$t" docker run -i --rm --pull never "$@" >"$out"',
            ].join("\n"),
            triggers: ["r"],
        });

    test("the hardened elevated-run pattern passes every rule", () => {
        assert.deepEqual(validateResource(assembled("--security-opt no-new-privileges --network none")), []);
    });

    test("privileged, host namespaces and socket mounts are found in the assembled options", () => {
        assert.deepEqual(run("no-privileged-containers", assembled("--privileged")).length, 1);
        assert.deepEqual(run("no-host-namespaces", assembled("--network host --ipc=host")).length, 2);
        assert.deepEqual(run("docker-socket-only-core-services", assembled("-v /var/run/docker.sock:/s")).length, 1);
        assert.deepEqual(run("docker-socket-only-core-services", assembled("--mount type=bind,source=/run,target=/r")).length, 1);
    });

    test("the same words in a command that starts no container are not judged", () => {
        const text = command({ stdin: "#!/bin/sh\necho --privileged --network host -v /var/run/docker.sock:/s\n" });
        assert.deepEqual(validateResource(text), []);
    });
});

describe("helpers", () => {
    test("isRootUser", () => {
        assert.ok(isRootUser(undefined));
        assert.ok(isRootUser(" "));
        assert.ok(isRootUser("0:0"));
        assert.ok(isRootUser("root"));
        assert.equal(isRootUser("1017:0"), false);
        assert.equal(isRootUser("10"), false);
    });

    test("dockerRuns reads flags up to the image and ignores comments and the container's own arguments", () => {
        const runs = dockerRuns(["# docker run -u 5 (a comment)", "docker run --rm --name x -e A=1 -v /a:/b img --user 0:0 -p 80 && echo done"].join("\n"));
        assert.equal(runs.length, 1);
        assert.equal(runs[0].user, undefined);
        assert.deepEqual(runs[0].publishes, []);
        const joined = dockerRuns("docker run \\\n  --user='1017:999' \\\n  --network host -p 10.0.0.1:80:80 img");
        assert.equal(joined[0].user, "1017:999");
        assert.deepEqual(joined[0].publishes, ["10.0.0.1:80:80"]);
        assert.deepEqual(scriptOptions("docker run --network host -v /a:/b:ro img").mountSources, ["/a"]);
        assert.deepEqual(scriptOptions("# --privileged\ndocker run --network=host img").privileged, []);
    });

    test("packConfigForStack mirrors the stack's own settings", () => {
        const legacy: PackConfig = packConfigForStack("globex-airgap", { runAs: "root" });
        assert.deepEqual(legacy["no-root-containers"], { legacyRootStacks: ["globex-airgap"] });
        const modern = packConfigForStack("acme-online", { runAs: "replicated", allowAllInterfaces: true, requireNonRootApplications: true });
        assert.deepEqual(modern["no-root-containers"], { legacyRootStacks: [] });
        assert.deepEqual(modern["no-wildcard-port-bindings"], { allowAllInterfaces: true });
        assert.deepEqual(modern["application-containers-non-root-required"], { requireNonRootApplications: true });
    });

    test("ruleConfig applies schema defaults under the pack config", () => {
        assert.deepEqual(ruleConfig(rule("remote-commands-pin-host-key")), { unpinnedStacks: ["dev"] });
        assert.deepEqual(ruleConfig(rule("remote-commands-pin-host-key"), { "remote-commands-pin-host-key": { unpinnedStacks: [] } }), { unpinnedStacks: [] });
    });
});
