/**
 * Test entry: `npm test` runs every tier in order (unit, process, policy, host, engine, cli) and
 * prints each tier's counts and wall time; `node --import tsx test/run.ts <tier>` runs one. The unit
 * tier runs in one process (test/support/unit-entry.ts loads every file of test/unit, and its
 * recordings of the program are queued one after another, since Pulumi's runtime state is
 * process-global); every other tier runs each test file in its own process (node --test). The
 * process tier holds the tests whose subject is a process of its own (a command line's exit
 * status, the package build, a run that only an exit shows failing); it needs only Node and npm.
 *
 * Host and engine tiers need root and a Docker engine. Where those are missing they are skipped
 * with the reason printed; with CI=true they fail instead. The cli tier runs its driver against a
 * stand-in `pulumi` everywhere, and the real Pulumi CLI only where it and its plugins are
 * installed; elsewhere that part is skipped with its reason, also under CI=true (CI has no CLI).
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

const TIERS = ["unit", "process", "policy", "host", "engine", "cli"] as const;
type Tier = (typeof TIERS)[number];
const HOST_TIERS: readonly Tier[] = ["host", "engine"];
/**
 * Test files run at once, per tier (the unit tier's files share one process instead, see
 * {@link UNIT_ENTRY}). Process files each start Node processes that load tsx and the SDKs, and
 * policy files are independent: two at a time on 2 cores. Host
 * files each start their own test hosts (unique names, free ports, the image build serialised in
 * build.sh) and mostly wait on SSH, dockerd and timers: two at a time halve the tier's wall time.
 * Engine files too start their own hosts, and assert the order of steps and the measured gaps
 * only as reported numbers, not as time limits: two at a time. The cli tier shares the one
 * sandbox host: one at a time.
 */
const CONCURRENCY: Readonly<Record<Exclude<Tier, "unit">, number>> = { process: 2, policy: 2, host: 2, engine: 2, cli: 1 };
/**
 * The unit tier's files run in one process, through an entry that loads each of them: the tier
 * pays for loading the SDKs and the program once, and evaluates each stack once, instead of once
 * per file.
 */
const UNIT_ENTRY = path.join(__dirname, "support", "unit-entry.ts");

interface Counts {
    passed: number;
    failed: number;
    skipped: number;
}

function testFiles(tier: Tier): string[] {
    const dir = path.join(__dirname, tier);
    if (!fs.existsSync(dir)) {
        return [];
    }
    return fs
        .readdirSync(dir)
        .filter((file) => file.endsWith(".test.ts"))
        .sort()
        .map((file) => path.join(dir, file));
}

function runNodeTest(tier: Tier, files: string[]): Promise<Counts & { code: number; skipReasons: string[] }> {
    const args =
        tier === "unit"
            ? // A larger young generation: less time collecting the SDK's short-lived promises (as npm run fleet does).
              ["--max-semi-space-size=64", "--import", "tsx", "--test-reporter=spec", UNIT_ENTRY, ...files]
            : ["--import", "tsx", "--test", `--test-concurrency=${CONCURRENCY[tier]}`, "--test-reporter=spec", ...files];
    return new Promise((resolve) => {
        const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"], env: process.env });
        let output = "";
        child.stdout.on("data", (chunk: Buffer) => {
            process.stdout.write(chunk);
            output += chunk.toString();
        });
        child.on("close", (code) => {
            const count = (label: string) => Number(new RegExp(`^ℹ ${label} (\\d+)$`, "m").exec(output)?.[1] ?? 0);
            // A test that skips itself prints `SKIPPED <what>: <reason>`; the summary repeats it.
            const skipReasons = [...new Set([...output.matchAll(/^SKIPPED (.+)$/gm)].map((m) => m[1]))];
            resolve({
                skipReasons,
                passed: count("pass"),
                failed: count("fail") + count("cancelled"),
                skipped: count("skipped") + count("todo"),
                code: code ?? 1,
            });
        });
    });
}

async function hostTierUnavailableReason(): Promise<string | undefined> {
    const { hostTierAvailability } = await import("./support/preflight");
    const availability = await hostTierAvailability();
    return availability.ok ? undefined : availability.reason;
}

async function main(): Promise<void> {
    const wanted = process.argv[2] ?? "all";
    const tiers: Tier[] = wanted === "all" ? [...TIERS] : TIERS.filter((tier) => tier === wanted);
    if (tiers.length === 0) {
        console.error(`unknown tier "${wanted}"; use one of: all, ${TIERS.join(", ")}`);
        process.exit(2);
    }
    const ci = process.env.CI === "true";
    const summary: Array<[Tier, string]> = [];
    const total: Counts = { passed: 0, failed: 0, skipped: 0 };
    let ok = true;

    for (const tier of tiers) {
        const files = testFiles(tier);
        if (HOST_TIERS.includes(tier)) {
            const reason = await hostTierUnavailableReason();
            if (reason !== undefined) {
                if (ci) {
                    console.error(`FAILED ${tier} tier: it is mandatory under CI=true but cannot run: ${reason}`);
                    summary.push([tier, `FAILED (cannot run: ${reason})`]);
                    total.failed += Math.max(files.length, 1);
                    ok = false;
                } else {
                    console.log(`SKIPPED ${tier} tier: ${reason}`);
                    summary.push([tier, `skipped (${reason})`]);
                }
                continue;
            }
        }
        if (files.length === 0) {
            summary.push([tier, "no test files"]);
            continue;
        }
        console.log(`\n=== ${tier} tier: ${files.length} file(s) ===`);
        const started = performance.now();
        const counts = await runNodeTest(tier, files);
        const seconds = ((performance.now() - started) / 1000).toFixed(1);
        total.passed += counts.passed;
        total.failed += counts.failed;
        total.skipped += counts.skipped;
        if (counts.code !== 0 || counts.failed > 0) {
            ok = false;
        }
        const reasons = counts.skipReasons.length > 0 ? ` (${counts.skipReasons.join("; ")})` : "";
        summary.push([tier, `${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped in ${seconds} s${reasons}`]);
    }

    console.log("\n=== summary ===");
    for (const [tier, line] of summary) {
        console.log(`${tier.padEnd(7)} ${line}`);
    }
    console.log(`${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
    process.exit(ok ? 0 : 1);
}

void main();
