/**
 * Disposable test hosts for the host and engine tiers.
 *
 * A test host is a Debian bookworm container (image built by `test/support/image/build.sh`
 * from Debian packages only) with its own sshd and its own dockerd, reached over real SSH
 * on loopback exactly like Pulumi's `remote.Command` reaches a customer host: one exec per
 * command, no PTY, pinned host key. Every container and network carries the label
 * {@link HARNESS_LABEL} so {@link cleanupLeftovers} can find what a crashed run left.
 *
 * Users on every host: `root` (key only), `deploy` (passwordless sudo) and `prompter`
 * (sudo that asks for a password, so `sudo -n` fails fast).
 *
 * @module
 */
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, promises as fs, rmSync } from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
// Default import: ssh2 is CommonJS, and its named exports are not visible to native ESM.
import ssh2 from "ssh2";

/** Label key on every container and network the harness creates. */
export const HARNESS_LABEL = "replicated-testhost";
/** {@link HARNESS_LABEL} value of hosts started by tests. */
export const TEST_LABEL_VALUE = "1";
/** {@link HARNESS_LABEL} value of the long-lived developer sandbox (not removed by test cleanups). */
export const SANDBOX_LABEL_VALUE = "sandbox";
/** Label key holding the id of one {@link startHosts} call, to find exactly that call's resources. */
export const RUN_LABEL = `${HARNESS_LABEL}.run`;
/** Label key recording how a host boots (`tini` or `systemd`). */
export const BOOT_LABEL = `${HARNESS_LABEL}.boot`;

/** The users every test host has. */
export const TEST_HOST_USERS = Object.freeze({
  root: "root",
  sudo: "deploy",
  promptingSudo: "prompter",
} as const);

/** One running test host. */
export interface TestHost {
  /** Container name, also the host name inside it. */
  name: string;
  containerId: string;
  /** Where sshd is published on this machine. */
  address: "127.0.0.1";
  sshPort: number;
  /** The container's IP on the test network, reachable from the other hosts of the same {@link startHosts} call. */
  privateAddress: string;
  /** Pinned host key, `"ssh-ed25519 AAAA..."` without comment, read out-of-band with `docker exec`. */
  hostKey: string;
  /** OpenSSH-format ed25519 client key accepted for every user. */
  privateKeyPath: string;
  privateKey: string;
  users: { root: "root"; sudo: "deploy"; promptingSudo: "prompter" };
  /** The user-defined docker network of this host's {@link startHosts} call. */
  networkName: string;
  /** Id of the {@link startHosts} call (value of {@link RUN_LABEL}). */
  runId: string;
  /** Seconds from `docker create` until SSH and the host's own docker answered. */
  startSeconds: number;
  /** How the host boots (see {@link StartHostsOptions.boot}). */
  boot: "tini" | "systemd";
}

/** Result of one remote command. */
export interface RunResult {
  /** Exit code, `null` when the command died from a signal or the channel closed without one. */
  code: number | null;
  signal?: string;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** SSH login user, default `root`. */
  user?: string;
  /** Written to the command's stdin, which is then closed. */
  stdin?: string | Buffer;
  /** Whole connection + command budget, default 120 000 ms. */
  timeoutMs?: number;
}

export interface StartHostsOptions {
  /** Container name prefix, default `rtest`: names are `<prefix>-<runId>-<n>`. */
  namePrefix?: string;
  /** Exact container names (one per host); overrides {@link namePrefix}. */
  names?: string[];
  /** Fixed loopback port for sshd (only with `count` 1, e.g. the sandbox); default a free random port. */
  sshPort?: number;
  /**
   * Keep the client key pair (`id_ed25519`, `id_ed25519.pub`) and, when `count` is 1, the host's
   * ed25519 host key here, reusing them when present, so the sandbox keeps its identity across
   * stop/start.
   * Default: a temp dir removed by {@link stopHosts}.
   */
  persistDir?: string;
  /** Label the hosts as the developer sandbox instead of test hosts. */
  sandbox?: boolean;
  /** Bound on waiting for SSH and docker to answer, default 90 000 ms. */
  readyTimeoutMs?: number;
  /**
   * How the host boots. `tini` (default): the image's entrypoint starts sshd and dockerd itself.
   * `systemd`: systemd is PID 1 and runs ssh.service and docker.service, as on a real server,
   * so tests can install, enable and start units (takeover of installs made by Replicated's
   * script). `/var/lib/docker` is a volume in both modes, so images survive {@link restartHost}.
   */
  boot?: "tini" | "systemd";
}

