/** The machine a benchmark run came from, recorded next to its numbers. */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";

export interface MachineInfo {
    readonly cores: number;
    readonly cpuModel: string;
    readonly memoryGiB: number;
    readonly kernel: string;
    readonly os: string;
    readonly dockerVersion: string;
    readonly nodeVersion: string;
    /** 1-minute load average when the run started and ended (other work skews the figures). */
    readonly loadAverage: { start: number; end?: number };
}

function dockerServerVersion(): string {
    const result = spawnSync("docker", ["version", "--format", "{{.Server.Version}}"], { encoding: "utf8", timeout: 20_000 });
    return result.status === 0 ? result.stdout.trim() : "unknown (docker version failed)";
}

function osName(): string {
    try {
        return /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(fs.readFileSync("/etc/os-release", "utf8"))?.[1] ?? os.type();
    } catch {
        return os.type();
    }
}

export function describeMachine(): MachineInfo {
    return {
        cores: os.cpus().length,
        cpuModel: os.cpus()[0]?.model.trim() ?? "unknown",
        memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
        kernel: os.release(),
        os: osName(),
        dockerVersion: dockerServerVersion(),
        nodeVersion: process.version,
        loadAverage: { start: Math.round(os.loadavg()[0] * 100) / 100 },
    };
}

export function oneLine(machine: MachineInfo, date: string): string {
    return (
        `${machine.cores} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB memory, ${machine.os}, kernel ${machine.kernel}, ` +
        `Docker ${machine.dockerVersion}, Node ${machine.nodeVersion}; ${date}; load average ${machine.loadAverage.start}` +
        (machine.loadAverage.end !== undefined ? ` at the start, ${machine.loadAverage.end} at the end` : "")
    );
}
