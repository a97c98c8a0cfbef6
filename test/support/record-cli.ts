/**
 * Subprocess entry of recordInSubprocess: reads RecordOptions from RECORD_OPTIONS, records the
 * program with canned outputs, prints the recording as JSON on stdout.
 */
import { cannedResolver } from "./canned-outputs";
import { recordProgram, type RecordOptions } from "./mock-recorder";

async function main(): Promise<void> {
    const options = JSON.parse(process.env.RECORD_OPTIONS ?? "{}") as RecordOptions;
    const recording = await recordProgram({ ...options, resolve: cannedResolver });
    process.stdout.write(JSON.stringify({ resources: recording.resources, outputs: recording.outputs }));
}

main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
});
