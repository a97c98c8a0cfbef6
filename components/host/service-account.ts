/**
 * The Replicated service account on one host (`components/scripts/account.sh`), or in legacy
 * root mode only the docker group lookup. Either way the component exposes the ids every later
 * resource of the host needs: the uid the services run as and the docker gid.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { checkedHostTarget, invocationOn, refuseArgsProblems, type HostTarget } from "./host-target";
import { MAX_ID, isValidAccountName, loadScript, parseSummaryLine } from "../shell";
import { hostConnection } from "./connection";

/** Who the Replicated services run as: the service account (2.5.0+) or root (legacy installs). */
export type RunAs = "replicated" | "root";

/** True for the two {@link RunAs} modes (args from plain JavaScript may hold anything). */
export function isRunAs(value: unknown): value is RunAs {
    return value === "replicated" || value === "root";
}

/** The one-line JSON summary account.sh prints. */
export interface AccountSummary {
    /** The account the services run as (`root` in legacy mode). */
    readonly user: string;
    /** Its uid (0 in legacy mode). */
    readonly uid: number;
    /** Its primary gid (the docker gid for an account this program created; 0 in legacy mode). */
    readonly gid: number;
    /** gid of the docker socket's group (never 0). */
    readonly dockerGid: number;
    /** How many changes the run made (0 on a converged host). */
    readonly changed: number;
}

/** What account.sh may adopt besides the accounts it recognises itself. */
export interface AccountAdoption {
    /** Adopt an existing account of this name although it is neither this program's nor the install script's (`serviceUser.adoptExisting`). */
    readonly adoptExisting?: string;
    /** Accept an account with uid 65534 (`serviceUser.allowNobodyUid`). Default false. */
    readonly allowNobodyUid?: boolean;
}

/** True for a uid the service account may be created with or required to have (a pinned uid). */
export function isServiceUid(uid: unknown): boolean {
    return Number.isInteger(uid) && (uid as number) >= 1 && (uid as number) <= MAX_ID;
}

/**
 * Positional arguments of account.sh: `<mode> <user name> <uid or ""> <adopt or ""> <allow 65534>`.
 * Legacy root mode always passes `root root "" "" false`, so the serviceUser settings cannot
 * alter that command. Throws on a name or uid that config validation should already have refused.
 */
export function accountScriptArgs(runAs: RunAs, userName: string, uid?: number, adoption: AccountAdoption = {}): string[] {
    if (runAs === "root") {
        return ["root", "root", "", "", "false"];
    }
    if (!isValidAccountName(userName)) {
        throw new Error(`ServiceAccount: invalid userName ${JSON.stringify(userName)}: it must match ^[a-z_][a-z0-9_-]{0,30}$`);
    }
    if (uid !== undefined && !isServiceUid(uid)) {
        throw new Error(`ServiceAccount: invalid uid ${String(uid)}: it must be an integer from 1 to ${MAX_ID}`);
    }
    if (adoption.adoptExisting !== undefined && adoption.adoptExisting !== userName) {
        throw new Error(`ServiceAccount: adoptExisting ${JSON.stringify(adoption.adoptExisting)} must be the service account's own name ${JSON.stringify(userName)}`);
    }
    return ["replicated", userName, uid === undefined ? "" : String(uid), adoption.adoptExisting ?? "", adoption.allowNobodyUid === true ? "true" : "false"];
}

/**
 * Pure: one message per argument of a {@link ServiceAccount} that cannot work (checked with its
 * defaults applied), each starting with `<component>: <argument>`. Root mode ignores the account
 * settings, so they are not checked there. The target is checked by `checkedHostTarget`.
 */
export function serviceAccountArgsProblems(component: string, args: Omit<ServiceAccountArgs, "target">): string[] {
    if (args.runAs !== undefined && !isRunAs(args.runAs)) {
        return [`${component}: runAs ${JSON.stringify(args.runAs)} must be "replicated" or "root"`];
    }
    if ((args.runAs ?? "replicated") === "root") {
        return [];
    }
    const problems: string[] = [];
    const userName = args.userName ?? "replicated";
    if (!isValidAccountName(userName)) {
        problems.push(`${component}: userName ${JSON.stringify(userName)} must match ^[a-z_][a-z0-9_-]{0,30}$ and not be all digits`);
    }
    if (args.uid !== undefined && !isServiceUid(args.uid)) {
        problems.push(`${component}: uid ${JSON.stringify(args.uid)} must be an integer from 1 to ${MAX_ID}`);
    }
    const adoptExisting = args.adoption?.adoptExisting;
    if (adoptExisting !== undefined && adoptExisting !== userName) {
        problems.push(`${component}: adoption.adoptExisting ${JSON.stringify(adoptExisting)} must be the service account's own name ${JSON.stringify(userName)}`);
    }
    return problems;
}

