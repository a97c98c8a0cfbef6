/**
 * The takeover of one host from Replicated's own install script (`components/scripts/takeover.sh`),
 * right before this program's containers are created there: once the program's images are
 * present, it arms a host-side fallback, stops and disables the script's units (systemd: moved
 * aside and masked; upstart: moved aside; sysvinit: unregistered and moved aside) and removes the
 * script's containers. The data directories are left alone. On a host with nothing of the script
 * in place it changes nothing, so the step exists on every host whatever detection finds.
 *
 * {@link TakeoverConfirmation} disarms the fallback once the program's containers are healthy.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { checkedHostTarget, isHostRole, invocationOn, refuseArgsProblems, type HostRole, type HostTarget } from "./host-target";
import { loadScript, parseSummaryLine } from "../shell";
import { hostConnection } from "./connection";

/** Bounds of the fallback's deadline in seconds (config `takeover.fallbackSeconds`). */
export const FALLBACK_SECONDS_MIN = 30;
export const FALLBACK_SECONDS_MAX = 3600;
/** Default bound: time to pull nothing (images are present first), start the containers and pass healthchecks, with room. */
export const FALLBACK_SECONDS_DEFAULT = 300;
/** Extra seconds the fallback (and the confirmation) keep checking after the deadline. */
export const FALLBACK_GRACE_SECONDS = 30;

/** True for a fallback deadline within {@link FALLBACK_SECONDS_MIN}..{@link FALLBACK_SECONDS_MAX}. */
function isFallbackSeconds(seconds: unknown): boolean {
    return Number.isInteger(seconds) && (seconds as number) >= FALLBACK_SECONDS_MIN && (seconds as number) <= FALLBACK_SECONDS_MAX;
}

/**
 * Positional arguments of takeover.sh: `<role> <fallback seconds>`. The role decides which
 * containers must be healthy to disarm the fallback (its core services, plus the sidecars the
 * program runs there), so switching a sidecar does not re-run the step.
 */
export function takeoverScriptArgs(role: "primary" | "operator", fallbackSeconds: number): string[] {
    if (!isHostRole(role)) {
        throw new Error(`InstallerTakeover: invalid role ${JSON.stringify(role)}`);
    }
    if (!isFallbackSeconds(fallbackSeconds)) {
        throw new Error(`InstallerTakeover: fallbackSeconds must be an integer from ${FALLBACK_SECONDS_MIN} to ${FALLBACK_SECONDS_MAX}, got ${String(fallbackSeconds)}`);
    }
    return [role, String(fallbackSeconds)];
}

/**
 * Pure: one message per argument of an {@link InstallerTakeover} that cannot work (checked with
 * its defaults applied), each starting with `<component>: <argument>`. The target is checked by
 * `checkedHostTarget`.
 */
export function installerTakeoverArgsProblems(component: string, args: Omit<InstallerTakeoverArgs, "target">): string[] {
    const problems: string[] = [];
    if (!isHostRole(args.role)) {
        problems.push(`${component}: role ${JSON.stringify(args.role)} must be "primary" or "operator"`);
    }
    const fallbackSeconds = args.fallbackSeconds ?? FALLBACK_SECONDS_DEFAULT;
    if (!isFallbackSeconds(fallbackSeconds)) {
        problems.push(`${component}: fallbackSeconds ${JSON.stringify(fallbackSeconds)} must be an integer from ${FALLBACK_SECONDS_MIN} to ${FALLBACK_SECONDS_MAX}`);
    }
    return problems;
}

/** The one-line JSON summary takeover.sh prints. */
export interface TakeoverSummary {
    /** `script`: taken over now; `taken-over`: earlier (the fallback re-armed if not yet confirmed); `none`: nothing to take over. */
    readonly install: "script" | "taken-over" | "none";
    readonly init: string;
    readonly units: number;
    readonly stopped: number;
    readonly containersRemoved: number;
    readonly fallbackArmed: boolean;
    readonly fallbackSeconds: number;
    readonly changed: number;
}

/** Parse and check takeover.sh's summary line. */
export function parseTakeoverSummary(stdout: string): TakeoverSummary {
    const summary = parseSummaryLine(stdout);
    const fail = (key: string, expected: string): never => {
        throw new Error(`takeover summary: "${key}" must be ${expected}, got ${JSON.stringify(summary[key])}`);
    };
    const count = (key: string): number =>
        typeof summary[key] === "number" && Number.isInteger(summary[key]) && (summary[key] as number) >= 0 ? (summary[key] as number) : fail(key, "a count");
    const install = ["script", "taken-over", "none"].includes(summary.install as string) ? (summary.install as TakeoverSummary["install"]) : fail("install", "script, taken-over or none");
    return {
        install,
        init: typeof summary.init === "string" ? summary.init : fail("init", "a string"),
        units: count("units"),
        stopped: count("stopped"),
        containersRemoved: count("containersRemoved"),
        fallbackArmed: typeof summary.fallbackArmed === "boolean" ? summary.fallbackArmed : fail("fallbackArmed", "true or false"),
        fallbackSeconds: count("fallbackSeconds"),
        changed: count("changed"),
    };
}

export interface InstallerTakeoverArgs {
    /** How SSH reaches the host (address, port, user, become, host key, private key). Required. */
    readonly target: HostTarget;
    /** The host's role: it decides which services the takeover expects. Required. */
    readonly role: HostRole;
    /** Seconds the fallback gives the program's containers to become healthy. Default {@link FALLBACK_SECONDS_DEFAULT}. */
    readonly fallbackSeconds?: number;
}

/**
 * Runs takeover.sh on one host (command `<name>-takeover`). Give it `dependsOn` on the images and
 * everything else the containers wait for, and make the containers depend on
 * {@link InstallerTakeover.command}. `pulumi destroy` runs nothing on the host (see docs/takeover.md for
 * handing a host back to the install script).
 */
export class InstallerTakeover extends pulumi.ComponentResource {
    /** The remote command that ran takeover.sh. */
    public readonly command: command.remote.Command;
    /** What it did, parsed from its summary line. */
    public readonly summary: pulumi.Output<TakeoverSummary>;

    constructor(name: string, args: InstallerTakeoverArgs, opts?: pulumi.ComponentResourceOptions) {
        // Every argument is checked before anything is registered; the target's Inputs when they resolve.
        const component = `InstallerTakeover ${name}`;
        refuseArgsProblems(installerTakeoverArgsProblems(component, args));
        const target = checkedHostTarget(component, args.target);
        super("replicated:host:InstallerTakeover", name, {}, opts);
        const invocation = invocationOn(target, loadScript("takeover"), takeoverScriptArgs(args.role, args.fallbackSeconds ?? FALLBACK_SECONDS_DEFAULT));
        this.command = new command.remote.Command(
            `${name}-takeover`,
            {
                connection: hostConnection(target),
                create: invocation.command,
                stdin: invocation.stdin,
                addPreviousOutputInEnv: false,
                logging: "stdoutAndStderr",
            },
            { parent: this, dependsOn: opts?.dependsOn },
        );
        this.summary = this.command.stdout.apply(parseTakeoverSummary);
        this.registerOutputs({ summary: this.summary });
    }
}
