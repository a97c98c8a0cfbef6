/**
 * `npm run bench`: the benchmarks, each pair measured in the same run (on the same test host
 * where one is needed) with the two sides alternating, medians and ratios printed, results
 * written to bench/results/latest.json and latest.md (a quick run writes quick.*, a run of some
 * benchmarks only partial.*).
 *
 *   npm run bench                      full run (about 15 minutes on 2 cores)
 *   npm run bench -- --quick           smoke test: small sizes, few repetitions
 *   npm run bench -- --only=scale,fleet
 *
 * It starts its own test host (a Debian container with sshd and dockerd, see
 * test/support/testhost.ts) and removes it at the end, also on failure or Ctrl-C.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { hostTierAvailability } from "../test/support/preflight";
import { buildTestHostImage, startHosts, stopHosts, type TestHost } from "../test/support/testhost";
import { ensureAnsible } from "./ansible/ansible";
import { benchConverge, oursConverge, RESET_COMMAND } from "./converge";
import { benchE2e } from "./e2e";
import { benchElevated } from "./elevated";
import { benchFleet, fleetPlanFor } from "./fleet";
import { describeMachine } from "./lib/machine";
import { recordProgramCommands } from "./lib/program";
import { mustRun } from "./lib/remote";
import { headlineRatios, renderMarkdown, type BenchResults } from "./lib/report";
import { FULL_PLAN, QUICK_PLAN, round } from "./lib/stats";
import { benchMigration } from "./migration";
import { benchScale } from "./scale";

const BENCHMARKS = ["converge", "migration", "scale", "elevated", "fleet", "e2e"] as const;
type Benchmark = (typeof BENCHMARKS)[number];
const RESULTS_DIR = path.join(__dirname, "results");

interface Options {
    readonly quick: boolean;
    readonly only: readonly Benchmark[];
}

function parseOptions(argv: readonly string[]): Options {
    let quick = false;
    let only: Benchmark[] = [...BENCHMARKS];
    for (const arg of argv) {
        if (arg === "--quick") {
            quick = true;
        } else if (arg.startsWith("--only=")) {
            const names = arg.slice("--only=".length).split(",").filter(Boolean);
            const unknown = names.filter((name) => !(BENCHMARKS as readonly string[]).includes(name));
            if (unknown.length > 0 || names.length === 0) {
                throw new Error(`--only: unknown benchmark(s) ${unknown.join(", ") || "(none given)"}; choose from ${BENCHMARKS.join(", ")}`);
            }
            only = names as Benchmark[];
        } else if (arg === "--help" || arg === "-h") {
            process.stdout.write(`usage: npm run bench [-- --quick] [-- --only=${BENCHMARKS.join(",")}]\n`);
            process.exit(0);
        } else {
            throw new Error(`unknown argument ${arg}; usage: npm run bench [-- --quick] [-- --only=${BENCHMARKS.join(",")}]`);
        }
    }
    return { quick, only };
}

function log(line: string): void {
    process.stdout.write(`${line}\n`);
}

async function main(): Promise<void> {
    const options = parseOptions(process.argv.slice(2));
    const plan = options.quick ? QUICK_PLAN : FULL_PLAN;
    const startedAt = new Date();
    const started = performance.now();
    const machine = describeMachine();
    const wants = (name: Benchmark) => options.only.includes(name);
    log(`Benchmarks (${options.quick ? "quick" : "full"} run): ${options.only.join(", ")}`);
    log(`Machine: ${machine.cores} cores, ${machine.memoryGiB} GiB, kernel ${machine.kernel}, Docker ${machine.dockerVersion}, load average ${machine.loadAverage.start}`);
    if (machine.loadAverage.start > machine.cores) {
        log(`Note: the load average (${machine.loadAverage.start}) is above the core count: other work will skew the timings.`);
    }

    const needsHost = wants("converge") || wants("migration") || wants("elevated");
    if (needsHost || wants("e2e")) {
        const availability = await hostTierAvailability();
        if (!availability.ok) {
            throw new Error(`the benchmarks need a test host, which cannot run here: ${availability.reason}`);
        }
        if (wants("converge")) {
            log(`Ansible: ${ensureAnsible(log)}`);
        }
    }

    const partial: Omit<BenchResults, "finishedAt" | "durationSeconds" | "targets" | "machine" | "mode" | "startedAt"> & {
        -readonly [K in "testHost" | "converge" | "migration" | "scale" | "elevated" | "fleet" | "e2e"]?: BenchResults[K];
    } = {};

    // Under mocks, no host involved: first, before the test host's engine idles in the background.
    if (wants("scale")) {
        log(`\n[3] Program scale under mocks: ${plan.scaleSizes.join(", ")} hosts, ${plan.scaleRepetitions} repetition(s), each in a fresh process`);
        partial.scale = await benchScale(plan, log);
    }
    if (wants("fleet")) {
        const sizes = fleetPlanFor(plan);
        log(`\n[5] Fleet plan: ${sizes.stacks} stacks in one fleet plan vs plan-diff per stack (${sizes.sample} timed), ${sizes.fleetRuns} fleet run(s)`);
        partial.fleet = await benchFleet(plan, log);
    }

    if (needsHost) {
        const image = await buildTestHostImage();
        log(`\nTest host image ${image.tag} (${image.cached ? "cached" : `built in ${round(image.seconds, 1)} s`})`);
        let hosts: TestHost[] = [];
        try {
            hosts = await startHosts(1, { namePrefix: "rbench" });
            const host = hosts[0];
            log(`Test host ${host.name} up in ${round(host.startSeconds, 1)} s (ssh 127.0.0.1:${host.sshPort})`);
            const commands = await recordProgramCommands(host);
            log(`Recorded the program's commands on it in ${round(commands.seconds, 1)} s (service uid ${commands.uid}, docker gid ${commands.dockerGid})`);
            partial.testHost = { image: image.tag, startSeconds: round(host.startSeconds, 2), recordingSeconds: round(commands.seconds, 2) };

            if (wants("converge")) {
                log(`\n[1] Host converge over SSH: ours vs Ansible, ${plan.convergeRepetitions} repetitions after a warm-up pair`);
                partial.converge = await benchConverge(host, commands, plan, log);
            }
            // The later benchmarks start from a host the program converged.
            await mustRun(host, "resetting the host", RESET_COMMAND);
            await oursConverge(host, commands);
            if (wants("elevated")) {
                log(`\n[4] Elevated operation: support bundle vs docker run --rm, ${plan.elevatedRepetitions} repetitions after a warm-up`);
                partial.elevated = await benchElevated(host, commands, plan, log);
            }
            if (wants("migration")) {
                log(`\n[2] Ownership migration of ${plan.migrationFiles.toLocaleString("en-US")} files: repair-ownership vs chown -R, ${plan.migrationRepetitions} repetitions`);
                partial.migration = await benchMigration(host, commands, plan, log);
            }
        } finally {
            if (hosts.length > 0) {
                await stopHosts(hosts);
            }
        }
    }

    // Starts a fresh test host per side and round, after the shared host is gone.
    if (wants("e2e")) {
        const image = await buildTestHostImage();
        const rounds = plan.quick ? 1 : 3;
        log(`\n[6] Fresh primary end to end: runner vs one shell session, ${rounds} round(s), a fresh host (${image.tag}) per side and round`);
        partial.e2e = await benchE2e(plan, log);
    }

    machine.loadAverage.end = round(os.loadavg()[0], 2);
    const results: BenchResults = {
        mode: options.quick ? "quick" : "full",
        startedAt: startedAt.toISOString(),
        finishedAt: new Date().toISOString(),
        durationSeconds: round((performance.now() - started) / 1000, 1),
        machine,
        ...partial,
        targets: [
            ...(partial.converge?.targets ?? []),
            ...(partial.migration?.targets ?? []),
            ...(partial.scale?.targets ?? []),
            ...(partial.elevated?.targets ?? []),
            ...(partial.fleet?.targets ?? []),
            ...(partial.e2e?.targets ?? []),
        ],
    };
    // Only a full run of every benchmark is published as latest.*.
    const base = options.quick ? "quick" : options.only.length < BENCHMARKS.length ? "partial" : "latest";
    fs.mkdirSync(RESULTS_DIR, { recursive: true });
    fs.writeFileSync(path.join(RESULTS_DIR, `${base}.json`), `${JSON.stringify(results, null, 2)}\n`);
    fs.writeFileSync(path.join(RESULTS_DIR, `${base}.md`), renderMarkdown(results));

    log(`\nRatios (target in brackets):`);
    for (const ratio of headlineRatios(results)) {
        log(`  ${ratio.name}: ${ratio.value ?? "not run"} (≤ ${ratio.limit})`);
    }
    log(`\n${renderMarkdown(results)}`);
    log(`Wrote bench/results/${base}.json and bench/results/${base}.md in ${results.durationSeconds} s.`);
}

main().catch((error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
});
