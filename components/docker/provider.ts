/**
 * The Docker provider of one host, over SSH.
 *
 * The docker provider reaches a remote engine with `ssh://user@host:port`: it runs the local
 * `ssh` binary and `docker system dial-stdio` on the host, as the SSH user. So that user needs
 * the Docker socket: root, or a member of the `docker` group. A sudo user that is added to the
 * docker group for this is root-equivalent through the Docker API (Docker's own documentation
 * says so); docs/containers.md says the same.
 *
 * ssh gets its key and its known host from files, not from Pulumi config values:
 * - the key: the target's `privateKeyFile` (`sshPrivateKeyPath` in the stack config), or, when
 *   the key came as contents (`privateKey`, the secret `sshPrivateKey`), a 0600 copy
 *   `~/.ssh/pulumi-replicated/<project>-<stack>.key`;
 * - the host key: `~/.ssh/pulumi-replicated/<project>-<stack>-<host>.known_hosts`, written from
 *   the target's pinned `hostKey` once address, port and key are known, checked with
 *   `StrictHostKeyChecking=yes`. Without a pinned key (only the dev stack) ssh uses
 *   `StrictHostKeyChecking=accept-new`: the first key seen is recorded in that file and checked
 *   from then on.
 * `~/.ssh/pulumi-replicated` is mode 0700, owned by the user running Pulumi, never a symlink.
 *
 * The provider's inputs name these files as ssh finds them on any machine (`~/...`, or the key
 * relative to the project, see {@link portableKeyPath}), never by a path of this machine, so
 * they are the same for every operator and for CI: a preview elsewhere shows no provider update.
 * This works because nothing between the provider and ssh runs a shell:
 * kreuzwerker/terraform-provider-docker v4.5.0 (bridged by @pulumi/docker 5.2.0) passes
 * `ssh_opts` to docker/cli v28.5.2 `connhelper.GetConnectionHelperWithSSHOpts`, which runs `ssh`
 * through `commandconn.New` (exec.CommandContext, one argument per element), and OpenSSH expands
 * a leading `~/` itself in `-i` (ssh.c) and in `UserKnownHostsFile` (ssh.c, after readconf.c
 * stores it), from the passwd entry of the user (misc.c tilde_expand: getpwuid, not
 * $HOME). The program therefore writes the files below the passwd home directory too.
 *
 * The files stay after the run: `pulumi destroy` and `pulumi refresh` configure the provider
 * from its saved inputs without running the program, and a host removed from the config is
 * deleted through its old provider after the program has finished; all of them dial with these
 * files.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { projectRoot } from "../config";
import { isIPv6 } from "../shell";
import { HostArgsError, checkedHostTarget, type HostTarget } from "../host/host-target";

/** ssh connect timeout in seconds (docker's own default is 30). */
export const SSH_CONNECT_TIMEOUT_SECONDS = 10;

