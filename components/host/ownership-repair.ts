/**
 * Safe recursive ownership repair of Replicated's own trees on one host
 * (`components/scripts/repair-ownership.sh`). On a fresh host it changes nothing; on a host
 * leaving legacy root mode it re-owns the existing data to the service account, with the
 * containers that write the trees stopped and a walk that cannot be redirected.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { checkedHostTarget, isPlainValue, refuseArgsProblems, type HostTarget } from "./host-target";
import { MAX_ID, loadScript, parseSummaryLine, remoteInvocation } from "../shell";
import { hostConnection } from "./connection";

/** The trees repaired, each where it exists. Fixed in the script: no path comes from config. */
export const OWNED_TREES: readonly string[] = Object.freeze([
    "/var/lib/replicated",
    "/var/run/replicated",
    "/var/lib/replicated-operator",
    "/var/run/replicated-operator",
]);

/** The one-line JSON summary repair-ownership.sh prints. */
export interface RepairSummary {
    /** Paths re-owned. */
    readonly changed: number;
    /** Multiply-linked files left alone because a link lies outside the trees. */
    readonly skipped: number;
    /** Trees that existed. */
    readonly trees: number;
    /** Mount points inside the trees, left alone with everything below them. */
    readonly mountsLeftAlone: number;
    /** Names of the running containers that mounted a tree and were stopped before the walk. */
    readonly stoppedContainers: readonly string[];
    /**
     * Those of them started again after the walk: all but the program's own service containers
     * that run as another user than `uid:gid` (the same `pulumi up` replaces those).
     */
    readonly restartedContainers: readonly string[];
}

/** True for an id the repair may re-own to: at least 1, never root. */
function isRepairId(id: unknown): boolean {
    return Number.isInteger(id) && (id as number) >= 1 && (id as number) <= MAX_ID;
}

/** Positional arguments of repair-ownership.sh: `<uid> <gid>`, both at least 1 (never root). */
export function repairScriptArgs(uid: number, gid: number): string[] {
    for (const [what, id] of [
        ["uid", uid],
        ["gid", gid],
    ] as const) {
        if (!isRepairId(id)) {
            throw new Error(`OwnershipRepair: invalid ${what} ${String(id)}: it must be an integer from 1 to ${MAX_ID} (the repair never re-owns to root)`);
        }
    }
    return [String(uid), String(gid)];
}

/**
 * Pure: one message per argument of an {@link OwnershipRepair} that cannot work, each starting
 * with `<component>: <argument>`; uid and gid only when they are plain values (an Input is checked
 * when it resolves). The target is checked by `checkedHostTarget`.
 */
export function ownershipRepairArgsProblems(component: string, args: Pick<OwnershipRepairArgs, "uid" | "gid">): string[] {
    const problems: string[] = [];
    for (const [argument, id] of [
        ["uid", args.uid],
        ["gid", args.gid],
    ] as const) {
        if (isPlainValue(id) && !isRepairId(id)) {
            problems.push(`${component}: ${argument} ${JSON.stringify(id)} must be an integer from 1 to ${MAX_ID} (the repair never re-owns to root)`);
        }
    }
    return problems;
}

/** Parse repair-ownership.sh's summary line. */
export function parseRepairSummary(stdout: string): RepairSummary {
    const summary = parseSummaryLine(stdout);
    const count = (key: string): number => {
        const value = summary[key];
        if (typeof value !== "number" || !Number.isInteger(value) || value < 0) {
            throw new Error(`repair summary: "${key}" must be a non-negative integer, got ${JSON.stringify(value)}`);
        }
        return value;
    };
    const names = (key: string): string[] => {
        const value = summary[key];
        if (!Array.isArray(value) || !value.every((name) => typeof name === "string")) {
            throw new Error(`repair summary: "${key}" must be a list of container names, got ${JSON.stringify(value)}`);
        }
        return value as string[];
    };
    return {
        changed: count("changed"),
        skipped: count("skipped"),
        trees: count("trees"),
        mountsLeftAlone: count("mountsLeftAlone"),
        stoppedContainers: names("stoppedContainers"),
        restartedContainers: names("restartedContainers"),
    };
}

export interface OwnershipRepairArgs {
    /** How SSH reaches the host (address, port, user, become, host key, private key). Required. */
    readonly target: HostTarget;
    /** Target owner: the service uid (from ServiceAccount; never 0). No default. */
    readonly uid: pulumi.Input<number>;
    /** Target group: the docker gid (from ServiceAccount). No default. */
    readonly gid: pulumi.Input<number>;
}

/**
 * Re-owns {@link OWNED_TREES} to `uid:gid`: first it stops every running container that mounts
 * one of the trees, then it walks them through directory handles (never a path resolved twice),
 * touching only mismatches, never following symlinks, never entering another file system or a
 * mount point, and skipping multiply-linked files unless every link was found inside with nothing
 * about them changing. On failure it starts the stopped containers again; on success those this
 * `pulumi up` replaces (the program's service containers whose user changes) stay stopped.
 *
 * Its command runs when created (a fresh host, or the switch from `runAs: root`), when uid or
 * gid change (the command text holds them), and, like every `remote.Command` without an `update`
 * (pulumi-command 1.2.1 `Command.Update` runs `create` then), whenever the connection or the
 * script changes; `pulumi destroy` deletes nothing on the host.
 */
export class OwnershipRepair extends pulumi.ComponentResource {
    /** The remote command that ran repair-ownership.sh. */
    public readonly command: command.remote.Command;
    /** What the run did (counts), parsed from its summary line. */
    public readonly summary: pulumi.Output<RepairSummary>;

    constructor(name: string, args: OwnershipRepairArgs, opts?: pulumi.ComponentResourceOptions) {
        // Every plain argument is checked before anything is registered; uid and gid given as
        // Inputs (the account's ids) when they resolve, with the same messages.
        const component = `OwnershipRepair ${name}`;
        refuseArgsProblems(ownershipRepairArgsProblems(component, args));
        const target = checkedHostTarget(component, args.target);
        super("replicated:host:OwnershipRepair", name, {}, opts);
        const script = loadScript("repair-ownership");
        const invocation = pulumi.all([args.uid, args.gid, target.become]).apply(([uid, gid, become]) => {
            refuseArgsProblems(ownershipRepairArgsProblems(component, { uid, gid }));
            return remoteInvocation(script, repairScriptArgs(uid, gid), become);
        });

        this.command = new command.remote.Command(
            `${name}-ownership`,
            {
                connection: hostConnection(target),
                create: invocation.apply((inv) => inv.command),
                stdin: script,
                addPreviousOutputInEnv: false,
                // Paths of skipped files are printed on stderr; they are the operator's own data.
                logging: "stdoutAndStderr",
            },
            // The component's dependsOn (the directories) must hold for the command itself.
            { parent: this, dependsOn: opts?.dependsOn },
        );
        this.summary = this.command.stdout.apply(parseRepairSummary);

        this.registerOutputs({ summary: this.summary });
    }
}
