/**
 * Stand-in images for the engine tier, built ON a test host and handed over the air-gap way.
 *
 * {@link buildStandinImages} makes one tiny image per reference (busybox from the host, plus the
 * docker CLI for the services that mount the socket), named exactly like the real image
 * (`<registry>/<name>:<channel>-<version>`), `docker save`s each into the images directory under
 * the documented tarball name (image-refs.ts `airgapTarballName`), and removes the images: the
 * program's own load command must bring them back.
 *
 * What each stand-in proves from inside is described in standin/entrypoint.sh; the report it
 * writes is read with {@link readStandinReport}. Ports it listens on come from the service
 * definitions (internal TCP ports, plus the port its healthcheck probes).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { airgapTarballName, imageBaseName, type ReplicatedImageName } from "../../components/docker/image-refs";
import {
    adminConsoleService,
    daemonService,
    operatorService,
    premkitService,
    statsdService,
    type ServiceSettings,
} from "../../components/docker/services";
import type { ServiceDefinition } from "../../components/docker/container-spec";
import { copyFile, docker, run, shQuote, type TestHost } from "./testhost";

const STANDIN_DIR = path.join(__dirname, "standin");
/** Where the stand-in sources are staged on the test host. */
const REMOTE_SOURCE_DIR = "/root/standin-src";

/** Services whose stand-in carries the docker CLI (the ones that mount the socket). */
const WITH_DOCKER_CLIENT: readonly string[] = ["replicated", "replicated-operator"];

/** Placeholder settings: only the definitions' internal ports and healthcheck ports are used. */
const PLACEHOLDER: ServiceSettings = {
    hostName: "standin",
    privateAddress: "10.0.0.1",
    primaryAddress: "10.0.0.1",
    clusterAddresses: ["10.0.0.1"],
    channel: "stable",
    logLevel: "info",
    airgap: true,
    uiPort: 8800,
    uiBindAddress: "10.0.0.1",
    daemonToken: "unused",
};

const DEFINITIONS: Readonly<Record<string, () => ServiceDefinition>> = {
    replicated: () => daemonService(PLACEHOLDER),
    "replicated-ui": () => adminConsoleService(PLACEHOLDER),
    "replicated-operator": () => operatorService(PLACEHOLDER, { local: false }),
    "replicated-statsd": () => statsdService(PLACEHOLDER),
    "replicated-premkit": () => premkitService(PLACEHOLDER),
};

/** TCP ports a stand-in for `service` listens on: its internal TCP ports and its local healthcheck port. */
export function standinPorts(service: string): number[] {
    const definition = DEFINITIONS[service]?.();
    if (definition === undefined) {
        return [];
    }
    const ports = definition.ports.filter((port) => port.protocol === "tcp").map((port) => port.internal);
    const probed = /nc -w \d+ 127\.0\.0\.1 (\d+)/.exec(definition.healthcheck)?.[1];
    if (probed !== undefined) {
        ports.push(Number(probed));
    }
    return [...new Set(ports)].sort((a, b) => a - b);
}

export interface StandinImage {
    /** Full reference, e.g. `quay.io/replicated/replicated-ui:stable-2.53.2`. */
    readonly reference: string;
    /** Which service the stand-in plays (the image's base name for Replicated images). */
    readonly service: string;
}

/** One image per reference in `references`; services named after the reference's base name. */
export function standinsFor(references: readonly string[]): StandinImage[] {
    return references.map((reference) => ({ reference, service: imageBaseName(reference) }));
}

/** The spec line build-standins.sh takes for one image. */
export function standinSpec(image: StandinImage): string {
    const ports = standinPorts(image.service);
    const isService = DEFINITIONS[image.service] !== undefined;
    const client = WITH_DOCKER_CLIENT.includes(image.service) ? "yes" : "no";
    // The helper (and any other image) gets no stand-in entrypoint: it runs the command it is given.
    return [image.reference, airgapTarballName(image.reference), image.service, ports.join(","), client, isService ? "yes" : "no"].join("|");
}

/**
 * Build, save to `imagesDir` and remove the stand-ins on `host`. Returns the number of images,
 * the total tarball size and the seconds it took.
 */
export async function buildStandinImages(
    host: TestHost,
    images: readonly StandinImage[],
    imagesDir: string,
): Promise<{ images: number; bytes: number; seconds: number }> {
    const started = performance.now();
    const mkdir = await run(host, `mkdir -p ${REMOTE_SOURCE_DIR}`);
    if (mkdir.code !== 0) {
        throw new Error(`cannot create ${REMOTE_SOURCE_DIR} on ${host.name}: ${mkdir.stderr}`);
    }
    for (const file of ["entrypoint.sh", "daemon-cgi.sh"]) {
        await copyFile(host, path.join(STANDIN_DIR, file), `${REMOTE_SOURCE_DIR}/${file}`, { mode: 0o755 });
    }
    const script = fs.readFileSync(path.join(STANDIN_DIR, "build-standins.sh"), "utf8");
    const args = [REMOTE_SOURCE_DIR, imagesDir, ...images.map(standinSpec)].map(shQuote).join(" ");
    const result = await run(host, `sh -s -- ${args}`, { stdin: script, timeoutMs: 300_000 });
    if (result.code !== 0) {
        throw new Error(`building stand-in images on ${host.name} failed (exit ${result.code}): ${result.stderr.trim()}`);
    }
    const summary = JSON.parse(result.stdout.trim().split("\n").pop() ?? "{}") as { images: number; bytes: number };
    return { ...summary, seconds: (performance.now() - started) / 1000 };
}

/** The stand-in images a host needs, by the names the program loads there. */
export function standinReferences(references: Partial<Record<ReplicatedImageName, string>>): StandinImage[] {
    return standinsFor(Object.values(references).filter((reference): reference is string => reference !== undefined));
}

/** A stand-in's findings, parsed from /tmp/standin-report (undefined while it is still probing). */
export async function readStandinReport(host: TestHost, container: string): Promise<Record<string, string> | undefined> {
    const result = await docker(host, ["exec", container, "cat", "/tmp/standin-report"]);
    if (result.code !== 0) {
        return undefined;
    }
    const report: Record<string, string> = {};
    for (const line of result.stdout.split("\n")) {
        const at = line.indexOf("=");
        if (at > 0) {
            report[line.slice(0, at)] = line.slice(at + 1);
        }
    }
    return report;
}

/** Poll {@link readStandinReport} until the stand-in finished probing. */
export async function waitForStandinReport(host: TestHost, container: string, timeoutSeconds = 150): Promise<Record<string, string>> {
    const deadline = Date.now() + timeoutSeconds * 1000;
    while (Date.now() < deadline) {
        const report = await readStandinReport(host, container);
        if (report !== undefined) {
            return report;
        }
        await new Promise((done) => setTimeout(done, 1000));
    }
    const logs = await docker(host, ["logs", "--tail", "40", container]);
    const state = await docker(host, ["inspect", "--format", "{{json .State}}", container]);
    throw new Error(`${container} on ${host.name} wrote no report within ${timeoutSeconds} s; state ${state.stdout.trim()}; logs: ${logs.stdout}${logs.stderr}`);
}