function idField(summary: Record<string, unknown>, key: string, min: number): number {
    const value = summary[key];
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > MAX_ID) {
        throw new Error(`account summary: "${key}" must be an integer from ${min} to ${MAX_ID}, got ${JSON.stringify(value)}`);
    }
    return value;
}

/** Parse and check account.sh's summary line. A docker gid of 0 is refused here too. */
export function parseAccountSummary(stdout: string): AccountSummary {
    const summary = parseSummaryLine(stdout);
    if (typeof summary.user !== "string" || summary.user === "") {
        throw new Error(`account summary: "user" must be a non-empty string, got ${JSON.stringify(summary.user)}`);
    }
    return {
        user: summary.user,
        uid: idField(summary, "uid", 0),
        gid: idField(summary, "gid", 0),
        dockerGid: idField(summary, "dockerGid", 1),
        changed: idField(summary, "changed", 0),
    };
}

export interface ServiceAccountArgs {
    /** How SSH reaches the host (address, port, user, become, host key, private key). Required. */
    readonly target: HostTarget;
    /** `replicated` ensures the account; `root` (legacy) creates nothing. Default: `replicated`. */
    readonly runAs?: RunAs;
    /** Service account name. Default: `replicated`. Ignored in root mode. */
    readonly userName?: string;
    /**
     * uid to create the account with, and to require of an existing one. Default: none (useradd
     * picks a system uid; an existing account is reused with its uid). Ignored in root mode.
     */
    readonly uid?: number;
    /** Existing accounts to adopt beyond the program's own and the install script's. Default: none. */
    readonly adoption?: AccountAdoption;
}

/**
 * Ensures the service account (`useradd --system`, primary group = the docker gid, also a
 * supplementary member of it) or, with `runAs: root`, only reads the docker gid. The command is
 * named `<name>-account`, or `<name>-docker-group` in root mode, so switching to the service
 * account shows up in a preview as a new command. `pulumi destroy` deletes nothing on the host.
 */
export class ServiceAccount extends pulumi.ComponentResource {
    /** uid the services run as (0 in root mode). */
    public readonly uid: pulumi.Output<number>;
    /** Primary gid of that account (0 in root mode). */
    public readonly gid: pulumi.Output<number>;
    /** gid of the docker group / socket (never 0). */
    public readonly dockerGid: pulumi.Output<number>;
    /** The account name (`root` in root mode). */
    public readonly userName: pulumi.Output<string>;
    /** The remote command that ran account.sh. */
    public readonly command: command.remote.Command;

    constructor(name: string, args: ServiceAccountArgs, opts?: pulumi.ComponentResourceOptions) {
        // Every argument is checked before anything is registered; the target's Inputs when they resolve.
        const component = `ServiceAccount ${name}`;
        refuseArgsProblems(serviceAccountArgsProblems(component, args));
        const target = checkedHostTarget(component, args.target);
        super("replicated:host:ServiceAccount", name, {}, opts);
        const runAs = args.runAs ?? "replicated";
        const invocation = invocationOn(target, loadScript("account"), accountScriptArgs(runAs, args.userName ?? "replicated", args.uid, args.adoption));

        this.command = new command.remote.Command(
            `${name}-${runAs === "root" ? "docker-group" : "account"}`,
            {
                connection: hostConnection(target),
                create: invocation.command,
                stdin: invocation.stdin,
                // The previous run's output in the environment would be noise at best.
                addPreviousOutputInEnv: false,
                logging: "stdoutAndStderr",
            },
            // The component's dependsOn (the stack's install detections) must hold for the command itself.
            { parent: this, dependsOn: opts?.dependsOn },
        );

        const summary = this.command.stdout.apply(parseAccountSummary);
        this.uid = summary.apply((s) => s.uid);
        this.gid = summary.apply((s) => s.gid);
        this.dockerGid = summary.apply((s) => s.dockerGid);
        this.userName = summary.apply((s) => s.user);

        this.registerOutputs({ uid: this.uid, gid: this.gid, dockerGid: this.dockerGid, userName: this.userName });
    }
}
