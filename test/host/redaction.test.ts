/**
 * The support bundle's redactor (components/scripts/lib/redact.sh, `redact_stream`) against a
 * corpus of secret shapes, run on a test host with each tool set it meets in production:
 *
 * - the host's own: dash with Debian's awk (mawk), as the health check runs it;
 * - BusyBox only (sh and awk applets), as in a BusyBox-based helper image;
 * - inside a container of a busybox helper image, exactly where the support bundle runs it.
 *
 * Every shape the security review showed leaking has at least five values: JSON values with
 * escaped quotes (and JSON inside JSON strings), YAML flow maps, URL credentials
 * (`postgres://user:pw@`), `Authorization:` without a scheme, `Cookie:`/`Set-Cookie:`,
 * `X-Api-Key:`, PEM bodies whose BEGIN line was cut off; plus values passed by value (the daemon
 * token, also JSON-escaped and percent-encoded), env lines, flags and YAML block scalars. A value
 * counts as leaked when any run of 5+ letters and digits from it survives, so a redaction that
 * stops early (at an escaped quote, at an "@" inside a password) is caught too. Words that are not
 * secret must survive, so redacting everything would fail as well.
 */
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { after, before, describe, test } from "node:test";
import { SCRIPTS_DIR } from "../../components/shell";
import { hostTierAvailability, requireHostTier } from "../support/preflight";
import { run, shQuote, startHosts, stopHosts, type TestHost } from "../support/testhost";

const SEED = process.env.REDACTION_SEED ?? randomBytes(8).toString("hex");
const HELPER = "example.test/replicated-helper:redaction";
const WORK = "/root/redaction";

/** A deterministic secret: two alphanumeric halves around `middle`, so a cut at `middle` shows. */
function secret(label: string, middle = "", length = 10): string {
    const hex = createHash("sha256").update(`${SEED}:${label}`).digest("base64").replace(/[^A-Za-z0-9]/g, "");
    return `${hex.slice(0, length)}${middle}${hex.slice(length, 2 * length)}`;
}

/** Base64 lines of a fake key body (64 columns, the last one short). */
function keyBody(label: string, lines = 6): string[] {
    const bytes = createHash("sha512").update(`${SEED}:${label}`).digest();
    const text = Buffer.concat(Array.from({ length: lines }, (_, i) => createHash("sha512").update(`${bytes.toString("hex")}${i}`).digest())).toString("base64");
    const out: string[] = [];
    for (let i = 0; i < text.length; i += 64) out.push(text.slice(i, i + 64));
    return out;
}

interface Case {
    readonly shape: string;
    readonly lines: string[];
    /** What must not survive. */
    readonly secrets: string[];
    /** What must survive (not secret). */
    readonly keep: string[];
}

const json = (value: string): string => JSON.stringify(value).slice(1, -1);

