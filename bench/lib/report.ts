/**
 * Pure: the results file's shape, the headline ratios, and the markdown the README shows.
 */
import type { ConvergeResult } from "../converge";
import type { E2eResult } from "../e2e";
import type { ElevatedResult } from "../elevated";
import type { FleetResult } from "../fleet";
import type { MigrationResult } from "../migration";
import type { ScaleResult } from "../scale";
import { oneLine, type MachineInfo } from "./machine";
import { formatSeconds, type TargetCheck } from "./stats";

export interface BenchResults {
    readonly mode: "full" | "quick";
    readonly startedAt: string;
    readonly finishedAt: string;
    readonly durationSeconds: number;
    readonly machine: MachineInfo;
    readonly testHost?: { readonly image: string; readonly startSeconds: number; readonly recordingSeconds: number };
    readonly converge?: ConvergeResult;
    readonly migration?: MigrationResult;
    readonly scale?: ScaleResult;
    readonly elevated?: ElevatedResult;
    readonly fleet?: FleetResult;
    readonly e2e?: E2eResult;
    /** Every target of every benchmark that ran. */
    readonly targets: TargetCheck[];
}

/** The headline ratios (undefined when the benchmark did not run). */
export function headlineRatios(results: BenchResults): Array<{ name: string; value?: number; limit: number }> {
    return [
        { name: "converge, fresh host: ours / Ansible", value: results.converge?.ratios.freshVsAnsible, limit: 0.15 },
        { name: "migration, first run: repair-ownership / chown -R", value: results.migration?.ratios.firstVsChownR, limit: 1.5 },
        {
            name: `scale: t(${results.scale?.linearity.large ?? 500}) / t(${results.scale?.linearity.small ?? 50}) under mocks`,
            value: results.scale?.linearity.programRatio,
            limit: 11,
        },
        { name: "elevated: support bundle / docker run --rm", value: results.elevated?.ratios.supportBundleVsDockerRun, limit: 1.5 },
        { name: `scale: program / SDK floor, time at ${results.scale?.linearity.large ?? 500} hosts`, value: largestScaleRow(results)?.floor.timeRatio, limit: 1.3 },
        { name: `scale: program / SDK floor, peak RSS at ${results.scale?.linearity.large ?? 500} hosts`, value: largestScaleRow(results)?.floor.memoryRatio, limit: 1.3 },
        { name: `fleet: fleet plan of ${results.fleet?.stacks ?? 200} stacks / plan-diff per stack`, value: results.fleet?.ratio, limit: 0.1 },
        { name: "e2e: fresh primary, runner / one shell session", value: results.e2e?.ratio, limit: 1.3 },
    ];
}

function largestScaleRow(results: BenchResults): ScaleResult["rows"][number] | undefined {
    return results.scale?.rows.find((row) => row.hosts === results.scale?.linearity.large);
}

function met(target: TargetCheck | undefined): string {
    return target === undefined ? "" : target.met ? "yes" : "**no**";
}

function limitText(target: TargetCheck | undefined): string {
    if (target === undefined) {
        return "";
    }
    return target.unit === "ratio" ? `≤ ${target.limit}` : `≤ ${target.limit} ${target.unit === "s" ? "s" : "MiB"}`;
}

function row(cells: readonly string[]): string {
    return `| ${cells.join(" | ")} |`;
}

