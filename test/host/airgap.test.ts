/**
 * Air-gap loading (components/scripts/load-images.sh) on a test host, run as the sudo user
 * exactly as the images component's load command runs it (`airgapLoadArgs` + `sudo -n sh -s`):
 *
 * - every image loads from its tarball, pins are checked, and a second run loads nothing;
 * - an archive that carries another tag (the root helper's above all) is refused before
 *   `docker load`, pinned or not (finding 7 of issue 11);
 * - a wrong pin is refused before loading; a pinned reference that now names another image is
 *   loaded again from its tarball;
 * - an images directory, a directory above it or a tarball that anyone but root could change
 *   is refused, and so are archives that are not docker save output or hide names in escapes.
 *
 * Every refusal is checked on the host: the engine's images (reference -> id) and the images
 * directory are the same before and after.
 */
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { airgapLoadArgs } from "../../components/docker";
import { loadScript, parseSummaryLine, remoteInvocation } from "../../components/shell";
import { hostTierAvailability, requireHostTier } from "../support/preflight";
import { run, shQuote, startHosts, stopHosts, type RunResult, type TestHost } from "../support/testhost";

const HELPER = "quay.io/replicated/replicated-helper:stable-2.53.2";
const UI = "quay.io/replicated/replicated-ui:stable-2.53.2";
const IMAGES_DIR = "/var/lib/replicated-images";
/** Archives made on the host, kept outside the images directory. */
const STORE = "/root/airgap-store";

let host: TestHost | undefined;
let setupError: unknown;
/** Image ids of the real helper, the UI and an attacker's image, as docker reports them. */
const ids = { helper: "", ui: "", evil: "" };

function requireHost(): TestHost {
    if (host === undefined) throw new Error(`no test host: ${setupError instanceof Error ? setupError.message : String(setupError)}`);
    return host;
}

async function root(command: string): Promise<string> {
    const result = await run(requireHost(), command, { user: "root", timeoutMs: 180_000 });
    if (result.code !== 0) throw new Error(`exit ${result.code}: ${command}\n${result.stderr}`);
    return result.stdout;
}

/** The load command the images component builds, run as the sudo user. */
function load(references: readonly string[], pins: Record<string, string> = {}, imagesDir = IMAGES_DIR): Promise<RunResult> {
    const invocation = remoteInvocation(loadScript("load-images"), airgapLoadArgs(imagesDir, references, new Map(Object.entries(pins))), "sudo");
    return run(requireHost(), invocation.command, { user: "deploy", stdin: invocation.stdin, timeoutMs: 180_000 });
}

/** The engine's images and the images directory, as text: what a refusal must leave alone. */
async function state(): Promise<string> {
    return root(
        `docker image ls --all --no-trunc --format '{{.Repository}}:{{.Tag}} {{.ID}}' | LC_ALL=C sort; ` +
            `find ${IMAGES_DIR} /srv/airgap -printf '%p %U:%G %m %s %T@ %l\\n' 2>/dev/null | LC_ALL=C sort; sha256sum ${IMAGES_DIR}/*.tar`,
    );
}

async function idOf(reference: string): Promise<string> {
    const result = await run(requireHost(), `docker image inspect --format '{{.Id}}' ${shQuote(reference)}`, { user: "root" });
    return result.code === 0 ? result.stdout.trim() : "";
}

/** Puts the store's archive in place as the tarball of `name`, root:root 0644. */
async function useArchive(archive: string, name: string, dir = IMAGES_DIR): Promise<void> {
    await root(`install -o root -g root -m 0644 ${STORE}/${archive} ${dir}/${name}.tar`);
}

/** Runs `load`, expects a refusal with `message`, and that nothing changed on the host. */
async function refused(what: string, message: RegExp, run: () => Promise<RunResult>): Promise<void> {
    const before = await state();
    const result = await run();
    assert.notEqual(result.code, 0, `${what}: expected a refusal\n${result.stdout}`);
    assert.match(result.stderr, message, what);
    assert.equal(await state(), before, `${what}: nothing changed on the host`);
}

