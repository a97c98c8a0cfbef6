/**
 * The Docker Engine API of a test host, spoken the way the docker provider's client does: HTTP
 * requests with JSON bodies on the engine's socket, unversioned paths (the daemon's own API
 * version, which is what the Go client negotiates down to when the daemon is older than the
 * client). Errors read like the Go client's ("Error response from daemon: <message>"), so the
 * runner's messages match the provider's.
 *
 * The bytes travel over SSH to a small relay on the host that writes them to
 * /var/run/docker.sock and copies the answer back until the engine closes (`Connection:
 * close`). `docker system dial-stdio` cannot serve here: it half-closes the socket when its
 * stdin ends, and the engine cancels a request whose client went away ("context canceled"
 * on a container start), while the provider's client keeps its connection open.
 */
import { run, shQuote, type TestHost } from "./testhost";

/** Copies stdin to the engine's socket and the answer to stdout, without half-closing. */
const RELAY = [
    "import socket, sys",
    "s = socket.socket(socket.AF_UNIX)",
    's.connect("/var/run/docker.sock")',
    "s.sendall(sys.stdin.buffer.read())",
    "while True:",
    "    chunk = s.recv(65536)",
    "    if not chunk:",
    "        break",
    "    sys.stdout.buffer.write(chunk)",
].join("\n");

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

function decodeChunked(body: string): string {
    let out = "";
    let rest = body;
    for (;;) {
        const lineEnd = rest.indexOf("\r\n");
        if (lineEnd < 0) break;
        const size = parseInt(rest.slice(0, lineEnd), 16);
        if (!Number.isFinite(size) || size === 0) break;
        out += rest.slice(lineEnd + 2, lineEnd + 2 + size);
        rest = rest.slice(lineEnd + 2 + size + 2);
    }
    return out;
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
    const request =
        `${method} ${path}${query} HTTP/1.1\r\nHost: docker\r\nUser-Agent: docker-provider-model\r\nConnection: close\r\n` +
        (options.body === undefined ? "" : `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(payload)}\r\n`) +
        `\r\n${payload}`;
    const result = await run(host, `python3 -c ${shQuote(RELAY)}`, { stdin: request, timeoutMs: options.timeoutMs ?? 180_000 });
    const raw = result.stdout;
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(raw)?.[1];
    if (status === undefined) {
        throw new Error(`${method} ${path} on ${host.name}: no HTTP answer (exit ${result.code}): ${result.stderr.trim() || raw.slice(0, 300)}`);
    }
    const split = raw.indexOf("\r\n\r\n");
    const headers = raw.slice(0, split).toLowerCase();
    let text = split < 0 ? "" : raw.slice(split + 4);
    if (/\r\ntransfer-encoding: chunked/.test(headers)) {
        text = decodeChunked(text);
    }
    let body: unknown = text;
    if (/\r\ncontent-type: application\/json/.test(headers) && text.trim() !== "") {
        body = JSON.parse(text);
    }
    const code = Number(status);
    if (code >= 400) {
        const message = typeof body === "object" && body !== null && "message" in body ? String((body as { message: unknown }).message) : String(body).trim();
        throw new EngineApiError(code, message);
    }
    return { status: code, body };
}