/** Timings of this process, for tests and benchmarks to print. */
export const harnessTimings: {
  image?: { tag: string; seconds: number; cached: boolean };
  /** Seconds to start each host, by host name. */
  hostStartSeconds: Record<string, number>;
  /** Seconds of each {@link restartHost}, by host name (last one wins). */
  hostRestartSeconds: Record<string, number>;
} = { hostStartSeconds: {}, hostRestartSeconds: {} };

const DEFAULT_RUN_TIMEOUT_MS = 120_000;
const DEFAULT_READY_TIMEOUT_MS = 90_000;
/** `docker stop/restart` grace: the host's dockerd needs time to stop its own containers. */
const STOP_TIMEOUT_SECONDS = 30;

// The only options that let a container run its own dockerd on this kind of machine
// (`--privileged` is refused here). cgroupns=host + the rw cgroup mount let the inner
// engine nest its containers' cgroups below the test host's own.
const DOCKER_IN_DOCKER_ARGS = [
  "--cap-add=ALL",
  "--cap-drop=SYS_RESOURCE",
  "--security-opt", "seccomp=unconfined",
  "--security-opt", "apparmor=unconfined",
  "--security-opt", "systempaths=unconfined",
  "--cgroupns=host",
  "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw",
];

/** POSIX single-quoting: the result is one shell word with no expansion. */
export function shQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

// ---------------------------------------------------------------------------------------
// Local docker CLI

interface LocalResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the local docker CLI with an argument array (no shell); throws on non-zero unless allowFailure. */
async function localDocker(
  args: string[],
  opts: { input?: string | Buffer; timeoutMs?: number; allowFailure?: boolean } = {},
): Promise<LocalResult> {
  const result = await spawnCollect("docker", args, opts.input, opts.timeoutMs ?? 120_000);
  if (result.code !== 0 && !opts.allowFailure) {
    throw new Error(`docker ${args.join(" ")} failed (exit ${result.code}): ${result.stderr.trim() || result.stdout.trim()}`);
  }
  return result;
}

function spawnCollect(
  file: string,
  args: string[],
  input: string | Buffer | undefined,
  timeoutMs: number,
  onStderr?: (chunk: Buffer) => void,
): Promise<LocalResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ["pipe", "pipe", "pipe"] });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${file} ${args.join(" ")} did not finish within ${timeoutMs} ms`));
    }, timeoutMs);
    child.stdout.on("data", (chunk: Buffer) => stdout.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => {
      stderr.push(chunk);
      onStderr?.(chunk);
    });
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${file}: ${err.message}`));
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(stdout).toString("utf8"), stderr: Buffer.concat(stderr).toString("utf8") });
    });
    child.stdin.on("error", () => undefined); // the child may exit before reading its input
    child.stdin.end(input);
  });
}

// ---------------------------------------------------------------------------------------
// Image

/** Walks up from the working directory to the repository that holds the image build script. */
export function findRepoRoot(start: string = process.cwd()): string {
  let dir = path.resolve(start);
  for (;;) {
    if (existsSync(path.join(dir, "test", "support", "image", "build.sh"))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) {
      throw new Error(`cannot find test/support/image/build.sh above ${start}; run from the repository`);
    }
    dir = parent;
  }
}

let imageBuild: Promise<{ tag: string; seconds: number; cached: boolean }> | undefined;

/**
 * Builds the test-host image if its content tag is missing (cold: debootstrap, a minute or two;
 * cached: a docker lookup). Memoised per process; concurrent processes serialise in build.sh.
 * Build logs go to stderr only when it really builds.
 */
export function buildTestHostImage(): Promise<{ tag: string; seconds: number; cached: boolean }> {
  imageBuild ??= (async () => {
    const started = performance.now();
    const script = path.join(findRepoRoot(), "test", "support", "image", "build.sh");
    const printed = await spawnCollect("bash", [script, "--print-tag"], undefined, 30_000);
    const tag = printed.stdout.trim();
    if (printed.code !== 0 || !tag) throw new Error(`build.sh --print-tag failed: ${printed.stderr.trim()}`);
    const cached = (await localDocker(["image", "inspect", tag], { allowFailure: true })).code === 0;
    if (!cached) {
      const built = await spawnCollect("bash", [script], undefined, 20 * 60_000, (chunk) => process.stderr.write(chunk));
      if (built.code !== 0) throw new Error(`test-host image build failed (exit ${built.code}):\n${built.stderr.trim()}`);
      const builtTag = built.stdout.trim().split("\n").pop();
      if (builtTag !== tag) throw new Error(`build.sh built ${builtTag ?? "nothing"}, expected ${tag}`);
    }
    const image = { tag, seconds: (performance.now() - started) / 1000, cached };
    harnessTimings.image = image;
    return image;
  })();
  // A failed build must not poison later attempts in the same process.
  imageBuild.catch(() => {
    imageBuild = undefined;
  });
  return imageBuild;
}

