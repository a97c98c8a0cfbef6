/**
 * Detection of what Replicated's own install script left on one host
 * (`components/scripts/detect-install.sh`): the first step on every host, before the account and
 * any container. It changes nothing. It stops `pulumi up` when that install disagrees with the
 * stack (runAs, a pinned serviceUser.uid, serviceUser.name, the host's role), with a message that
 * names the fix; the stack waits for the detection of every host, so no host changes anything
 * before all of them agree. The resource graph never depends on what it finds: the takeover step
 * exists on every host and does nothing where there is nothing to take over.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { checkedHostTarget, isHostRole, invocationOn, refuseArgsProblems, type HostRole, type HostTarget } from "./host-target";
import { MAX_ID, isValidAccountName, loadScript, parseSummaryLine } from "../shell";
import { hostConnection } from "./connection";
import { isRunAs, isServiceUid, type RunAs } from "./service-account";

/** What detection found on the host. */
export type InstallKind = "none" | "script" | "taken-over" | "foreign";

/** One unit of the install script. */
export interface InstallerUnit {
    readonly name: string;
    readonly form: "systemd" | "upstart" | "sysvinit";
    readonly path: string;
    readonly enabled: boolean;
    readonly running: boolean;
    /** The uid baked into the unit (`-u <uid>:<gid>`), when it has one. */
    readonly uid: number | null;
}

/** The one-line JSON summary detect-install.sh prints (the daemon token's value is never in it). */
export interface InstallSummary {
    readonly init: "systemd" | "upstart" | "sysvinit" | "unknown";
    readonly install: InstallKind;
    /** `root` (before 2.5.0), `service` (a service uid) or `mixed`; null unless install is `script`. */
    readonly mode: "root" | "service" | "mixed" | null;
    readonly serviceUid: number | null;
    /** The version the install runs (another tag of its `:current` image), when known. */
    readonly version: string | null;
    readonly units: readonly InstallerUnit[];
    readonly envFiles: readonly { readonly path: string; readonly daemonToken: boolean }[];
    readonly user: { readonly name: string; readonly uid: number; readonly gid: number } | null;
    readonly containers: readonly { readonly name: string; readonly image: string; readonly user: string; readonly running: boolean; readonly program: boolean }[];
    readonly images: readonly string[];
    readonly dataOwners: Readonly<Record<string, string | null>>;
    readonly takeoverPhase: string | null;
    /** True when the takeover step will take this host over. */
    readonly takeOver: boolean;
    readonly changed: 0;
}

/**
 * Positional arguments of detect-install.sh: `<runAs> <user name> <pinned uid or ""> <role>`.
 * Throws on values that config validation should already have refused.
 */
export function installDetectionScriptArgs(runAs: RunAs, userName: string, uid: number | undefined, role: "primary" | "operator"): string[] {
    if (!isValidAccountName(userName)) {
        throw new Error(`InstallDetection: invalid userName ${JSON.stringify(userName)}: it must match ^[a-z_][a-z0-9_-]{0,30}$`);
    }
    if (uid !== undefined && !isServiceUid(uid)) {
        throw new Error(`InstallDetection: invalid uid ${String(uid)}: it must be an integer from 1 to ${MAX_ID}`);
    }
    if (!isHostRole(role)) {
        throw new Error(`InstallDetection: invalid role ${JSON.stringify(role)}`);
    }
    // Root mode ignores the service account settings, so they cannot alter this command there.
    return runAs === "root" ? ["root", "replicated", "", role] : [runAs, userName, uid === undefined ? "" : String(uid), role];
}

/**
 * Pure: one message per argument of an {@link InstallDetection} that cannot work (checked with
 * its defaults applied), each starting with `<component>: <argument>`. The target is checked by
 * `checkedHostTarget`.
 */
export function installDetectionArgsProblems(component: string, args: Omit<InstallDetectionArgs, "target">): string[] {
    const problems: string[] = [];
    if (args.runAs !== undefined && !isRunAs(args.runAs)) {
        problems.push(`${component}: runAs ${JSON.stringify(args.runAs)} must be "replicated" or "root"`);
    }
    const userName = args.userName ?? "replicated";
    if (!isValidAccountName(userName)) {
        problems.push(`${component}: userName ${JSON.stringify(userName)} must match ^[a-z_][a-z0-9_-]{0,30}$ and not be all digits`);
    }
    if (args.uid !== undefined && !isServiceUid(args.uid)) {
        problems.push(`${component}: uid ${JSON.stringify(args.uid)} must be an integer from 1 to ${MAX_ID}`);
    }
    if (!isHostRole(args.role)) {
        problems.push(`${component}: role ${JSON.stringify(args.role)} must be "primary" or "operator"`);
    }
    return problems;
}

