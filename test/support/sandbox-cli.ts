/**
 * `npm run sandbox -- start|stop|status`: one long-lived test host for local development,
 * named `replicated-sandbox`, sshd on 127.0.0.1:2222. Keys live in `<repo>/.sandbox/`:
 * `id_ed25519` (client key, what `stacks/Pulumi.dev.yaml` points `sshPrivateKeyPath` at),
 * the host's ed25519 key (so its identity survives stop/start) and `known_hosts`.
 */
import { promises as fs } from "node:fs";
import * as path from "node:path";
import {
  SANDBOX_LABEL_VALUE,
  attachToHost,
  findRepoRoot,
  removeLabelled,
  restartHost,
  startHosts,
  type TestHost,
} from "./testhost";

const SANDBOX_NAME = "replicated-sandbox";
const SANDBOX_PORT = 2222;

function sandboxDir(): string {
  return path.join(findRepoRoot(), ".sandbox");
}

async function writeKnownHosts(host: TestHost): Promise<string> {
  const file = path.join(sandboxDir(), "known_hosts");
  await fs.writeFile(file, `[${host.address}]:${host.sshPort} ${host.hostKey}\n`, { mode: 0o644 });
  return file;
}

function printDetails(host: TestHost): void {
  const relative = (file: string): string => path.relative(process.cwd(), file) || file;
  const knownHosts = relative(path.join(sandboxDir(), "known_hosts"));
  const key = relative(host.privateKeyPath);
  console.log(
    [
      `sandbox:          ${host.name} (container ${host.containerId.slice(0, 12)}) running`,
      `ssh:              ssh -i ${key} -o UserKnownHostsFile=${knownHosts} -p ${host.sshPort} root@${host.address}`,
      `users:            root, ${host.users.sudo} (sudo NOPASSWD), ${host.users.promptingSudo} (sudo asks a password)`,
      `host key:         ${host.hostKey}`,
      `known_hosts:      ${knownHosts}`,
      `private key:      ${key}`,
      `docker endpoint:  ssh://root@${host.address}:${host.sshPort}`,
      `private address:  ${host.privateAddress} (network ${host.networkName})`,
    ].join("\n"),
  );
}

async function attach(): Promise<{ host: TestHost; running: boolean } | undefined> {
  return attachToHost(SANDBOX_NAME, path.join(sandboxDir(), "id_ed25519"));
}

async function start(): Promise<void> {
  const existing = await attach();
  let host: TestHost;
  if (existing?.running) {
    console.log("sandbox already running");
    host = existing.host;
  } else if (existing) {
    console.log("sandbox container exists but is stopped: booting it");
    await restartHost(existing.host);
    host = existing.host;
  } else {
    [host] = (await startHosts(1, {
      names: [SANDBOX_NAME],
      sshPort: SANDBOX_PORT,
      persistDir: sandboxDir(),
      sandbox: true,
    })) as [TestHost];
    console.log(`sandbox started in ${host.startSeconds.toFixed(1)} s`);
  }
  await writeKnownHosts(host);
  printDetails(host);
}

async function stop(): Promise<void> {
  const removed = await removeLabelled(SANDBOX_LABEL_VALUE);
  console.log(
    removed.containers > 0
      ? `sandbox removed (keys kept in ${path.relative(process.cwd(), sandboxDir()) || sandboxDir()})`
      : "sandbox was not running",
  );
}

async function status(): Promise<void> {
  const existing = await attach();
  if (!existing) console.log("sandbox not running (npm run sandbox -- start)");
  else if (!existing.running) console.log(`sandbox container ${SANDBOX_NAME} exists but is stopped (npm run sandbox -- start)`);
  else printDetails(existing.host);
}

async function main(argv: string[]): Promise<void> {
  const command = argv[0];
  if (command === "start") return start();
  if (command === "stop") return stop();
  if (command === "status") return status();
  console.error("usage: npm run sandbox -- start|stop|status");
  process.exitCode = 2;
}

main(process.argv.slice(2)).catch((error: unknown) => {
  console.error(`sandbox: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});
