import { recordSignals } from '../workload-core/statements/record-signals.js';
import type { SentSignal } from '../workload-core/statements/record-signals.js';
import type { Executor } from '../workload-core/statements/executor.js';
import { takeSignals } from '../workload-core/statements/take-signals.js';
import { wakeResolved } from '../workload-core/statements/wake-waits.js';
import type { Transition } from '../workload-core/transition.js';

/**
 * Signals of a command batch (their workloads' rows locked by the caller): kept, then given to
 * the open signal waits of their workloads, which wake if their checkpoint is stored. A signal
 * that no wait takes now stays kept for the wait that will.
 */
export async function applySignals(
  trx: Executor,
  signals: readonly SentSignal[],
): Promise<Transition[]> {
  if (signals.length === 0) return [];
  await recordSignals(trx, signals);
  const ids = [...new Set(signals.map((s) => s.workloadId))];
  const resolved = await takeSignals(trx, ids);
  return wakeResolved(trx, { ids: resolved, limit: resolved.length });
}
