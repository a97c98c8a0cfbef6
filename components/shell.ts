/**
 * Pure helpers for everything that reaches a host as text: the validators every config value
 * passes before it may appear in a command, POSIX quoting, and the one way a static script and
 * its positional arguments become a remote invocation.
 *
 * Nothing here talks to Pulumi or to a host, so it is tested directly (test/unit/shell.test.ts).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import ipaddr from "ipaddr.js";

/** User and group names as shadow-utils accepts them portably (and never all digits). */
export const NAME_PATTERN = /^[a-z_][a-z0-9_-]{0,30}$/;
/** Host and container names: lowercase DNS label. */
export const LABEL_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** Characters allowed in an absolute path that reaches a host. */
export const PATH_PATTERN = /^\/[A-Za-z0-9._/-]*$/;
/** Request ids of on-demand operations: they end up in file and container names. */
export const REQUEST_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** Largest uid/gid that is not the (uid_t)-1 sentinel on 32-bit ids. */
export const MAX_ID = 2 ** 31 - 2;
/** The conventional "nobody" id: accepted as the service uid only on explicit opt-in. */
export const NOBODY_ID = 65534;

/** True when `name` is a valid user or group name (and not all digits). */
export function isValidAccountName(name: string): boolean {
    return NAME_PATTERN.test(name) && !/^[0-9]+$/.test(name);
}

/** True for `/a/b`: absolute, only safe characters, no empty, `.` or `..` component, no trailing `/`. */
export function isCleanAbsolutePath(p: string): boolean {
    if (!PATH_PATTERN.test(p)) {
        return false;
    }
    if (p === "/") {
        return true;
    }
    const parts = p.slice(1).split("/");
    return parts.every((part) => part !== "" && part !== "." && part !== "..");
}

/**
 * Trees an operation never writes to or mounts, whatever the configuration says (mirrors
 * `is_protected_path` in elevated-run.sh): the system, Docker's and Replicated's own state,
 * logs, shared scratch space, and the generic parents `/`, `/var`, `/var/lib`, `/home`.
 */
export function isProtectedHostPath(p: string): boolean {
    const exact = ["/", "/var", "/var/lib", "/home"];
    const trees = [
        "/bin", "/sbin", "/usr", "/lib", "/lib32", "/lib64", "/libx32", "/boot", "/dev", "/etc", "/proc", "/sys",
        "/run", "/var/run", "/root", "/tmp", "/var/tmp", "/var/log", "/var/lib/docker", "/var/lib/containerd",
        "/var/lib/replicated",
    ];
    return exact.includes(p) || trees.some((tree) => isPathWithin(p, tree)) || p.startsWith("/var/lib/replicated-");
}

/** True when `child` is `root` itself or lies below it (both clean absolute paths). */
export function isPathWithin(child: string, root: string): boolean {
    if (root === "/") {
        return true;
    }
    return child === root || child.startsWith(`${root}/`);
}

/**
 * IPv4 in the one spelling every tool agrees on: four decimal octets 0..255 without leading
 * zeros. The numeric, octal and hex forms inet_aton also accepts (`2130706433`, `0x7f.1`,
 * `10.0.0.011`, which is 10.0.0.9) are refused: they read differently to different tools.
 */
export function isIPv4(address: string): boolean {
    return ipaddr.IPv4.isValidFourPartDecimal(address);
}

/**
 * IPv6 in its textual forms, without a zone id (`%eth0`), and with an embedded IPv4 tail only in
 * strict dotted-quad form.
 */
export function isIPv6(address: string): boolean {
    if (!/^[0-9a-fA-F:.]+$/.test(address) || !address.includes(":") || !ipaddr.IPv6.isValid(address)) {
        return false;
    }
    const tail = address.slice(address.lastIndexOf(":") + 1);
    return !tail.includes(".") || isIPv4(tail);
}

export function isIPAddress(address: string): boolean {
    return isIPv4(address) || isIPv6(address);
}

/**
 * A DNS host name (labels of letters, digits, hyphens) or an IP address. A name that some
 * resolver would read as a number (`2130706433`, `0x7f.1`, `10.0.0.011`: the last label all
 * digits, or anything inet_aton parses) is refused rather than guessed at.
 */
export function isHostAddress(address: string): boolean {
    if (isIPAddress(address)) {
        return true;
    }
    if (ipaddr.isValid(address)) {
        return false;
    }
    const labels = address.split(".");
    return (
        address.length <= 253 &&
        !/^[0-9]+$/.test(labels[labels.length - 1]) &&
        labels.every((label) => /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(label))
    );
}

/**
 * Whether `address` means "every interface" when a port binds to it: the unspecified address in
 * any spelling (`0.0.0.0`, `::`, `0::`, `::0`, `0:0:0:0:0:0:0:0`, `[::]`), and its IPv4-mapped
 * and IPv4-compatible forms (`::ffff:0.0.0.0`, `::0.0.0.0`), which Docker also binds to all
 * interfaces. Decided on the parsed bytes, not on the text. The empty string is not an address
 * here: callers that treat a missing address as "every interface" say so themselves.
 */
