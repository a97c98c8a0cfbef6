/**
 * The Docker Engine API of a test host, spoken the way the docker provider's client does: HTTP/1.1
 * requests with JSON bodies, unversioned paths (the daemon's own API version, which is what the
 * Go client negotiates down to when the daemon is older than the client). Errors read like the Go
 * client's ("Error response from daemon: <message>"), so the runner's messages match the
 * provider's.
 *
 * The connections are the provider's too. kreuzwerker/terraform-provider-docker
 * (internal/provider/config.go `NewClient`) builds its client for an `ssh://` host with
 * docker/cli's connhelper: every dial starts `ssh ... docker system dial-stdio`, a new SSH
 * connection whose stdin and stdout are one HTTP connection to the engine. The moby client's
 * transport is a zero `http.Transport` (moby/moby client/client.go `defaultHTTPClient`), so Go's
 * net/http keeps connections alive and reuses an idle one for the next request, keeping at most
 * `DefaultMaxIdleConnsPerHost` (2) idle; a request that finds none idle dials a new one. This
 * module does the same over ssh2: one SSH session running `docker system dial-stdio` per
 * connection, requests in sequence on it, at most two kept idle per host.
 *
 * One difference, on the side of more connections, never fewer: an idle connection is closed
 * after {@link IDLE_CLOSE_MS}, where the provider keeps it until its process ends. The runner's
 * tests restart hosts between steps in one process; a connection that outlived its host would
 * swallow the next request.
 */
import * as ssh2 from "ssh2";
import { sshConnectConfig, type TestHost } from "./testhost";

/** Go net/http `DefaultMaxIdleConnsPerHost`, which a zero `http.Transport` uses. */
export const MAX_IDLE_CONNECTIONS_PER_HOST = 2;
/** How long a connection may sit idle before this client closes it (see the module comment). */
export const IDLE_CLOSE_MS = 2000;

export interface EngineResponse {
    readonly status: number;
    readonly body: unknown;
}

/** An engine error answer (status >= 400), with the daemon's message. */
export class EngineApiError extends Error {
    constructor(
        readonly status: number,
        readonly daemonMessage: string,
    ) {
        super(`Error response from daemon: ${daemonMessage}`);
        this.name = "EngineApiError";
    }
}

interface RawResponse {
    readonly status: number;
    readonly headers: Readonly<Record<string, string>>;
    readonly body: Buffer;
    /** False when the engine said `Connection: close` or the body ran to the end of the stream. */
    readonly reusable: boolean;
}

/**
 * Pure: the response at the start of `data`, or undefined while it is incomplete (`ended`: the
 * stream has closed, so a body without a length ends here).
 */
export function parseResponse(data: Buffer, ended: boolean): (RawResponse & { readonly length: number }) | undefined {
    const headEnd = data.indexOf("\r\n\r\n");
    if (headEnd < 0) {
        return undefined;
    }
    const head = data.subarray(0, headEnd).toString("latin1").split("\r\n");
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head[0] ?? "")?.[1]);
    if (!Number.isInteger(status)) {
        throw new Error(`not an HTTP answer: ${JSON.stringify(head[0]?.slice(0, 120))}`);
    }
    const headers: Record<string, string> = {};
    for (const line of head.slice(1)) {
        const colon = line.indexOf(":");
        if (colon > 0) {
            headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
        }
    }
    const keepAlive = (headers.connection ?? "").toLowerCase() !== "close";
    const start = headEnd + 4;
    if (status === 204 || status === 304 || (status >= 100 && status < 200)) {
        return { status, headers, body: Buffer.alloc(0), reusable: keepAlive, length: start };
    }
    if ((headers["transfer-encoding"] ?? "").toLowerCase().includes("chunked")) {
        const parts: Buffer[] = [];
        let at = start;
        for (;;) {
            const lineEnd = data.indexOf("\r\n", at);
            if (lineEnd < 0) {
                return undefined;
            }
            const size = parseInt(data.subarray(at, lineEnd).toString("latin1").split(";")[0], 16);
            if (!Number.isFinite(size)) {
                throw new Error("malformed chunked body");
            }
            if (size === 0) {
                // The last chunk, then (no trailers from the engine) an empty line.
                const end = data.indexOf("\r\n", lineEnd + 2);
                return end < 0 ? undefined : { status, headers, body: Buffer.concat(parts), reusable: keepAlive, length: end + 2 };
            }
            if (data.length < lineEnd + 2 + size + 2) {
                return undefined;
            }
            parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
            at = lineEnd + 2 + size + 2;
        }
    }
    if (headers["content-length"] !== undefined) {
        const length = Number(headers["content-length"]);
        return data.length < start + length ? undefined : { status, headers, body: data.subarray(start, start + length), reusable: keepAlive, length: start + length };
    }
    return ended ? { status, headers, body: data.subarray(start), reusable: false, length: data.length } : undefined;
}

