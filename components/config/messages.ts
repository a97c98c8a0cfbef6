/**
 * The messages of the config validation: each problem names its key (`replicated:hosts[1].port`),
 * says what is wrong and gives a working fix, and never shows a secret value.
 */
import * as pulumi from "@pulumi/pulumi";
import type { z } from "zod";
import { CONFIG_NAMESPACE } from "./defaults";

/**
 * Thrown for an invalid configuration; `problems` has one entry per bad key. A RunError, so
 * `pulumi up` prints the message alone, without a stack trace.
 */
export class ConfigError extends pulumi.RunError {
    constructor(
        readonly stack: string,
        readonly problems: readonly string[],
    ) {
        super(
            `Invalid configuration for stack "${stack}" (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
                problems.map((p) => `  - ${p}`).join("\n"),
        );
        this.name = "ConfigError";
    }
}

/** `["hosts", 1, "name"]` → `replicated:hosts[1].name` */
export function configKey(pathParts: readonly PropertyKey[]): string {
    let key = CONFIG_NAMESPACE;
    pathParts.forEach((part, index) => {
        if (typeof part === "number") {
            key += `[${part}]`;
        } else {
            key += index === 0 ? `:${String(part)}` : `.${String(part)}`;
        }
    });
    return key;
}

/** Example values per key, with list indices written as []. Used to print a working fix. */
const EXAMPLES: Record<string, string> = {
    version: "2.53.2",
    channel: "stable",
    runAs: "replicated",
    allowDowngrade: "true",
    "serviceUser.name": "replicated",
    "serviceUser.uid": "1017",
    "serviceUser.allowNobodyUid": "true",
    "serviceUser.adoptExisting": "replicated",
    "dataPrefixes[]": "/srv",
    "images.pins": "(a map; see docs/images-and-airgap.md)",
    hosts: "(a list; see stacks/Pulumi.acme-online.yaml)",
    "hosts[].name": "primary-1",
    "hosts[].address": "10.0.0.11",
    "hosts[].port": "22",
    "hosts[].user": "root",
    "hosts[].become": "sudo",
    "hosts[].role": "primary",
    "hosts[].privateAddress": "10.0.0.11",
    "hosts[].publicAddress": "203.0.113.10",
    "hosts[].hostKey": "'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA...'",
    sshPrivateKeyPath: "~/.ssh/id_ed25519",
    uiPort: "8800",
    uiBindAddress: "10.0.0.11",
    allowAllInterfaces: "false",
    "airgap.imagesDir": "/var/lib/replicated-images",
    "images.registry": "registry.example.com/replicated",
    "images.helper": "registry.example.com/replicated/replicated-helper:stable-2.53.2",
    httpProxy: "http://proxy.example.com:3128",
    logLevel: "info",
    "sidecars.statsd": "true",
    "sidecars.premkit": "true",
    "volumeRoots[]": "/srv/replicated-volumes",
    "operations.timeoutSeconds": "300",
    "operations.supportBundle.request": "bundle-2026-11-28",
    "operations.volumes.request": "volumes-1",
    "operations.volumes.items[].path": "/srv/replicated-volumes/app-data",
    "operations.volumes.items[].owner": "1234",
    "operations.volumes.items[].group": "1234",
    "operations.volumes.items[].mode": "0750",
    "operations.snapshot.request": "snapshot-2026-11-28",
    "operations.snapshot.destination": "/srv/replicated-snapshots",
    "operations.snapshot.owner": "0",
    "operations.snapshot.group": "0",
    "applications[].name": "app-web",
    "applications[].image": "registry.example.com/acme/web:1.4.2",
    "applications[].user": "1234:1234",
    "applications[].allowRoot": "true",
    "applications[].hosts[]": "primary-1",
    "applications[].volumes[].hostPath": "/srv/replicated-volumes/web",
    "applications[].volumes[].containerPath": "/data",
    "applications[].volumes[].mode": "0750",
    "applications[].volumes[].owner": "1234",
    "applications[].volumes[].group": "1234",
    "applications[].volumes[].readOnly": "false",
    "applications[].ports[].internal": "8080",
    "applications[].ports[].external": "18080",
    "applications[].ports[].protocol": "tcp",
    "applications[].memory": "256",
    "applications[].command[]": "/usr/local/bin/web",
    "applications[].healthcheck": "'wget -q -O /dev/null http://127.0.0.1:8080/health'",
    requireNonRootApplications: "true",
    "takeover.fallbackSeconds": "300",
    "takeover.rotateDaemonToken": "true",
};

export function exampleFix(pathParts: readonly PropertyKey[]): string {
    const pattern = pathParts
        .map((part, index) => (typeof part === "number" ? "[]" : index === 0 ? String(part) : `.${String(part)}`))
        .join("");
    const example = EXAMPLES[pattern];
    const key = configKey(pathParts);
    const flag = pathParts.length > 1 ? "--path " : "";
    if (example === undefined) {
        return `see docs/configuration.md for ${key}`;
    }
    return `pulumi config set ${flag}'${key}' ${example}`;
}

export function describeIssue(issue: z.core.$ZodIssue, input: Record<string, unknown>, secretKeys: ReadonlySet<string>): string {
    const key = configKey(issue.path);
    if (issue.code === "unrecognized_keys") {
        return issue.keys
            .map((unknown) => `${configKey([...issue.path, unknown])}: unknown key. Fix: remove it (pulumi config rm --path '${configKey([...issue.path, unknown])}')`)
            .join("\n  - ");
    }
    const received = valueAt(input, issue.path);
    const what = received === undefined && issue.code === "invalid_type" ? "is required" : issue.message;
    // Never echo a secret key's value, an environment value or a proxy URL (it may hold credentials).
    const top = String(issue.path[0]);
    const hidden = secretKeys.has(top) || top === "sshPrivateKey" || top === "httpProxy" || issue.path.includes("env");
    const shown = hidden || received === undefined || typeof received === "object" ? "" : ` (got ${JSON.stringify(received)})`;
    return `${key}: ${what}${shown}. Fix: ${exampleFix(issue.path)}`;
}

/**
 * `problem` with every value of a secret key (and the SSH key), every application environment
 * value and every URL credential replaced: cross-field messages quote values, and a value that is
 * secret must never reach a terminal or a CI log through them.
 */
export function withoutSecrets(problem: string, input: Record<string, unknown>, secretKeys: ReadonlySet<string>, rawSecrets: readonly string[]): string {
    const hidden = new Set<string>(rawSecrets.filter((value) => value.length >= 4));
    const collect = (value: unknown): void => {
        if (typeof value === "string" || typeof value === "number") {
            if (String(value).length >= 4) {
                hidden.add(String(value));
            }
        } else if (value !== null && typeof value === "object") {
            Object.values(value as Record<string, unknown>).forEach(collect);
        }
    };
    for (const key of [...secretKeys, "sshPrivateKey"]) {
        collect(input[key]);
    }
    const applications = Array.isArray(input.applications) ? (input.applications as unknown[]) : [];
    for (const app of applications) {
        if (app !== null && typeof app === "object") {
            collect((app as Record<string, unknown>).env);
        }
    }
    let text = problem.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s"]*@/gi, "$1<redacted>@");
    for (const value of [...hidden].sort((a, b) => b.length - a.length)) {
        text = text.split(value).join("<secret>");
    }
    return text;
}

function valueAt(input: unknown, pathParts: readonly PropertyKey[]): unknown {
    let current: unknown = input;
    for (const part of pathParts) {
        if (current === null || typeof current !== "object") {
            return undefined;
        }
        current = (current as Record<PropertyKey, unknown>)[part];
    }
    return current;
}

export function dedupe(items: string[]): string[] {
    return [...new Set(items)];
}

