/**
 * Installs a test host the way Replicated's own install script does (replicatedhq/
 * replicated-installer: templates/systemd, templates/upstart, templates/sysvinit,
 * replicated-2.0.sh, replicated-operator.sh, common/replicated.sh), so the takeover can be tested
 * against what the script leaves:
 *
 * - stand-in images named `<registry>/<name>:<channel>-<version>`, loaded as the script pulls or
 *   (air-gap) loads them, then tagged `:current`, which is what the units run;
 * - from 2.5.0 on, the `replicated` account made by a plain `useradd -g <docker gid>` plus
 *   `usermod -a -G <docker gid>` (before 2.5.0 everything runs as uid 0);
 * - the env files `/etc/default/replicated` and `/etc/default/replicated-operator` (world-readable,
 *   as the script leaves them), the daemon token in `REPLICATED_OPTS`, in the operator's
 *   `DAEMON_TOKEN` line, or in `/etc/replicated.conf`; an install without operators holds none;
 * - one unit per service in the form asked for, with the uid and docker gid baked in as numbers:
 *   systemd units enabled and started (`WantedBy=docker.service`, `Restart=on-failure`,
 *   `ExecStartPre=-docker rm -f <name>`, `docker run` in the foreground); sysvinit scripts
 *   registered with update-rc.d and started (`docker run -d`); upstart jobs plus their `-stop`
 *   jobs written, their containers started as upstart would with `--restart always` (there is no
 *   upstart on this machine to run them);
 * - on the primary, the sidecar containers the daemon starts itself;
 * - data in the trees, owned as the install owns it (root before 2.5.0, the service uid after).
 *
 * The unit texts are written here from the templates' directives (they are not copies).
 */
import { buildStandinImages, standinsFor } from "./standin-images";
import { sh } from "./host-runner";
import { shQuote, type TestHost } from "./testhost";

export type InstallForm = "systemd" | "sysvinit" | "upstart";

export interface ScriptInstallOptions {
    readonly role: "primary" | "operator";
    /** `root`: an install before 2.5.0 (uid 0); `service`: 2.5.0 or later with its `replicated` user. */
    readonly mode: "root" | "service";
    readonly version: string;
    /** Default `stable`. */
    readonly channel?: string;
    /** Default `quay.io/replicated`. */
    readonly registry?: string;
    /** This host's private address (PRIVATE_ADDRESS). */
    readonly privateAddress: string;
    /** The primary's private address (the operator's DAEMON_ENDPOINT). */
    readonly primaryAddress: string;
    /** The daemon token; undefined: an install without operators (no token anywhere, no local operator). */
    readonly daemonToken?: string;
    /** Where the primary keeps the token: REPLICATED_OPTS (default) or /etc/replicated.conf. */
    readonly tokenIn?: "opts" | "conf";
    /** Default systemd. */
    readonly form?: InstallForm;
    /** Air-gap install: images are loaded from tarballs in this directory (kept there). */
    readonly airgapDir?: string;
    /** Start the daemon's sidecar containers on the primary. Default true. */
    readonly sidecars?: boolean;
}

export interface ScriptInstall {
    readonly uid: number;
    readonly dockerGid: number;
    /** The `<channel>-<version>` references loaded. */
    readonly references: string[];
    /** The units written, by service name. */
    readonly units: string[];
    /** The containers started (units and sidecars). */
    readonly containers: string[];
}

const STAGING_DIR = "/root/script-install-images";

/** The services whose units the script writes on a host of this role. */
export function installerServices(role: "primary" | "operator", withOperator: boolean): string[] {
    if (role === "operator") {
        return ["replicated-operator"];
    }
    return withOperator ? ["replicated", "replicated-ui", "replicated-operator"] : ["replicated", "replicated-ui"];
}

interface UnitText {
    readonly file: string;
    readonly text: string;
    readonly mode: string;
}