export function isWildcardAddress(address: string): boolean {
    const bare = /^\[(.*)\]$/.exec(address)?.[1] ?? address;
    if (!ipaddr.isValid(bare)) {
        return false;
    }
    const bytes = ipaddr.parse(bare).toByteArray();
    const mappedMarker = bytes.length === 16 && bytes[10] === 0xff && bytes[11] === 0xff;
    return bytes.every((byte, index) => byte === 0 || (mappedMarker && (index === 10 || index === 11)));
}

/**
 * Quote one argument for a POSIX shell: wrap in single quotes, and write each embedded `'` as
 * `'\''`. Refuses NUL, which no shell argument can carry.
 */
export function shellQuote(arg: string): string {
    if (arg.includes("\0")) {
        throw new Error("a shell argument cannot contain a NUL byte");
    }
    return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** How the SSH user reaches root on a host. */
export type Become = "sudo" | "none";

/** Exit status the sudo pre-check uses, so callers can tell it apart from a script failure. */
export const SUDO_UNAVAILABLE_EXIT = 97;

/**
 * One remote invocation: the command line the SSH session runs, and the bytes it reads on
 * stdin. The script travels on stdin so no sshd `AcceptEnv` or temporary file is needed, and
 * its arguments are positional (`sh -s -- ...`), quoted, never pasted into the script text.
 */
export interface RemoteInvocation {
    readonly command: string;
    readonly stdin: string;
}

/**
 * Build the invocation that runs `script` with `args` as root. With `become: "sudo"` the
 * command first checks `sudo -n true`, so a missing NOPASSWD rule fails at once with a clear
 * message (exit 97) instead of waiting for a password prompt that can never be answered.
 */
export function remoteInvocation(script: string, args: readonly string[], become: Become): RemoteInvocation {
    const argv = args.map(shellQuote).join(" ");
    const run = `sh -s --${argv ? ` ${argv}` : ""}`;
    if (become === "none") {
        return { command: run, stdin: script };
    }
    const refusal = shellQuote(
        "replicated: this SSH user cannot run sudo without a password (sudo -n failed). " +
            "Add a NOPASSWD sudoers rule for it, or log in as root and set become: none.",
    );
    return {
        command: `sudo -n true 2>/dev/null || { echo ${refusal} >&2; exit ${SUDO_UNAVAILABLE_EXIT}; }; sudo -n ${run}`,
        stdin: script,
    };
}

/** Directory holding the static host scripts. */
export const SCRIPTS_DIR = path.join(__dirname, "scripts");

const scriptCache = new Map<string, string>();

/**
 * `components/scripts/<file>` with every `# replicated-include: <lib>` line replaced by
 * `components/scripts/lib/<lib>.sh` (its shebang dropped).
 */
export function readScriptWithIncludes(file: string): string {
    return fs
        .readFileSync(path.join(SCRIPTS_DIR, file), "utf8")
        .replace(/^# replicated-include: ([a-z][a-z0-9-]*)$/gm, (_line, library: string) =>
            fs.readFileSync(path.join(SCRIPTS_DIR, "lib", `${library}.sh`), "utf8").replace(/^#!.*\n/, "").trimEnd(),
        );
}

/**
 * Read `components/scripts/<name>.sh` once per process, with every `# replicated-include: <lib>`
 * line replaced by `components/scripts/lib/<lib>.sh` (its shebang dropped): a script travels
 * alone on stdin, so shared shell functions are inlined rather than sourced. Names are fixed in
 * code, never config.
 */
export function loadScript(name: string): string {
    if (!/^[a-z][a-z0-9-]*$/.test(name)) {
        throw new Error(`invalid script name ${JSON.stringify(name)}`);
    }
    let text = scriptCache.get(name);
    if (text === undefined) {
        text = readScriptWithIncludes(`${name}.sh`);
        scriptCache.set(name, text);
    }
    return text;
}

/**
 * Parse the one JSON summary line a host script prints last. Earlier lines (progress notes)
 * are ignored; a missing or malformed summary is an error that quotes what was printed.
 */
export function parseSummaryLine(stdout: string): Record<string, unknown> {
    const lines = stdout.trim().split("\n");
    const last = lines[lines.length - 1]?.trim() ?? "";
    try {
        const parsed: unknown = JSON.parse(last);
        if (parsed !== null && typeof parsed === "object" && !Array.isArray(parsed)) {
            return parsed as Record<string, unknown>;
        }
    } catch {
        // fall through to the error below
    }
    throw new Error(`expected a JSON summary as the last line of the script output, got: ${JSON.stringify(last.slice(0, 200))}`);
}
