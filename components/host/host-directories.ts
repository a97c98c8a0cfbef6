/**
 * The directories Replicated writes on one host (`components/scripts/directories.sh`), owned by
 * the service uid and the docker group, plus the tmpfiles.d entry that recreates the runtime
 * directories under /run at boot.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { checkedHostTarget, isHostRole, isPlainValue, refuseArgsProblems, type HostRole, type HostTarget } from "./host-target";
import { MAX_ID, loadScript, remoteInvocation } from "../shell";
import { hostConnection } from "./connection";

/**
 * Mode of every directory: the services all run as the owner uid, so the owner bits are what
 * they use; the docker group may read (its members are root-equivalent anyway); others get nothing.
 */
export const DIRECTORY_MODE = "0750";

/** Where the tmpfiles.d entry lives. */
export const TMPFILES_CONF = "/etc/tmpfiles.d/replicated.conf";

/**
 * The directories directories.sh ensures for a role, parents first. Every host gets the service
 * account's home (where on-demand operations write) and the operator's directories; only the
 * primary gets the daemon's state and runtime directories.
 */
export function directoryPaths(role: HostRole): string[] {
    const everyHost = ["/var/lib/replicated", "/var/lib/replicated/support-bundles", "/var/lib/replicated/tmp"];
    const primaryOnly = [
        "/var/lib/replicated/db",
        "/var/lib/replicated/statsd",
        "/var/lib/replicated/premkit",
        "/var/lib/replicated/snapshots",
        "/var/run/replicated",
    ];
    const operator = ["/var/lib/replicated-operator", "/var/run/replicated-operator"];
    return role === "primary" ? [...everyHost, ...primaryOnly, ...operator] : [...everyHost, ...operator];
}

/** The tmpfiles.d lines directories.sh writes for a role (paths under /run, numeric ids). */
export function tmpfilesLines(role: HostRole, uid: number, gid: number): string[] {
    const runtime = role === "primary" ? ["/run/replicated", "/run/replicated-operator"] : ["/run/replicated-operator"];
    return runtime.map((dir) => `d ${dir} ${DIRECTORY_MODE} ${uid} ${gid} -`);
}

/** True for an owner uid of the directories: the service uid, or 0 in legacy root mode. */
function isOwnerUid(uid: unknown): boolean {
    return Number.isInteger(uid) && (uid as number) >= 0 && (uid as number) <= MAX_ID;
}

/** True for the directories' group: the docker gid, never 0. */
function isOwnerGid(gid: unknown): boolean {
    return Number.isInteger(gid) && (gid as number) >= 1 && (gid as number) <= MAX_ID;
}

/**
 * Positional arguments of directories.sh: `<uid> <gid> <role>`. uid 0 is legacy root mode; the
 * gid is the docker gid and never 0. Throws on ids outside that range.
 */
export function directoriesScriptArgs(uid: number, gid: number, role: HostRole): string[] {
    if (!isOwnerUid(uid)) {
        throw new Error(`HostDirectories: invalid uid ${String(uid)}: it must be an integer from 0 to ${MAX_ID}`);
    }
    if (!isOwnerGid(gid)) {
        throw new Error(`HostDirectories: invalid gid ${String(gid)}: it must be the docker gid, an integer from 1 to ${MAX_ID}`);
    }
    if (!isHostRole(role)) {
        throw new Error(`HostDirectories: invalid role ${JSON.stringify(role)}: it must be "primary" or "operator"`);
    }
    return [String(uid), String(gid), role];
}

/**
 * Pure: one message per bad uid or gid, each starting with `<component>: <argument>`. An Input not
 * yet resolved is left for when it resolves (the constructor checks it again there).
 */
function ownerProblems(component: string, uid: pulumi.Input<number>, gid: pulumi.Input<number>): string[] {
    const problems: string[] = [];
    if (isPlainValue(uid) && !isOwnerUid(uid)) {
        problems.push(`${component}: uid ${JSON.stringify(uid)} must be an integer from 0 to ${MAX_ID} (0 in legacy root mode)`);
    }
    if (isPlainValue(gid) && !isOwnerGid(gid)) {
        problems.push(`${component}: gid ${JSON.stringify(gid)} must be the docker gid, an integer from 1 to ${MAX_ID}`);
    }
    return problems;
}

/**
 * Pure: one message per argument of `args` that cannot work, each starting with
 * `<component>: <argument>`; uid and gid only when they are plain values. The target is checked by
 * `checkedHostTarget`.
 */
export function hostDirectoriesArgsProblems(component: string, args: HostDirectoriesArgs): string[] {
    const problems: string[] = [];
    if (!isHostRole(args.role)) {
        problems.push(`${component}: role ${JSON.stringify(args.role)} must be "primary" or "operator"`);
    }
    return [...problems, ...ownerProblems(component, args.uid, args.gid)];
}

export interface HostDirectoriesArgs {
    /** How SSH reaches the host (address, port, user, become, host key, private key). Required. */
    readonly target: HostTarget;
    /** The host's role: it decides which directories exist. Required. */
    readonly role: HostRole;
    /** Owner uid: the service uid (from ServiceAccount), or 0 in legacy root mode. No default. */
    readonly uid: pulumi.Input<number>;
    /** Group: the docker gid (from ServiceAccount). No default. */
    readonly gid: pulumi.Input<number>;
}

/**
 * Ensures Replicated's directories (see {@link directoryPaths}) with owner `uid:gid` and mode
 * {@link DIRECTORY_MODE}, non-recursively, and {@link TMPFILES_CONF}, applied at once where
 * systemd-tmpfiles exists. `pulumi destroy` deletes nothing on the host.
 */
export class HostDirectories extends pulumi.ComponentResource {
    /** The directories this host gets. */
    public readonly paths: string[];
    /** The remote command that ran directories.sh. */
    public readonly command: command.remote.Command;

    constructor(name: string, args: HostDirectoriesArgs, opts?: pulumi.ComponentResourceOptions) {
        // Every plain argument is checked before anything is registered; uid and gid given as
        // Inputs (the account's ids) when they resolve, with the same messages.
        const component = `HostDirectories ${name}`;
        refuseArgsProblems(hostDirectoriesArgsProblems(component, args));
        const target = checkedHostTarget(component, args.target);
        super("replicated:host:HostDirectories", name, {}, opts);
        const role = args.role;
        this.paths = directoryPaths(role);
        const script = loadScript("directories");
        const invocation = pulumi.all([args.uid, args.gid, target.become]).apply(([uid, gid, become]) => {
            refuseArgsProblems(ownerProblems(component, uid, gid));
            return remoteInvocation(script, directoriesScriptArgs(uid, gid, role), become);
        });

        this.command = new command.remote.Command(
            `${name}-directories`,
            {
                connection: hostConnection(target),
                create: invocation.apply((inv) => inv.command),
                stdin: script,
                addPreviousOutputInEnv: false,
                logging: "stdoutAndStderr",
            },
            { parent: this },
        );

        this.registerOutputs({ paths: this.paths });
    }
}
