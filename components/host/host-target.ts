/**
 * How every component that reaches a host over SSH reaches it: one {@link HostTarget} whose
 * fields may be other resources' outputs (a VM's private IP, a generated key pair).
 *
 * Plain values are checked when a component is constructed; values known only at deploy time
 * are checked by the same rules when they resolve (a bad value fails the deployment there). Each
 * error names the argument (`target.port`, `target.address`, ...) and the component.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { DEFAULT_SSH_PORT, DEFAULT_SSH_USER, defaultBecome } from "../config/defaults";
import { hostKeyProblem } from "./host-rules";
import { isHostAddress, isValidAccountName, isWildcardAddress, remoteInvocation, type Become } from "../shell";

/** What runs on a host: the primary runs the daemon, UI, sidecars and a local operator. */
export type HostRole = "primary" | "operator";

/** True for a {@link HostRole}. */
export function isHostRole(role: unknown): role is HostRole {
    return role === "primary" || role === "operator";
}

/** Where and as whom SSH reaches one host (remote commands and the docker provider alike). */
export interface HostTarget {
    /** Address SSH dials: a DNS host name or an IP address; may be another resource's output. Required. */
    readonly address: pulumi.Input<string>;
    /** SSH port, 1..65535. Default: 22. */
    readonly port?: pulumi.Input<number>;
    /** SSH login user. Default: `root`. */
    readonly user?: pulumi.Input<string>;
    /**
     * How the login user becomes root: `sudo` (`sudo -n`, never a prompt) or `none` (it is root).
     * Default: `none` for `root`, `sudo` for any other user.
     */
    readonly become?: pulumi.Input<Become>;
    /**
     * The host's public key, `"<type> <base64>"` (ed25519 or ecdsa, as `ssh-keyscan -t ed25519`
     * prints it without the address). Every connection checks the host against it. Default: none,
     * and then the host's identity is not checked (acceptable only for a local sandbox).
     */
    readonly hostKey?: pulumi.Input<string>;
    /**
     * The private key's contents (OpenSSH or PEM). Always handled as a secret, even when passed
     * as a plain string. Give exactly one of `privateKey` and `privateKeyFile`.
     */
    readonly privateKey?: pulumi.Input<string>;
    /**
     * A private key file on the machine running Pulumi, absolute or `~/...`. The docker provider's
     * ssh reads it as it is; remote commands get its contents as a secret. With `privateKey`
     * instead, the docker provider gets a 0600 copy (see `hostDockerProvider`). Give exactly one
     * of `privateKey` and `privateKeyFile`.
     */
    readonly privateKeyFile?: string;
}

/**
 * A {@link HostTarget} after {@link checkedHostTarget}: every default applied, every plain value
 * checked, every Input wrapped so it is checked when it resolves, and the private key a secret
 * (read from `privateKeyFile` when that was given; the file name is kept for ssh).
 */
export interface CheckedHostTarget {
    readonly address: pulumi.Input<string>;
    readonly port: pulumi.Input<number>;
    readonly user: pulumi.Input<string>;
    readonly become: pulumi.Input<Become>;
    /** Undefined: not pinned. */
    readonly hostKey?: pulumi.Input<string>;
    /** The key's contents, a secret. */
    readonly privateKey: pulumi.Output<string>;
    /** The key file (absolute) when the target named one. */
    readonly privateKeyFile?: string;
}

/** Thrown for a target (or other component argument) that cannot work; its message names the argument. */
export class HostArgsError extends pulumi.RunError {
    constructor(message: string) {
        super(message);
        this.name = "HostArgsError";
    }
}

/** The error for a target address that is not a host name or an IP address (it names the argument). */
export function targetAddressProblem(component: string, address: string): string | undefined {
    if (!isHostAddress(address)) {
        return `${component}: target.address ${JSON.stringify(address)} must be a DNS host name or an IP address`;
    }
    return isWildcardAddress(address) ? `${component}: target.address ${address} is the unspecified address ("every interface"), not an address of a host` : undefined;
}

/** The error for a target port outside 1..65535, or undefined. */
export function targetPortProblem(component: string, port: unknown): string | undefined {
    return typeof port === "number" && Number.isInteger(port) && port >= 1 && port <= 65535 ? undefined : `${component}: target.port ${JSON.stringify(port)} must be an integer from 1 to 65535`;
}

/** The error for a login user name that is not a valid account name, or undefined. */
export function targetUserProblem(component: string, user: unknown): string | undefined {
    return typeof user === "string" && isValidAccountName(user) ? undefined : `${component}: target.user ${JSON.stringify(user)} must match ^[a-z_][a-z0-9_-]{0,30}$ and not be all digits`;
}

/** The error for a `become` that is not `sudo` or `none`, or for a non-root user that cannot become root. */
export function targetBecomeProblem(component: string, become: unknown, user: unknown): string | undefined {
    if (become !== "sudo" && become !== "none") {
        return `${component}: target.become ${JSON.stringify(become)} must be "sudo" or "none"`;
    }
    if (become === "none" && typeof user === "string" && user !== "root") {
        return `${component}: target.become is "none" but target.user ${JSON.stringify(user)} is not root; it needs "sudo" to create the account and directories`;
    }
    return undefined;
}

/** The error for a pinned host key that the connections could not use, or undefined. */
export function targetHostKeyProblem(component: string, hostKey: unknown): string | undefined {
    if (typeof hostKey !== "string") {
        return `${component}: target.hostKey must be a string`;
    }
    const problem = hostKeyProblem(hostKey);
    return problem === undefined ? undefined : `${component}: target.hostKey ${problem}`;
}

