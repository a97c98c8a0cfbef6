/**
 * The Docker provider of one host, over SSH.
 *
 * The docker provider reaches a remote engine with `ssh://user@host:port`: it runs the local
 * `ssh` binary and `docker system dial-stdio` on the host, as the SSH user. So that user needs
 * the Docker socket: root, or a member of the `docker` group. A sudo user that is added to the
 * docker group for this is root-equivalent through the Docker API (Docker's own documentation
 * says so); the README says the same.
 *
 * ssh gets its key and its known host from files, not from Pulumi config values:
 * - the key: `sshPrivateKeyPath` as configured, or, when the key came as the secret
 *   `sshPrivateKey`, a 0600 copy written to a private directory of the user running Pulumi
 *   ({@link privateStateDir}, mode 0700, owned by that user);
 * - the host key: a known_hosts file in the same directory, written from the pinned `hostKey`,
 *   checked with `StrictHostKeyChecking=yes`. Without a pinned key (only the dev stack) ssh uses
 *   `StrictHostKeyChecking=accept-new`: the first key seen is recorded in that file and checked
 *   from then on.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { HostConfig, SshKeyConfig } from "../config";
import { isIPv6 } from "../shell";

/** ssh connect timeout in seconds (docker's own default is 30). */
export const SSH_CONNECT_TIMEOUT_SECONDS = 10;

/** `ssh://user@address:port`, IPv6 in brackets. */
export function sshDockerHost(host: Pick<HostConfig, "user" | "address" | "port">): string {
    const address = isIPv6(host.address) ? `[${host.address}]` : host.address;
    return `ssh://${host.user}@${address}:${host.port}`;
}

/**
 * One known_hosts line for the pinned key. OpenSSH looks a host up as `address` on port 22 and
 * as `[address]:port` on any other port, so the line uses the same form.
 */
export function knownHostsLine(address: string, port: number, hostKey: string): string {
    const name = port === 22 ? address : `[${address}]:${port}`;
    return `${name} ${hostKey}`;
}

/** Host key algorithms ssh may negotiate: only the pinned key's, so no other key type is accepted. */
export function hostKeyAlgorithms(hostKey: string): string {
    const type = hostKey.split(" ")[0];
    // An RSA key is offered with SHA-2 signatures; the key type name stays ssh-rsa.
    return type === "ssh-rsa" ? "rsa-sha2-512,rsa-sha2-256" : type;
}

/** Local files ssh reads. */
export interface SshFiles {
    /** Private key file. */
    readonly identityFile: string;
    /** known_hosts file for this host. */
    readonly knownHostsFile: string;
}

/**
 * Pure: the `sshOpts` of the docker provider. Each element is one argument of `ssh`.
 * `BatchMode` means a missing key or unknown host fails at once instead of prompting.
 */
export function dockerSshOptions(host: Pick<HostConfig, "hostKey">, files: SshFiles): string[] {
    // ssh expands %-tokens and splits on spaces inside -o values (-i takes its own argument).
    if (!/^\/[A-Za-z0-9._/-]+$/.test(files.knownHostsFile)) {
        throw new Error(`known_hosts path ${JSON.stringify(files.knownHostsFile)} must be absolute and use only [A-Za-z0-9._/-]`);
    }
    return [
        "-o", "BatchMode=yes",
        "-o", "IdentitiesOnly=yes",
        "-i", files.identityFile,
        "-o", `UserKnownHostsFile=${files.knownHostsFile}`,
        "-o", "GlobalKnownHostsFile=/dev/null",
        "-o", `StrictHostKeyChecking=${host.hostKey !== undefined ? "yes" : "accept-new"}`,
        ...(host.hostKey !== undefined ? ["-o", `HostKeyAlgorithms=${hostKeyAlgorithms(host.hostKey)}`] : []),
        "-o", `ConnectTimeout=${SSH_CONNECT_TIMEOUT_SECONDS}`,
    ];
}

/**
 * The private directory for key copies and known_hosts files: `$XDG_RUNTIME_DIR/pulumi-replicated`
 * when the login session has one, else `<tmpdir>/pulumi-replicated-<uid>`. Created 0700; refused
 * when it is a symlink, owned by someone else, or open to group or others. Its path is stable, so
 * the provider's settings do not change between runs.
 */
