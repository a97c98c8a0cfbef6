/**
 * `fleet plan`: the same proposed change planned against every customer stack, in this one
 * process, with plan-diff's engine. Each stack's plan-diff is reduced to the counts an operator
 * decides an upgrade on (containers replaced, host commands and elevated operations that run,
 * legacy root mode and the opt-in), and the rows are rendered as a table or one JSON document.
 *
 * The reduction and the rendering are pure; {@link planFleet} wires them to the evaluations.
 */
import { scriptNameOf } from "./offline/host-model";
import type { RecordedResource, RecordingData } from "./offline/recorder";
import { STACKS_DIR, stackNames } from "./offline/stacks";
import {
    EvaluationError,
    UsageError,
    parseChanges,
    planAssignments,
    renderJson,
    renderPlan,
    secretKeysOf,
    stackInput,
    type DiffInput,
    type PlanDiffResult,
} from "./plan-diff";
import { applyAssignments, resourceKey, type Assignment, type PlanDiff, type ResourceRef } from "./plan-diff-core";
import { CONTAINER, REMOTE_COMMAND } from "./replace-semantics";

/** How a stack's containers run: as the service account, or as root (installs before 2.5.0). */
export type RunMode = "service-account" | "legacy-root";

/** What became of a stack's plan. */
export type StackPlanStatus = "planned" | "rejected" | "failed";

/** One row of the fleet plan (one entry of `--json`). */
export interface FleetRow {
    readonly stack: string;
    /** planned; rejected: the program refuses the proposed config; failed: the current config does not evaluate, or the stack cannot be read. */
    readonly status: StackPlanStatus;
    readonly hosts: number;
    /** Containers `pulumi up` replaces. */
    readonly containersReplaced: number;
    /** Of those, the ones deleted before their replacement starts (deleteBeforeReplace): the service is down meanwhile. */
    readonly containersReplacedWithDowntime: number;
    /** Containers changed without being recreated (`docker update`, or a setting recorded for the next recreation). */
    readonly containersUpdatedInPlace: number;
    readonly containersCreated: number;
    readonly containersDeleted: number;
    /** Host commands (remote.Command, elevated operations not included) whose create, update or delete runs on a host. */
    readonly hostCommandsToRun: number;
    /** Elevated operations (short-lived root containers) that run. */
    readonly elevatedOperationsToRun: number;
    readonly runAsCurrent: RunMode;
    /** The mode with the change; the current mode when the change is rejected. */
    readonly runAsProposed: RunMode;
    /** The change takes a legacy root stack to the service account (the opt-in migration of its data). */
    readonly optInMigration: boolean;
    /** The program's message when the stack is rejected or failed. */
    readonly error?: string;
    /** Warnings a reader must not miss, e.g. a downgrade the version guard will refuse. */
    readonly warnings: readonly string[];
}

/** A stack that was planned, or the error that stopped it. */
export type StackOutcome =
    | { readonly stack: string; readonly result: PlanDiffResult }
    | {
          readonly stack: string;
          readonly status: "rejected" | "failed";
          readonly error: string;
          /** The stack's config as read, and with the change, where they exist. */
          readonly current?: Record<string, unknown>;
          readonly proposed?: Record<string, unknown>;
      };

/** The fleet plan: the change, one row per stack, and each stack's full plan for `--detail`. */
export interface FleetPlan {
    readonly assignments: readonly Assignment[];
    readonly rows: readonly FleetRow[];
    readonly outcomes: readonly StackOutcome[];
}

/** Lines printed under every table. */
export const FLEET_NOTES: readonly string[] = [
    "A replaced container is deleted before its replacement starts (deleteBeforeReplace): that service is down in between.",
    "Whether a host holds an install made by Replicated's own script, to be taken over, is only known on the host: the table does not show it.",
    "Host script results are modelled as on a converged host; image ids are derived from image names; stack state and drift are not read.",
];

// ---------------------------------------------------------------------------------------------
// Reduction (pure)

function runModeOf(value: unknown): RunMode {
    return value === "root" ? "legacy-root" : "service-account";
}

