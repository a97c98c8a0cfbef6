/**
 * The version guard of one host (`components/scripts/version-guard.sh`): before any image is
 * loaded or any container replaced, it compares the configured Replicated version with the one
 * recorded on the host, refuses a downgrade unless `replicated:allowDowngrade` is set, and then
 * records the new version. Its command holds the version, so an upgrade re-runs it (an update of
 * the command, never a replacement), while the account and directory commands stay as they are.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { checkedHostTarget, invocationOn, refuseArgsProblems, type HostTarget } from "./host-target";
import { loadScript, parseSummaryLine } from "../shell";
import { hostConnection } from "./connection";
import { isComparableVersion } from "./versions";

export { compareVersions, isComparableVersion } from "./versions";

/** Where the guard keeps the deployed version on each host (root-owned, outside the service trees). */
export const VERSION_RECORD = "/var/lib/replicated-deploy/version";

/** Release channel names, as config validation accepts them. */
const CHANNEL_PATTERN = /^[a-z0-9][a-z0-9-]{0,30}$/;

/** What the guard found, relative to what was deployed before. */
export type VersionDirection = "install" | "same" | "upgrade" | "downgrade" | "channel";

/** The one-line JSON summary version-guard.sh prints. */
export interface VersionGuardSummary {
    /** Version deployed before (null on a new install). */
    readonly previous: string | null;
    /** Its channel, when known. */
    readonly previousChannel: string | null;
    /** Where `previous` came from: the record, the running containers' image tags, or nowhere. */
    readonly previousSource: "record" | "containers" | "none";
    /** The version now recorded. */
    readonly version: string;
    /** The channel now recorded. */
    readonly channel: string;
    readonly direction: VersionDirection;
    /** 1 when the record was written, 0 when it already said this version and channel. */
    readonly changed: number;
}

/**
 * Positional arguments of version-guard.sh: `<version> <channel> <true|false>`. Throws on a
 * version or channel that config validation should already have refused.
 */
export function versionGuardScriptArgs(version: string, channel: string, allowDowngrade: boolean): string[] {
    if (!isComparableVersion(version)) {
        throw new Error(`VersionGuard: invalid version ${JSON.stringify(version)}: it must be <major>.<minor>.<patch>, e.g. 2.53.2`);
    }
    if (!CHANNEL_PATTERN.test(channel)) {
        throw new Error(`VersionGuard: invalid channel ${JSON.stringify(channel)}: it must match ${CHANNEL_PATTERN.source}`);
    }
    return [version, channel, allowDowngrade ? "true" : "false"];
}

const DIRECTIONS: readonly VersionDirection[] = ["install", "same", "upgrade", "downgrade", "channel"];

/** Parse and check version-guard.sh's summary line. */
export function parseVersionGuardSummary(stdout: string): VersionGuardSummary {
    const summary = parseSummaryLine(stdout);
    const fail = (key: string, expected: string): never => {
        throw new Error(`version guard summary: "${key}" must be ${expected}, got ${JSON.stringify(summary[key])}`);
    };
    const version = typeof summary.version === "string" && isComparableVersion(summary.version) ? summary.version : fail("version", "a version");
    const channel = typeof summary.channel === "string" && CHANNEL_PATTERN.test(summary.channel) ? summary.channel : fail("channel", "a channel name");
    const previous =
        summary.previous === null || (typeof summary.previous === "string" && isComparableVersion(summary.previous))
            ? summary.previous
            : fail("previous", "a version or null");
    const previousChannel =
        summary.previousChannel === null || typeof summary.previousChannel === "string" ? summary.previousChannel : fail("previousChannel", "a string or null");
    const previousSource = ["record", "containers", "none"].includes(summary.previousSource as string)
        ? (summary.previousSource as VersionGuardSummary["previousSource"])
        : fail("previousSource", '"record", "containers" or "none"');
    const direction = DIRECTIONS.includes(summary.direction as VersionDirection) ? (summary.direction as VersionDirection) : fail("direction", DIRECTIONS.join(", "));
    const changed = summary.changed === 0 || summary.changed === 1 ? summary.changed : fail("changed", "0 or 1");
    return { previous, previousChannel, previousSource, version, channel, direction, changed };
}

export interface VersionGuardArgs {
    /** How SSH reaches the host (address, port, user, become, host key, private key). Required. */
    readonly target: HostTarget;
    /** The Replicated version this run deploys (`replicated:version`). No default. */
    readonly version: string;
    /** Its release channel (`replicated:channel`). No default. */
    readonly channel: string;
    /** Accept a version older than the recorded one (`replicated:allowDowngrade`). Default: false. */
    readonly allowDowngrade?: boolean;
}

/** What is wrong with a VersionGuard's own args (its target is checked apart), one line each. */
export function versionGuardArgsProblems(component: string, args: Omit<VersionGuardArgs, "target">): string[] {
    const problems: string[] = [];
    if (typeof args.version !== "string" || !isComparableVersion(args.version)) {
        problems.push(`${component}: version ${JSON.stringify(args.version)} must be <major>.<minor>.<patch>, e.g. 2.53.2`);
    }
    if (typeof args.channel !== "string" || !CHANNEL_PATTERN.test(args.channel)) {
        problems.push(`${component}: channel ${JSON.stringify(args.channel)} must match ${CHANNEL_PATTERN.source}`);
    }
    if (args.allowDowngrade !== undefined && typeof args.allowDowngrade !== "boolean") {
        problems.push(`${component}: allowDowngrade ${JSON.stringify(args.allowDowngrade)} must be true or false`);
    }
    return problems;
}

/**
 * Checks and records the Replicated version on one host (see the module comment). Depend on
 * {@link VersionGuard.command} so that nothing version-specific runs before it passed.
 * `pulumi destroy` deletes nothing on the host (the record stays).
 */
export class VersionGuard extends pulumi.ComponentResource {
    /** The remote command that ran version-guard.sh. */
    public readonly command: command.remote.Command;
    /** What the run found and recorded, parsed from its summary line. */
    public readonly summary: pulumi.Output<VersionGuardSummary>;

    constructor(name: string, args: VersionGuardArgs, opts?: pulumi.ComponentResourceOptions) {
        const component = `VersionGuard ${name}`;
        refuseArgsProblems(versionGuardArgsProblems(component, args));
        const target = checkedHostTarget(component, args.target);
        super("replicated:host:VersionGuard", name, {}, opts);
        const invocation = invocationOn(target, loadScript("version-guard"), versionGuardScriptArgs(args.version, args.channel, args.allowDowngrade ?? false));

        this.command = new command.remote.Command(
            `${name}-version-guard`,
            {
                connection: hostConnection(target),
                create: invocation.command,
                stdin: invocation.stdin,
                addPreviousOutputInEnv: false,
                logging: "stdoutAndStderr",
            },
            // The component's dependsOn (the stack's install detections) must hold for the command itself.
            { parent: this, dependsOn: opts?.dependsOn },
        );
        this.summary = this.command.stdout.apply(parseVersionGuardSummary);

        this.registerOutputs({ summary: this.summary });
    }
}
