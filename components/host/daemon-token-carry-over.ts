/**
 * The daemon token of a stack whose primary was installed by Replicated's own install script
 * (`components/scripts/read-daemon-token.sh`): the token in the script's files becomes the token
 * of this program's daemon and operators, so operator nodes not yet taken over keep connecting.
 * Where the primary holds no such token (a fresh host, one this program made, or an install
 * without operators), the generated token is used, unchanged: existing stacks keep theirs.
 *
 * The read is a command of its own whose whole output is a Pulumi secret and is never logged,
 * so the other host steps' summaries (uid, gid, ...) stay plain. The token never appears in a
 * command string.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { loadScript, parseSummaryLine } from "../shell";
import { checkedHostTarget, invocationOn, type HostTarget } from "./host-target";
import { hostConnection } from "./connection";

/** Characters a carried-over token may hold (the script checks the same before printing it). */
const TOKEN_PATTERN = /^[A-Za-z0-9._~+/=:-]{1,512}$/;

/** What read-daemon-token.sh printed (the token is secret wherever it travels). */
export interface DaemonTokenRead {
    readonly found: boolean;
    /** The file the token came from, when found. */
    readonly source: string | null;
    readonly token: string | null;
}

/**
 * Parse read-daemon-token.sh's summary line. Errors never quote the line: it holds the token.
 */
export function parseDaemonTokenRead(stdout: string): DaemonTokenRead {
    let summary: Record<string, unknown>;
    try {
        summary = parseSummaryLine(stdout);
    } catch {
        throw new Error("daemon token read: the last line of its output is not a JSON summary (its content is not shown: it may hold the token)");
    }
    if (summary.found === false) {
        return { found: false, source: null, token: null };
    }
    if (summary.found !== true || typeof summary.token !== "string" || !TOKEN_PATTERN.test(summary.token) || typeof summary.source !== "string") {
        throw new Error('daemon token read: expected {"found":true,"source":<file>,"token":<token>} or {"found":false}; the value is not shown');
    }
    return { found: true, source: summary.source, token: summary.token };
}

/** Pure: the token to use, given what the read found and the generated one. */
export function effectiveDaemonToken(read: DaemonTokenRead, generated: string): string {
    return read.found && read.token !== null ? read.token : generated;
}

export interface DaemonTokenCarryOverArgs {
    /** How SSH reaches the stack's primary host, where the install script keeps the token. Required. */
    readonly target: HostTarget;
    /** The generated token (RandomPassword), used when the primary holds none. */
    readonly generated: pulumi.Input<string>;
}

/**
 * Reads the install script's daemon token on the primary (command `<name>-read`, output secret,
 * logging off) and exposes {@link DaemonTokenCarryOver.token}: that token, else `generated`.
 */
export class DaemonTokenCarryOver extends pulumi.ComponentResource {
    /** The token every daemon and operator of the stack uses; always a secret. */
    public readonly token: pulumi.Output<string>;
    /** The remote command that ran read-daemon-token.sh. */
    public readonly command: command.remote.Command;

    constructor(name: string, args: DaemonTokenCarryOverArgs, opts?: pulumi.ComponentResourceOptions) {
        const target = checkedHostTarget(`DaemonTokenCarryOver ${name}`, args.target);
        super("replicated:host:DaemonTokenCarryOver", name, {}, opts);
        const invocation = invocationOn(target, loadScript("read-daemon-token"), []);
        this.command = new command.remote.Command(
            `${name}-read`,
            {
                connection: hostConnection(target),
                create: invocation.command,
                stdin: invocation.stdin,
                addPreviousOutputInEnv: false,
                // Neither the engine's log nor the plain state may ever hold the token.
                logging: "none",
            },
            { parent: this, additionalSecretOutputs: ["stdout", "stderr"] },
        );
        this.token = pulumi.secret(
            pulumi.all([this.command.stdout, args.generated]).apply(([stdout, generated]) => effectiveDaemonToken(parseDaemonTokenRead(stdout), generated)),
        );
        this.registerOutputs({});
    }
}
