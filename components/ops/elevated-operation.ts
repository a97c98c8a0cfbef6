/**
 * One on-demand root operation on one host: a remote.Command that runs elevated-run (a
 * short-lived, confined root helper container) once per request id.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { hostConnection } from "../host/connection";
import { checkedHostTarget, type HostTarget } from "../host/host-target";
import { parseSummaryLine } from "../shell";
import {
    DEFAULT_TIMEOUT_SECONDS,
    elevatedRunStdin,
    operationArgs,
    operationInvocation,
    type OperationName,
    type OperationRequest,
    type PlannedOperation,
    type VolumeItem,
} from "./operation-spec";

/** A volume directory whose owner ids may come from other resources (the service account). */
export interface VolumeItemInput extends Omit<VolumeItem, "owner" | "group"> {
    readonly owner: pulumi.Input<number>;
    readonly group: pulumi.Input<number>;
}

/** The operation and its request id; owner ids may come from other resources (the account). */
export type ElevatedOperationRequest =
    | {
          readonly operation: "support-bundle";
          /** Request id: a new id runs the operation once on the next `pulumi up`. */
          readonly request: string;
          /** Owner of the archive: the service uid. */
          readonly ownerUid: pulumi.Input<number>;
          /** Group of the archive: the docker gid. */
          readonly ownerGid: pulumi.Input<number>;
      }
    | {
          readonly operation: "volumes";
          /** Request id: a new id runs the operation once on the next `pulumi up`. */
          readonly request: string;
          /** Allowed roots (`replicated:volumeRoots`); every volume must lie strictly below one. */
          readonly roots: readonly string[];
          /** Volume directories with owner, group and octal mode. */
          readonly items: readonly VolumeItemInput[];
      }
    | {
          readonly operation: "snapshot";
          /** Request id: a new id runs the operation once on the next `pulumi up`. */
          readonly request: string;
          /** Directory that receives `<request>/`. */
          readonly destination: string;
          /** Owner of the copy. */
          readonly ownerUid: pulumi.Input<number>;
          /** Group of the copy. */
          readonly ownerGid: pulumi.Input<number>;
      };

export interface ElevatedOperationArgs {
    /** What to run. */
    readonly request: ElevatedOperationRequest;
    /** How SSH reaches the host (address, port, user, become, host key, private key). Required. */
    readonly target: HostTarget;
    /** Stack name, written into every audit line. */
    readonly stack: string;
    /**
     * Helper image present on the host (pulled or loaded by the images step), e.g.
     * `quay.io/replicated/replicated-helper:stable-2.53.2`. Pass the images component's output
     * so the run waits for the image.
     */
    readonly helperImage: pulumi.Input<string>;
    /**
     * The helper's pinned image id (`replicated:images.pins`, `sha256:<64 hex>`): the host runs
     * the operation only when the helper reference is that image. Default: not pinned.
     */
    readonly helperImageId?: pulumi.Input<string>;
    /** Hard timeout of the container, seconds (1..3600). Default: 300. */
    readonly timeoutSeconds?: number;
    /**
     * Directories that volume roots and the snapshot destination must lie strictly below
     * (`replicated:dataPrefixes`), checked here and again on the host.
     */
    readonly dataPrefixes: readonly string[];
    /**
     * Generated secrets (the daemon token) that the support bundle redacts by value wherever
     * they appear. They travel on the command's stdin only, which is then a Pulumi secret; never
     * on its command line. Default: none.
     */
    readonly secretValues?: pulumi.Input<string>[];
    /** Resources that must exist first (directories, images). Default: none. */
    readonly dependsOn?: pulumi.Input<pulumi.Resource>[];
}

/**
 * Runs one elevated operation when its request id changes. The request id is both in
 * `triggers` (a new id replaces the command, which runs it) and in the command's arguments; an
 * unchanged id never runs again (and elevated-run refuses to repeat a request that succeeded,
 * even if another input changes). There is no delete command: removing the request from the
 * config, or `pulumi destroy`, deletes nothing on the host.
 */