function dockerRunArgs(name: string, registry: string, uid: number, gid: number): { args: string[]; env: string } {
    const image = `${registry}/${name}:current`;
    const hostViews = [
        "-v /var/run/docker.sock:/host/var/run/docker.sock",
        "-v /proc:/host/proc:ro",
        "-v /etc:/host/etc:ro",
        "-v /etc/os-release:/host/etc/os-release:ro",
    ];
    switch (name) {
        case "replicated":
            return {
                env: "replicated",
                args: [
                    "-p 9874-9879:9874-9879/tcp",
                    `-u ${uid}:${gid}`,
                    "-v /var/lib/replicated:/var/lib/replicated",
                    ...hostViews,
                    "-v /var/run/replicated:/var/run/replicated",
                    "-e LOCAL_ADDRESS=${PRIVATE_ADDRESS}",
                    "-e RELEASE_CHANNEL=${RELEASE_CHANNEL}",
                    "$REPLICATED_OPTS",
                    image,
                ],
            };
        case "replicated-ui":
            return {
                env: "replicated",
                args: ["-p 8800:8800/tcp", `-u ${uid}:${gid}`, "-v /var/run/replicated:/var/run/replicated", "$REPLICATED_UI_OPTS", image],
            };
        default:
            return {
                env: "replicated-operator",
                args: [
                    `-u ${uid}:${gid}`,
                    "-v /var/lib/replicated-operator:/var/lib/replicated-operator",
                    "-v /var/run/replicated-operator:/var/run/replicated-operator",
                    ...hostViews,
                    "-e DAEMON_ENDPOINT=${DAEMON_ENDPOINT}",
                    "-e DAEMON_TOKEN=${DAEMON_TOKEN}",
                    "-e NO_PROXY=${DAEMON_HOST}",
                    "-e PRIVATE_ADDRESS=${PRIVATE_ADDRESS}",
                    "$REPLICATED_OPERATOR_OPTS",
                    image,
                ],
            };
    }
}

/** Directories each unit creates and hands to the service uid before it starts. */
function preStartDirectories(name: string): { make: string[]; own: string[] } {
    switch (name) {
        case "replicated":
            return {
                make: ["/var/run/replicated", "/var/lib/replicated", "/var/lib/replicated/statsd"],
                own: ["/var/lib/replicated", "/var/lib/replicated/statsd", "/var/run/replicated"],
            };
        case "replicated-ui":
            return { make: ["/var/run/replicated"], own: ["/var/run/replicated"] };
        default:
            return { make: ["/var/run/replicated-operator", "/var/lib/replicated-operator"], own: ["/var/run/replicated-operator", "/var/lib/replicated-operator"] };
    }
}

