/**
 * The stand-in `pulumi` (run through pulumi.sh): takes the next call of the plan named by
 * PULUMI_STUB_PLAN, logs the invocation to PULUMI_STUB_LOG, and either answers as the plan says
 * (stdout, stderr, exit code, engine events to `--event-log`) or refuses with exit 97 and a
 * message naming the unexpected call and the expected one. A CLI newer than 3.205.0 streams
 * engine events to the Automation API's gRPC `tcp://` address (pulumi/pulumi v3.248.0
 * sdk/nodejs/automation/stack.ts setupEventLog, EventsServer; proto/pulumi/events.proto); the
 * stub does the same.
 */
import * as fs from "node:fs";
import * as grpc from "@grpc/grpc-js";
import { LOG_ENV, mismatch, PLAN_ENV, readStubLog, UNEXPECTED_EXIT_CODE, type StubCall, type StubLogEntry, type StubPlan } from "./plan";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const eventsGrpc = require("@pulumi/pulumi/proto/events_grpc_pb") as {
    EventsClient: new (address: string, credentials: grpc.ChannelCredentials) => {
        streamEvents(callback: (err: grpc.ServiceError | null) => void): { write(request: unknown): void; end(): void };
        close(): void;
    };
};
// eslint-disable-next-line @typescript-eslint/no-require-imports
const eventsPb = require("@pulumi/pulumi/proto/events_pb") as { EventRequest: new () => { setEvent(event: string): void } };

function required(name: string): string {
    const value = process.env[name];
    if (!value) {
        process.stderr.write(`pulumi-stub: ${name} is not set; this is the CLI tier's stand-in pulumi, not the Pulumi CLI\n`);
        process.exit(UNEXPECTED_EXIT_CODE);
    }
    return value;
}

function sendOverGrpc(address: string, events: readonly object[]): Promise<void> {
    return new Promise((resolve, reject) => {
        const client = new eventsGrpc.EventsClient(address, grpc.credentials.createInsecure());
        const stream = client.streamEvents((err) => {
            client.close();
            if (err) {
                reject(new Error(`pulumi-stub: streaming events to ${address}: ${err.message}`));
            } else {
                resolve();
            }
        });
        for (const event of events) {
            const request = new eventsPb.EventRequest();
            request.setEvent(JSON.stringify(event));
            stream.write(request);
        }
        stream.end();
    });
}

async function sendEvents(argv: readonly string[], events: readonly object[]): Promise<void> {
    const at = argv.indexOf("--event-log");
    const target = at >= 0 ? argv[at + 1] : undefined;
    if (target === undefined) {
        throw new Error("pulumi-stub: the plan has events for this call but it has no --event-log");
    }
    if (target.startsWith("tcp://")) {
        await sendOverGrpc(target.slice("tcp://".length), events);
    } else {
        fs.appendFileSync(target, events.map((event) => `${JSON.stringify(event)}\n`).join(""));
    }
}

async function main(): Promise<void> {
    const plan = JSON.parse(fs.readFileSync(required(PLAN_ENV), "utf8")) as StubPlan;
    const logFile = required(LOG_ENV);
    const argv = process.argv.slice(2);
    const index = readStubLog(logFile).length;
    const call: StubCall | undefined = plan.calls[index];
    const problem = call === undefined ? `the plan has only ${plan.calls.length} calls` : mismatch(call, argv, process.cwd(), process.env);
    const entry: StubLogEntry = { index, argv, cwd: process.cwd(), ...(problem !== undefined ? { problem } : {}) };
    fs.appendFileSync(logFile, `${JSON.stringify(entry)}\n`);
    if (call === undefined || problem !== undefined) {
        process.stderr.write(`pulumi-stub: unexpected invocation #${index + 1} \`pulumi ${argv.join(" ")}\`: ${problem}\n`);
        process.exit(UNEXPECTED_EXIT_CODE);
    }
    if (call.events !== undefined) {
        await sendEvents(argv, call.events);
    }
    process.stdout.write(call.stdout ?? "");
    process.stderr.write(call.stderr ?? "");
    process.exitCode = call.exitCode ?? 0;
}

main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(UNEXPECTED_EXIT_CODE);
});
