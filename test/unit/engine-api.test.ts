/**
 * The runner's Engine API client reads HTTP/1.1 answers off a kept-alive connection: each answer
 * must end exactly where the engine's framing says, or the next request on it reads garbage.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseResponse } from "../support/engine-api";

const answer = (text: string) => Buffer.from(text, "latin1");

test("a Content-Length body ends at its length and leaves the connection reusable", () => {
    const bytes = answer('HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{"Id":"ab"}HTTP/1.1');
    const response = parseResponse(bytes, false);
    assert.ok(response !== undefined);
    assert.equal(response.status, 201);
    assert.equal(response.body.toString(), '{"Id":"ab"}');
    assert.equal(response.length, bytes.length - "HTTP/1.1".length);
    assert.equal(response.reusable, true);
    assert.equal(parseResponse(bytes.subarray(0, bytes.length - 12), false), undefined, "incomplete body: wait for more");
});

test("a chunked body is joined and ends after the last chunk's empty line", () => {
    const bytes = answer("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n5\r\npedia\r\n0\r\n\r\n");
    const response = parseResponse(bytes, false);
    assert.equal(response?.body.toString(), "Wikipedia");
    assert.equal(response?.length, bytes.length);
    assert.equal(parseResponse(bytes.subarray(0, bytes.length - 2), false), undefined);
});

test("204 has no body; Connection: close and a body without length end the reuse", () => {
    const empty = parseResponse(answer("HTTP/1.1 204 No Content\r\nServer: Docker\r\n\r\n"), false);
    assert.deepEqual([empty?.status, empty?.body.length, empty?.reusable], [204, 0, true]);
    const closing = parseResponse(answer("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok"), false);
    assert.equal(closing?.reusable, false);
    assert.equal(parseResponse(answer("HTTP/1.1 200 OK\r\n\r\nto the end"), false), undefined);
    const toEnd = parseResponse(answer("HTTP/1.1 200 OK\r\n\r\nto the end"), true);
    assert.deepEqual([toEnd?.body.toString(), toEnd?.reusable], ["to the end", false]);
    assert.throws(() => parseResponse(answer("SSH-2.0-OpenSSH\r\n\r\n"), false), /not an HTTP answer/);
});