/** The number of hosts a recording's stack outputs name, or undefined. */
function hostsIn(recording: RecordingData | undefined): number | undefined {
    const hosts = recording?.outputs.hosts;
    return hosts !== null && typeof hosts === "object" ? Object.keys(hosts).length : undefined;
}

function hostsInConfig(config: Record<string, unknown> | undefined): number {
    return Array.isArray(config?.hosts) ? config.hosts.length : 0;
}

/** Whether a recorded command runs an elevated operation (a root container on the host). */
function isElevatedOperation(resource: RecordedResource | undefined): boolean {
    return resource !== undefined && scriptNameOf(resource) === "elevated-run";
}

/** Count what one stack's plan does. */
export function summarisePlan(stack: string, diff: PlanDiff, before: RecordingData, after: RecordingData, notes: readonly string[] = []): FleetRow {
    const beforeByKey = new Map(before.resources.map((resource) => [resourceKey(resource), resource]));
    const afterByKey = new Map(after.resources.map((resource) => [resourceKey(resource), resource]));
    const containers = diff.changed.filter((change) => change.type === CONTAINER);
    const replaced = containers.filter((change) => change.action === "replace");
    const isContainer = (resource: ResourceRef) => resource.type === CONTAINER;

    // Every command that runs something on a host: created and changed ones run create (or
    // update); a deleted one runs only if it has a delete command.
    const commandsToRun: RecordedResource[] = [
        ...diff.added.filter((r) => r.type === REMOTE_COMMAND).map((r) => afterByKey.get(resourceKey(r))),
        ...diff.changed.filter((r) => r.type === REMOTE_COMMAND).map((r) => afterByKey.get(resourceKey(r))),
        ...diff.removed
            .filter((r) => r.type === REMOTE_COMMAND)
            .map((r) => beforeByKey.get(resourceKey(r)))
            .filter((r) => typeof r?.inputs.delete === "string"),
    ].filter((r): r is RecordedResource => r !== undefined);
    const elevated = commandsToRun.filter(isElevatedOperation).length;

    const runAsCurrent = runModeOf(before.outputs.runAs);
    const runAsProposed = runModeOf(after.outputs.runAs);
    return {
        stack,
        status: "planned",
        hosts: hostsIn(after) ?? hostsIn(before) ?? 0,
        containersReplaced: replaced.length,
        containersReplacedWithDowntime: replaced.filter((change) => change.deleteBeforeReplace).length,
        containersUpdatedInPlace: containers.length - replaced.length,
        containersCreated: diff.added.filter(isContainer).length,
        containersDeleted: diff.removed.filter(isContainer).length,
        hostCommandsToRun: commandsToRun.length - elevated,
        elevatedOperationsToRun: elevated,
        runAsCurrent,
        runAsProposed,
        optInMigration: runAsCurrent === "legacy-root" && runAsProposed === "service-account",
        warnings: notes.filter((note) => /DOWNGRADE and replicated:allowDowngrade is not set/.test(note)),
    };
}

/** The row of a stack whose plan stopped with an error. */
export function errorRow(stack: string, status: "rejected" | "failed", error: string, current?: Record<string, unknown>, proposed?: Record<string, unknown>): FleetRow {
    const runAsCurrent = runModeOf(current?.runAs);
    const runAsProposed = proposed === undefined ? runAsCurrent : runModeOf(proposed.runAs);
    return {
        stack,
        status,
        hosts: hostsInConfig(proposed ?? current),
        containersReplaced: 0,
        containersReplacedWithDowntime: 0,
        containersUpdatedInPlace: 0,
        containersCreated: 0,
        containersDeleted: 0,
        hostCommandsToRun: 0,
        elevatedOperationsToRun: 0,
        runAsCurrent,
        runAsProposed,
        optInMigration: runAsCurrent === "legacy-root" && runAsProposed === "service-account",
        error,
        warnings: [],
    };
}

/** The row of one stack's outcome. */
export function rowOf(outcome: StackOutcome): FleetRow {
    if ("result" in outcome) {
        const { result } = outcome;
        return summarisePlan(outcome.stack, result.diff, result.before, result.after, result.input.notes);
    }
    return errorRow(outcome.stack, outcome.status, outcome.error, outcome.current, outcome.proposed);
}