// ---------------------------------------------------------------------------------------
// SSH

/**
 * One command over real SSH with ssh2 (Client.exec, no PTY), host key pinned to
 * `host.hostKey`. Never throws on a non-zero exit; throws on a host-key mismatch,
 * a connection error or a timeout, naming the host and user.
 */
export function run(host: TestHost, command: string, opts: RunOptions = {}): Promise<RunResult> {
  const user = opts.user ?? "root";
  const timeoutMs = opts.timeoutMs ?? DEFAULT_RUN_TIMEOUT_MS;
  const target = `${user}@${host.address}:${host.sshPort} (${host.name})`;
  return new Promise<RunResult>((resolve, reject) => {
    const client = new ssh2.Client();
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let settled = false;
    let hostKeyProblem: string | undefined;
    const settle = (error: Error | undefined, result?: RunResult): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      client.end();
      if (error) reject(error);
      else resolve(result as RunResult);
    };
    const timer = setTimeout(() => {
      settle(new Error(`ssh ${target}: no result within ${timeoutMs} ms for: ${abbreviate(command)}`));
      client.destroy();
    }, timeoutMs);

    client.on("ready", () => {
      client.exec(command, (err, stream) => {
        if (err) return settle(new Error(`ssh ${target}: exec failed: ${err.message}`));
        let code: number | null = null;
        let signal: string | undefined;
        stream.on("exit", (exitCode: number | null, exitSignal?: string) => {
          code = exitCode;
          signal = exitSignal ?? undefined;
        });
        stream.on("data", (chunk: Buffer) => stdout.push(chunk));
        stream.stderr.on("data", (chunk: Buffer) => stderr.push(chunk));
        stream.on("close", () => {
          const result: RunResult = {
            code,
            stdout: Buffer.concat(stdout).toString("utf8"),
            stderr: Buffer.concat(stderr).toString("utf8"),
          };
          if (signal !== undefined) result.signal = signal;
          settle(undefined, result);
        });
        stream.end(opts.stdin);
      });
    });
    client.on("error", (err) => {
      settle(new Error(`ssh ${target}: ${hostKeyProblem ?? err.message}`));
    });
    client.on("close", () => {
      settle(new Error(`ssh ${target}: connection closed before the command finished: ${abbreviate(command)}`));
    });

    client.connect(sshConnectConfig(host, user, timeoutMs, (problem) => (hostKeyProblem = problem)));
  });
}

/**
 * How every SSH session of the harness connects to `host` as `user`: the key of the host's
 * record, and only the pinned ed25519 host key accepted (`onHostKeyProblem` hears why another was
 * refused).
 */
export function sshConnectConfig(host: TestHost, user: string, timeoutMs: number, onHostKeyProblem: (problem: string) => void): ssh2.ConnectConfig {
  const [pinnedType, pinnedBlob] = host.hostKey.trim().split(/\s+/);
  return {
    host: host.address,
    port: host.sshPort,
    username: user,
    privateKey: host.privateKey,
    hostVerifier: (key: Buffer): boolean => {
      const offered = key.toString("base64");
      if (pinnedType === "ssh-ed25519" && offered === pinnedBlob) return true;
      onHostKeyProblem(`host key mismatch: pinned "${host.hostKey}", server offered "ssh-ed25519 ${offered}"`);
      return false;
    },
    // Pinning is to the ed25519 key, so only that algorithm may be negotiated.
    algorithms: { serverHostKey: ["ssh-ed25519"] },
    readyTimeout: Math.min(timeoutMs, 20_000),
  };
}

function abbreviate(command: string): string {
  const oneLine = command.replace(/\s+/g, " ").trim();
  return oneLine.length > 120 ? `${oneLine.slice(0, 117)}...` : oneLine;
}

