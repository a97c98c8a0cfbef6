/**
 * The documentation's links hold: every relative link in README.md, CONTRIBUTING.md, docs/*.md
 * and bench/README.md names an existing file in the repository, every `#anchor` names a heading
 * of the file it points into (GitHub's slugs), and every absolute link is a well-formed http(s)
 * URL (not fetched: the tests run offline). README.md stays a front door of at most 250 lines.
 */
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, test } from "node:test";

const ROOT = path.join(__dirname, "..", "..");
const README_MAX_LINES = 250;
/** The library guide, which the front door names in its "Using the library" section. */
const LIBRARY_GUIDE = "docs/library.md";

/** The documentation files whose links are checked, relative to `root`. */
function documentationFiles(root: string): string[] {
    const docs = fs.existsSync(path.join(root, "docs"))
        ? fs
              .readdirSync(path.join(root, "docs"))
              .filter((name) => name.endsWith(".md"))
              .sort()
              .map((name) => path.join("docs", name))
        : [];
    return ["README.md", "CONTRIBUTING.md", ...docs, path.join("bench", "README.md")].filter((file) => fs.existsSync(path.join(root, file)));
}

/**
 * The markdown outside fenced code blocks, with inline code spans blanked, so that a `](` or a
 * `#` in an example is neither a link nor a heading. Line numbers are kept.
 */
function proseLines(markdown: string): string[] {
    let fence: string | undefined;
    return markdown.split("\n").map((line) => {
        const marker = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
        if (marker !== undefined && (fence === undefined || marker.startsWith(fence))) {
            fence = fence === undefined ? marker : undefined;
            return "";
        }
        if (fence !== undefined) {
            return "";
        }
        return line.replace(/(`+)(?:(?!\1).)+?\1/g, (span) => " ".repeat(span.length));
    });
}

/**
 * GitHub's anchor for a heading (github-slugger, which github.com follows): the rendered text
 * lower-cased, every character that is not a letter, mark, number, connector punctuation (`_`),
 * space or hyphen removed, then each space turned into a hyphen; a repeated slug gets `-1`, `-2`, ...
 */
function headingSlugs(markdown: string): Set<string> {
    const seen = new Map<string, number>();
    const slugs = new Set<string>();
    let fence: string | undefined;
    for (const line of markdown.split("\n")) {
        const marker = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
        if (marker !== undefined && (fence === undefined || marker.startsWith(fence))) {
            fence = fence === undefined ? marker : undefined;
            continue;
        }
        // ATX headings only: the documentation writes no setext (underlined) headings.
        const heading = fence === undefined ? /^ {0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$/.exec(line) : null;
        if (heading === null) {
            continue;
        }
        const rendered = heading[1]
            .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1") // a link or image in a heading renders as its text
            .replace(/`/g, "");
        const base = rendered
            .toLowerCase()
            .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, "")
            .replace(/ /g, "-");
        const count = seen.get(base) ?? 0;
        seen.set(base, count + 1);
        slugs.add(count === 0 ? base : `${base}-${count}`);
    }
    return slugs;
}

interface Link {
    readonly file: string;
    readonly line: number;
    readonly target: string;
}

/** Inline links and images (`[text](target "title")`), autolinks (`<https://...>`) and reference definitions. */
function linksOf(file: string, markdown: string): Link[] {
    const links: Link[] = [];
    proseLines(markdown).forEach((text, index) => {
        const add = (target: string): void => {
            links.push({ file, line: index + 1, target });
        };
        for (const match of text.matchAll(/\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)/g)) {
            add(match[1]);
        }
        for (const match of text.matchAll(/<([a-z][a-z0-9+.-]*:[^>\s]*)>/gi)) {
            add(match[1]);
        }
        const definition = /^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s+"[^"]*")?\s*$/.exec(text);
        if (definition !== null) {
            add(definition[1]);
        }
    });
    return links;
}

/** Why `link` does not resolve, or undefined when it does. */
function brokenReason(root: string, link: Link): string | undefined {
    const { target } = link;
    if (target === "") {
        return "empty link target";
    }
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) {
        if (!/^https?:\/\//i.test(target)) {
            return "only relative links and http(s) URLs are allowed";
        }
        if (!URL.canParse(target) || !new URL(target).hostname.includes(".")) {
            return "not a well-formed http(s) URL";
        }
        return undefined;
    }
    const hash = target.indexOf("#");
    const filePart = decodeURIComponent(hash === -1 ? target : target.slice(0, hash));
    const anchor = hash === -1 ? undefined : decodeURIComponent(target.slice(hash + 1));
    const resolved = filePart === "" ? path.join(root, link.file) : path.resolve(root, path.dirname(link.file), filePart);
    const relative = path.relative(root, resolved);
    if (relative.startsWith("..") || path.isAbsolute(relative) || filePart.startsWith("/")) {
        return "points outside the repository";
    }
    if (!fs.existsSync(resolved) || !fs.statSync(resolved).isFile()) {
        return `no file ${relative}`;
    }
    if (anchor !== undefined) {
        if (!resolved.endsWith(".md")) {
            return `an anchor into ${relative}, which is not markdown`;
        }
        if (!headingSlugs(fs.readFileSync(resolved, "utf8")).has(anchor)) {
            return `no heading with the anchor #${anchor} in ${relative}`;
        }
    }
    return undefined;
}

