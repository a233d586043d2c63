import { toWorkload, withEffectivePriority } from '../src/index.js';
import type { WorkloadRow } from '../src/index.js';

const row = (over: Partial<WorkloadRow>): WorkloadRow =>
  ({
    id: '01900000-0000-7000-8000-000000000001',
    tenant: 'default',
    type: 'sleep',
    status: 'PENDING',
    priority: 100,
    attempt: 0,
    max_attempts: 3,
    input: {},
    result: null,
    error: null,
    progress: null,
    worker_id: null,
    pending_reason: null,
    labels: {},
    requirements: {},
    run_at: null,
    timeout_seconds: null,
    idempotency_key: null,
    trace_parent: null,
    created_at: new Date('2026-01-01T00:00:00Z'),
    updated_at: new Date('2026-01-01T00:00:00Z'),
    started_at: null,
    finished_at: null,
    requested_action: null,
    parked: false,
    submitted_by: null,
    secrets: [],
    concurrency_key: null,
    concurrency_limit: null,
    ordered: false,
    preemptible: true,
    preemption: null,
    ...over,
  }) as WorkloadRow;

const created = Date.parse('2026-01-01T00:00:00Z');

describe('withEffectivePriority', () => {
  it('ages a PENDING workload from its creation', () => {
    const w = withEffectivePriority(toWorkload(row({})), 60_000, created + 12 * 60_000);
    expect(w.effectivePriority).toBe(112);
  });

  it('ages from runAt when it is later, and not at all with aging off', () => {
    const later = toWorkload(row({ run_at: new Date(created + 10 * 60_000) }));
    expect(withEffectivePriority(later, 60_000, created + 12 * 60_000).effectivePriority).toBe(102);
    expect(withEffectivePriority(later, 0, created + 1e9).effectivePriority).toBe(100);
  });

  it('is the priority once the workload left the queue', () => {
    const w = toWorkload(row({ status: 'RUNNING' }));
    expect(withEffectivePriority(w, 1, created + 1e9).effectivePriority).toBe(100);
  });

  it('shows the concurrency key and preemptibility', () => {
    const w = toWorkload(
      row({ concurrency_key: 'k', concurrency_limit: 1, ordered: true, preemptible: false }),
    );
    expect(w).toMatchObject({
      concurrencyKey: 'k',
      concurrencyLimit: 1,
      ordered: true,
      preemptible: false,
    });
  });
});