/** Counts summed over the fleet. */
export interface FleetTotals {
    readonly stacks: number;
    readonly planned: number;
    readonly rejected: number;
    readonly failed: number;
    readonly hosts: number;
    readonly containersReplaced: number;
    readonly containersReplacedWithDowntime: number;
    readonly containersUpdatedInPlace: number;
    readonly containersCreated: number;
    readonly containersDeleted: number;
    readonly hostCommandsToRun: number;
    readonly elevatedOperationsToRun: number;
    readonly legacyRootStacks: number;
    readonly optInMigrations: number;
}

export function totalsOf(rows: readonly FleetRow[]): FleetTotals {
    const sum = (pick: (row: FleetRow) => number) => rows.reduce((total, row) => total + pick(row), 0);
    const count = (test: (row: FleetRow) => boolean) => rows.filter(test).length;
    return {
        stacks: rows.length,
        planned: count((row) => row.status === "planned"),
        rejected: count((row) => row.status === "rejected"),
        failed: count((row) => row.status === "failed"),
        hosts: sum((row) => row.hosts),
        containersReplaced: sum((row) => row.containersReplaced),
        containersReplacedWithDowntime: sum((row) => row.containersReplacedWithDowntime),
        containersUpdatedInPlace: sum((row) => row.containersUpdatedInPlace),
        containersCreated: sum((row) => row.containersCreated),
        containersDeleted: sum((row) => row.containersDeleted),
        hostCommandsToRun: sum((row) => row.hostCommandsToRun),
        elevatedOperationsToRun: sum((row) => row.elevatedOperationsToRun),
        legacyRootStacks: count((row) => row.runAsCurrent === "legacy-root"),
        optInMigrations: count((row) => row.optInMigration),
    };
}

/** Exit status of `fleet plan`: 0 when every stack was planned, 1 when any was rejected or failed. */
export function exitStatusOf(rows: readonly FleetRow[]): 0 | 1 {
    return rows.every((row) => row.status === "planned") ? 0 : 1;
}

// ---------------------------------------------------------------------------------------------
// Rendering (pure)

/** The change as typed (`version=2.54.0 sidecars.statsd=false`). */
export function describeChange(assignments: readonly Assignment[]): string {
    if (assignments.length === 0) {
        return "(no change proposed)";
    }
    return assignments
        .map((a) => `${a.key}=${a.remove ? "null" : typeof a.value === "string" ? a.value : JSON.stringify(a.value)}`)
        .join(" ");
}

function modeText(row: FleetRow): string {
    const name = (mode: RunMode) => (mode === "legacy-root" ? "legacy root" : "service account");
    if (row.optInMigration) {
        return "legacy root -> service account (opt-in migration)";
    }
    return row.runAsCurrent === row.runAsProposed ? name(row.runAsCurrent) : `${name(row.runAsCurrent)} -> ${name(row.runAsProposed)}`;
}

function resultText(row: FleetRow): string {
    return row.status === "planned" ? (row.warnings.length > 0 ? "planned, see warnings" : "planned") : row.status === "rejected" ? "REJECTED" : "FAILED";
}

/** Align columns: text left, numbers right. */
function table(header: readonly string[], rows: readonly (readonly string[])[], numeric: readonly boolean[]): string[] {
    const widths = header.map((cell, index) => Math.max(cell.length, ...rows.map((row) => row[index].length)));
    const line = (cells: readonly string[]) =>
        cells
            .map((cell, index) => (numeric[index] ? cell.padStart(widths[index]) : cell.padEnd(widths[index])))
            .join("  ")
            .trimEnd();
    return [line(header), ...rows.map(line)];
}

