/**
 * The targets, on a 2-core machine of the project's kind. Throughput is a ratio to BullMQ on
 * Redis with AOF measured in the same run (issue 25), so the hour's host speed does not decide it.
 */
export const TARGETS = {
  /** Niyanta's completed/s over BullMQ+AOF's jobs/s, by layout. */
  ratioToPeer: { single: 0.6, split: 0.45 },
  /** CPU ms per workload across every process (services, workers, nats-server, PostgreSQL). */
  cpuMsPerWorkload: { single: 0.35 },
  httpP99Ms: 20,
  submitToStartP50Ms: 3,
  submitToStartP99Ms: 15,
  /** recovery with defaults: heartbeat timeout + 1 s */
  recoveryDefaultSlackSeconds: 1,
  recoveryFastSeconds: 3,
  microsPerDecision: 50,
} as const;

/** A figure against an upper bound: "met" or "missed by X (N×)". */
export function atMost(value: number, target: number, unit: string): string {
  if (!Number.isFinite(value)) return 'no data';
  if (value <= target) return 'met';
  return `missed by ${format(value - target)} ${unit} (${format(value / target)}×)`;
}

/** A figure against a lower bound. */
export function atLeast(value: number, target: number, unit: string): string {
  if (!Number.isFinite(value)) return 'no data';
  if (value >= target) return 'met';
  return `missed by ${format(target - value)} ${unit} (${format((value / target) * 100)} % of it)`;
}

/** A number with at most 3 significant decimals, no exponent. */
export function format(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const abs = Math.abs(x);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  return x.toLocaleString('en-US', { maximumFractionDigits: digits, useGrouping: abs >= 10_000 });
}
