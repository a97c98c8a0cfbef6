/**
 * Pure helpers for the benchmarks: medians, ratios, target checks and the run plan (how many
 * repetitions, which sizes) for a full or a quick run.
 */

/** Median of a non-empty sample (mean of the two middle values for an even count). */
export function median(samples: readonly number[]): number {
    if (samples.length === 0) {
        throw new Error("median of an empty sample");
    }
    const sorted = [...samples].sort((a, b) => a - b);
    const middle = Math.floor(sorted.length / 2);
    return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** `numerator / denominator`, rounded to 3 decimals; throws on a zero or negative denominator. */
export function ratio(numerator: number, denominator: number): number {
    if (!(denominator > 0)) {
        throw new Error(`ratio: denominator must be positive, got ${denominator}`);
    }
    return round(numerator / denominator, 3);
}

/** Round to `digits` decimals. */
export function round(value: number, digits = 3): number {
    const factor = 10 ** digits;
    return Math.round(value * factor) / factor;
}

/** Summary of one timed side: every sample (seconds) and their median. */
export interface Side {
    readonly samples: number[];
    readonly median: number;
}

export function side(samples: readonly number[]): Side {
    return { samples: samples.map((s) => round(s, 4)), median: round(median(samples), 4) };
}

/** One target of the issue, checked against a measured value. */
export interface TargetCheck {
    /** Short id, e.g. `converge.fresh.vsAnsible`. */
    readonly id: string;
    /** What is compared, in words. */
    readonly description: string;
    readonly value: number;
    /** The value must be at most this. */
    readonly limit: number;
    readonly unit: "ratio" | "s" | "MiB";
    readonly met: boolean;
    /** When missed: why, and what would close it. */
    readonly note?: string;
}

export function checkTarget(
    id: string,
    description: string,
    value: number,
    limit: number,
    unit: TargetCheck["unit"],
    whyMissed: () => string,
): TargetCheck {
    const met = value <= limit;
    return met ? { id, description, value, limit, unit, met } : { id, description, value, limit, unit, met, note: whyMissed() };
}

/** Repetitions and sizes of one run. */
export interface BenchPlan {
    readonly quick: boolean;
    /** Timed repetitions of each converge side (after one untimed warm-up pair). */
    readonly convergeRepetitions: number;
    /** Bare round trips timed per converge repetition. */
    readonly roundTripsPerRepetition: number;
    /** Files in the migration tree. */
    readonly migrationFiles: number;
    readonly migrationRepetitions: number;
    /** Host counts of the scale benchmark; the largest and a tenth of it give the linearity ratio. */
    readonly scaleSizes: readonly number[];
    readonly scaleRepetitions: number;
    readonly elevatedRepetitions: number;
}

export const FULL_PLAN: BenchPlan = Object.freeze({
    quick: false,
    convergeRepetitions: 7,
    roundTripsPerRepetition: 3,
    migrationFiles: 100_000,
    migrationRepetitions: 5,
    scaleSizes: [1, 10, 50, 100, 500],
    scaleRepetitions: 3,
    elevatedRepetitions: 7,
});

/** Smoke test: every code path, small sizes, one or two repetitions; results are not published. */
export const QUICK_PLAN: BenchPlan = Object.freeze({
    quick: true,
    convergeRepetitions: 2,
    roundTripsPerRepetition: 2,
    migrationFiles: 10_000,
    migrationRepetitions: 2,
    scaleSizes: [1, 5, 50],
    scaleRepetitions: 1,
    elevatedRepetitions: 2,
});

/** Format seconds for the console and the markdown table. */
export function formatSeconds(seconds: number): string {
    return seconds >= 10 ? `${seconds.toFixed(1)} s` : seconds >= 1 ? `${seconds.toFixed(2)} s` : `${(seconds * 1000).toFixed(0)} ms`;
}