/**
 * Copies a local file to the host by piping it into `cat` over SSH (works for any user,
 * no SFTP subsystem needed). Mode defaults to the local file's permission bits.
 * Throws when the remote side fails.
 */
export async function copyFile(
  host: TestHost,
  localPath: string,
  remotePath: string,
  opts: { mode?: number; user?: string } = {},
): Promise<void> {
  const [content, stat] = await Promise.all([fs.readFile(localPath), fs.stat(localPath)]);
  const mode = (opts.mode ?? stat.mode & 0o7777).toString(8).padStart(4, "0");
  const target = shQuote(remotePath);
  const result = await run(host, `cat > ${target} && chmod ${mode} ${target}`, { user: opts.user, stdin: content });
  if (result.code !== 0) {
    throw new Error(`copyFile ${localPath} -> ${host.name}:${remotePath} failed (exit ${result.code}): ${result.stderr.trim()}`);
  }
}

/** Runs `docker <args>` on the host's own engine over SSH as root; every argument is single-quoted. */
export function docker(
  host: TestHost,
  args: string[],
  opts: { stdin?: string | Buffer; timeoutMs?: number } = {},
): Promise<RunResult> {
  const command = ["docker", ...args].map(shQuote).join(" ");
  return run(host, command, { user: "root", stdin: opts.stdin, timeoutMs: opts.timeoutMs });
}

// ---------------------------------------------------------------------------------------
// Lifecycle

const ownedKeyDirs = new WeakMap<TestHost, string>();

// Test hosts never outlive the process that started them: whatever stopHosts did not
// remove (a crash, a forgotten stop, Ctrl-C) is removed synchronously on exit.
// The sandbox is not tracked: it is meant to outlive its CLI.
const live = { containers: new Set<string>(), networks: new Set<string>(), dirs: new Set<string>() };
let exitHookInstalled = false;

function removeLiveResourcesSync(): void {
  if (live.containers.size > 0) {
    spawnSync("docker", ["rm", "--force", "--volumes", ...live.containers], { stdio: "ignore", timeout: 60_000 });
  }
  for (const network of live.networks) spawnSync("docker", ["network", "rm", network], { stdio: "ignore", timeout: 30_000 });
  for (const dir of live.dirs) rmSync(dir, { recursive: true, force: true });
  live.containers.clear();
  live.networks.clear();
  live.dirs.clear();
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", removeLiveResourcesSync);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(signal, () => {
      removeLiveResourcesSync();
      process.exit(128 + (os.constants.signals[signal] ?? 0));
    });
  }
}

/**
 * Starts `count` hosts on one new user-defined network (`rtest-<runId>`), in parallel.
 * Each gets its own sshd (published on 127.0.0.1) and dockerd; one ed25519 client key
 * pair per call is authorised for root, deploy and prompter before the first boot.
 * Resolves when every host answers a real SSH login and `docker info` on its own engine;
 * on any failure everything this call created is removed and the error carries the logs.
 * Test hosts not stopped by {@link stopHosts} are removed when the process exits (also on
 * an uncaught error or SIGINT/SIGTERM/SIGHUP); only the sandbox (`sandbox: true`) outlives it.
 */
