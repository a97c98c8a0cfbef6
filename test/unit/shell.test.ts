/**
 * Pure shell helpers: quoting round-trips through a real POSIX shell for arbitrary strings,
 * invocations keep arguments positional, and the validators accept and refuse what they say.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
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

describe("shellQuote", () => {
    test("round-trips arbitrary strings through /bin/sh", () => {
        fc.assert(
            fc.property(fc.string({ unit: "binary", maxLength: 40 }).filter((s) => !s.includes("\0")), (value) => {
                assert.equal(shellEcho(shellQuote(value)), value);
            }),
            { numRuns: 150 },
        );
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
