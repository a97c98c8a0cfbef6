/**
 * The commands `pulumi up` runs on a host, taken from the real program: index.ts is recorded
 * under mocks with its account, directories and ownership-repair commands run on the test host
 * (so the later commands carry the real uid and docker gid), and the recorded `create` + `stdin`
 * of each command is what the benchmarks replay.
 */
import { recordOnHosts } from "../../test/support/host-runner";
import { scriptArgsOf, scriptNameOf } from "../../test/support/canned-outputs";
import type { RecordedResource } from "../../test/support/mock-recorder";
import { testHostConfig } from "../../test/support/host-runner";
import type { TestHost } from "../../test/support/testhost";

/** Stack name of the recording (not "dev": host keys are pinned, as on a customer stack). */
export const BENCH_STACK = "bench";
/** Request id of the support bundle the elevated-operation benchmark replays. */
export const BUNDLE_REQUEST = "bench-bundle";

/** One remote command as the program defines it. */
export interface RecordedCommand {
    /** Resource name, e.g. `rbench-...-account`. */
    readonly resource: string;
    /** Script name from its header. */
    readonly script: string;
    readonly args: string[];
    /** The `create` command line. */
    readonly create: string;
    /** What goes on the command's stdin (the script). */
    readonly stdin: string;
    /** SSH login user of the connection. */
    readonly user: string;
}

export interface ProgramCommands {
    readonly account: RecordedCommand;
    readonly directories: RecordedCommand;
    readonly repair: RecordedCommand;
    readonly supportBundle: RecordedCommand;
    /** The helper image reference the support bundle runs. */
    readonly helperImage: string;
    /** Service uid and docker gid the account command reported on the host. */
    readonly uid: number;
    readonly dockerGid: number;
    /** Seconds the recording took (child process, program evaluation and the three commands). */
    readonly seconds: number;
}

function toCommand(resource: RecordedResource): RecordedCommand {
    const { create, stdin, connection } = resource.inputs as { create?: unknown; stdin?: unknown; connection?: { user?: unknown } };
    if (typeof create !== "string" || typeof stdin !== "string") {
        throw new Error(`${resource.name}: create or stdin is not a known string in the recording`);
    }
    return {
        resource: resource.name,
        script: scriptNameOf(resource) ?? "",
        args: scriptArgsOf(resource),
        create,
        stdin,
        user: typeof connection?.user === "string" ? connection.user : "root",
    };
}

/**
 * Record the program for `host` (login root, become none; one support bundle requested) and
 * return its commands. The host ends converged: account, directories and repair ran on it.
 */
export async function recordProgramCommands(host: TestHost): Promise<ProgramCommands> {
    const config = testHostConfig([host], { overrides: { operations: { supportBundle: { request: BUNDLE_REQUEST } } } });
    const result = await recordOnHosts({ stack: BENCH_STACK, config }, [host], {
        scripts: ["account", "directories", "repair-ownership"],
    });
    if (result.error !== undefined) {
        throw new Error(`recording the program on ${host.name} failed: ${result.error}`);
    }
    const commands = result.recording.byType("command:remote:Command");
    const pick = (script: string, operation?: string): RecordedCommand => {
        const found = commands.filter((r) => scriptNameOf(r) === script && (operation === undefined || scriptArgsOf(r)[0] === operation));
        if (found.length !== 1) {
            throw new Error(`expected one ${script}${operation ? ` ${operation}` : ""} command in the recording, found ${found.length}: ${commands.map((r) => r.name).join(", ")}`);
        }
        return toCommand(found[0]);
    };
    const accountRun = result.runs.find((r) => r.script === "account");
    const summary = JSON.parse(accountRun?.stdout.trim().split("\n").pop() ?? "{}") as { uid?: unknown; dockerGid?: unknown };
    if (typeof summary.uid !== "number" || typeof summary.dockerGid !== "number") {
        throw new Error(`the account command printed no uid/dockerGid: ${accountRun?.stdout ?? "(did not run)"}`);
    }
    const supportBundle = pick("elevated-run", "support-bundle");
    return {
        account: pick("account"),
        directories: pick("directories"),
        repair: pick("repair-ownership"),
        supportBundle,
        // elevated-run OPERATION REQUEST STACK IMAGE TIMEOUT ...
        helperImage: supportBundle.args[3],
        uid: summary.uid,
        dockerGid: summary.dockerGid,
        seconds: result.seconds,
    };
}