/** One HTTP connection to a host's engine: an SSH session running `docker system dial-stdio`. */
class EngineConnection {
    private received = Buffer.alloc(0);
    private ended = false;
    private pending?: { resolve: (response: RawResponse) => void; reject: (error: Error) => void };
    private idleTimer?: NodeJS.Timeout;
    closed = false;

    private constructor(
        private readonly client: ssh2.Client,
        private readonly channel: ssh2.ClientChannel,
        readonly target: string,
    ) {
        channel.on("data", (chunk: Buffer) => {
            this.received = Buffer.concat([this.received, chunk]);
            this.deliver();
        });
        channel.stderr.on("data", () => undefined);
        channel.on("close", () => this.shut(new Error(`${target}: the engine connection closed`)));
        client.on("error", (error: Error) => this.shut(new Error(`${target}: ${error.message}`)));
        client.on("close", () => this.shut(new Error(`${target}: the SSH connection closed`)));
    }

    static open(host: TestHost, timeoutMs: number): Promise<EngineConnection> {
        const target = `root@${host.address}:${host.sshPort} (${host.name})`;
        return new Promise((resolve, reject) => {
            const client = new ssh2.Client();
            let hostKeyProblem: string | undefined;
            client.once("error", (error: Error) => reject(new Error(`ssh ${target}: ${hostKeyProblem ?? error.message}`)));
            client.once("ready", () => {
                client.exec("docker system dial-stdio", (error, channel) => {
                    if (error) {
                        client.end();
                        reject(new Error(`ssh ${target}: exec failed: ${error.message}`));
                        return;
                    }
                    resolve(new EngineConnection(client, channel, target));
                });
            });
            client.connect(sshConnectConfig(host, "root", timeoutMs, (problem) => (hostKeyProblem = problem)));
        });
    }

    /** Send one request and read its response; one request at a time per connection. */
    send(request: Buffer, timeoutMs: number): Promise<RawResponse> {
        this.stopIdle();
        return new Promise((resolve, reject) => {
            const timer = setTimeout(() => {
                this.pending = undefined;
                reject(new Error(`${this.target}: no answer from the engine within ${timeoutMs} ms`));
                this.close();
            }, timeoutMs);
            this.pending = {
                resolve: (response) => {
                    clearTimeout(timer);
                    resolve(response);
                },
                reject: (error) => {
                    clearTimeout(timer);
                    reject(error);
                },
            };
            this.channel.write(request);
        });
    }

    /** Park the connection; it closes itself after {@link IDLE_CLOSE_MS} unless taken again. */
    idle(onClose: () => void): void {
        this.idleTimer = setTimeout(() => {
            onClose();
            this.close();
        }, IDLE_CLOSE_MS);
        this.idleTimer.unref();
    }

    stopIdle(): void {
        clearTimeout(this.idleTimer);
    }

    close(): void {
        this.stopIdle();
        this.closed = true;
        this.client.end();
    }

    private deliver(): void {
        if (this.pending === undefined) {
            return;
        }
        let response: ReturnType<typeof parseResponse>;
        try {
            response = parseResponse(this.received, this.ended);
        } catch (error) {
            this.fail(error as Error);
            return;
        }
        if (response === undefined) {
            return;
        }
        this.received = this.received.subarray(response.length);
        const pending = this.pending;
        this.pending = undefined;
        // Bytes beyond the response mean the stream is out of step: never reuse it.
        pending.resolve({ ...response, reusable: response.reusable && this.received.length === 0 && !this.closed });
    }