/** The unit text of one service in one form (uid and gid baked in, as the script renders them). */
export function unitTexts(form: InstallForm, name: string, registry: string, uid: number, gid: number): UnitText[] {
    const { args, env } = dockerRunArgs(name, registry, uid, gid);
    const dirs = preStartDirectories(name);
    const description = name === "replicated-operator" ? "Replicated Operator Service" : name === "replicated-ui" ? "Replicated UI Service" : "Replicated Service";
    if (form === "systemd") {
        return [
            {
                file: `/etc/systemd/system/${name}.service`,
                mode: "0644",
                text: [
                    "[Unit]",
                    `Description=${description}`,
                    "After=docker.service",
                    "Requires=docker.service",
                    "",
                    "[Service]",
                    "PermissionsStartOnly=true",
                    "TimeoutStartSec=0",
                    "KillMode=none",
                    `EnvironmentFile=/etc/default/${env}`,
                    `User=${uid}`,
                    `Group=${gid}`,
                    `ExecStartPre=-/usr/bin/docker rm -f ${name}`,
                    `ExecStartPre=/bin/mkdir -p ${dirs.make.join(" ")}`,
                    `ExecStartPre=/bin/chown ${uid}:${gid} ${dirs.own.join(" ")}`,
                    `ExecStart=/usr/bin/docker run --name=${name} \\`,
                    ...args.map((arg, index) => `    ${arg}${index < args.length - 1 ? " \\" : ""}`),
                    `ExecStop=/usr/bin/docker stop ${name}`,
                    "Restart=on-failure",
                    "RestartSec=7",
                    "",
                    "[Install]",
                    "WantedBy=docker.service",
                    "",
                ].join("\n"),
            },
        ];
    }
    if (form === "sysvinit") {
        // The init script sources the env file, so ${PRIVATE_ADDRESS} and $REPLICATED_OPTS expand when it runs.
        const runArgs = args;
        return [
            {
                file: `/etc/init.d/${name}`,
                mode: "0755",
                text: [
                    "#!/bin/bash",
                    "set -e",
                    "",
                    "### BEGIN INIT INFO",
                    `# Provides:          ${name}`,
                    "# Required-Start:    docker",
                    "# Required-Stop:     docker",
                    "# Default-Start:     2 3 4 5",
                    "# Default-Stop:      0 1 6",
                    `# Short-Description: ${description}`,
                    "### END INIT INFO",
                    "",
                    `DEFAULTS=/etc/default/${env}`,
                    '[ -r "${DEFAULTS}" ] && . "${DEFAULTS}"',
                    "",
                    "run_container() {",
                    `    /bin/mkdir -p ${dirs.make.join(" ")}`,
                    `    /bin/chown ${uid}:${gid} ${dirs.own.join(" ")}`,
                    `    /usr/bin/docker rm -f ${name} 2>/dev/null || true`,
                    `    /usr/bin/docker run -d --name=${name} \\`,
                    ...runArgs.map((arg, index) => `        ${arg}${index < runArgs.length - 1 ? " \\" : ""}`),
                    "}",
                    "",
                    'case "$1" in',
                    "    start) run_container ;;",
                    `    stop) /usr/bin/docker stop ${name} ;;`,
                    `    *) echo "Usage: ${name} {start|stop}"; exit 1 ;;`,
                    "esac",
                    "",
                ].join("\n"),
            },
        ];
    }
    return [
        {
            file: `/etc/init/${name}.conf`,
            mode: "0644",
            text: [
                `description "${description}"`,
                'author "Replicated.com"',
                "start on replicated-docker or started docker",
                "stop on runlevel [!2345] or stopping docker",
                "respawn",
                "respawn limit 5 30",
                "normal exit 0",
                "pre-start script",
                `    /bin/mkdir -p ${dirs.make.join(" ")}`,
                `    /bin/chown ${uid}:${gid} ${dirs.own.join(" ")}`,
                `    /usr/bin/docker rm -f ${name} 2>/dev/null || true`,
                "end script",
                "script",
                `    . /etc/default/${env}`,
                `    exec su -s /bin/sh -c 'exec "$0" "$@"' ${uid === 0 ? "root" : "replicated"} -- /usr/bin/docker run --name=${name} \\`,
                "        --restart always \\",
                ...args.map((arg, index) => `        ${arg}${index < args.length - 1 ? " \\" : ""}`),
                "end script",
                "",
            ].join("\n"),
        },
        {
            file: `/etc/init/${name}-stop.conf`,
            mode: "0644",
            text: [
                `description "${description} shutdown script"`,
                'author "Replicated.com"',
                `start on stopping ${name}`,
                "kill timeout 30",
                "script",
                `    exec /usr/bin/docker stop ${name}`,
                "end script",
                "",
            ].join("\n"),
        },
    ];
}

/** The env files the script writes, by path. */
export function envFiles(options: ScriptInstallOptions, hostName: string, withOperator: boolean): Record<string, string> {
    const channel = options.channel ?? "stable";
    const token = options.daemonToken;
    const tokenInOpts = token !== undefined && (options.tokenIn ?? "opts") === "opts";
    const files: Record<string, string> = {};
    if (options.role === "primary") {
        const opts = [
            ...(tokenInOpts ? [`-e DAEMON_TOKEN=${token}`] : []),
            "-e LOG_LEVEL=info",
            ...(options.airgapDir !== undefined ? ["-e AIRGAP=true"] : []),
            `-e NODENAME=${hostName}`,
        ];
        files["/etc/default/replicated"] = [
            `RELEASE_CHANNEL=${channel}`,
            `PRIVATE_ADDRESS=${options.privateAddress}`,
            `SKIP_OPERATOR_INSTALL=${withOperator ? 0 : 1}`,
            `REPLICATED_OPTS=" ${opts.join(" ")}"`,
            'REPLICATED_UI_OPTS=""',
            "",
        ].join("\n");
        if (token !== undefined && options.tokenIn === "conf") {
            files["/etc/replicated.conf"] = `{\n  "DaemonToken": "${token}",\n  "ReleaseChannel": "${channel}"\n}\n`;
        }
    }
    if (withOperator) {
        files["/etc/default/replicated-operator"] = [
            `RELEASE_CHANNEL=${channel}`,
            `DAEMON_ENDPOINT=${options.primaryAddress}:9879`,
            `DAEMON_TOKEN=${token ?? ""}`,
            `DAEMON_HOST=${options.primaryAddress}`,
            `PRIVATE_ADDRESS=${options.privateAddress}`,
            `REPLICATED_OPERATOR_OPTS=" -e TAGS=${options.role === "primary" ? "local" : "default"} -e NODENAME=${hostName}"`,
            "",
        ].join("\n");
    }
    return files;
}