/** Throws `problem` as a {@link HostArgsError} when there is one. */
function fail(problem: string | undefined): void {
    if (problem !== undefined) {
        throw new HostArgsError(problem);
    }
}

/** Throws every problem of one component's args as one {@link HostArgsError}, one line each, when there is any. */
export function refuseArgsProblems(problems: readonly string[]): void {
    if (problems.length > 0) {
        throw new HostArgsError(problems.join("\n"));
    }
}

/**
 * `value` checked by `problemOf`: a plain value now (throwing), an Input when it resolves. The
 * result keeps the Input's resources as dependencies.
 */
function checkedInput<T>(value: pulumi.Input<T>, problemOf: (resolved: T) => string | undefined): pulumi.Input<T> {
    if (isPlainValue(value)) {
        fail(problemOf(value));
        return value;
    }
    return pulumi.output(value).apply((resolved) => {
        fail(problemOf(resolved as T));
        return resolved as T;
    }) as pulumi.Input<T>;
}

/** True for a value known now: neither an Output nor a promise. */
export function isPlainValue<T>(value: pulumi.Input<T> | undefined): value is T {
    return !pulumi.Output.isInstance(value) && !(value instanceof Promise);
}

/** `~/x` → below the home directory; an absolute path as it is; anything else refused. */
function keyFilePath(component: string, file: string): string {
    if (file.startsWith("~/") && file.length > 2) {
        return path.join(os.homedir(), file.slice(2));
    }
    if (path.isAbsolute(file) && path.normalize(file) === file) {
        return file;
    }
    throw new HostArgsError(`${component}: target.privateKeyFile ${JSON.stringify(file)} must be an absolute path or ~/path`);
}

const checked = new WeakSet<object>();

/**
 * `target` with its defaults applied and its values checked (see the module comment). A target
 * that already came out of this function is returned as it is, so a component handing its target
 * to its children checks (and reads a key file) once. `component` prefixes every error, e.g.
 * `ReplicatedHost acme-1`.
 */
export function checkedHostTarget(component: string, target: HostTarget | CheckedHostTarget): CheckedHostTarget {
    if (checked.has(target)) {
        return target as CheckedHostTarget;
    }
    if (target === null || typeof target !== "object") {
        throw new HostArgsError(`${component}: target is required (address, and privateKey or privateKeyFile)`);
    }
    const given = target as HostTarget;
    if (given.address === undefined) {
        throw new HostArgsError(`${component}: target.address is required`);
    }
    const hasKey = given.privateKey !== undefined;
    const hasKeyFile = given.privateKeyFile !== undefined;
    if (hasKey === hasKeyFile) {
        throw new HostArgsError(
            `${component}: give exactly one of target.privateKey and target.privateKeyFile (${hasKey ? "both are" : "neither is"} set)`,
        );
    }

    const address = checkedInput(given.address, (value) => targetAddressProblem(component, value));
    const port = checkedInput(given.port ?? DEFAULT_SSH_PORT, (value) => targetPortProblem(component, value));
    const user = checkedInput(given.user ?? DEFAULT_SSH_USER, (value) => targetUserProblem(component, value));
    const rawUser = given.user ?? DEFAULT_SSH_USER;
    let become: pulumi.Input<Become>;
    if (given.become === undefined) {
        become = isPlainValue(rawUser) ? defaultBecome(rawUser) : pulumi.output(rawUser).apply(defaultBecome);
    } else if (isPlainValue(given.become) && isPlainValue(rawUser)) {
        fail(targetBecomeProblem(component, given.become, rawUser));
        become = given.become;
    } else {
        become = pulumi.all([given.become, rawUser]).apply(([value, name]) => {
            fail(targetBecomeProblem(component, value, name));
            return value;
        });
    }
    const hostKey = given.hostKey === undefined ? undefined : checkedInput(given.hostKey, (value) => targetHostKeyProblem(component, value));

    let privateKey: pulumi.Output<string>;
    let privateKeyFile: string | undefined;
    if (given.privateKeyFile !== undefined) {
        if (typeof given.privateKeyFile !== "string") {
            throw new HostArgsError(`${component}: target.privateKeyFile must be a string`);
        }
        privateKeyFile = keyFilePath(component, given.privateKeyFile);
        let contents: string;
        try {
            contents = fs.readFileSync(privateKeyFile, "utf8");
        } catch (err) {
            throw new HostArgsError(
                `${component}: target.privateKeyFile: cannot read ${privateKeyFile} (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
            );
        }
        privateKey = pulumi.secret(contents);
    } else {
        const key = given.privateKey as pulumi.Input<string>;
        if (isPlainValue(key) && (typeof key !== "string" || key.trim() === "")) {
            throw new HostArgsError(`${component}: target.privateKey must be a non-empty string`);
        }
        privateKey = pulumi.secret(key);
    }

    const result: CheckedHostTarget = Object.freeze({
        address,
        port,
        user,
        become,
        ...(hostKey !== undefined ? { hostKey } : {}),
        privateKey,
        ...(privateKeyFile !== undefined ? { privateKeyFile } : {}),
    });
    checked.add(result);
    return result;
}

/**
 * `script` with `args` as one remote invocation on `target` (see `remoteInvocation`): a plain
 * command when `become` is plain, else one that resolves with it.
 */
export function invocationOn(target: CheckedHostTarget, script: string, args: readonly string[]): { command: pulumi.Input<string>; stdin: string } {
    if (isPlainValue(target.become)) {
        return remoteInvocation(script, args, target.become);
    }
    return { command: pulumi.output(target.become).apply((become) => remoteInvocation(script, args, become).command), stdin: script };
}
