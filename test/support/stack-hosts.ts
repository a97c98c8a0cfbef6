/**
 * A stack's hosts as `ReplicatedHost`s built with plain args: the stack file's config (with
 * overrides) parsed and mapped by components/args-from-config.ts, without the program around
 * them (the generated daemon token, the stack-wide install gate). For tests about how one host's
 * components are wired together, recorded with `recordComponent`; several stacks' hosts can
 * share one evaluation (host names differ across stacks/).
 */
import { replicatedHostArgsFromConfig } from "../../components/args-from-config";
import { parseConfig } from "../../components/config";
import { DaemonTokenCarryOver } from "../../components/host";
import { ReplicatedHost, type ReplicatedHostArgs } from "../../components/replicated-host";
import { CANNED_DAEMON_TOKEN } from "./canned-outputs";
import { encodeConfig, type RecordedResource, type Recording } from "./mock-recorder";
import { stackConfigForTest } from "./stacks";

const PROJECT = "replicated";

/** The `ReplicatedHost` args of every host of `stack`, `overrides` applied to its config; the daemon token is the canned one. */
export function stackHostArgs(stack: string, overrides: Record<string, unknown> = {}): ReplicatedHostArgs[] {
    const config = parseConfig(encodeConfig(PROJECT, stackConfigForTest(stack, overrides)), stack, PROJECT);
    return config.hosts.map((host) => replicatedHostArgsFromConfig(config, host, { daemonToken: CANNED_DAEMON_TOKEN }));
}

/** One `ReplicatedHost` per args, named after its host (as the program names them). */
export function buildHosts(hosts: readonly ReplicatedHostArgs[]): ReplicatedHost[] {
    return hosts.map((args) => {
        if (args.hostName === undefined) {
            throw new Error("buildHosts: every host needs its hostName");
        }
        return new ReplicatedHost(args.hostName, args);
    });
}

/**
 * The hosts of `hosts` (one stack's, see {@link stackHostArgs}) with the daemon token carried
 * over from the primary as the program does (`<primary>-daemon-token`), the canned token as the
 * generated one.
 */
export function buildStackHosts(hosts: readonly ReplicatedHostArgs[]): ReplicatedHost[] {
    const primary = hosts.find((host) => host.role === "primary");
    if (primary?.hostName === undefined) {
        throw new Error("buildStackHosts: a stack has one primary, with its hostName");
    }
    const carryOver = new DaemonTokenCarryOver(`${primary.hostName}-daemon-token`, { target: primary.target, generated: CANNED_DAEMON_TOKEN });
    return buildHosts(hosts.map((host) => ({ ...host, daemonToken: carryOver.token })));
}

/** The resource `<type>::<name>` of `recording` and every resource below it (at any depth). */
export function subtreeOf(recording: Recording, root: string): RecordedResource[] {
    const below = new Set(descendantsOf(recording, root));
    return recording.resources.filter((r) => `${r.type}::${r.name}` === root || below.has(r));
}

/** What the program registers for one stack's hosts: every host's subtree and the daemon token's carry-over. */
export function stackHostResources(recording: Recording, primary: string, hostNames: readonly string[]): RecordedResource[] {
    return [
        ...subtreeOf(recording, `replicated:host:DaemonTokenCarryOver::${primary}-daemon-token`),
        ...hostNames.flatMap((host) => subtreeOf(recording, `replicated:index:ReplicatedHost::${host}`)),
    ];
}

/** Every resource of `recording` below the resource `<type>::<name>` (at any depth). */
export function descendantsOf(recording: Recording, root: string): RecordedResource[] {
    const byRef = new Map(recording.resources.map((r) => [`${r.type}::${r.name}`, r]));
    const below = (resource: RecordedResource): boolean => {
        for (let parent = resource.parent; parent !== undefined; parent = byRef.get(parent)?.parent) {
            if (parent === root) {
                return true;
            }
        }
        return false;
    };
    return recording.resources.filter(below);
}

/** Every resource of `recording` below the `ReplicatedHost` named `host` (at any depth). */
export function resourcesOfHost(recording: Recording, host: string): RecordedResource[] {
    return descendantsOf(recording, `replicated:index:ReplicatedHost::${host}`);
}