async function writeFile(host: TestHost, file: string, text: string, mode: string): Promise<void> {
    const dir = file.slice(0, file.lastIndexOf("/"));
    await sh(host, `mkdir -p ${shQuote(dir)} && cat > ${shQuote(file)} && chmod ${mode} ${shQuote(file)} && chown 0:0 ${shQuote(file)}`, { stdin: text });
}

/** Wait until every named container runs (a systemd unit starts its container in the foreground). */
export async function waitForContainers(host: TestHost, names: readonly string[], timeoutSeconds = 120): Promise<void> {
    const deadline = Date.now() + timeoutSeconds * 1000;
    let last = "";
    while (Date.now() < deadline) {
        last = await sh(host, `for n in ${names.join(" ")}; do docker inspect -f '{{.Name}} {{.State.Running}}' "$n" 2>/dev/null || echo "/$n absent"; done`);
        if (!/ (false|absent)$/m.test(last)) {
            return;
        }
        await new Promise((done) => setTimeout(done, 1000));
    }
    throw new Error(`${host.name}: containers not running after ${timeoutSeconds} s: ${last}`);
}

/** Install `host` as Replicated's script would (see the module comment). */
export async function installLikeScript(host: TestHost, options: ScriptInstallOptions): Promise<ScriptInstall> {
    const channel = options.channel ?? "stable";
    const registry = options.registry ?? "quay.io/replicated";
    const form = options.form ?? "systemd";
    const withOperator = options.role === "operator" || options.daemonToken !== undefined;
    const services = installerServices(options.role, withOperator);
    const sidecars = options.role === "primary" && (options.sidecars ?? true) ? ["replicated-statsd", "replicated-premkit"] : [];
    const references = [...services, ...sidecars].map((name) => `${registry}/${name}:${channel}-${options.version}`);

    // Images: built as stand-ins, then loaded from their tarballs (the pull, or the air-gap load).
    const bundle = options.airgapDir ?? STAGING_DIR;
    await buildStandinImages(host, standinsFor(references), bundle);
    for (const reference of references) {
        const base = reference.slice(reference.lastIndexOf("/") + 1).split(":")[0];
        await sh(host, `docker load -i ${shQuote(`${bundle}/${base}.tar`)} >/dev/null`, { timeoutMs: 300_000 });
        await sh(host, `docker tag ${shQuote(reference)} ${shQuote(`${registry}/${base}:current`)}`);
    }
    if (options.airgapDir === undefined) {
        await sh(host, `rm -rf ${STAGING_DIR}`);
    }

    const dockerGid = Number((await sh(host, "stat -c %g /var/run/docker.sock")).trim());
    let uid = 0;
    if (options.mode === "service") {
        // As maybeCreateReplicatedUser does: plain useradd with the docker gid, then the group append.
        await sh(host, `id -u replicated >/dev/null 2>&1 || useradd -g ${dockerGid} replicated; usermod -a -G ${dockerGid} replicated`);
        uid = Number((await sh(host, "id -u replicated")).trim());
    }

    for (const [file, text] of Object.entries(envFiles(options, host.name, withOperator))) {
        await writeFile(host, file, text, "0644");
    }

    for (const name of services) {
        for (const unit of unitTexts(form, name, registry, uid, dockerGid)) {
            await writeFile(host, unit.file, unit.text, unit.mode);
        }
    }
    if (form === "systemd") {
        await sh(host, `systemctl daemon-reload && systemctl enable ${services.map((s) => `${s}.service`).join(" ")} 2>&1 && systemctl start ${services.map((s) => `${s}.service`).join(" ")}`);
    } else if (form === "sysvinit") {
        for (const name of services) {
            await sh(host, `update-rc.d ${name} defaults >/dev/null 2>&1 && update-rc.d ${name} enable >/dev/null 2>&1 && /etc/init.d/${name} start >/dev/null`);
        }
    } else {
        // No upstart here: start each container as its job would (docker has no upstart job, so
        // the script adds --restart always).
        for (const name of services) {
            const { args, env } = dockerRunArgs(name, registry, uid, dockerGid);
            const dirs = preStartDirectories(name);
            await sh(
                host,
                `set -a; . /etc/default/${env}; set +a; mkdir -p ${dirs.make.join(" ")}; chown ${uid}:${dockerGid} ${dirs.own.join(" ")}; ` +
                    `docker run -d --name=${name} --restart always ${args.join(" ")} >/dev/null`,
            );
        }
    }
    for (const name of sidecars) {
        // The daemon starts these itself (no unit): detached, as the service uid.
        await sh(host, `docker run -d --name=${name} -u ${uid}:${dockerGid} ${shQuote(`${registry}/${name}:${channel}-${options.version}`)} >/dev/null`);
    }
    await waitForContainers(host, [...services, ...sidecars]);

    // Data as the install leaves it: written by the services (their uid), plus the daemon's state.
    const owner = `${uid}:${dockerGid}`;
    await sh(
        host,
        [
            "set -e",
            ...(options.role === "primary"
                ? [
                      "mkdir -p /var/lib/replicated/db /var/lib/replicated/snapshots /var/lib/replicated/tmp",
                      "head -c 65536 /dev/urandom > /var/lib/replicated/db/replicated.db",
                      "printf 'snapshot\\n' > /var/lib/replicated/snapshots/snapshot-1.tar",
                      "head -c 4096 /dev/urandom > /var/lib/replicated/tmp/upload.part && chmod 0600 /var/lib/replicated/tmp/upload.part",
                      `chown -R ${owner} /var/lib/replicated/db /var/lib/replicated/snapshots /var/lib/replicated/tmp`,
                  ]
                : []),
            ...(withOperator
                ? [
                      "printf 'OperatorID=%s\\n' \"$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \\n')\" > /var/lib/replicated-operator/replicated-operator.conf",
                      `chown ${owner} /var/lib/replicated-operator/replicated-operator.conf`,
                  ]
                : []),
        ].join("\n"),
    );
    return { uid, dockerGid, references, units: services, containers: [...services, ...sidecars] };
}