export function privateStateDir(): string {
    const uid = typeof process.getuid === "function" ? process.getuid() : 0;
    const runtime = process.env.XDG_RUNTIME_DIR;
    const base = runtime && path.isAbsolute(runtime) && fs.existsSync(runtime) ? path.join(runtime, "pulumi-replicated") : path.join(os.tmpdir(), `pulumi-replicated-${uid}`);
    return ensurePrivateDir(base);
}

/** Create `dir` 0700 if missing and check it is a private directory of the current user. */
export function ensurePrivateDir(dir: string): string {
    try {
        fs.mkdirSync(dir, { mode: 0o700 });
    } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") {
            throw new Error(`cannot create ${dir} for the docker provider's SSH files: ${(err as Error).message}`);
        }
    }
    const stat = fs.lstatSync(dir);
    const uid = typeof process.getuid === "function" ? process.getuid() : stat.uid;
    if (!stat.isDirectory() || stat.isSymbolicLink() || stat.uid !== uid || (stat.mode & 0o077) !== 0) {
        throw new Error(
            `${dir} must be a directory owned by uid ${uid} with mode 0700 (found ${stat.isSymbolicLink() ? "a symlink" : stat.isDirectory() ? "a directory" : "a non-directory"}, ` +
                `owner ${stat.uid}, mode ${(stat.mode & 0o777).toString(8)}). Fix: remove it, or point XDG_RUNTIME_DIR/TMPDIR elsewhere`,
        );
    }
    return dir;
}

/**
 * Write `content` to `file` with `mode`, atomically (temp file + rename in the same directory).
 * A file that already has exactly this content and mode is left alone.
 */
export function writePrivateFile(file: string, content: string, mode: number): void {
    try {
        const stat = fs.lstatSync(file);
        if (stat.isFile() && (stat.mode & 0o777) === mode && fs.readFileSync(file, "utf8") === content) {
            return;
        }
    } catch {
        // missing: write it below
    }
    const temp = `${file}.${process.pid}.${crypto.randomBytes(4).toString("hex")}.tmp`;
    fs.writeFileSync(temp, content, { mode, flag: "wx" });
    fs.chmodSync(temp, mode);
    fs.renameSync(temp, file);
}

export interface HostDockerProviderArgs {
    /** The host whose engine the provider manages. */
    readonly host: HostConfig;
    /** The SSH key from config: `path` is used as is; otherwise the secret contents are copied to a 0600 file. */
    readonly ssh: SshKeyConfig;
    /** Stack name, part of the local file names. */
    readonly stack: string;
    /** Project name, part of the local file names. */
    readonly project: string;
    /** Directory for the key copy and known_hosts file. Default: {@link privateStateDir}. */
    readonly stateDir?: string;
}

/**
 * A `docker.Provider` for one host over SSH (see the module comment for the files it writes and
 * what the SSH user needs on the host).
 */
export function hostDockerProvider(name: string, args: HostDockerProviderArgs, opts?: pulumi.CustomResourceOptions): docker.Provider {
    const dir = args.stateDir ?? privateStateDir();
    const base = `${args.project}-${args.stack}-${args.host.name}`;
    const knownHostsFile = path.join(dir, `${base}.known_hosts`);
    if (args.host.hostKey !== undefined) {
        writePrivateFile(knownHostsFile, `${knownHostsLine(args.host.address, args.host.port, args.host.hostKey)}\n`, 0o600);
    }

    let identityFile: pulumi.Input<string>;
    if (args.ssh.path !== undefined) {
        identityFile = args.ssh.path;
    } else {
        const keyFile = path.join(dir, `${base}.key`);
        // The file name is not secret; the write happens before the provider can use it.
        identityFile = pulumi.unsecret(
            args.ssh.privateKey.apply((key) => {
                writePrivateFile(keyFile, key.endsWith("\n") ? key : `${key}\n`, 0o600);
                return keyFile;
            }),
        );
    }

    return new docker.Provider(
        name,
        {
            host: sshDockerHost(args.host),
            sshOpts: pulumi.output(identityFile).apply((file) => dockerSshOptions(args.host, { identityFile: file, knownHostsFile })),
        },
        opts,
    );
}
