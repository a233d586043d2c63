import { execFileSync } from 'node:child_process';
import os from 'node:os';

/** The machine a result was measured on. */
export interface MachineInfo {
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  nodeVersion: string;
  platform: string;
  release: string;
  hostname: string;
  /** The commit of the checkout, when git can tell. */
  commit: string | undefined;
  /** 1-minute load average when the run ended: above the core count, something else shared the CPU. */
  loadAverage1m: number;
}

/** Cores, memory, node version and the commit measured. */
export function machineInfo(): MachineInfo {
  let commit: string | undefined;
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
  } catch {
    commit = undefined;
  }
  return {
    cores: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    nodeVersion: process.version,
    platform: process.platform,
    release: os.release(),
    hostname: os.hostname(),
    commit,
    loadAverage1m: Math.round(os.loadavg()[0]! * 100) / 100,
  };
}