/** The markdown table (and notes) the README shows. */
export function renderMarkdown(results: BenchResults): string {
    const target = (id: string) => results.targets.find((t) => t.id === id);
    const lines: string[] = [];
    lines.push(`Measured ${results.startedAt.slice(0, 10)} on ${oneLine(results.machine, results.startedAt)}.`);
    if (results.mode === "quick") {
        lines.push("", "**Quick run** (small sizes, few repetitions): a smoke test, not the published figures.");
    }
    lines.push("", row(["Benchmark", "This project (median)", "Baseline (median)", "Ratio", "Target", "Met"]), row(["---", "---:", "---:", "---:", "---:", ":---:"]));
    const c = results.converge;
    if (c) {
        const add = (label: string, ours: number, baseline: string, value: number, id: string) =>
            lines.push(row([label, formatSeconds(ours), baseline, String(value), limitText(target(id)), met(target(id))]));
        add("Converge (account + directories), fresh host", c.sides.oursFresh.median, `Ansible ${formatSeconds(c.sides.ansibleFresh.median)}`, c.ratios.freshVsAnsible, "converge.fresh.vsAnsible");
        add("Converge, nothing to change", c.sides.oursNoChange.median, `Ansible ${formatSeconds(c.sides.ansibleNoChange.median)}`, c.ratios.noChangeVsAnsible, "converge.noChange.vsAnsible");
        add("Converge, fresh host, vs the SSH floor", c.sides.oursFresh.median, `ssh true ${formatSeconds(c.sides.bareRoundTrip.median)}`, c.ratios.freshVsRoundTrip, "converge.fresh.vsRoundTrip");
        add("Converge, nothing to change, vs the SSH floor", c.sides.oursNoChange.median, `ssh true ${formatSeconds(c.sides.bareRoundTrip.median)}`, c.ratios.noChangeVsRoundTrip, "converge.noChange.vsRoundTrip");
    }
    const m = results.migration;
    if (m) {
        const files = m.tree.files.toLocaleString("en-US");
        lines.push(
            row([`Ownership migration, ${files} files, first run`, formatSeconds(m.sides.repairFirst.median), `chown -R ${formatSeconds(m.sides.chownR.median)}`, String(m.ratios.firstVsChownR), limitText(target("migration.first.vsChownR")), met(target("migration.first.vsChownR"))]),
            row([`Ownership migration, ${files} files, second run`, formatSeconds(m.sides.repairSecond.median), `first run ${formatSeconds(m.sides.repairFirst.median)}`, String(m.ratios.secondVsFirst), limitText(target("migration.second.vsFirst")), met(target("migration.second.vsFirst"))]),
        );
    }
    const s = results.scale;
    if (s) {
        const large = s.rows.find((r) => r.hosts === s.linearity.large);
        const small = s.rows.find((r) => r.hosts === s.linearity.small);
        if (large && small) {
            lines.push(
                row([`Program under mocks, ${large.hosts} hosts (evaluation time)`, formatSeconds(large.programSeconds), `${small.hosts} hosts ${formatSeconds(small.programSeconds)}`, String(s.linearity.programRatio), limitText(target("scale.linearity")), met(target("scale.linearity"))]),
                row([`Program under mocks, ${large.hosts} hosts (evaluation time) vs the SDK floor`, formatSeconds(large.programSeconds), `floor ${formatSeconds(large.floor.programSeconds)}`, String(large.floor.timeRatio), limitText(target("scale.floor.time")), met(target("scale.floor.time"))]),
                row([`Program under mocks, ${large.hosts} hosts (peak RSS) vs the SDK floor`, `${Math.round(large.peakRssMiB)} MiB`, `floor ${Math.round(large.floor.peakRssMiB)} MiB`, String(large.floor.memoryRatio), limitText(target("scale.floor.memory")), met(target("scale.floor.memory"))]),
            );
        }
    }
    const e = results.elevated;
    if (e) {
        lines.push(
            row(["Support bundle, empty log set", formatSeconds(e.sides.supportBundle.median), `docker run --rm ${formatSeconds(e.sides.dockerRun.median)}`, String(e.ratios.supportBundleVsDockerRun), limitText(target("elevated.supportBundle.vsDockerRun")), met(target("elevated.supportBundle.vsDockerRun"))]),
        );
    }
    const f = results.fleet;
    if (f) {
        lines.push(
            row([`Fleet plan, ${f.stacks} stacks (${f.hosts} hosts), one process`, formatSeconds(f.fleet.wallSeconds.median), `plan-diff per stack ${formatSeconds(f.planDiff.scaledSeconds)} (${f.planDiff.sampled.length} timed, scaled)`, String(f.ratio), limitText(target("fleet.vsPlanDiff")), met(target("fleet.vsPlanDiff"))]),
            row([`Fleet plan, ${f.stacks} stacks (peak RSS)`, `${Math.round(Math.max(...f.fleet.peakRssMiB))} MiB`, "", "", limitText(target("fleet.peakRss")), met(target("fleet.peakRss"))]),
            row(["Fleet plan, seconds per stack vs the SDK floor", formatSeconds(f.perStack.engineSeconds), `floor ${formatSeconds(f.perStack.floorSeconds)}`, String(f.perStack.engineVsFloor), "", ""]),
        );
    }
    const x = results.e2e;
    if (x) {
        lines.push(
            row([`Fresh primary end to end (${x.rounds} round(s))`, formatSeconds(x.runner.window.median), `one shell session ${formatSeconds(x.baseline.window.median)}`, String(x.ratio), limitText(target("e2e.fresh.vsSession")), met(target("e2e.fresh.vsSession"))]),
        );
    }
    if (s) {
        lines.push(
            "",
            row(["Hosts", "Resources", "Wall time", "Evaluation", "of it GC", "Peak RSS", "SDK floor: evaluation", "SDK floor: peak RSS", "Program / floor: time", "Program / floor: RSS"]),
            row(["---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:"]),
        );
        for (const r of s.rows) {
            lines.push(
                row([
                    String(r.hosts),
                    String(r.resources),
                    formatSeconds(r.wallSeconds),
                    formatSeconds(r.programSeconds),
                    formatSeconds(r.gcSeconds),
                    `${Math.round(r.peakRssMiB)} MiB`,
                    formatSeconds(r.floor.programSeconds),
                    `${Math.round(r.floor.peakRssMiB)} MiB`,
                    String(r.floor.timeRatio),
                    String(r.floor.memoryRatio),
                ]),
            );
        }
    }
    if (f) {
        lines.push(
            "",
            `Fleet plan: \`${f.change}\` over ${f.stacks} generated stacks; the fleet took ${f.fleet.wallSeconds.samples.map(formatSeconds).join(" and ")} ` +
                `(${formatSeconds(f.perStack.fleetSeconds)} per stack, peak ${f.fleet.peakRssMiB.map((m) => `${Math.round(m)} MiB`).join(" and ")}); plan-diff took ` +
                `${formatSeconds(f.planDiff.wallSeconds.median)} per process (median of ${f.planDiff.sampled.length}, ${formatSeconds(Math.min(...f.planDiff.wallSeconds.samples))} to ` +
                `${formatSeconds(Math.max(...f.planDiff.wallSeconds.samples))}). In one process, planning a stack took ${formatSeconds(f.perStack.engineSeconds)} and the SDK floor ` +
                `for its resources ${formatSeconds(f.perStack.floorSeconds)} (medians).`,
        );
    }
    if (m) {
        lines.push(
            "",
            `Migration safety (every repetition): the repair re-owned ${m.safety.outsideReownedByRepair} files outside its trees and left ` +
                `the ${m.safety.skippedByRepair} names hard-linked to root-only files outside alone; \`chown -R\` re-owned ` +
                `${m.safety.outsideReownedByChownR} such outside files through their hard links.`,
        );
    }
    if (s) {
        const d = s.withoutSdkStackCapture;
        lines.push(
            "",
            `Scale diagnostic (not a figure of the program as it runs): with the Pulumi SDK's per-output stack capture off, ` +
                `${d.hosts} hosts take ${formatSeconds(d.programSeconds)} to evaluate with a ${Math.round(d.peakRssMiB)} MiB peak, ` +
                `${d.smallHosts} hosts ${formatSeconds(d.smallProgramSeconds)} (ratio ${d.programRatio}).`,
        );
    }
    if (x) {
        const c = x.connectionCosts;
        lines.push(
            "",
            row(["Fresh primary, part of the window (medians)", "Runner", "One shell session", "Difference"]),
            row(["---", "---:", "---:", "---:"]),
            ...(
                [
                    ["Whole window: first host command to the health gate's end", x.runner.window.median, x.baseline.window.median],
                    ["Image load (6 tarballs)", x.runner.imageLoad.median, x.baseline.imageLoad.median],
                    ["Container starts (5)", x.runner.containerStarts.median, x.baseline.containerStarts.median],
                    ["Health wait", x.runner.healthWait.median, x.baseline.healthWait.median],
                    ["Everything else (commands, network, image reads, provider dial)", x.runner.rest.median, x.baseline.rest.median],
                ] as const
            ).map(([label, a, b]) => row([label, formatSeconds(a), formatSeconds(b), formatSeconds(a - b)])),
            row(["SSH connections inside the window (sshd log, per round)", x.runner.sshConnections.join(", "), x.baseline.sshConnections.join(", "), ""]),
            row(["Ratio of each round (runner / session of the same round)", x.roundRatios.join(", "), "", ""]),
            "",
            `Connection costs here (medians): a new SSH connection running \`true\` ${formatSeconds(c.sshExec.median)}; an Engine API request through the runner's ` +
                `client on a new dial-stdio connection ${formatSeconds(c.engineRequestNewConnection.median)}, on a kept one ${formatSeconds(c.engineRequestReusedConnection.median)}, ` +
                `on an open engine socket on the host ${(c.engineRequestOnHost.median * 1000).toFixed(2)} ms. ` +
                `The runner's Engine API client opened ${c.engineConnections} connections per apply (sshd: ${c.engineConnectionsFromSshd}), keeping them alive and reusing them as the ` +
                `docker provider's client does; their dials cost about ${formatSeconds(c.engineDialSeconds)}, partly in parallel. ` +
                `The ${x.commandOverhead.commands} short remote commands (all but the image load and the health gate) took ` +
                `${formatSeconds(x.commandOverhead.seconds)} longer through the runner than in the session, summed over the commands, some in parallel. ` +
                `Remote commands, runner (SSH exec, connect included) vs the session (on the host): ` +
                x.commands.map((cmd) => `${cmd.name} ${formatSeconds(cmd.runnerSeconds)} / ${formatSeconds(cmd.sessionSeconds)}`).join(", ") +
                ".",
        );
    }
    const missed = results.targets.filter((t) => !t.met);
    if (missed.length > 0) {
        lines.push("", "Missed targets:", "");
        for (const t of missed) {
            lines.push(`- ${t.description}: ${t.value}${t.unit === "ratio" ? "" : ` ${t.unit}`} (target ${limitText(t)}). ${t.note ?? ""}`);
        }
    }
    lines.push("", "How: medians of alternating runs (A, B, A, B, ...) on the same test host in the same run; see bench/README.md.");
    return `${lines.join("\n")}\n`;
}
