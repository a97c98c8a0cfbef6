/**
 * Pure shell helpers: quoting round-trips through a real POSIX shell for arbitrary strings,
 * invocations keep arguments positional, and the validators accept and refuse what they say.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
    SCRIPTS_DIR,
    SUDO_UNAVAILABLE_EXIT,
    isCleanAbsolutePath,
    isHostAddress,
    isIPv4,
    isIPv6,
    isPathWithin,
    isValidAccountName,
    parseSummaryLine,
    remoteInvocation,
    shellQuote,
} from "../../components/shell";

/** What /bin/sh makes of `printf %s <quoted>`. */
function shellEcho(quoted: string): string {
    return execFileSync("/bin/sh", ["-c", `printf '%s' ${quoted}`], { encoding: "utf8" });
}

/** What one /bin/sh makes of each quoted word: `printf '%s\0' <quoted>...`, split at the NULs. */
function shellEchoEach(quoted: readonly string[]): string[] {
    const out = execFileSync("/bin/sh", ["-c", `printf '%s\\0' ${quoted.join(" ")}`], { encoding: "utf8" });
    return out.split("\0").slice(0, -1);
}

describe("shellQuote", () => {
    test("round-trips arbitrary strings through /bin/sh", () => {
        // 150 arbitrary strings, each one word of a single shell command line.
        const values = fc.sample(
            fc.string({ unit: "binary", maxLength: 40 }).filter((s) => !s.includes("\0")),
            150,
        );
        assert.deepEqual(shellEchoEach(values.map(shellQuote)), values);
    });

    test("neutralises the classic injections", () => {
        for (const hostile of ["a;touch /tmp/pwned", "$(id)", "`id`", "x'; id; echo '", "line\nbreak", "-rf", "$HOME"]) {
            assert.equal(shellEcho(shellQuote(hostile)), hostile);
        }
    });

    test("refuses NUL", () => {
        assert.throws(() => shellQuote("a\0b"), /NUL/);
    });
});

describe("remoteInvocation", () => {
    test("root runs the script from stdin with positional arguments", () => {
        const invocation = remoteInvocation("echo hi\n", ["replicated", "it's"], "none");
        assert.equal(invocation.command, `sh -s -- 'replicated' 'it'\\''s'`);
        assert.equal(invocation.stdin, "echo hi\n");
    });

    test("sudo checks for a password-less rule first and never prompts", () => {
        const invocation = remoteInvocation("true\n", ["a"], "sudo");
        assert.match(invocation.command, /^sudo -n true 2>\/dev\/null \|\| \{ echo '.*' >&2; exit 97; \}; sudo -n sh -s -- 'a'$/);
        assert.equal(SUDO_UNAVAILABLE_EXIT, 97);
    });

    test("the script arguments arrive intact in a real shell", () => {
        const args = ["a b", "$(id)", "x'y", "-n"];
        const invocation = remoteInvocation('for a in "$@"; do printf "[%s]" "$a"; done\n', args, "none");
        const out = execFileSync("/bin/sh", ["-c", invocation.command], { input: invocation.stdin, encoding: "utf8" });
        assert.equal(out, "[a b][$(id)][x'y][-n]");
    });
});

describe("validators", () => {
    test("account names", () => {
        for (const good of ["replicated", "_svc", "a", "svc-1_x", "a".repeat(31)]) {
            assert.ok(isValidAccountName(good), good);
        }
        for (const bad of ["", "Replicated", "1234", "-x", "a;b", "a".repeat(32), "rеplicated", "a b", "a\n"]) {
            assert.ok(!isValidAccountName(bad), JSON.stringify(bad));
        }
    });

    test("clean absolute paths", () => {
        for (const good of ["/", "/var/lib/replicated", "/srv/a-b_c.d"]) {
            assert.ok(isCleanAbsolutePath(good), good);
        }
        for (const bad of ["", "var/lib", "/var/../etc", "/var/./lib", "/var//lib", "/var/lib/", "/var/lib;rm", "/var/$(id)", "/tmp/a b"]) {
            assert.ok(!isCleanAbsolutePath(bad), JSON.stringify(bad));
        }
    });

    test("containment is by path component, not by prefix", () => {
        assert.ok(isPathWithin("/srv/volumes/app", "/srv/volumes"));
        assert.ok(!isPathWithin("/srv/volumes-evil/app", "/srv/volumes"));
        assert.ok(isPathWithin("/anything", "/"));
    });

    test("addresses", () => {
        assert.ok(isIPv4("10.0.0.1") && !isIPv4("10.0.0.256") && !isIPv4("010.0.0.1") && !isIPv4("10.0.0"));
        assert.ok(isIPv6("::1") && isIPv6("fe80::1") && isIPv6("2001:db8::10") && isIPv6("::ffff:10.0.0.1"));
        assert.ok(!isIPv6("1:2:3:4:5:6:7:8:9") && !isIPv6("::1::") && !isIPv6("abc"));
        assert.ok(isHostAddress("node-1.example.com") && isHostAddress("10.0.0.1"));
        assert.ok(!isHostAddress("a;b") && !isHostAddress("-x.example.com") && !isHostAddress(""));
    });
});

describe("parseSummaryLine", () => {
    test("takes the last line as JSON", () => {
        assert.deepEqual(parseSummaryLine('note: created user\n{"uid":1017,"changed":1}\n'), { uid: 1017, changed: 1 });
    });
    test("a missing summary is an error quoting what was printed", () => {
        assert.throws(() => parseSummaryLine("oops\n"), /expected a JSON summary.*oops/);
        assert.throws(() => parseSummaryLine("[1,2]"), /expected a JSON summary/);
    });
});

describe("the scripts' shared helpers (lib/messages.sh, lib/ids.sh)", () => {
    const library = (name: string) => fs.readFileSync(path.join(SCRIPTS_DIR, "lib", `${name}.sh`), "utf8");
    /** Runs `body` after both libraries, as a script that includes them; exit code and stderr. */
    function withHelpers(body: string): { code: number; stderr: string } {
        const result = spawnSync("/bin/sh", ["-eu"], { input: `script_name=example\n${library("messages")}\n${library("ids")}\n${body}\n`, encoding: "utf8" });
        return { code: result.status ?? -1, stderr: result.stderr };
    }

    test("die names the script on stderr and exits 1; note goes on", () => {
        const result = withHelpers('note "first"; die "the reason. Fix: this"; note "never"');
        assert.equal(result.code, 1);
        assert.equal(result.stderr, "replicated example: first\nreplicated example: the reason. Fix: this\n");
    });

    test("valid_id takes decimal ids up to 2147483646 without sign or leading zeros, from the given minimum", () => {
        const verdict = (value: string, min?: number) => withHelpers(`valid_id ${shellQuote(value)}${min === undefined ? "" : ` ${min}`}`).code === 0;
        for (const good of ["0", "1", "999", "2147483646"]) {
            assert.ok(verdict(good), good);
        }
        for (const bad of ["", "01", "00", "+1", "-1", "1a", " 1", "2147483647", "99999999999", "1e3"]) {
            assert.ok(!verdict(bad), JSON.stringify(bad));
        }
        assert.ok(!verdict("0", 1), "0 with minimum 1");
        assert.ok(verdict("1", 1));
    });

});
