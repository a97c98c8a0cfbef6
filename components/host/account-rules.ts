/**
 * Rules for the service account in the stack config: which names it may never have, and how
 * `serviceUser` fits together. Read on the raw input, so they are reported with the field errors.
 */
import { DEFAULT_SERVICE_ACCOUNT } from "../config/defaults";
import { NOBODY_ID } from "../shell";

/**
 * Accounts that exist on common distributions for a daemon or the system itself. Adding one to the
 * docker group would make every process of that daemon root-equivalent, so none of them (and no
 * `systemd-*` account) may be the service account, whatever the host holds.
 */
export const SYSTEM_ACCOUNT_NAMES: readonly string[] = Object.freeze([
    "root", "daemon", "bin", "sys", "sync", "games", "man", "lp", "mail", "news", "uucp", "proxy", "www-data",
    "backup", "list", "irc", "gnats", "nobody", "nogroup", "_apt", "sshd", "messagebus", "polkitd", "postfix",
    "ntp", "ntpsec", "chrony", "_chrony", "dnsmasq", "docker", "dockremap", "containerd", "adm", "operator",
    "halt", "shutdown", "ftp", "nfsnobody", "rpc", "rpcuser", "statd", "_rpc", "avahi", "avahi-autoipd",
    "colord", "dbus", "rtkit", "tss", "uuidd", "tcpdump", "usbmux", "pulse", "saned", "lightdm", "gdm",
    "geoclue", "syslog", "sssd", "unbound", "named", "bind", "nginx", "apache", "httpd", "mysql", "postgres",
    "redis", "memcache", "mongodb", "rabbitmq", "dovecot", "dovenull", "exim", "Debian-exim", "tor",
    "cockpit-ws", "cockpit-wsinstance", "setroubleshoot", "libstoragemgmt", "pipewire", "flatpak", "clevis",
    "landscape", "pollinate", "fwupd-refresh", "_laurel", "input", "kvm", "render", "sgx", "tape", "video",
]);

/** True for root, a name of {@link SYSTEM_ACCOUNT_NAMES} or any `systemd-*` account. */
export function isSystemAccountName(name: string): boolean {
    return SYSTEM_ACCOUNT_NAMES.includes(name) || name.startsWith("systemd-");
}

/** Problems of `replicated:serviceUser` as a whole (raw input, before defaults). */
export function serviceAccountProblems(input: Readonly<Record<string, unknown>>): string[] {
    const problems: string[] = [];
    const serviceUser = input.serviceUser as Record<string, unknown> | undefined;
    const serviceName = typeof serviceUser?.name === "string" ? serviceUser.name : DEFAULT_SERVICE_ACCOUNT;
    if (isSystemAccountName(serviceName)) {
        problems.push(
            `replicated:serviceUser.name: "${serviceName}" is ${serviceName === "root" ? "root" : "a system or daemon account"}; adding it to the docker group would make every process of it root-equivalent. ` +
                "Fix: pulumi config set --path 'replicated:serviceUser.name' replicated (a dedicated account is created)",
        );
    }
    if (typeof serviceUser?.adoptExisting === "string" && serviceUser.adoptExisting !== serviceName) {
        problems.push(
            `replicated:serviceUser.adoptExisting: "${serviceUser.adoptExisting}" is not the service account's name ("${serviceName}"); only the configured account can be adopted. ` +
                `Fix: pulumi config set --path 'replicated:serviceUser.adoptExisting' ${serviceName}, or remove it`,
        );
    }
    if (serviceUser?.uid === NOBODY_ID && serviceUser.allowNobodyUid !== true) {
        problems.push(
            `replicated:serviceUser.uid: ${NOBODY_ID} is "nobody", shared by unrelated daemons. ` +
                "Fix: choose another uid, or set --path 'replicated:serviceUser.allowNobodyUid' true if this is intended",
        );
    }
    return problems;
}