const BUILD = String.raw`
set -eu
store=$1 helper=$2 ui=$3
image() { # REF MARKER
	d=$(mktemp -d); mkdir -p "$d/bin" "$d/tmp"; cp /bin/busybox "$d/bin/"
	for a in sh cat true; do ln -s busybox "$d/bin/$a"; done
	printf '%s\n' "$2" >"$d/marker"
	tar -C "$d" -c . | docker import - "$1" >/dev/null; rm -rf "$d"
}
mkdir -p "$store"
image "$ui" ui
# The attacker's image under the helper's name, saved in one archive with the UI.
image "$helper" evil
docker image inspect --format '{{.Id}}' "$helper" >"$store/evil.id"
docker save -o "$store/smuggle.tar" "$ui" "$helper"
image "$helper" helper
docker save -o "$store/helper.tar" "$helper"
docker save -o "$store/ui.tar" "$ui"
docker image inspect --format '{{.Id}}' "$helper" >"$store/helper.id"
docker image inspect --format '{{.Id}}' "$ui" >"$store/ui.id"
# Not docker save output, and a manifest that spells its key with a JSON escape.
tar -C /etc -cf "$store/plain.tar" hostname
d=$(mktemp -d); tar -C "$d" -xf "$store/helper.tar"
sed -i 's/"RepoTags"/"Repo\\u0054ags"/' "$d/manifest.json"
(cd "$d" && tar -cf "$store/escaped.tar" -- *); rm -rf "$d"
# A decoy manifest, then the smuggling one under a name only docker's path cleaning makes manifest.json.
d=$(mktemp -d); tar -C "$d" -xf "$store/smuggle.tar"
python3 - "$d" "$store/helper.tar" "$store/dotdot.tar" <<'PY'
import sys, tarfile
src, decoy_from, out = sys.argv[1], sys.argv[2], sys.argv[3]
decoy = tarfile.open(decoy_from).extractfile("manifest.json").read()
with tarfile.open(out, "w") as tar:
    import io, os
    info = tarfile.TarInfo("manifest.json"); info.size = len(decoy); tar.addfile(info, io.BytesIO(decoy))
    for root, _, files in os.walk(src):
        for f in files:
            path = os.path.join(root, f); rel = os.path.relpath(path, src)
            tar.add(path, arcname=("blobs/../manifest.json" if rel == "manifest.json" else rel))
PY
rm -rf "$d"
docker rmi "$helper" "$ui" >/dev/null
docker rmi "$(cat "$store/evil.id")" >/dev/null
install -d -o root -g root -m 0755 /var/lib/replicated-images
`;