const KINDS: readonly InstallKind[] = ["none", "script", "taken-over", "foreign"];

/** Parse and check detect-install.sh's summary line. */
export function parseInstallSummary(stdout: string): InstallSummary {
    const summary = parseSummaryLine(stdout);
    const fail = (key: string, expected: string): never => {
        throw new Error(`install detection summary: "${key}" must be ${expected}, got ${JSON.stringify(summary[key])}`);
    };
    const install = KINDS.includes(summary.install as InstallKind) ? (summary.install as InstallKind) : fail("install", KINDS.join(", "));
    const init = ["systemd", "upstart", "sysvinit", "unknown"].includes(summary.init as string) ? (summary.init as InstallSummary["init"]) : fail("init", "an init system");
    const mode = summary.mode === null || ["root", "service", "mixed"].includes(summary.mode as string) ? (summary.mode as InstallSummary["mode"]) : fail("mode", "root, service, mixed or null");
    const serviceUid =
        summary.serviceUid === null || (typeof summary.serviceUid === "number" && Number.isInteger(summary.serviceUid) && summary.serviceUid >= 0)
            ? (summary.serviceUid as number | null)
            : fail("serviceUid", "a uid or null");
    const list = <T>(key: string): T[] => (Array.isArray(summary[key]) ? (summary[key] as T[]) : fail(key, "a list"));
    if (typeof summary.takeOver !== "boolean") {
        fail("takeOver", "true or false");
    }
    if (summary.changed !== 0) {
        fail("changed", "0 (detection changes nothing)");
    }
    return {
        init,
        install,
        mode,
        serviceUid,
        version: typeof summary.version === "string" ? summary.version : null,
        units: list<InstallerUnit>("units"),
        envFiles: list<{ path: string; daemonToken: boolean }>("envFiles"),
        user: (summary.user ?? null) as InstallSummary["user"],
        containers: list<InstallSummary["containers"][number]>("containers"),
        images: list<string>("images"),
        dataOwners: (summary.dataOwners ?? {}) as Record<string, string | null>,
        takeoverPhase: typeof summary.takeoverPhase === "string" ? summary.takeoverPhase : null,
        takeOver: summary.takeOver as boolean,
        changed: 0,
    };
}

export interface InstallDetectionArgs {
    /** How SSH reaches the host (address, port, user, become, host key, private key). Required. */
    readonly target: HostTarget;
    /** The host's role in the stack, which the install must agree with. Required. */
    readonly role: HostRole;
    /** The stack's runAs, which the install must agree with. Default: `replicated`. */
    readonly runAs?: RunAs;
    /** The stack's service account name. Default: `replicated`. */
    readonly userName?: string;
    /** A pinned service uid, which the install must run as. Default: none. */
    readonly uid?: number;
}

/**
 * Runs detect-install.sh on one host (command `<name>-detect-install`). Depend on
 * {@link InstallDetection.command} before anything that changes the host. `pulumi destroy` runs
 * nothing on the host.
 */
export class InstallDetection extends pulumi.ComponentResource {
    /** The remote command that ran detect-install.sh. */
    public readonly command: command.remote.Command;
    /** What it found, parsed from its summary line. */
    public readonly summary: pulumi.Output<InstallSummary>;

    constructor(name: string, args: InstallDetectionArgs, opts?: pulumi.ComponentResourceOptions) {
        // Every argument is checked before anything is registered; the target's Inputs when they resolve.
        const component = `InstallDetection ${name}`;
        refuseArgsProblems(installDetectionArgsProblems(component, args));
        const target = checkedHostTarget(component, args.target);
        super("replicated:host:InstallDetection", name, {}, opts);
        const invocation = invocationOn(target, loadScript("detect-install"), installDetectionScriptArgs(args.runAs ?? "replicated", args.userName ?? "replicated", args.uid, args.role));
        this.command = new command.remote.Command(
            `${name}-detect-install`,
            {
                connection: hostConnection(target),
                create: invocation.command,
                stdin: invocation.stdin,
                addPreviousOutputInEnv: false,
                logging: "stdoutAndStderr",
            },
            { parent: this, dependsOn: opts?.dependsOn },
        );
        this.summary = this.command.stdout.apply(parseInstallSummary);
        this.registerOutputs({ summary: this.summary });
    }
}