/** The trees whose data a takeover must keep. */
export const DATA_TREES = ["/var/lib/replicated", "/var/lib/replicated-operator"] as const;

/**
 * Every file of the data trees: `sha256 owner mode` by path. The stand-ins' probe files
 * (`standin-*.probe`, written by whichever container runs) are left out.
 */
export async function dataFingerprint(host: TestHost): Promise<Record<string, string>> {
    const out = await sh(
        host,
        `for t in ${DATA_TREES.join(" ")}; do [ -d "$t" ] && find "$t" -xdev -type f ! -name 'standin-*.probe' -printf '%p\\n'; done | sort | ` +
            `while read -r f; do printf '%s %s %s\\n' "$f" "$(sha256sum < "$f" | cut -c1-16)" "$(stat -c '%u:%g %a' "$f")"; done`,
    );
    const result: Record<string, string> = {};
    for (const line of out.trim().split("\n").filter(Boolean)) {
        const [file, ...rest] = line.split(" ");
        result[file] = rest.join(" ");
    }
    return result;
}

/** `systemctl is-enabled` and `is-active` of each unit: `{ replicated: "masked inactive" }`. */
export async function systemdUnitStates(host: TestHost, names: readonly string[]): Promise<Record<string, string>> {
    const out = await sh(host, `for n in ${names.join(" ")}; do printf '%s %s %s\\n' "$n" "$(systemctl is-enabled "$n.service" 2>/dev/null || true)" "$(systemctl is-active "$n.service" 2>/dev/null || true)"; done`);
    return Object.fromEntries(
        out
            .trim()
            .split("\n")
            .map((line) => {
                const [name, ...rest] = line.split(" ");
                return [name, rest.join(" ").trim()];
            }),
    );
}
