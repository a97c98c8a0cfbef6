/**
 * Preflight for the host and engine tiers: they need root (debootstrap, chroot, the
 * docker-in-docker flags), a Docker engine that answers, and debootstrap to build the
 * test-host image. Outside CI a missing prerequisite skips the tier loudly; in CI
 * (`CI=true`) it fails, so a green CI run can never hide a skipped tier.
 *
 * @module
 */
import { execFile } from "node:child_process";
import { constants, promises as fs } from "node:fs";
import * as path from "node:path";
import type { TestContext } from "node:test";

export type HostTierAvailability = { ok: true } | { ok: false; reason: string };

/** Checks root, `docker info` and an installed debootstrap; never throws. */
export async function hostTierAvailability(): Promise<HostTierAvailability> {
  if (typeof process.getuid !== "function" || process.getuid() !== 0) {
    return { ok: false, reason: "not running as root (needed for debootstrap and docker-in-docker test hosts)" };
  }
  const dockerInfo = await new Promise<{ ok: boolean; detail: string }>((resolve) => {
    execFile("docker", ["info", "--format", "{{.ServerVersion}}"], { timeout: 20_000 }, (error, stdout, stderr) => {
      resolve(error ? { ok: false, detail: (stderr || error.message).trim() } : { ok: true, detail: stdout.trim() });
    });
  });
  if (!dockerInfo.ok) {
    return { ok: false, reason: `docker info does not answer (is dockerd running?): ${dockerInfo.detail}` };
  }
  if (!(await findExecutable("debootstrap"))) {
    return { ok: false, reason: "debootstrap is not installed (apt-get install debootstrap)" };
  }
  return { ok: true };
}

async function findExecutable(name: string): Promise<string | undefined> {
  // sbin dirs are not always on a non-login PATH, but that is where debootstrap lives.
  const dirs = [...(process.env.PATH ?? "").split(path.delimiter), "/usr/sbin", "/sbin"].filter(Boolean);
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    try {
      await fs.access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * Gate for a host-tier test. Returns true when the tier can run. Otherwise: in CI
 * (`CI=true`) throws, failing the test with the reason; elsewhere marks the test skipped,
 * prints `SKIPPED host tier: <reason>` and returns false, so the caller must `return`:
 *
 * ```ts
 * test("...", async (t) => {
 *   if (!(await requireHostTier(t))) return;
 *   ...
 * });
 * ```
 */
export async function requireHostTier(t: Pick<TestContext, "skip">): Promise<boolean> {
  const availability = await hostTierAvailability();
  if (availability.ok) return true;
  if (process.env.CI === "true") {
    throw new Error(`host tier unavailable in CI: ${availability.reason}`);
  }
  console.log(`SKIPPED host tier: ${availability.reason}`);
  t.skip(availability.reason);
  return false;
}