export class ElevatedOperation extends pulumi.ComponentResource {
    /** Which operation this is. */
    public readonly operation: OperationName;
    /** The request id. */
    public readonly request: string;
    /** The operation's one-line JSON summary, parsed (path, bytes, files, sha256, changed, ...). */
    public readonly result: pulumi.Output<Record<string, unknown>>;
    /** The command that ran it. */
    public readonly command: command.remote.Command;

    constructor(name: string, args: ElevatedOperationArgs, opts?: pulumi.ComponentResourceOptions) {
        const target = checkedHostTarget(`ElevatedOperation ${name}`, args.target);
        super("replicated:ops:ElevatedOperation", name, {}, opts);
        const timeoutSeconds = args.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
        const op = args.request;
        const dataPrefixes = [...args.dataPrefixes];

        // Check every plain value now, so a bad request fails before anything is registered;
        // owner ids and the image are checked again once they are known.
        operationArgs(
            op.operation === "volumes"
                ? { ...op, items: op.items.map((item) => ({ ...item, owner: 0, group: 0 })) }
                : { ...op, ownerUid: 0, ownerGid: 0 },
            { stack: args.stack, helperImage: "placeholder/replicated-helper:check", timeoutSeconds, dataPrefixes },
        );

        const resolved: pulumi.Output<OperationRequest> =
            op.operation === "volumes"
                ? pulumi
                      .all(op.items.map((item) => pulumi.all([item.owner, item.group]).apply(([owner, group]) => ({ ...item, owner, group }))))
                      .apply((items) => ({ ...op, roots: [...op.roots], items }))
                : pulumi.all([op.ownerUid, op.ownerGid]).apply(([ownerUid, ownerGid]) => ({ ...op, ownerUid, ownerGid }));
        const commandLine = pulumi
            .all([resolved, args.helperImage, args.helperImageId, target.become])
            .apply(([request, helperImage, helperImageId, become]) =>
                operationInvocation(request, { stack: args.stack, helperImage, timeoutSeconds, dataPrefixes, helperImageId }, become).command,
            );
        // The command line never holds a secret; stdin does whenever secret values are passed,
        // and is then itself a secret (in state, in logs, in the diff).
        const secretValues = args.secretValues ?? [];
        const stdinText = pulumi.all(secretValues).apply((secrets) => elevatedRunStdin(op.operation, secrets));
        const stdin = secretValues.length > 0 ? pulumi.secret(stdinText) : stdinText;

        this.operation = op.operation;
        this.request = op.request;
        this.command = new command.remote.Command(
            `${name}-run`,
            {
                connection: hostConnection(target),
                create: commandLine,
                stdin,
                // A new request id replaces the command, which runs it once.
                triggers: [op.operation, op.request],
                addPreviousOutputInEnv: false,
                // Summaries hold paths, sizes and checksums; redaction happens inside the container.
                logging: "stdoutAndStderr",
            },
            { parent: this, dependsOn: args.dependsOn },
        );
        this.result = this.command.stdout.apply((stdout) => parseSummaryLine(stdout));

        this.registerOutputs({ operation: this.operation, request: this.request, result: this.result });
    }
}

/**
 * The request of a planned operation, with owners left as `"service"` replaced by the service
 * uid and the docker gid.
 */
export function requestFromPlan(
    planned: PlannedOperation,
    serviceUid: pulumi.Input<number>,
    dockerGid: pulumi.Input<number>,
): ElevatedOperationRequest {
    switch (planned.operation) {
        case "support-bundle":
            return { operation: "support-bundle", request: planned.request, ownerUid: serviceUid, ownerGid: dockerGid };
        case "volumes":
            return planned;
        case "snapshot":
            return {
                operation: "snapshot",
                request: planned.request,
                destination: planned.destination,
                ownerUid: planned.owner === "service" ? serviceUid : planned.owner,
                ownerGid: planned.group === "service" ? dockerGid : planned.group,
            };
    }
}