describe("air-gap loading on a test host", () => {
    before(async () => {
        if (!(await hostTierAvailability()).ok) return;
        try {
            [host] = await startHosts(1, { namePrefix: "rtest-airgap" });
            const built = await run(host, `sh -s -- ${[STORE, HELPER, UI].map(shQuote).join(" ")}`, { user: "root", stdin: BUILD, timeoutMs: 180_000 });
            assert.equal(built.code, 0, built.stderr);
            ids.helper = (await root(`cat ${STORE}/helper.id`)).trim();
            ids.ui = (await root(`cat ${STORE}/ui.id`)).trim();
            ids.evil = (await root(`cat ${STORE}/evil.id`)).trim();
            assert.notEqual(ids.helper, ids.evil);
            await useArchive("helper.tar", "replicated-helper");
            await useArchive("ui.tar", "replicated-ui");
        } catch (err) {
            setupError = err;
        }
    });

    after(async () => {
        if (host !== undefined) await stopHosts([host]);
    });

    test("every image loads from its tarball with its pin checked; a second run loads nothing and changes nothing", async (t) => {
        if (!(await requireHostTier(t))) return;
        requireHost();
        const first = await load([UI, HELPER], { [HELPER]: ids.helper });
        assert.equal(first.code, 0, first.stderr);
        assert.deepEqual(parseSummaryLine(first.stdout), { loaded: [UI, HELPER], present: [], pinned: [HELPER], changed: 2 });
        assert.equal(await idOf(HELPER), ids.helper);
        assert.equal(await idOf(UI), ids.ui);
        const before = await state();
        const second = await load([UI, HELPER], { [HELPER]: ids.helper });
        assert.equal(second.code, 0, second.stderr);
        assert.deepEqual(parseSummaryLine(second.stdout), { loaded: [], present: [UI, HELPER], pinned: [HELPER], changed: 0 });
        assert.equal(await state(), before, "the second run changed nothing on the host");
    });

    test("an archive that also carries the helper's tag is refused before docker load, pinned or not", async (t) => {
        if (!(await requireHostTier(t))) return;
        await root(`docker rmi ${UI} >/dev/null`);
        await useArchive("smuggle.tar", "replicated-ui");
        try {
            for (const pins of [{}, { [HELPER]: ids.helper }] as Array<Record<string, string>>) {
                await refused(
                    `smuggled helper tag, pins ${JSON.stringify(pins)}`,
                    new RegExp(`replicated-ui\\.tar carries tags other than ${UI.replace(/\./g, "\\.")}: ${HELPER.replace(/\./g, "\\.")}\\. docker load would apply them all`),
                    () => load([UI, HELPER], pins),
                );
                assert.equal(await idOf(HELPER), ids.helper, "the helper is still the real one");
                assert.equal(await idOf(ids.evil), "", "the attacker's image was never loaded");
            }
            // The tarball of another image is refused the same way (it names only that image).
            await useArchive("helper.tar", "replicated-ui");
            await refused("the helper's archive as the UI tarball", /replicated-ui\.tar carries tags other than .*replicated-ui:stable-2\.53\.2: .*replicated-helper:stable-2\.53\.2/, () => load([UI]));
        } finally {
            await useArchive("ui.tar", "replicated-ui");
        }
        const repaired = await load([UI, HELPER], { [HELPER]: ids.helper });
        assert.equal(repaired.code, 0, repaired.stderr);
        assert.deepEqual((parseSummaryLine(repaired.stdout) as { loaded: string[] }).loaded, [UI]);
    });

    test("a wrong pin is refused before loading; a pinned reference that names another image is loaded again", async (t) => {
        if (!(await requireHostTier(t))) return;
        await root(`docker rmi ${HELPER} >/dev/null`);
        await refused(
            "pinned to the attacker's id",
            new RegExp(`replicated-helper\\.tar holds the image ${ids.helper}, not the pinned ${ids.evil} \\(replicated:images\\.pins\\) .*nothing was loaded`),
            () => load([HELPER], { [HELPER]: ids.evil }),
        );
        assert.equal(await idOf(HELPER), "", "nothing was loaded");
        const restored = await load([HELPER], { [HELPER]: ids.helper });
        assert.equal(restored.code, 0, restored.stderr);
        // Someone with the docker socket retags the helper reference onto another image.
        await root(`docker tag ${UI} ${HELPER}`);
        const reloaded = await load([HELPER], { [HELPER]: ids.helper });
        assert.equal(reloaded.code, 0, reloaded.stderr);
        assert.deepEqual(parseSummaryLine(reloaded.stdout), { loaded: [HELPER], present: [], pinned: [HELPER], changed: 1 });
        assert.equal(await idOf(HELPER), ids.helper, "the pinned image is back under its reference");
        // Without its tarball, a pin mismatch is an error that names both ids.
        await root(`docker tag ${UI} ${HELPER} && mv ${IMAGES_DIR}/replicated-helper.tar ${STORE}/aside.tar`);
        try {
            await refused(
                "pin mismatch without a tarball",
                new RegExp(`image ${HELPER.replace(/\./g, "\\.")} on this host is ${ids.ui}, but its pin \\(replicated:images\\.pins\\) is ${ids.helper}, and its tarball .* does not exist`),
                () => load([HELPER], { [HELPER]: ids.helper }),
            );
        } finally {
            await root(`mv ${STORE}/aside.tar ${IMAGES_DIR}/replicated-helper.tar`);
        }
        const fixed = await load([HELPER], { [HELPER]: ids.helper });
        assert.equal(fixed.code, 0, fixed.stderr);
    });

    test("a missing tarball, a directory on the way or a tarball that anyone but root could change is refused; nothing loads", async (t) => {
        if (!(await requireHostTier(t))) return;
        await root(`docker rmi ${HELPER} >/dev/null; install -d -m 0755 /srv/airgap /srv/airgap/images && install -o root -g root -m 0644 ${STORE}/helper.tar /srv/airgap/images/replicated-helper.tar`);
        const cases: Array<[string, string, string, RegExp]> = [
            ["missing tarball", `mv /srv/airgap/images/replicated-helper.tar ${STORE}/moved.tar`, `mv ${STORE}/moved.tar /srv/airgap/images/replicated-helper.tar`,
                /image quay\.io\/replicated\/replicated-helper:stable-2\.53\.2 is not on this host and its tarball \/srv\/airgap\/images\/replicated-helper\.tar does not exist\. Fix: on a connected machine run docker save/],
            ["group-writable images dir", "chmod 0775 /srv/airgap/images", "chmod 0755 /srv/airgap/images",
                /refusing to load images from \/srv\/airgap\/images \(replicated:airgap\.imagesDir\): \/srv\/airgap\/images is writable by group 0 \(mode 775\).*Fix: chmod g-w/],
            ["world-writable images dir", "chmod 0757 /srv/airgap/images", "chmod 0755 /srv/airgap/images", /\/srv\/airgap\/images is writable by every user \(mode 757\)/],
            ["images dir owned by another user", "chown 4242 /srv/airgap/images", "chown 0 /srv/airgap/images", /\/srv\/airgap\/images is owned by uid 4242, not root.*Fix: chown root:root/],
            ["a parent owned by another user", "chown 4242 /srv/airgap", "chown 0 /srv/airgap", /\/srv\/airgap is owned by uid 4242, not root/],
            ["a group-writable parent", "chmod 0775 /srv/airgap", "chmod 0755 /srv/airgap", /\/srv\/airgap is writable by group 0/],
            ["images dir is a symlink", "mv /srv/airgap/images /srv/airgap/real && ln -s real /srv/airgap/images", "rm /srv/airgap/images && mv /srv/airgap/real /srv/airgap/images",
                /\/srv\/airgap\/images is a symlink; a root operation never follows one/],
            ["tarball owned by another user", "chown 4242 /srv/airgap/images/replicated-helper.tar", "chown 0 /srv/airgap/images/replicated-helper.tar",
                /replicated-helper\.tar is owned by uid 4242 with mode 644: a user other than root could replace it.*Fix: chown root:root .* && chmod 0644/],
            ["group-writable tarball", "chmod 0664 /srv/airgap/images/replicated-helper.tar", "chmod 0644 /srv/airgap/images/replicated-helper.tar", /is owned by uid 0 with mode 664: a user other than root could replace it/],
            ["world-writable tarball", "chmod 0646 /srv/airgap/images/replicated-helper.tar", "chmod 0644 /srv/airgap/images/replicated-helper.tar", /with mode 646: a user other than root could replace it/],
            ["tarball is a symlink", `mv /srv/airgap/images/replicated-helper.tar ${STORE}/real.tar && ln -s ${STORE}/real.tar /srv/airgap/images/replicated-helper.tar`,
                `rm /srv/airgap/images/replicated-helper.tar && mv ${STORE}/real.tar /srv/airgap/images/replicated-helper.tar`, /replicated-helper\.tar is a symlink or not a regular file/],
            ["not docker save output", `mv /srv/airgap/images/replicated-helper.tar ${STORE}/keep.tar && install -m 0644 ${STORE}/plain.tar /srv/airgap/images/replicated-helper.tar`,
                `mv ${STORE}/keep.tar /srv/airgap/images/replicated-helper.tar`, /replicated-helper\.tar has no manifest\.json: it is not the output of docker save/],
            ["a manifest hidden behind a/../", `mv /srv/airgap/images/replicated-helper.tar ${STORE}/keep.tar && install -m 0644 ${STORE}/dotdot.tar /srv/airgap/images/replicated-helper.tar`,
                `mv ${STORE}/keep.tar /srv/airgap/images/replicated-helper.tar`, /replicated-helper\.tar has members with unusual paths \(blobs\/\.\.\/manifest\.json\), which docker save never writes/],
            ["a manifest with JSON escapes", `mv /srv/airgap/images/replicated-helper.tar ${STORE}/keep.tar && install -m 0644 ${STORE}/escaped.tar /srv/airgap/images/replicated-helper.tar`,
                `mv ${STORE}/keep.tar /srv/airgap/images/replicated-helper.tar`, /manifest\.json contains JSON escapes, which docker save never writes/],
        ];
        for (const [what, prepare, undo, message] of cases) {
            await root(prepare);
            try {
                await refused(what, message, () => load([HELPER], {}, "/srv/airgap/images"));
                assert.equal(await idOf(HELPER), "", `${what}: nothing was loaded`);
            } finally {
                await root(undo);
            }
        }
        const fine = await load([HELPER], { [HELPER]: ids.helper }, "/srv/airgap/images");
        assert.equal(fine.code, 0, `with everything root-only it loads: ${fine.stderr}`);
    });

    test("a digest reference never reaches docker load: the loader refuses it and names the pin to use", async (t) => {
        if (!(await requireHostTier(t))) return;
        const digest = `quay.io/replicated/replicated-helper@sha256:${"ab".repeat(32)}`;
        const invocation = remoteInvocation(loadScript("load-images"), [IMAGES_DIR, digest, "-"], "sudo");
        const before = await state();
        const result = await run(requireHost(), invocation.command, { user: "deploy", stdin: invocation.stdin });
        assert.notEqual(result.code, 0);
        assert.match(result.stderr, /not a valid image reference \(digest references cannot be loaded; pin the image id instead\)/);
        assert.equal(await state(), before);
    });
});