/** `ssh://user@address:port`, IPv6 in brackets. */
export function sshDockerHost(host: { readonly user: string; readonly address: string; readonly port: number }): string {
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

/** Local files ssh reads, as ssh's arguments name them (`~/...` or absolute). */
export interface SshFiles {
    /** Private key file. */
    readonly identityFile: string;
    /** known_hosts file for this host. */
    readonly knownHostsFile: string;
}

/** A path ssh takes as one `-o` value: absolute or `~/`, and no character ssh splits or expands (space, %, $). */
const SSH_OPTION_PATH = /^(~\/|\/)[A-Za-z0-9._/-]+$/;

/**
 * Pure: the `sshOpts` of the docker provider. Each element is one argument of `ssh`.
 * `BatchMode` means a missing key or unknown host fails at once instead of prompting.
 */
export function dockerSshOptions(host: { readonly hostKey?: string }, files: SshFiles): string[] {
    // readconf.c splits -o values on spaces and expands %-tokens and ${VAR} in UserKnownHostsFile
    // (-i takes its own argument).
    if (!SSH_OPTION_PATH.test(files.knownHostsFile)) {
        throw new Error(`known_hosts path ${JSON.stringify(files.knownHostsFile)} must be absolute or ~/..., and use only [A-Za-z0-9._/-]`);
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
 * The directory of the key copy and the known_hosts files, twice: as the provider's inputs name
 * it (what ssh expands) and as the absolute path the program writes to.
 */
export interface SshFilesLocation {
    /** The directory in ssh's arguments, e.g. `~/.ssh/pulumi-replicated`. */
    readonly sshPath: string;
    /** The same directory on this machine. */
    readonly localPath: string;
}

/** The files' directory as every machine's provider inputs name it. */
export const SSH_FILES_DIR = "~/.ssh/pulumi-replicated";

/**
 * The passwd entry's home directory of the user running Pulumi: what ssh's `~` means (OpenSSH
 * misc.c tilde_expand uses getpwuid, not $HOME). os.userInfo reads the passwd entry; os.homedir
 * would prefer $HOME.
 */
export function passwdHome(): string {
    let home: string;
    try {
        home = os.userInfo().homedir;
    } catch (err) {
        throw new pulumi.RunError(
            `cannot find the home directory of uid ${process.getuid?.() ?? "?"} in the passwd database (${(err as Error).message}); ` +
                "ssh needs it too to expand ~/.ssh. Fix: run Pulumi as a user with a passwd entry",
        );
    }
    if (!path.isAbsolute(home)) {
        throw new pulumi.RunError(`the passwd home directory ${JSON.stringify(home)} is not absolute; ssh cannot expand ~/.ssh from it`);
    }
    return home;
}

/** `~/.ssh/pulumi-replicated` of the user running Pulumi, below the passwd home directory. */
export function defaultSshFilesLocation(): SshFilesLocation {
    return { sshPath: SSH_FILES_DIR, localPath: path.join(passwdHome(), ".ssh", "pulumi-replicated") };
}

function currentUid(fallback: number): number {
    return typeof process.getuid === "function" ? process.getuid() : fallback;
}

/**
 * Create `~/.ssh` (0700, as ssh-keygen does) when it is missing, and refuse one that is not a
 * directory of the current user or that others can write to: they could swap the private
 * directory inside it.
 */
function ensureSshDir(dir: string): void {
    try {
        fs.mkdirSync(dir, { mode: 0o700 });
    } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") {
            throw new Error(`cannot create ${dir} for the docker provider's SSH files: ${(err as Error).message}`);
        }
    }
    const stat = fs.statSync(dir);
    const uid = currentUid(stat.uid);
    if (!stat.isDirectory() || stat.uid !== uid || (stat.mode & 0o022) !== 0) {
        throw new Error(
            `${dir} must be a directory owned by uid ${uid} that only its owner can write to (found ${stat.isDirectory() ? "a directory" : "a non-directory"}, ` +
                `owner ${stat.uid}, mode ${(stat.mode & 0o777).toString(8)}). Fix: chmod go-w ${dir}`,
        );
    }
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
    const uid = currentUid(stat.uid);
    if (!stat.isDirectory() || stat.isSymbolicLink() || stat.uid !== uid || (stat.mode & 0o077) !== 0) {
        throw new Error(
            `${dir} must be a directory owned by uid ${uid} with mode 0700 (found ${stat.isSymbolicLink() ? "a symlink" : stat.isDirectory() ? "a directory" : "a non-directory"}, ` +
                `owner ${stat.uid}, mode ${(stat.mode & 0o777).toString(8)}). Fix: remove it; Pulumi creates it again`,
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

/**
 * Environment variables of the machine running Pulumi that make the docker provider ignore
 * `host` or leave SSH (kreuzwerker/terraform-provider-docker v4.5.0 `internal/provider`):
 * provider.go reads DOCKER_CONTEXT, DOCKER_CERT_PATH, DOCKER_CERT_MATERIAL and
 * DOCKER_KEY_MATERIAL as defaults of unset provider settings (schema.EnvDefaultFunc); configure()
 * replaces `host` with the context's endpoint, and config.go MakeClient takes the TLS branches,
 * before the ssh:// one, when certificate settings are present. The provider inherits the CLI's
 * environment, which the program shares. Pure: returns one problem per variable set.
 */
export function dockerEnvironmentProblems(env: Readonly<Record<string, string | undefined>>): string[] {
    const effects: Record<string, string> = {
        DOCKER_CONTEXT: "the docker provider would connect to that Docker context instead of each host's ssh:// address",
        DOCKER_CERT_PATH: "the docker provider would use TLS with those certificates instead of SSH",
        DOCKER_CERT_MATERIAL: "the docker provider would use TLS with that certificate instead of SSH",
        DOCKER_KEY_MATERIAL: "the docker provider would use TLS with that key instead of SSH",
    };
    return Object.entries(effects)
        .filter(([name]) => (env[name] ?? "") !== "")
        .map(([name, effect]) => `${name} is set: ${effect}. Fix: unset ${name} for Pulumi runs`);
}

/** Throw, naming each variable, when {@link dockerEnvironmentProblems} finds any. */
export function assertDockerEnvironment(env: Readonly<Record<string, string | undefined>> = process.env): void {
    const problems = dockerEnvironmentProblems(env);
    if (problems.length > 0) {
        throw new pulumi.RunError(`The environment would redirect the docker provider:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    }
}

/** Where a configured key file may live, to name it for ssh the same way on every machine. */
export interface KeyFilePlaces {
    /** The project directory: the docker provider's working directory, so ssh's. */
    readonly projectDir: string;
    /** $HOME (os.homedir()), which the config's `~/` was resolved against. */
    readonly home: string;
    /** The passwd entry's home directory, which ssh's `~` means. */
    readonly passwdHome: string;
}

function isWithin(file: string, dir: string): boolean {
    const relative = path.relative(dir, file);
    return relative !== "" && !relative.startsWith("..") && !path.isAbsolute(relative);
}

/**
 * Pure: how `-i` names the configured key file `file` (absolute, as components/config/
 * resolved it), so that the argument does not depend on where this machine keeps the checkout
 * or the home directory:
 * - inside the project: relative to it. ssh resolves it against its working directory, the
 *   docker provider's, which is the project directory (pulumi/pulumi v3.248.0 pkg/engine
 *   project.go getPwdMain → sdk/go/common/resource/plugin plugin.go ExecPlugin `cmd.Dir`;
 *   neither the bridge nor the provider changes directory, and docker/cli commandconn sets none);
 * - below the home directory, when $HOME is the passwd home: `~/...`, which ssh expands;
 * - below $HOME when $HOME is not the passwd home: undefined, the caller copies the key to
 *   {@link SSH_FILES_DIR} (ssh's `~` would name another file);
 * - anywhere else: as configured (an absolute path is the same wherever the stack file is).
 */
export function portableKeyPath(file: string, places: KeyFilePlaces): string | undefined {
    if (isWithin(file, places.projectDir)) {
        return path.relative(places.projectDir, file);
    }
    if (isWithin(file, places.home)) {
        return path.resolve(places.home) === path.resolve(places.passwdHome) ? `~/${path.relative(places.home, file)}` : undefined;
    }
    return file;
}

export interface HostDockerProviderArgs {
    /** How ssh reaches the host (address, port, user, host key, private key). Required. */
    readonly target: HostTarget;
    /** The host's name: part of its known_hosts file name, so one file per host. Required. */
    readonly hostName: string;
    /** Stack name, part of the local file names. Default: the running stack (`pulumi.getStack()`). */
    readonly stack?: string;
    /** Project name, part of the local file names. Default: the running project (`pulumi.getProject()`). */
    readonly project?: string;
    /** Where the key copy and known_hosts file live. Default: {@link defaultSshFilesLocation}. */
    readonly files?: SshFilesLocation;
    /** Where a configured key file may live. Default: the project root, $HOME and the passwd home. */
    readonly keyPlaces?: KeyFilePlaces;
}

/** A name that can be part of a local file name ssh reads (no separator, no space, no `%`). */
const FILE_NAME_PART = /^[A-Za-z0-9._-]+$/;

/**
 * A `docker.Provider` for one host over SSH (see the module comment for the files it writes and
 * what the SSH user needs on the host).
 */
export function hostDockerProvider(name: string, args: HostDockerProviderArgs, opts?: pulumi.CustomResourceOptions): docker.Provider {
    const component = `hostDockerProvider ${name}`;
    const target = checkedHostTarget(component, args.target);
    const stack = args.stack ?? pulumi.getStack();
    const project = args.project ?? pulumi.getProject();
    for (const [argument, value] of [["hostName", args.hostName], ["stack", stack], ["project", project]] as const) {
        if (typeof value !== "string" || !FILE_NAME_PART.test(value)) {
            throw new HostArgsError(`${component}: ${argument} ${JSON.stringify(value)} must be a non-empty name of [A-Za-z0-9._-] (it is part of a local file name)`);
        }
    }
    assertDockerEnvironment();
    const location = args.files ?? defaultSshFilesLocation();
    if (args.files === undefined) {
        ensureSshDir(path.dirname(location.localPath));
    }
    ensurePrivateDir(location.localPath);
    const stackBase = `${project}-${stack}`;
    const knownHostsName = `${stackBase}-${args.hostName}.known_hosts`;
    // Address, port and host key may be known only at deploy time: the known_hosts line is
    // written when they resolve, and the provider's inputs wait for that write.
    const endpoint = pulumi.all([target.address, target.port, target.user, target.hostKey]).apply(([address, port, user, hostKey]) => {
        if (hostKey !== undefined) {
            writePrivateFile(path.join(location.localPath, knownHostsName), `${knownHostsLine(address, port, hostKey)}\n`, 0o600);
        }
        return { address, port, user, hostKey };
    });

    const configured =
        target.privateKeyFile !== undefined
            ? portableKeyPath(target.privateKeyFile, args.keyPlaces ?? { projectDir: projectRoot(), home: os.homedir(), passwdHome: passwdHome() })
            : undefined;
    let identityFile: pulumi.Input<string>;
    if (configured !== undefined) {
        identityFile = configured;
    } else {
        // One copy of the stack's key serves every host. sshOpts depend on the write, so the
        // provider never starts before the file exists; the file name is not secret.
        const keyName = `${stackBase}.key`;
        identityFile = pulumi.unsecret(
            target.privateKey.apply((key) => {
                writePrivateFile(path.join(location.localPath, keyName), key.endsWith("\n") ? key : `${key}\n`, 0o600);
                return `${location.sshPath}/${keyName}`;
            }),
        );
    }

    return new docker.Provider(
        name,
        {
            host: endpoint.apply((resolved) => sshDockerHost(resolved)),
            sshOpts: pulumi
                .all([identityFile, endpoint])
                .apply(([file, resolved]) => dockerSshOptions(resolved, { identityFile: file, knownHostsFile: `${location.sshPath}/${knownHostsName}` })),
        },
        opts,
    );
}
