/**
 * Reading recorded resource inputs in unit tests: the shapes of container mounts and ports, every
 * string an input holds, and the check that no command string carries a secret.
 */
import assert from "node:assert/strict";
import type { Recording } from "../../tools/offline/recorder";

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
