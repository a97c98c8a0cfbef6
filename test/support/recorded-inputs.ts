/**
 * Reading recorded resource inputs in unit tests: the shapes of container mounts and ports, every
 * string an input holds, the hardening every service container has, how every host command
 * reaches its host, and the check that no command string carries a secret.
 */
import assert from "node:assert/strict";
import { loadScript } from "../../components/shell";
import { scriptNameOf } from "../../tools/offline/host-model";
import type { RecordedResource, Recording } from "../../tools/offline/recorder";

export type Mount = { source: string; target: string; readOnly: boolean; type: string };
export type Port = { internal: number; external: number; ip: string; protocol: string };

/** Every string in `value`, with its dotted path. */
export function stringsIn(value: unknown, at = ""): Array<[string, string]> {
    if (typeof value === "string") return [[at, value]];
    if (Array.isArray(value)) return value.flatMap((item, index) => stringsIn(item, `${at}[${index}]`));
    if (value !== null && typeof value === "object") {
        return Object.entries(value).flatMap(([key, item]) => stringsIn(item, at ? `${at}.${key}` : key));
    }
    return [];
}

/** No remote command's create, stdin, update or delete string holds any of `secrets` (named by key). */
export function assertNoSecretInCommands(recording: Recording, secrets: Readonly<Record<string, readonly string[]>>): void {
    for (const command of recording.byType("command:remote:Command")) {
        for (const field of ["create", "stdin", "update", "delete"]) {
            const value = command.inputs[field];
            if (typeof value !== "string") {
                continue;
            }
            for (const [what, texts] of Object.entries(secrets)) {
                assert.equal(texts.some((text) => value.includes(text)), false, `${command.name}.${field} holds ${what}`);
            }
        }
    }
}

/**
 * The hardening of a service container: `user` mapped, the docker group its one extra group, no
 * capabilities, no new privileges, a read-only root, none of the host's namespaces, restarted
 * unless stopped, memory and CPU limits.
 */
export function assertHardenedContainer(container: RecordedResource, user: string, dockerGid: number): void {
    const { name, inputs } = container;
    assert.equal(inputs.user, user, name);
    assert.deepEqual(inputs.groupAdds, [String(dockerGid)], name);
    assert.deepEqual(inputs.capabilities, { drops: ["ALL"] }, name);
    assert.deepEqual(inputs.securityOpts, ["no-new-privileges:true"], name);
    assert.equal(inputs.readOnly, true, name);
    assert.equal(inputs.privileged, false, name);
    for (const key of ["pidMode", "networkMode", "usernsMode"]) {
        assert.equal(inputs[key], undefined, `${name} ${key}`);
    }
    assert.notEqual(inputs.ipcMode, "host");
    assert.equal(inputs.restart, "unless-stopped");
    assert.equal(inputs.maxRetryCount, undefined);
    assert.ok(Number(inputs.memory) > 0 && Number(inputs.cpuShares) > 0, name);
}

/**
 * How a host command reaches its host as `login` (user, become): no previous output in its
 * environment, no update or delete command (a change re-runs create), its output logged, the key
 * a secret, `sudo -n` behind a check for a sudo login and plain `sh` for root, the script on stdin.
 */
export function assertHostInvocation(command: RecordedResource, login: { readonly user?: unknown; readonly become?: unknown }): void {
    const connection = command.inputs.connection as Record<string, unknown>;
    assert.equal(command.inputs.addPreviousOutputInEnv, false, command.name);
    assert.equal(command.inputs.delete, undefined, `${command.name} has no delete command`);
    assert.equal(command.inputs.update, undefined, `${command.name}: a change re-runs create`);
    assert.equal(command.inputs.logging, "stdoutAndStderr");
    assert.equal(connection.user, login.user ?? "root");
    // The SDK marks the whole connection secret because the key inside it is one.
    assert.ok(
        command.secretPaths.some((p) => p === "connection" || p === "connection.privateKey"),
        `${command.name}: private key is a secret (${command.secretPaths.join(", ")})`,
    );
    const create = command.inputs.create as string;
    if (login.become === "sudo") {
        assert.match(create, /^sudo -n true 2>\/dev\/null \|\| \{ echo '.*' >&2; exit 97; \}; sudo -n sh -s -- /);
    } else {
        assert.match(create, /^sh -s -- /);
        assert.doesNotMatch(create, /sudo/);
    }
    assert.equal(command.inputs.stdin, loadScript(scriptNameOf(command) ?? ""), "the script travels on stdin unchanged");
}