function corpus(): { cases: Case[]; values: string[] } {
    const cases: Case[] = [];
    const add = (shape: string, lines: string[], secrets: string[], keep: string[] = []): void => {
        cases.push({ shape, lines, secrets, keep });
    };

    // JSON values with escaped quotes (and backslashes), and JSON inside a JSON string.
    for (let i = 0; i < 6; i++) {
        const s = secret(`json-${i}`, ['"', '\\"', '\\', '"q"', "\\\\", '"'][i]);
        const key = ["password", "api_key", "clientSecret", "db.password", "AccessKey", "registry_token"][i];
        add("json-escaped-quote", [`{"level":"info","${key}":"${json(s)}","user":"keepuser${i}"}`], [s], [`keepuser${i}`]);
        const inner = JSON.stringify({ [key]: s, host: `keephost${i}` });
        add("json-in-json", [JSON.stringify({ msg: "config", body: inner })], [s], [`keephost${i}`]);
    }
    // YAML flow maps.
    for (let i = 0; i < 5; i++) {
        const s = secret(`flow-${i}`, i % 2 === 0 ? " " : "-");
        add(
            "yaml-flow-map",
            [
                [`db: {host: keephost${i}, password: ${s}, port: 5432}`, `- {user: keepuser${i}, secret: '${s}'}`, `creds: {"token": "${s}", name: keepname${i}}`, `{api-key: ${s}}  # keepcomment${i}`, `x: [ {passwd: ${s}, keepkey${i}: 1} ]`][i],
            ],
            [s],
            [[`keephost${i}`, `keepuser${i}`, `keepname${i}`, `keepcomment${i}`, `keepkey${i}`][i]],
        );
    }
    // URL credentials.
    for (let i = 0; i < 6; i++) {
        const s = secret(`url-${i}`, ["", "@", "%40", ":", "!", "$"][i]);
        const url = [
            `postgres://keepuser${i}:${s}@db.example:5432/app`,
            `postgresql://keepuser${i}:${s}@db.example/app?sslmode=require`,
            `mysql://keepuser${i}:${s}@mysql.example:3306/app`,
            `mongodb+srv://keepuser${i}:${s}@cluster.example/db`,
            `redis://:${s}@redis.example:6379/0 keepuser${i}`,
            `amqp://keepuser${i}:${s}@mq.example/vhost`,
        ][i];
        add("url-credentials", [[`DATABASE_URL=${url}`, `connecting to ${url}`, `{"dsn":"${url}"}`, `dsn: ${url}`, url, `  - ${url}`][i]], [s], [`keepuser${i}`]);
    }
    // Authorization without a scheme (and with one).
    for (let i = 0; i < 6; i++) {
        const s = secret(`auth-${i}`, i === 3 ? "." : "");
        add(
            "authorization-header",
            [[`Authorization: ${s}`, `authorization:${s}`, `> Authorization: Bearer ${s}`, `Proxy-Authorization: Basic ${s}`, `headers: map[Accept:[keepaccept${i}] Authorization:[${s}]]`, `{"Authorization": "Token ${s}", "keepfield${i}": 1}`][i]],
            [s],
            i === 4 ? [`keepaccept${i}`] : i === 5 ? [`keepfield${i}`] : [],
        );
    }
    // Cookies.
    for (let i = 0; i < 5; i++) {
        const s = secret(`cookie-${i}`);
        add(
            "cookie-header",
            [[`Cookie: session=${s}; theme=dark`, `cookie: sid=${s}`, `Set-Cookie: auth=${s}; Path=/; HttpOnly`, `< set-cookie: token=${s}`, `"Cookie": "s=${s}"`][i]],
            [s],
        );
    }
    // X-Api-Key headers.
    for (let i = 0; i < 5; i++) {
        const s = secret(`apikey-${i}`, i === 2 ? "_" : "");
        add(
            "x-api-key-header",
            [[`X-Api-Key: ${s}`, `x-api-key:${s}`, `curl -H 'X-API-KEY: ${s}' https://keephost${i}.example`, `{"x-api-key": "${s}"}`, `headers: map[X-Api-Key:[${s}]]`][i]],
            [s],
            i === 2 ? [`curl -H`] : [],
        );
    }
    // PEM bodies whose BEGIN line was cut off (a file capped to its last bytes, a log excerpt).
    const kinds = ["RSA PRIVATE KEY", "EC PRIVATE KEY", "PRIVATE KEY", "OPENSSH PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "DSA PRIVATE KEY"];
    kinds.forEach((kind, i) => {
        const body = keyBody(`pem-${i}`);
        const cut = i % 2 === 0 ? body.slice(2) : [body[1].slice(17), ...body.slice(2)];
        add("pem-begin-cut", [`keepbefore${i} line`, ...cut, `-----END ${kind}-----`, `keepafter${i} line`], cut, [`keepbefore${i}`, `keepafter${i}`]);
    });
    // Whole PEM keys, on lines and JSON-escaped on one line.
    for (let i = 0; i < 5; i++) {
        const body = keyBody(`pemfull-${i}`, 3);
        const kind = kinds[i];
        const block = [`-----BEGIN ${kind}-----`, ...body, `-----END ${kind}-----`];
        add("pem-whole", i % 2 === 0 ? block : [`{"tls_key_${i}":"${block.join("\\n")}\\n","keepfield${i}":true}`], body, i % 2 === 0 ? [] : [`keepfield${i}`]);
    }
    // By value: the generated secrets (daemon token) wherever they appear, as is, JSON-escaped, percent-encoded.
    const values: string[] = [];
    for (let i = 0; i < 6; i++) {
        const s = secret(`value-${i}`, ['"', "/", "@", "+", " ", "&"][i], 16);
        values.push(s);
        const encoded = encodeURIComponent(s);
        add(
            "by-value",
            [
                [
                    `daemon connected, token ${s} accepted by keephost${i}`,
                    `{"msg":"handshake ${json(s)} ok","peer":"keephost${i}"}`,
                    `GET /ping?t=${encoded} keephost${i}`,
                    `GET /ping?t=${encoded.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase())} keephost${i}`,
                    `POST body=${encodeURIComponent(s).replace(/%20/g, "+")}${s} keephost${i}`,
                    `exec: env DAEMON_TOKEN_COPY ${s} keephost${i}`,
                ][i],
            ],
            [s],
            [`keephost${i}`],
        );
    }
    // Settings by name: env lines, flags, YAML block scalars.
    for (let i = 0; i < 5; i++) {
        const s = secret(`env-${i}`);
        add("env-setting", [[`DAEMON_TOKEN=${s}`, `export REGISTRY_PASSWORD="${s}" LOG_LEVEL=keepinfo`, `  api_key = ${s}`, `SECRET_KEY_BASE='${s}'`, `https://host/cb?access_token=${s}&keepparam=1`][i]], [s], i === 1 ? ["LOG_LEVEL=keepinfo"] : i === 4 ? ["keepparam=1"] : []);
        add("flag", [[`docker login --password ${s} --username keepuser`, `--registry-password=${s}`, `run --token "${s}" keepword`, `cmd --api-key ${s}`, `--client-secret '${s}'`][i]], [s], i === 0 ? ["--username keepuser"] : i === 2 ? ["keepword"] : []);
        const other = secret(`block-${i}`);
        add("yaml-block-scalar", [`password: ${["|", "|-", ">", "|+", ""][i]}`, `  ${s}`, `  ${other}`, `keepkey${i}: keepvalue${i}`], [s, other], [`keepkey${i}: keepvalue${i}`]);
    }
    return { cases, values };
}

/** Runs of 5+ letters/digits of a secret: none may survive. */
function fragments(value: string): string[] {
    return value.split(/[^A-Za-z0-9]+/).filter((part) => part.length >= 5);
}

let host: TestHost | undefined;
let setupError: unknown;

async function root(command: string, stdin?: string): Promise<string> {
    if (host === undefined) throw new Error(`no test host: ${String(setupError)}`);
    const result = await run(host, command, { user: "root", stdin, timeoutMs: 120_000 });
    if (result.code !== 0) throw new Error(`exit ${result.code}: ${command}\n${result.stderr}`);
    return result.stdout;
}

const { cases, values } = corpus();
const input = cases.map((c) => c.lines.join("\n")).join("\n") + "\n";

describe(`redact_stream against the secret-shape corpus (seed ${SEED})`, () => {
    const outputs: Record<string, string> = {};

    before(async () => {
        if (!(await hostTierAvailability()).ok) return;
        try {
            [host] = await startHosts(1, { namePrefix: "rtest-redact" });
            const library = fs.readFileSync(path.join(SCRIPTS_DIR, "lib", "redact.sh"), "utf8");
            await root(`rm -rf ${WORK} && mkdir -p ${WORK}/bb && cat >${WORK}/redact.sh`, library);
            await root(`cat >${WORK}/corpus.txt`, input);
            await root(`cat >${WORK}/values.txt`, values.map((v) => `${v}\n`).join(""));
            await root(`for a in sh awk cat; do ln -sf /bin/busybox ${WORK}/bb/$a; done`);
            // A busybox helper image, as the engine tier's stand-ins are made.
            await root(String.raw`set -e; d=$(mktemp -d); mkdir -p "$d/bin" "$d/tmp"; cp /bin/busybox "$d/bin/"; for a in $(/bin/busybox --list); do [ "$a" = busybox ] || ln -s busybox "$d/bin/$a"; done; tar -C "$d" -c . | docker import - ${HELPER} >/dev/null; rm -rf "$d"`);
            const call = `. ./redact.sh && redact_stream values.txt <corpus.txt`;
            outputs["host: dash + " + (await root("readlink -f $(command -v awk)")).trim()] = await root(`cd ${WORK} && dash -c ${shQuote(call)}`);
            outputs["BusyBox sh + awk"] = await root(`cd ${WORK} && PATH=${WORK}/bb /bin/busybox sh -c ${shQuote(call)}`);
            outputs["helper container (BusyBox)"] = await root(
                `docker run --rm --network none --read-only -v ${WORK}:/work:ro -w /work ${HELPER} sh -c ${shQuote(call)}`,
            );
        } catch (err) {
            setupError = err;
        }
    });

    after(async () => {
        if (host !== undefined) await stopHosts([host]);
    });

    test("the corpus has at least 5 values for every shape the review showed leaking", () => {
        const counts = new Map<string, number>();
        for (const c of cases) counts.set(c.shape, (counts.get(c.shape) ?? 0) + 1);
        for (const shape of ["json-escaped-quote", "json-in-json", "yaml-flow-map", "url-credentials", "authorization-header", "cookie-header", "x-api-key-header", "pem-begin-cut", "by-value"]) {
            assert.ok((counts.get(shape) ?? 0) >= 5, `${shape}: ${counts.get(shape) ?? 0} values`);
        }
        console.log(`corpus: ${cases.length} cases, ${[...counts].map(([s, n]) => `${s} ${n}`).join(", ")}`);
    });

    test("no fragment of any secret survives, with every tool set", async (t) => {
        if (!(await requireHostTier(t))) return;
        if (setupError !== undefined) throw setupError;
        assert.equal(Object.keys(outputs).length, 3);
        for (const [tools, output] of Object.entries(outputs)) {
            const leaks: string[] = [];
            for (const c of cases) {
                for (const value of c.secrets) {
                    for (const part of fragments(value)) {
                        if (output.includes(part)) leaks.push(`${c.shape}: ${c.lines.join(" | ").slice(0, 120)} (leaked ${part})`);
                    }
                }
            }
            assert.deepEqual(leaks, [], `${tools} leaked`);
        }
    });

    test("what is not secret survives, and the three tool sets agree byte for byte", async (t) => {
        if (!(await requireHostTier(t))) return;
        if (setupError !== undefined) throw setupError;
        const [first, ...rest] = Object.entries(outputs);
        for (const c of cases) {
            for (const word of c.keep) {
                assert.ok(first[1].includes(word), `${c.shape}: "${word}" was redacted too:\n${first[1]}`);
            }
        }
        for (const [tools, output] of rest) {
            assert.equal(output, first[1], `${tools} differs from ${first[0]}`);
        }
        assert.ok(first[1].includes("<redacted private key>"));
        // Idempotent: redacting the output again changes nothing.
        const again = await root(`cd ${WORK} && dash -c ${shQuote(". ./redact.sh && redact_stream values.txt")}`, first[1]);
        assert.equal(again, first[1]);
    });

    test("an unreadable values file fails closed: no output, status 1; an empty one is fine", async (t) => {
        if (!(await requireHostTier(t))) return;
        if (setupError !== undefined) throw setupError;
        const missing = await run(host as TestHost, `cd ${WORK} && dash -c ${shQuote(". ./redact.sh && printf 'DAEMON_TOKEN=x\\n' | redact_stream /nonexistent")}`, { user: "root" });
        assert.equal(missing.code, 1);
        assert.equal(missing.stdout, "");
        assert.match(missing.stderr, /cannot read the secret values file \/nonexistent/);
        const empty = await root(`cd ${WORK} && : >empty && dash -c ${shQuote(". ./redact.sh && printf 'plain line\\nDAEMON_TOKEN=abcdef1234\\n' | redact_stream empty")}`);
        assert.equal(empty, "plain line\nDAEMON_TOKEN=<redacted>\n");
    });
});
