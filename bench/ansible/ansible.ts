/**
 * The Ansible side of the converge benchmark: Ansible from Debian's packages (installed here if
 * missing, used by the benchmarks only), an inventory for one test host with its host key
 * pinned, and timed `ansible-playbook` runs of converge.yml.
 *
 * Ansible runs with its shipped defaults (OpenSSH with ControlMaster/ControlPersist 60 s, no
 * pipelining) except: facts are not gathered (converge.yml needs none) and the Python interpreter
 * is named, which saves its discovery round trip. Both choices make Ansible faster, never slower.
 */
import { spawn, spawnSync } from "node:child_process";
import { promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { TestHost } from "../../test/support/testhost";

export const PLAYBOOK = path.join(__dirname, "converge.yml");

/** `ansible-playbook --version`'s first line, or undefined when it is not installed. */
export function ansibleVersion(): string | undefined {
    const result = spawnSync("ansible-playbook", ["--version"], { encoding: "utf8" });
    return result.status === 0 ? result.stdout.split("\n")[0].trim() : undefined;
}

/** Install Ansible from Debian's packages when missing; says so. Returns its version line. */
export function ensureAnsible(log: (line: string) => void): string {
    const present = ansibleVersion();
    if (present !== undefined) {
        return present;
    }
    log("Ansible is not installed: installing it from Debian's packages (apt-get install -y ansible), for the benchmarks only");
    for (const args of [["update"], ["install", "-y", "--no-install-recommends", "ansible"]]) {
        const result = spawnSync("apt-get", args, { stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
        if (result.status !== 0) {
            throw new Error(`apt-get ${args.join(" ")} failed (exit ${result.status}); install Ansible (apt-get install ansible) and re-run`);
        }
    }
    const installed = ansibleVersion();
    if (installed === undefined) {
        throw new Error("ansible-playbook is still not runnable after apt-get install ansible");
    }
    return installed;
}

/** The INI inventory for one host: root login with the test key, host key pinned. */
export function inventoryText(host: TestHost, knownHostsPath: string): string {
    const sshArgs = `-o UserKnownHostsFile=${knownHostsPath} -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes`;
    return [
        "[replicated]",
        `${host.name} ansible_host=${host.address} ansible_port=${host.sshPort} ansible_user=root ` +
            `ansible_ssh_private_key_file=${host.privateKeyPath} ansible_python_interpreter=/usr/bin/python3 ` +
            `ansible_ssh_common_args='${sshArgs}'`,
        "",
    ].join("\n");
}

/** known_hosts line pinning the host key on its non-standard port. */
export function knownHostsLine(host: TestHost): string {
    return `[${host.address}]:${host.sshPort} ${host.hostKey.trim()}\n`;
}

export interface AnsibleProject {
    readonly dir: string;
    readonly env: NodeJS.ProcessEnv;
}

/** Write inventory, known_hosts and ansible.cfg into a fresh temp dir. */
export async function writeAnsibleProject(host: TestHost): Promise<AnsibleProject> {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "replicated-bench-ansible-"));
    const knownHosts = path.join(dir, "known_hosts");
    await fs.writeFile(knownHosts, knownHostsLine(host));
    await fs.writeFile(path.join(dir, "inventory.ini"), inventoryText(host, knownHosts));
    await fs.writeFile(
        path.join(dir, "ansible.cfg"),
        [
            "[defaults]",
            `inventory = ${path.join(dir, "inventory.ini")}`,
            "host_key_checking = True",
            "retry_files_enabled = False",
            `local_tmp = ${path.join(dir, "tmp")}`,
            "",
            "[ssh_connection]",
            `control_path_dir = ${path.join(dir, "cp")}`,
            "",
        ].join("\n"),
    );
    return { dir, env: { ...process.env, ANSIBLE_CONFIG: path.join(dir, "ansible.cfg"), ANSIBLE_NOCOLOR: "1" } };
}

export interface PlaybookRun {
    readonly seconds: number;
    /** `changed=N` of the play recap. */
    readonly changed: number;
    readonly output: string;
}

/** `ansible-playbook converge.yml`, timed from spawn to exit; throws on failure. */
export function runPlaybook(project: AnsibleProject): Promise<PlaybookRun> {
    return new Promise((resolve, reject) => {
        const started = performance.now();
        const child = spawn("ansible-playbook", [PLAYBOOK], { cwd: project.dir, env: project.env, stdio: ["ignore", "pipe", "pipe"] });
        let output = "";
        child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
        child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
        child.on("error", (error) => reject(new Error(`cannot run ansible-playbook: ${error.message}`)));
        child.on("close", (code) => {
            const seconds = (performance.now() - started) / 1000;
            const recap = /changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)/.exec(output);
            if (code !== 0 || !recap || recap[2] !== "0" || recap[3] !== "0") {
                reject(new Error(`ansible-playbook failed (exit ${code}):\n${output.slice(-3000)}`));
                return;
            }
            resolve({ seconds, changed: Number(recap[1]), output });
        });
    });
}

/** Stop the SSH control master Ansible left behind (ControlPersist) and remove the temp dir. */
export async function removeAnsibleProject(project: AnsibleProject): Promise<void> {
    const controlDir = path.join(project.dir, "cp");
    const sockets = await fs.readdir(controlDir).catch(() => [] as string[]);
    for (const socket of sockets) {
        spawnSync("ssh", ["-o", `ControlPath=${path.join(controlDir, socket)}`, "-O", "exit", "unused"], { stdio: "ignore", timeout: 10_000 });
    }
    await fs.rm(project.dir, { recursive: true, force: true });
}