export async function startHosts(count: number, opts: StartHostsOptions = {}): Promise<TestHost[]> {
  if (!Number.isInteger(count) || count < 1 || count > 16) throw new Error(`startHosts: count must be 1..16, got ${count}`);
  if (opts.sshPort !== undefined && count !== 1) throw new Error("startHosts: a fixed sshPort needs count 1");
  if (opts.names !== undefined && opts.names.length !== count) {
    throw new Error(`startHosts: ${opts.names.length} names for ${count} hosts`);
  }
  const image = await buildTestHostImage();
  const runId = randomBytes(4).toString("hex");
  const labelValue = opts.sandbox ? SANDBOX_LABEL_VALUE : TEST_LABEL_VALUE;
  const labels = ["--label", `${HARNESS_LABEL}=${labelValue}`, "--label", `${RUN_LABEL}=${runId}`, "--label", `${BOOT_LABEL}=${opts.boot ?? "tini"}`];
  const networkName = `rtest-${runId}`;
  const readyTimeoutMs = opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;

  const keyDir = opts.persistDir ? path.resolve(opts.persistDir) : await fs.mkdtemp(path.join(os.tmpdir(), "rtest-keys-"));
  const tempKeyDir = opts.persistDir ? undefined : keyDir;
  const track = !opts.sandbox;
  if (track) installExitHook();
  if (track && tempKeyDir) live.dirs.add(tempKeyDir);
  const started: TestHost[] = [];
  const createdIds: string[] = [];
  try {
    const clientKey = await ensureClientKey(keyDir);
    const authorizedKeysDir = await writeAuthorizedKeys(keyDir, clientKey.publicKey);
    await localDocker(["network", "create", ...labels, networkName]);
    if (track) live.networks.add(networkName);

    const prefix = opts.namePrefix ?? "rtest";
    const results = await Promise.allSettled(
      Array.from({ length: count }, async (_, index) => {
        const name = opts.names?.[index] ?? `${prefix}-${runId}-${index + 1}`;
        const host = await startOneHost({
          name,
          image: image.tag,
          labels,
          networkName,
          runId,
          fixedPort: opts.sshPort,
          // Several hosts must never share a host key: persist it only for a single host.
          persistDir: opts.persistDir && count === 1 ? keyDir : undefined,
          authorizedKeysDir,
          clientKey,
          readyTimeoutMs,
          boot: opts.boot ?? "tini",
          onCreated: (id) => {
            createdIds.push(id);
            if (track) live.containers.add(id);
          },
        });
        if (tempKeyDir) ownedKeyDirs.set(host, tempKeyDir);
        started.push(host);
        return host;
      }),
    );
    const failures = results.filter((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failures.length > 0) {
      throw new Error(failures.map((f) => (f.reason instanceof Error ? f.reason.message : String(f.reason))).join("\n---\n"));
    }
    // Keep the caller's order (index), not completion order.
    return results.map((r) => (r as PromiseFulfilledResult<TestHost>).value);
  } catch (error) {
    await removeContainers(createdIds);
    await localDocker(["network", "rm", networkName], { allowFailure: true });
    if (tempKeyDir) await fs.rm(tempKeyDir, { recursive: true, force: true });
    for (const id of createdIds) live.containers.delete(id);
    live.networks.delete(networkName);
    if (tempKeyDir) live.dirs.delete(tempKeyDir);
    throw error;
  }
}

interface ClientKey {
  privateKey: string;
  publicKey: string;
  privateKeyPath: string;
}

/** Reuses `id_ed25519` in `dir` or creates one (OpenSSH format, usable by ssh2, OpenSSH and Go). */
async function ensureClientKey(dir: string): Promise<ClientKey> {
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const privateKeyPath = path.join(dir, "id_ed25519");
  if (existsSync(privateKeyPath)) {
    const privateKey = await fs.readFile(privateKeyPath, "utf8");
    const parsed = ssh2.utils.parseKey(privateKey);
    if (parsed instanceof Error) throw new Error(`cannot parse ${privateKeyPath}: ${parsed.message}`);
    const key = Array.isArray(parsed) ? parsed[0] : parsed;
    return { privateKey, publicKey: `${key.type} ${key.getPublicSSH().toString("base64")}`, privateKeyPath };
  }
  const pair = ssh2.utils.generateKeyPairSync("ed25519", { comment: "replicated-testhost" });
  await fs.writeFile(privateKeyPath, pair.private, { mode: 0o600 });
  await fs.writeFile(`${privateKeyPath}.pub`, `${pair.public.trim()}\n`, { mode: 0o644 });
  return { privateKey: pair.private, publicKey: pair.public.trim(), privateKeyPath };
}

/** One file per user, copied into the image's central /etc/ssh/authorized_keys/ (root-owned, StrictModes-safe). */
async function writeAuthorizedKeys(keyDir: string, publicKey: string): Promise<string> {
  const dir = path.join(keyDir, "authorized_keys");
  await fs.mkdir(dir, { recursive: true });
  await fs.chmod(dir, 0o755);
  for (const user of Object.values(TEST_HOST_USERS)) {
    const file = path.join(dir, user);
    await fs.writeFile(file, `${publicKey}\n`);
    await fs.chmod(file, 0o644);
  }
  return dir;
}

interface StartOneHostArgs {
  name: string;
  image: string;
  labels: string[];
  networkName: string;
  runId: string;
  fixedPort?: number;
  persistDir?: string;
  authorizedKeysDir: string;
  clientKey: ClientKey;
  readyTimeoutMs: number;
  boot: "tini" | "systemd";
  onCreated: (containerId: string) => void;
}

/** `docker create` arguments of a systemd-booted host (what systemd needs to run as PID 1 in a container). */
const SYSTEMD_BOOT_ARGS = [
  "-e", "container=docker",
  "--tmpfs", "/run:rw,nosuid,nodev,mode=0755",
  "--tmpfs", "/run/lock:rw,nosuid,nodev,noexec",
  "--stop-signal", "SIGRTMIN+3",
  "--entrypoint", "/lib/systemd/systemd",
];

async function startOneHost(args: StartOneHostArgs): Promise<TestHost> {
  const startedAt = performance.now();
  const persistedHostKey = args.persistDir ? path.join(args.persistDir, "ssh_host_ed25519_key") : undefined;
  let containerId = "";
  let sshPort = 0;
  // A random free port can be taken between probing and `docker start`: retry with another.
  for (let attempt = 1; ; attempt++) {
    sshPort = args.fixedPort ?? (await freeLoopbackPort());
    containerId = (
      await localDocker([
        "create",
        "--name", args.name,
        "--hostname", args.name,
        ...args.labels,
        "--network", args.networkName,
        ...DOCKER_IN_DOCKER_ARGS,
        // A fresh /run on every start makes `docker restart` a reboot.
        ...(args.boot === "systemd" ? SYSTEMD_BOOT_ARGS : ["--tmpfs", "/run:rw,nosuid,nodev,noexec,mode=0755"]),
        "--stop-timeout", String(STOP_TIMEOUT_SECONDS),
        "--publish", `127.0.0.1:${sshPort}:22`,
        args.image,
      ])
    ).stdout.trim();
    args.onCreated(containerId);
    // Keys are in place before sshd first starts, so the first login already works.
    await localDocker(["cp", `${args.authorizedKeysDir}/.`, `${containerId}:/etc/ssh/authorized_keys`]);
    if (persistedHostKey && existsSync(persistedHostKey) && existsSync(`${persistedHostKey}.pub`)) {
      await localDocker(["cp", persistedHostKey, `${containerId}:/etc/ssh/ssh_host_ed25519_key`]);
      await localDocker(["cp", `${persistedHostKey}.pub`, `${containerId}:/etc/ssh/ssh_host_ed25519_key.pub`]);
    }
    const start = await localDocker(["start", containerId], { allowFailure: true });
    if (start.code === 0) break;
    const portTaken = /port is already allocated|address already in use/i.test(start.stderr);
    await removeContainers([containerId]);
    if (!portTaken || args.fixedPort !== undefined || attempt >= 3) {
      throw new Error(`cannot start test host ${args.name} on 127.0.0.1:${sshPort}: ${start.stderr.trim()}`);
    }
  }

  const deadline = Date.now() + args.readyTimeoutMs;
  const hostKey = await readHostKey(containerId, args.name, deadline);
  if (persistedHostKey && !existsSync(persistedHostKey)) {
    await localDocker(["cp", `${containerId}:/etc/ssh/ssh_host_ed25519_key`, persistedHostKey]);
    await localDocker(["cp", `${containerId}:/etc/ssh/ssh_host_ed25519_key.pub`, `${persistedHostKey}.pub`]);
  }
  const host: TestHost = {
    name: args.name,
    containerId,
    address: "127.0.0.1",
    sshPort,
    privateAddress: await readPrivateAddress(containerId, args.networkName),
    hostKey,
    privateKeyPath: args.clientKey.privateKeyPath,
    privateKey: args.clientKey.privateKey,
    users: { ...TEST_HOST_USERS },
    networkName: args.networkName,
    runId: args.runId,
    startSeconds: 0,
    boot: args.boot,
  };
  await waitUntilReady(host, deadline);
  host.startSeconds = (performance.now() - startedAt) / 1000;
  harnessTimings.hostStartSeconds[host.name] = host.startSeconds;
  return host;
}

function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function readHostKey(containerId: string, name: string, deadline: number): Promise<string> {
  let last = "";
  while (Date.now() < deadline) {
    const result = await localDocker(["exec", containerId, "cat", "/etc/ssh/ssh_host_ed25519_key.pub"], { allowFailure: true });
    const [type, blob] = result.stdout.trim().split(/\s+/);
    if (result.code === 0 && type === "ssh-ed25519" && blob) return `${type} ${blob}`;
    last = result.stderr.trim();
    await ensureStillRunning(containerId, name);
    await sleep(100);
  }
  throw new Error(`test host ${name}: no ed25519 host key appeared (${last})\n${await diagnostics(containerId)}`);
}

async function readPrivateAddress(containerId: string, networkName: string): Promise<string> {
  const inspected = await localDocker(["inspect", "--format", "{{json .NetworkSettings.Networks}}", containerId]);
  const networks = JSON.parse(inspected.stdout) as Record<string, { IPAddress?: string }>;
  const address = networks[networkName]?.IPAddress;
  if (!address) throw new Error(`container ${containerId} has no address on ${networkName}`);
  return address;
}

/** Real SSH login as root plus `docker info` on the host's own engine, retried until the deadline. */
async function waitUntilReady(host: TestHost, deadline: number): Promise<void> {
  let last = "";
  while (Date.now() < deadline) {
    try {
      const result = await run(host, "docker info --format '{{.ID}}'", { timeoutMs: Math.max(1_000, Math.min(10_000, deadline - Date.now())) });
      if (result.code === 0 && result.stdout.trim()) return;
      last = `docker info exited ${result.code}: ${result.stderr.trim()}`;
    } catch (error) {
      last = error instanceof Error ? error.message : String(error);
      // A wrong host key will not fix itself.
      if (last.includes("host key mismatch")) break;
    }
    await ensureStillRunning(host.containerId, host.name);
    await sleep(200);
  }
  throw new Error(`test host ${host.name} not ready (SSH login + docker info): ${last}\n${await diagnostics(host.containerId)}`);
}

async function ensureStillRunning(containerId: string, name: string): Promise<void> {
  const state = await localDocker(["inspect", "--format", "{{.State.Running}} {{.State.ExitCode}}", containerId], { allowFailure: true });
  if (state.stdout.trim().startsWith("false")) {
    throw new Error(`test host ${name} exited (${state.stdout.trim()})\n${await diagnostics(containerId)}`);
  }
}

/** Container log and dockerd log tails, for error messages. */
async function diagnostics(containerId: string): Promise<string> {
  const logs = await localDocker(["logs", "--tail", "40", containerId], { allowFailure: true });
  // Under tini dockerd logs to a file; under systemd to the journal.
  const dockerd = await localDocker(
    ["exec", containerId, "sh", "-c", "tail -n 20 /var/log/dockerd.log 2>/dev/null || journalctl --no-pager -n 30 -u docker -u ssh -u testhost-keygen"],
    { allowFailure: true },
  );
  return [
    `--- docker logs ${containerId.slice(0, 12)} ---`,
    (logs.stdout + logs.stderr).trim(),
    "--- dockerd log (tail) ---",
    (dockerd.stdout + dockerd.stderr).trim(),
  ].join("\n");
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Reboots a host: `docker restart` (SIGTERM, the entrypoint stops dockerd cleanly; /run is a
 * fresh tmpfs; the entrypoint runs again) and waits until SSH and docker answer. Disk
 * content, host key, port and client key stay. The container's IP on the test network is
 * re-read and `host.privateAddress` updated in the rare case docker assigned another one.
 */
export async function restartHost(host: TestHost, opts: { readyTimeoutMs?: number } = {}): Promise<{ seconds: number }> {
  const startedAt = performance.now();
  await localDocker(["restart", "--time", String(STOP_TIMEOUT_SECONDS), host.containerId], {
    timeoutMs: (STOP_TIMEOUT_SECONDS + 60) * 1000,
  });
  const deadline = Date.now() + (opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS);
  const hostKey = await readHostKey(host.containerId, host.name, deadline);
  // An attached, stopped host has no pinned key yet (see attachToHost).
  if (host.hostKey && hostKey !== host.hostKey) throw new Error(`test host ${host.name}: host key changed across restart`);
  host.hostKey = hostKey;
  host.privateAddress = await readPrivateAddress(host.containerId, host.networkName);
  await waitUntilReady(host, deadline);
  const seconds = (performance.now() - startedAt) / 1000;
  harnessTimings.hostRestartSeconds[host.name] = seconds;
  return { seconds };
}

async function removeContainers(ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  const result = await localDocker(["rm", "--force", "--volumes", ...ids], { allowFailure: true });
  if (result.code !== 0 && !/No such container/i.test(result.stderr)) {
    throw new Error(`docker rm ${ids.join(" ")} failed: ${result.stderr.trim()}`);
  }
}

/** Removes the hosts' containers (with their volumes), their networks and temp key dirs. Idempotent. */
export async function stopHosts(hosts: readonly TestHost[]): Promise<void> {
  await Promise.all(hosts.map((host) => removeContainers([host.containerId])));
  for (const host of hosts) live.containers.delete(host.containerId);
  for (const network of new Set(hosts.map((host) => host.networkName))) {
    const result = await localDocker(["network", "rm", network], { allowFailure: true });
    if (result.code !== 0 && !/not found|No such network/i.test(result.stderr)) {
      throw new Error(`docker network rm ${network} failed: ${result.stderr.trim()}`);
    }
    live.networks.delete(network);
  }
  for (const host of hosts) {
    const keyDir = ownedKeyDirs.get(host);
    if (keyDir) {
      await fs.rm(keyDir, { recursive: true, force: true });
      live.dirs.delete(keyDir);
    }
  }
}

/**
 * Removes every container and network labelled by the harness (what crashed runs left).
 * The developer sandbox is kept unless `includeSandbox` is set. Do not call it while other
 * test processes may be using hosts: it removes theirs too.
 */
export async function cleanupLeftovers(opts: { includeSandbox?: boolean } = {}): Promise<{ containers: number; networks: number }> {
  const tests = await removeLabelled(TEST_LABEL_VALUE);
  if (!opts.includeSandbox) return tests;
  const sandbox = await removeLabelled(SANDBOX_LABEL_VALUE);
  return { containers: tests.containers + sandbox.containers, networks: tests.networks + sandbox.networks };
}

/** Removes every container (with volumes) and network whose {@link HARNESS_LABEL} has this value. */
export async function removeLabelled(labelValue: string): Promise<{ containers: number; networks: number }> {
  const filter = `label=${HARNESS_LABEL}=${labelValue}`;
  const ids = (await localDocker(["ps", "--all", "--quiet", "--filter", filter])).stdout.split("\n").filter(Boolean);
  await removeContainers(ids);
  const networks = (await localDocker(["network", "ls", "--quiet", "--filter", filter])).stdout.split("\n").filter(Boolean);
  for (const id of networks) await localDocker(["network", "rm", id], { allowFailure: true });
  return { containers: ids.length, networks: networks.length };
}

/**
 * Rebuilds the {@link TestHost} of an existing harness container (e.g. the sandbox, from
 * another process), reading port, network, address and host key from docker. Returns
 * undefined when no such container exists. The host may be stopped: check `running`.
 */
export async function attachToHost(
  nameOrId: string,
  privateKeyPath: string,
): Promise<{ host: TestHost; running: boolean } | undefined> {
  const inspected = await localDocker(["container", "inspect", nameOrId], { allowFailure: true });
  if (inspected.code !== 0) return undefined;
  const [container] = JSON.parse(inspected.stdout) as Array<{
    Id: string;
    Name: string;
    State: { Running: boolean };
    Config: { Labels?: Record<string, string> };
    HostConfig: { PortBindings?: Record<string, Array<{ HostPort: string }> | null> };
    NetworkSettings: { Networks?: Record<string, { IPAddress?: string }> };
  }>;
  if (!container?.Config.Labels?.[HARNESS_LABEL]) throw new Error(`container ${nameOrId} was not created by the test-host harness`);
  const runId = container.Config.Labels[RUN_LABEL] ?? "";
  const networkName = `rtest-${runId}`;
  const sshPort = Number(container.HostConfig.PortBindings?.["22/tcp"]?.[0]?.HostPort);
  const running = container.State.Running;
  const hostKey = running ? await readHostKey(container.Id, nameOrId, Date.now() + 10_000) : "";
  const host: TestHost = {
    name: container.Name.replace(/^\//, ""),
    containerId: container.Id,
    address: "127.0.0.1",
    sshPort,
    privateAddress: container.NetworkSettings.Networks?.[networkName]?.IPAddress ?? "",
    hostKey,
    privateKeyPath: path.resolve(privateKeyPath),
    privateKey: await fs.readFile(privateKeyPath, "utf8"),
    users: { ...TEST_HOST_USERS },
    networkName,
    runId,
    startSeconds: 0,
    boot: container.Config.Labels[BOOT_LABEL] === "systemd" ? "systemd" : "tini",
  };
  return { host, running };
}

/** Starts `count` hosts, runs `fn`, and always stops them, also when `fn` throws. */
export async function withHosts<T>(
  count: number,
  fn: (hosts: TestHost[]) => Promise<T>,
  opts?: StartHostsOptions,
): Promise<T> {
  const hosts = await startHosts(count, opts);
  try {
    return await fn(hosts);
  } finally {
    await stopHosts(hosts);
  }
}