/** The human-readable fleet plan: a table, a total line, then errors, warnings and notes. */
export function renderFleetTable(plan: Pick<FleetPlan, "assignments" | "rows">): string {
    const totals = totalsOf(plan.rows);
    const header = ["STACK", "HOSTS", "MODE", "REPLACED", "UPDATED", "HOST CMDS", "ELEVATED", "RESULT"];
    const numeric = [false, true, false, true, true, true, true, false];
    const counts = (row: FleetRow, value: number) => (row.status === "planned" ? String(value) : "-");
    const body = plan.rows.map((row) => [
        row.stack,
        String(row.hosts),
        modeText(row),
        counts(row, row.containersReplaced),
        counts(row, row.containersUpdatedInPlace),
        counts(row, row.hostCommandsToRun),
        counts(row, row.elevatedOperationsToRun),
        resultText(row),
    ]);
    const outcome = [`${totals.planned} planned`, ...(totals.rejected > 0 ? [`${totals.rejected} rejected`] : []), ...(totals.failed > 0 ? [`${totals.failed} failed`] : [])];
    const modes = `${totals.legacyRootStacks} legacy root` + (totals.optInMigrations > 0 ? `, ${totals.optInMigrations} opt-in` : "");
    const total = [
        `TOTAL (${totals.stacks} stacks)`,
        String(totals.hosts),
        modes,
        String(totals.containersReplaced),
        String(totals.containersUpdatedInPlace),
        String(totals.hostCommandsToRun),
        String(totals.elevatedOperationsToRun),
        outcome.join(", "),
    ];
    const lines = [`fleet plan: ${describeChange(plan.assignments)}`, "", ...table(header, [...body, total], numeric)];
    lines.push(
        "",
        "REPLACED: containers recreated; UPDATED: containers changed in place; HOST CMDS: host commands that run;",
        "ELEVATED: elevated operations (root containers) that run.",
    );
    const broken = plan.rows.filter((row) => row.status !== "planned");
    if (broken.length > 0) {
        lines.push("", "Rejected or failed:");
        for (const row of broken) {
            lines.push(`  ${row.stack} (${row.status}):`, ...(row.error ?? "").split("\n").map((line) => `    ${line}`));
        }
    }
    const warned = plan.rows.filter((row) => row.warnings.length > 0);
    if (warned.length > 0) {
        lines.push("", "Warnings:");
        for (const row of warned) {
            lines.push(...row.warnings.map((warning) => `  ${row.stack}: ${warning}`));
        }
    }
    lines.push("", ...FLEET_NOTES.map((note) => `note: ${note}`));
    return `${lines.join("\n")}\n`;
}

/** Every stack's full plan-diff, for `--detail`. */
export function renderFleetDetail(plan: Pick<FleetPlan, "assignments" | "outcomes">): string {
    return plan.outcomes
        .map((outcome) =>
            "result" in outcome
                ? renderPlan(outcome.result)
                : `plan-diff for stack "${outcome.stack}": ${describeChange(plan.assignments)}\n\n${outcome.status === "rejected" ? "Rejected by the program" : "Failed"}:\n${outcome.error}\n`,
        )
        .join("\n");
}

/** The `--json` document: the change, one entry per stack, the totals; with `detail`, each stack's plan-diff document. */
export function renderFleetJson(plan: FleetPlan, detail = false): string {
    const changes = plan.assignments.map((a) => ({ key: a.key, value: a.remove ? null : a.value }));
    const stacks = plan.rows.map((row, index) => {
        const outcome = plan.outcomes[index];
        if (!detail) {
            return row;
        }
        return { ...row, planDiff: "result" in outcome ? (JSON.parse(renderJson(outcome.result)) as unknown) : null };
    });
    return `${JSON.stringify({ changes, stacks, total: totalsOf(plan.rows), notes: FLEET_NOTES }, null, 2)}\n`;
}

// ---------------------------------------------------------------------------------------------
// Planning

export interface FleetPlanOptions {
    /** Stacks to plan; default every stack in the directory. */
    readonly stacks?: readonly string[];
    readonly stacksDir?: string;
    /** Keep each stack's recordings and diff (for `--detail`); default only the counts. */
    readonly keepDetail?: boolean;
    /** Called after each stack (progress). */
    readonly onStack?: (row: FleetRow, done: number, total: number) => void;
}

