/** A worker taint, as heartbeats carry it (schemas/common.v1.json#/$defs/taint). */
export interface WorkerTaint {
  key: string;
  value?: string;
  effect: 'NoSchedule' | 'PreferNoSchedule';
}

const EFFECTS = ['NoSchedule', 'PreferNoSchedule'] as const;
const KEY = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$/;
const VALUE = /^[A-Za-z0-9._/-]{0,63}$/;
/** As many as a heartbeat carries (schemas/common.v1.json#/$defs/taints). */
export const MAX_TAINTS = 20;

const EXPECTED =
  'Expected key=value:Effect or key:Effect, comma-separated, Effect NoSchedule or PreferNoSchedule (e.g. gpu=true:NoSchedule,spot:PreferNoSchedule).';

/**
 * Parses WORKER_TAINTS (`key=value:NoSchedule,key2:PreferNoSchedule`); each bad entry adds a
 * problem naming it.
 */
export function parseTaints(value: string | undefined, problems: string[]): WorkerTaint[] {
  const taints: WorkerTaint[] = [];
  if (value === undefined || value.trim() === '') return taints;
  for (const part of value.split(',')) {
    const entry = part.trim();
    if (entry === '') continue;
    const colon = entry.lastIndexOf(':');
    const effect = colon < 0 ? '' : entry.slice(colon + 1);
    const kv = colon < 0 ? entry : entry.slice(0, colon);
    const eq = kv.indexOf('=');
    const key = eq < 0 ? kv : kv.slice(0, eq);
    const val = eq < 0 ? undefined : kv.slice(eq + 1);
    if (!(EFFECTS as readonly string[]).includes(effect)) {
      problems.push(`WORKER_TAINTS has "${entry}" with effect "${effect}". ${EXPECTED}`);
      continue;
    }
    if (!KEY.test(key) || (val !== undefined && !VALUE.test(val))) {
      problems.push(
        `WORKER_TAINTS has "${entry}": keys are 1-63 of A-Z a-z 0-9 . _ / - starting with a letter or digit, values 0-63 of A-Z a-z 0-9 . _ / -. ${EXPECTED}`,
      );
      continue;
    }
    taints.push({
      key,
      ...(val === undefined ? {} : { value: val }),
      effect: effect as WorkerTaint['effect'],
    });
  }
  if (taints.length > MAX_TAINTS)
    problems.push(`WORKER_TAINTS has ${taints.length} taints; at most ${MAX_TAINTS} are allowed.`);
  return taints;
}
