/**
 * The end of a takeover on one host (`components/scripts/takeover-confirm.sh`): after this
 * program's containers, it waits until they are all healthy and then disarms the fallback the
 * takeover armed. Where nothing was taken over, or the takeover is confirmed already, it changes
 * nothing and does not wait.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { checkedHostTarget, isHostRole, invocationOn, refuseArgsProblems, type HostRole, type HostTarget } from "./host-target";
import { loadScript, parseSummaryLine } from "../shell";
import { hostConnection } from "./connection";

/** The one-line JSON summary takeover-confirm.sh prints. */
export interface TakeoverConfirmSummary {
    /** `confirmed` once a takeover's containers were healthy; null on a host never taken over. */
    readonly phase: "confirmed" | null;
    readonly armed: false;
    /** Seconds this run waited for health. */
    readonly waitedSeconds: number;
    /** Seconds from the install script's units stopping to the program's containers healthy, when taken over. */
    readonly gapSeconds: number | null;
    readonly changed: number;
}

/**
 * Positional arguments of takeover-confirm.sh: `<role>`; the containers that must be healthy are
 * the role's core services plus the sidecars the program runs on the host.
 */
export function takeoverConfirmScriptArgs(role: "primary" | "operator"): string[] {
    if (!isHostRole(role)) {
        throw new Error(`TakeoverConfirmation: invalid role ${JSON.stringify(role)}`);
    }
    return [role];
}

/**
 * Pure: one message per argument of a {@link TakeoverConfirmation} that cannot work, each starting
 * with `<component>: <argument>`. The target is checked by `checkedHostTarget`.
 */
export function takeoverConfirmationArgsProblems(component: string, args: Omit<TakeoverConfirmationArgs, "target">): string[] {
    return isHostRole(args.role) ? [] : [`${component}: role ${JSON.stringify(args.role)} must be "primary" or "operator"`];
}

/** Parse and check takeover-confirm.sh's summary line. */
export function parseTakeoverConfirmSummary(stdout: string): TakeoverConfirmSummary {
    const summary = parseSummaryLine(stdout);
    const fail = (key: string, expected: string): never => {
        throw new Error(`takeover confirmation summary: "${key}" must be ${expected}, got ${JSON.stringify(summary[key])}`);
    };
    const phase = summary.phase === null || summary.phase === "confirmed" ? (summary.phase as TakeoverConfirmSummary["phase"]) : fail("phase", '"confirmed" or null');
    if (summary.armed !== false) {
        fail("armed", "false");
    }
    const waitedSeconds = typeof summary.waitedSeconds === "number" && summary.waitedSeconds >= 0 ? summary.waitedSeconds : fail("waitedSeconds", "a number of seconds");
    const gapSeconds = summary.gapSeconds === null || typeof summary.gapSeconds === "number" ? (summary.gapSeconds as number | null) : fail("gapSeconds", "a number or null");
    const changed = summary.changed === 0 || summary.changed === 1 ? summary.changed : fail("changed", "0 or 1");
    return { phase, armed: false, waitedSeconds, gapSeconds, changed };
}

export interface TakeoverConfirmationArgs {
    /** How SSH reaches the host (address, port, user, become, host key, private key). Required. */
    readonly target: HostTarget;
    /** The host's role: it decides which containers must be healthy. Required. */
    readonly role: HostRole;
}

/**
 * Runs takeover-confirm.sh on one host (command `<name>-takeover-confirm`). Give it `dependsOn`
 * on the host's containers (or on the resource that completes when they are healthy).
 */
export class TakeoverConfirmation extends pulumi.ComponentResource {
    /** The remote command that ran takeover-confirm.sh. */
    public readonly command: command.remote.Command;
    /** What it found, parsed from its summary line. */
    public readonly summary: pulumi.Output<TakeoverConfirmSummary>;

    constructor(name: string, args: TakeoverConfirmationArgs, opts?: pulumi.ComponentResourceOptions) {
        // Every argument is checked before anything is registered; the target's Inputs when they resolve.
        const component = `TakeoverConfirmation ${name}`;
        refuseArgsProblems(takeoverConfirmationArgsProblems(component, args));
        const target = checkedHostTarget(component, args.target);
        super("replicated:host:TakeoverConfirmation", name, {}, opts);
        const invocation = invocationOn(target, loadScript("takeover-confirm"), takeoverConfirmScriptArgs(args.role));
        this.command = new command.remote.Command(
            `${name}-takeover-confirm`,
            {
                connection: hostConnection(target),
                create: invocation.command,
                stdin: invocation.stdin,
                addPreviousOutputInEnv: false,
                logging: "stdoutAndStderr",
            },
            { parent: this, dependsOn: opts?.dependsOn },
        );
        this.summary = this.command.stdout.apply(parseTakeoverConfirmSummary);
        this.registerOutputs({ summary: this.summary });
    }
}
