import { WORKLOAD_STATUS } from '@niyanta/messages';
import { metricsRegistry } from '@niyanta/telemetry';
import { observeTransitions } from '../src/transition-metrics.js';
import type { ObservedTransition } from '../src/transition-metrics.js';

/** The value of a counter's series in the process registry (0 when it has none yet). */
async function value(name: string, labels: Record<string, string>): Promise<number> {
  const metric = metricsRegistry.getSingleMetric(name);
  if (metric === undefined) throw new Error(`no metric ${name}`);
  const { values } = await metric.get();
  const match = values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return match?.value ?? 0;
}

const created = new Date('2026-01-01T00:00:00Z');
const row = (
  status: string,
  type: string,
  startedAt: Date | null = null,
): ObservedTransition['row'] => ({
  status: status as ObservedTransition['row']['status'],
  type,
  created_at: created,
  started_at: startedAt,
});

describe('observeTransitions', () => {
  it('counts final statuses by outcome, retries, and the wait to start', async () => {
    const type = `metrics-${Date.now()}`;
    const before = {
      succeeded: await value('niyanta_completions_total', { outcome: 'succeeded', type }),
      retries: await value('niyanta_retries_total', { type }),
    };
    observeTransitions(
      [
        { row: row(WORKLOAD_STATUS.RUNNING, type), from: WORKLOAD_STATUS.SCHEDULED },
        { row: row(WORKLOAD_STATUS.COMPLETED, type), from: WORKLOAD_STATUS.RUNNING },
        // A short run: no start report, straight from SCHEDULED to its end.
        {
          row: row(WORKLOAD_STATUS.COMPLETED, type, new Date(created.getTime() + 2_000)),
          from: WORKLOAD_STATUS.SCHEDULED,
        },
        { row: row(WORKLOAD_STATUS.PENDING, type), from: WORKLOAD_STATUS.RUNNING },
        // Not a retry: a new submission, and a paused run resumed.
        { row: row(WORKLOAD_STATUS.PENDING, type), from: null },
        { row: row(WORKLOAD_STATUS.PENDING, type), from: WORKLOAD_STATUS.PAUSED },
        // No change of status: nothing counted.
        { row: row(WORKLOAD_STATUS.COMPLETED, type), from: WORKLOAD_STATUS.COMPLETED },
      ],
      created.getTime() + 1_000,
    );
    expect(await value('niyanta_completions_total', { outcome: 'succeeded', type })).toBe(
      before.succeeded + 2,
    );
    expect(await value('niyanta_retries_total', { type })).toBe(before.retries + 1);
    const waits = (await metricsRegistry
      .getSingleMetric('niyanta_submit_to_start_seconds')!
      .get()) as {
      values: { metricName?: string; labels: Record<string, unknown>; value: number }[];
    };
    const count = waits.values.find(
      (v) => v.metricName === 'niyanta_submit_to_start_seconds_count' && v.labels.type === type,
    );
    const sum = waits.values.find(
      (v) => v.metricName === 'niyanta_submit_to_start_seconds_sum' && v.labels.type === type,
    );
    expect(count?.value).toBe(2);
    // 1 s (RUNNING at "now") + 2 s (its recorded start).
    expect(sum?.value).toBe(3);
  });
});
