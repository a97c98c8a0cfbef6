/**
 * No stack sees a replacement or a rename: every stack in stacks/, recorded now, registers the
 * same resources (URN, type, parent URN), with the same options and inputs, as the fixture
 * recorded before the components became a library (tools/record-stack-urns.ts writes it).
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { isDeepStrictEqual } from "node:util";
import { readFixture, recordStackResources, type StackResource } from "../../tools/record-stack-urns";
import { recordCanned } from "../support/mock-recorder";

/** Dotted paths where `before` and `after` differ, with both values (at most `limit`). */
function differences(before: unknown, after: unknown, at: string, found: string[], limit: number): void {
    if (found.length >= limit || isDeepStrictEqual(before, after)) {
        return;
    }
    const isContainer = (value: unknown) => value !== null && typeof value === "object";
    if (isContainer(before) && isContainer(after) && Array.isArray(before) === Array.isArray(after)) {
        const keys = new Set([...Object.keys(before as object), ...Object.keys(after as object)]);
        for (const key of keys) {
            differences((before as Record<string, unknown>)[key], (after as Record<string, unknown>)[key], at ? `${at}.${key}` : key, found, limit);
        }
        return;
    }
    found.push(`    ${at}: ${JSON.stringify(before)} -> ${JSON.stringify(after)}`);
}

function stackReport(stack: string, before: readonly StackResource[], after: readonly StackResource[]): string[] {
    const beforeByUrn = new Map(before.map((resource) => [resource.urn, resource]));
    const afterByUrn = new Map(after.map((resource) => [resource.urn, resource]));
    const lines: string[] = [];
    for (const urn of beforeByUrn.keys()) {
        if (!afterByUrn.has(urn)) {
            lines.push(`  ${stack}: no longer registered: ${urn}`);
        }
    }
    for (const urn of afterByUrn.keys()) {
        if (!beforeByUrn.has(urn)) {
            lines.push(`  ${stack}: newly registered: ${urn}`);
        }
    }
    for (const [urn, old] of beforeByUrn) {
        const now = afterByUrn.get(urn);
        if (now !== undefined && !isDeepStrictEqual(old, now)) {
            const found: string[] = [];
            differences(old, now, "", found, 10);
            lines.push(`  ${stack}: changed ${urn}`, ...found);
        }
    }
    return lines;
}

test("every stack registers the fixture's resources: same URNs, parents, options and inputs", async () => {
    const fixture = readFixture();
    // The same evaluations as every other unit test that reads an unmodified stack (one per stack).
    const recorded = await recordStackResources((stack, config) => recordCanned({ stack, config }));
    const stacks = [...new Set([...Object.keys(fixture), ...Object.keys(recorded)])].sort();
    const report = stacks.flatMap((stack) => stackReport(stack, fixture[stack] ?? [], recorded[stack] ?? []));
    assert.ok(Object.keys(fixture).length > 0, "the fixture holds no stack");
    assert.deepEqual(report, [], `the stacks differ from test/fixtures/stack-resources.json:\n${report.join("\n")}`);
});
