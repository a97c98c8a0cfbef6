/**
 * The health gate of one host: a remote command (`components/scripts/container-health.sh`) that
 * completes only when every Replicated container of the host reports healthy, and otherwise
 * fails `pulumi up` with the failing container's name, its state and its last log lines
 * (secret values of its environment redacted).
 *
 * Why a command and not the docker provider's `wait`: the provider's wait error says only
 * "container failed to be in healthy state", without logs, and a step that would fetch the logs
 * cannot run after a failed container resource (Pulumi stops everything that depends on it).
 * Here the containers are created without `wait`, and one step per host waits for all of them
 * and reports what went wrong. Its triggers are the container ids, so every replaced container
 * (an upgrade, a changed setting) runs the gate again; an unchanged host runs nothing.
 *
 * Later steps that need a healthy host (the installer takeover disarming its fallback) depend on
 * {@link ContainerHealth.ready}.
 */
import * as remote from "@pulumi/command/remote";
import type * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { hostConnection } from "../host/connection";
import { checkedHostTarget, invocationOn, type HostTarget } from "../host/host-target";
import { LABEL_PATTERN, loadScript, parseSummaryLine } from "../shell";
import { HEALTHCHECK_TIMING } from "./container-spec";

/** Seconds of a Go duration string as the spec writes them (`"15s"`). */
function durationSeconds(duration: string): number {
    const match = /^(\d+)s$/.exec(duration);
    if (match === null) {
        throw new Error(`duration ${duration} is not a whole number of seconds`);
    }
    return Number(match[1]);
}

/**
 * How long the gate waits for a container to turn healthy: the start period, then one probe per
 * interval until `retries` failures in a row would mark it unhealthy, plus the first interval
 * (Docker runs the first probe one interval after the start) and one probe timeout. With the
 * spec's timing: 30 + (3 + 1) x 15 + 5 = 95 s.
 */
export function healthWaitSeconds(timing: typeof HEALTHCHECK_TIMING = HEALTHCHECK_TIMING): number {
    return durationSeconds(timing.startPeriod) + (timing.retries + 1) * durationSeconds(timing.interval) + durationSeconds(timing.timeout);
}

/** The summary line container-health.sh prints last. */
export interface ContainerHealthSummary {
    readonly healthy: string[];
    readonly failed: string[];
    readonly seconds: number;
    readonly changed: 0;
}

/** Parse and check container-health.sh's summary line. */
export function parseContainerHealthSummary(stdout: string): ContainerHealthSummary {
    const summary = parseSummaryLine(stdout);
    const names = (key: string): string[] => {
        const value = summary[key];
        if (!Array.isArray(value) || !value.every((item) => typeof item === "string")) {
            throw new Error(`container health summary: "${key}" must be a list of names, got ${JSON.stringify(value)}`);
        }
        return value as string[];
    };
    if (typeof summary.seconds !== "number" || summary.changed !== 0) {
        throw new Error(`container health summary: unexpected ${JSON.stringify(summary)}`);
    }
    return { healthy: names("healthy"), failed: names("failed"), seconds: summary.seconds, changed: 0 };
}

/** Positional arguments of container-health.sh: `<timeout seconds> <container>...`. */
export function containerHealthScriptArgs(timeoutSeconds: number, containerNames: readonly string[]): string[] {
    if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 1 || timeoutSeconds > 3600) {
        throw new Error(`ContainerHealth: timeout ${timeoutSeconds} must be a whole number of seconds between 1 and 3600`);
    }
    if (containerNames.length === 0) {
        throw new Error("ContainerHealth: no container to wait for");
    }
    for (const name of containerNames) {
        if (!LABEL_PATTERN.test(name)) {
            throw new Error(`ContainerHealth: container name ${JSON.stringify(name)} is not a lowercase DNS label`);
        }
    }
    if (new Set(containerNames).size !== containerNames.length) {
        throw new Error("ContainerHealth: a container is listed twice");
    }
    return [String(timeoutSeconds), ...containerNames];
}

export interface ContainerHealthArgs {
    /** The host's containers to wait for, by container name (fixed names, see services.ts). */
    readonly containers: Readonly<Record<string, docker.Container>>;
    /**
     * How SSH reaches the host; its user becomes root (the script reads container state and logs
     * through the Docker socket). Required.
     */
    readonly target: HostTarget;
    /** Seconds each container has to turn healthy. Default: {@link healthWaitSeconds}() (95). */
    readonly timeoutSeconds?: number;
}

/**
 * Waits for every container in `containers` to be healthy (see the module comment). Depend on
 * {@link ContainerHealth.ready}: it completes only when all of them are.
 */
export class ContainerHealth extends pulumi.ComponentResource {
    /** Completes only when every container of the host is healthy; fails `pulumi up` otherwise. */
    public readonly ready: remote.Command;
    /** What the gate saw, parsed from its summary line. */
    public readonly summary: pulumi.Output<ContainerHealthSummary>;

    constructor(name: string, args: ContainerHealthArgs, opts?: pulumi.ComponentResourceOptions) {
        const target = checkedHostTarget(`ContainerHealth ${name}`, args.target);
        super("replicated:docker:ContainerHealth", name, {}, opts);
        const names = Object.keys(args.containers).sort();
        const invocation = invocationOn(target, loadScript("container-health"), containerHealthScriptArgs(args.timeoutSeconds ?? healthWaitSeconds(), names));
        const containers = names.map((container) => args.containers[container]);
        this.ready = new remote.Command(
            `${name}-health`,
            {
                connection: hostConnection(target),
                create: invocation.command,
                stdin: invocation.stdin,
                // A replaced container has a new id: the gate runs again for it.
                triggers: containers.map((container) => container.id),
                addPreviousOutputInEnv: false,
                logging: "stdoutAndStderr",
            },
            { parent: this, dependsOn: containers },
        );
        this.summary = this.ready.stdout.apply(parseContainerHealthSummary);
        this.registerOutputs({ summary: this.summary });
    }
}