/** The stacks to plan, checked: unknown or repeated names are a usage error. */
export function selectStacks(requested: readonly string[] | undefined, stacksDir: string = STACKS_DIR): string[] {
    let known: string[];
    try {
        known = stackNames(stacksDir);
    } catch (err) {
        throw new UsageError(`cannot list the stacks in ${stacksDir}: ${(err as Error).message}`);
    }
    if (requested === undefined) {
        if (known.length === 0) {
            throw new UsageError(`no stack files (Pulumi.<stack>.yaml) in ${stacksDir}`);
        }
        return known;
    }
    const unknown = requested.filter((stack) => !known.includes(stack));
    if (unknown.length > 0) {
        throw new UsageError(`no stack ${unknown.map((s) => `"${s}"`).join(", ")} in ${stacksDir} (known: ${known.join(", ") || "none"})`);
    }
    const repeated = requested.filter((stack, index) => requested.indexOf(stack) !== index);
    if (repeated.length > 0) {
        throw new UsageError(`stack ${[...new Set(repeated)].join(", ")} named more than once`);
    }
    if (requested.length === 0) {
        throw new UsageError("--stacks names no stack");
    }
    return [...requested];
}

/**
 * Plan `changes` against each stack, one after the other in this process (evaluated on its
 * evaluation thread, tools/offline/evaluation-thread.ts). A malformed change, a
 * secret, or an unknown stack is a UsageError before anything is evaluated; a stack whose config
 * cannot take the change, or does not evaluate, gets an error row and the others are still planned.
 */
export async function planFleet(changes: readonly string[], options: FleetPlanOptions = {}): Promise<FleetPlan> {
    const stacksDir = options.stacksDir ?? STACKS_DIR;
    const stacks = selectStacks(options.stacks, stacksDir);
    const inputs = new Map<string, DiffInput | Error>();
    for (const stack of stacks) {
        try {
            inputs.set(stack, stackInput(stack, stacksDir));
        } catch (err) {
            inputs.set(stack, err as Error);
        }
    }
    const readable = [...inputs.values()].filter((input): input is DiffInput => !(input instanceof Error));
    const assignments = parseChanges(changes, secretKeysOf(readable));
    const rows: FleetRow[] = [];
    const outcomes: StackOutcome[] = [];
    const plan = (stack: string): Promise<StackOutcome> => {
        const input = inputs.get(stack);
        if (input === undefined || input instanceof Error) {
            return Promise.resolve({ stack, status: "failed", error: `the stack file cannot be read: ${input?.message ?? "missing"}` });
        }
        return planOne(input, assignments);
    };
    // The next stack is queued on the evaluation thread while this one is diffed and reported;
    // planOne never rejects, and rows still come in the order of `stacks`.
    let next = stacks.length > 0 ? plan(stacks[0]) : undefined;
    for (let index = 0; index < stacks.length && next !== undefined; index++) {
        const planning = next;
        next = index + 1 < stacks.length ? plan(stacks[index + 1]) : undefined;
        const outcome = await planning;
        const row = rowOf(outcome);
        rows.push(row);
        outcomes.push(options.keepDetail === true ? outcome : slim(outcome));
        options.onStack?.(row, rows.length, stacks.length);
    }
    return { assignments, rows, outcomes };
}

async function planOne(input: DiffInput, assignments: readonly Assignment[]): Promise<StackOutcome> {
    try {
        return { stack: input.stack, result: await planAssignments(input, assignments) };
    } catch (err) {
        const current = input.config;
        if (err instanceof UsageError) {
            // The change does not fit this stack's config (e.g. an index past its list).
            return { stack: input.stack, status: "rejected", error: err.message, current };
        }
        if (err instanceof EvaluationError && err.phase === "proposed") {
            return { stack: input.stack, status: "rejected", error: err.reason, current, proposed: applyAssignments(current, assignments) };
        }
        if (err instanceof EvaluationError) {
            return { stack: input.stack, status: "failed", error: `its current configuration does not evaluate:\n${err.reason}`, current };
        }
        return { stack: input.stack, status: "failed", error: (err as Error).message, current };
    }
}

/** Drop what only `--detail` needs: the recordings are most of a plan's memory. */
function slim(outcome: StackOutcome): StackOutcome {
    if ("result" in outcome) {
        const { input, assignments, diff } = outcome.result;
        const empty: RecordingData = { resources: [], outputs: {} };
        return { stack: outcome.stack, result: { input, assignments, diff, before: empty, after: empty } };
    }
    return outcome;
}