    private shut(error: Error): void {
        this.closed = true;
        this.ended = true;
        this.stopIdle();
        this.deliver();
        this.fail(error);
    }

    private fail(error: Error): void {
        const pending = this.pending;
        this.pending = undefined;
        pending?.reject(error);
        if (!this.closed) {
            this.close();
        }
    }
}

/** Idle connections per host (`address:port`), most recently used last, as Go's idle list. */
const idleConnections = new Map<string, EngineConnection[]>();
let connectionsOpened = 0;

/** SSH connections the engine client has opened in this process (for the benchmarks). */
export function engineConnectionsOpened(): number {
    return connectionsOpened;
}

/** Close every idle connection (the end of a provider process). */
export function closeEngineConnections(): void {
    for (const list of idleConnections.values()) {
        for (const connection of list.splice(0)) {
            connection.close();
        }
    }
}

async function takeConnection(host: TestHost, timeoutMs: number): Promise<{ connection: EngineConnection; reused: boolean }> {
    const list = idleConnections.get(`${host.address}:${host.sshPort}`) ?? [];
    for (let connection = list.pop(); connection !== undefined; connection = list.pop()) {
        connection.stopIdle();
        if (!connection.closed) {
            return { connection, reused: true };
        }
    }
    connectionsOpened += 1;
    return { connection: await EngineConnection.open(host, timeoutMs), reused: false };
}

function releaseConnection(host: TestHost, connection: EngineConnection, reusable: boolean): void {
    const key = `${host.address}:${host.sshPort}`;
    const list = idleConnections.get(key) ?? [];
    if (!reusable || connection.closed || list.length >= MAX_IDLE_CONNECTIONS_PER_HOST) {
        connection.close();
        return;
    }
    list.push(connection);
    idleConnections.set(key, list);
    connection.idle(() => {
        const index = list.indexOf(connection);
        if (index >= 0) {
            list.splice(index, 1);
        }
    });
}

/**
 * One API request on `host`'s engine. `query` values are URL-encoded; `body` is sent as JSON.
 * Throws {@link EngineApiError} for an error status, Error when no HTTP answer came back.
 */
export async function engineApi(
    host: TestHost,
    method: "GET" | "POST" | "DELETE",
    path: string,
    options: { readonly query?: Record<string, string>; readonly body?: unknown; readonly timeoutMs?: number } = {},
): Promise<EngineResponse> {
    const query = options.query ? `?${new URLSearchParams(options.query).toString()}` : "";
    const payload = options.body === undefined ? "" : JSON.stringify(options.body);
    const request = Buffer.from(
        `${method} ${path}${query} HTTP/1.1\r\nHost: docker\r\nUser-Agent: docker-provider-model\r\n` +
            (options.body === undefined ? "" : `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(payload)}\r\n`) +
            `\r\n${payload}`,
    );
    const timeoutMs = options.timeoutMs ?? 180_000;
    const { connection, reused } = await takeConnection(host, timeoutMs);
    let raw: RawResponse;
    try {
        raw = await connection.send(request, timeoutMs);
    } catch (error) {
        // Go's transport retries a request on a fresh connection only when a reused one failed
        // before anything of the request was written (net/http transport.go shouldRetryRequest);
        // here the write is never known to have failed, so nothing is retried.
        throw new Error(`${method} ${path} on ${host.name}: no HTTP answer${reused ? " (on a reused connection)" : ""}: ${(error as Error).message}`);
    }
    releaseConnection(host, connection, raw.reusable);
    const text = raw.body.toString("utf8");
    let body: unknown = text;
    if ((raw.headers["content-type"] ?? "").startsWith("application/json") && text.trim() !== "") {
        body = JSON.parse(text);
    }
    if (raw.status >= 400) {
        const message = typeof body === "object" && body !== null && "message" in body ? String((body as { message: unknown }).message) : String(body).trim();
        throw new EngineApiError(raw.status, message);
    }
    return { status: raw.status, body };
}
