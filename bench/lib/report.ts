/**
 * Pure: the results file's shape, the four headline ratios, and the markdown the README shows.
 */
import type { ConvergeResult } from "../converge";
import type { ElevatedResult } from "../elevated";
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
    /** Every target of every benchmark that ran. */
    readonly targets: TargetCheck[];
}

/** The four headline ratios, one per benchmark (undefined when it did not run). */
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
    ];
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
                row([`Program under mocks, ${large.hosts} hosts (process wall time)`, formatSeconds(large.wallSeconds), "", "", limitText(target("scale.wall")), met(target("scale.wall"))]),
                row([`Program under mocks, ${large.hosts} hosts (peak RSS)`, `${Math.round(large.peakRssMiB)} MiB`, "", "", limitText(target("scale.memory")), met(target("scale.memory"))]),
            );
        }
    }
    const e = results.elevated;
    if (e) {
        lines.push(
            row(["Support bundle, empty log set", formatSeconds(e.sides.supportBundle.median), `docker run --rm ${formatSeconds(e.sides.dockerRun.median)}`, String(e.ratios.supportBundleVsDockerRun), limitText(target("elevated.supportBundle.vsDockerRun")), met(target("elevated.supportBundle.vsDockerRun"))]),
        );
    }
    if (s) {
        lines.push("", row(["Hosts", "Resources", "Wall time", "Evaluation", "of it GC", "Peak RSS"]), row(["---:", "---:", "---:", "---:", "---:", "---:"]));
        for (const r of s.rows) {
            lines.push(
                row([String(r.hosts), String(r.resources), formatSeconds(r.wallSeconds), formatSeconds(r.programSeconds), formatSeconds(r.gcSeconds), `${Math.round(r.peakRssMiB)} MiB`]),
            );
        }
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
    const missed = results.targets.filter((t) => !t.met);
    if (missed.length > 0) {
        lines.push("", "Missed targets:", "");
        for (const t of missed) {
            lines.push(`- ${t.description}: ${t.value}${t.unit === "ratio" ? "" : ` ${t.unit}`} (target ${limitText(t)}). ${t.note ?? ""}`);
        }
    }
    lines.push("", "How: medians of alternating runs (A, B, A, B, ...) on the same test host in the same run; see the Benchmarks section of the README.");
    return `${lines.join("\n")}\n`;
}