/** Every broken link of the documentation below `root`, as `file:line: target: reason`. */
function brokenLinks(root: string): string[] {
    const problems: string[] = [];
    for (const file of documentationFiles(root)) {
        for (const link of linksOf(file, fs.readFileSync(path.join(root, file), "utf8"))) {
            const reason = brokenReason(root, link);
            if (reason !== undefined) {
                problems.push(`${link.file}:${link.line}: ${link.target}: ${reason}`);
            }
        }
    }
    return problems;
}

describe("the checker", () => {
    test("computes GitHub's slugs", () => {
        const slugs = headingSlugs(
            [
                "# Security: what this buys, and what it does not",
                "## Opting a legacy customer in (`runAs: root` → `runAs: replicated`)",
                "## What `pulumi destroy` leaves, and removing it by hand",
                "### fleet plan",
                "### Fleet plan",
                "```sh",
                "# a comment in a code block",
                "```",
            ].join("\n"),
        );
        assert.deepEqual(
            [...slugs],
            [
                "security-what-this-buys-and-what-it-does-not",
                "opting-a-legacy-customer-in-runas-root--runas-replicated",
                "what-pulumi-destroy-leaves-and-removing-it-by-hand",
                "fleet-plan",
                "fleet-plan-1",
            ],
        );
    });

    test("reports a missing file, a missing anchor, a bad URL and a link out of the repository, and nothing in code", () => {
        const root = fs.mkdtempSync(path.join(os.tmpdir(), "docs-links-"));
        try {
            fs.mkdirSync(path.join(root, "docs"));
            fs.writeFileSync(path.join(root, "docs", "host.md"), "# The host\n\n## Existing accounts\n");
            fs.writeFileSync(
                path.join(root, "README.md"),
                [
                    "# Front door",
                    "See [the host](docs/host.md), [accounts](docs/host.md#existing-accounts) and [here](#front-door).",
                    "Broken: [gone](docs/gone.md), [anchor](docs/host.md#no-such-heading), [url](https://), [up](../x.md).",
                    "[ref]: docs/missing.md",
                    "Not links: `[code](docs/none.md)` and",
                    "```",
                    "[fenced](docs/none.md)",
                    "```",
                ].join("\n"),
            );
            assert.deepEqual(brokenLinks(root), [
                "README.md:3: docs/gone.md: no file docs/gone.md",
                "README.md:3: docs/host.md#no-such-heading: no heading with the anchor #no-such-heading in docs/host.md",
                "README.md:3: https://: not a well-formed http(s) URL",
                "README.md:3: ../x.md: points outside the repository",
                "README.md:4: docs/missing.md: no file docs/missing.md",
            ]);
        } finally {
            fs.rmSync(root, { recursive: true, force: true });
        }
    });
});

describe("the documentation", () => {
    test("covers the front door, CONTRIBUTING.md, docs/ and bench/README.md", () => {
        const files = documentationFiles(ROOT);
        for (const expected of ["README.md", "CONTRIBUTING.md", path.join("bench", "README.md")]) {
            assert.ok(files.includes(expected), `${expected} exists`);
        }
        assert.ok(files.filter((file) => file.startsWith(`docs${path.sep}`)).length >= 10, "the reference is in docs/");
    });

    test("every relative link resolves to a file and every anchor to a heading; every URL is well-formed", () => {
        assert.deepEqual(brokenLinks(ROOT), []);
    });

    test("README.md is a front door of at most 250 lines", () => {
        const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
        const lines = readme.split("\n").length - (readme.endsWith("\n") ? 1 : 0);
        assert.ok(lines <= README_MAX_LINES, `README.md has ${lines} lines; at most ${README_MAX_LINES}`);
    });

    test("README.md links every file in docs/", () => {
        const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
        const linked = new Set(linksOf("README.md", readme).map((link) => link.target.split("#")[0]));
        const docs = documentationFiles(ROOT)
            .filter((file) => file.startsWith(`docs${path.sep}`))
            .map((file) => file.split(path.sep).join("/"));
        for (const file of docs) {
            if (file === LIBRARY_GUIDE && !linked.has(file)) {
                // The library section may name its guide in plain text rather than link it.
                assert.ok(readme.includes(LIBRARY_GUIDE), `README.md names ${file}`);
                continue;
            }
            assert.ok(linked.has(file), `README.md links ${file}`);
        }
    });
});
