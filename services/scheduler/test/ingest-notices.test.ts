import type { WorkloadRow } from '@niyanta/db';
import { SUBJECTS, uuidv7 } from '@niyanta/messages';
import type { WorkloadV1 } from '@niyanta/messages';
import { ingestNotices } from '../src/ingest-notices.js';
import type { NoticeRequest } from '../src/ingest-notices.js';
import type { Transition } from '../src/workload-core/transition.js';

/** A submitted transition whose workload is already built (the notice reads only that and the id). */
function submitted(): Transition {
  const id = uuidv7();
  return {
    row: { id } as WorkloadRow,
    from: null,
    reason: 'submitted',
    eventWorkerId: null,
    workload: { id, status: 'PENDING' } as WorkloadV1,
  };
}

const ids = (workloads: readonly object[]) => workloads.map((w) => (w as { id: string }).id);

describe('ingestNotices', () => {
  const [a, b] = [SUBJECTS.ingested('a'), SUBJECTS.ingested('b')];

  it('sends each subject one notice with the workloads that asked for it, and none for the rest', () => {
    const ts = Array.from({ length: 4 }, submitted);
    const requests = new Map<string, NoticeRequest>([
      [ts[0]!.row.id, { subject: a, bytes: 600 }],
      [ts[1]!.row.id, { subject: b, bytes: 600 }],
      [ts[2]!.row.id, { subject: a, bytes: 600 }],
    ]);
    const notices = ingestNotices(ts, requests);
    expect(notices.map((n) => [n.subject, ids(n.message.workloads)])).toEqual([
      [a, [ts[0]!.row.id, ts[2]!.row.id]],
      [b, [ts[1]!.row.id]],
    ]);
    expect(notices[0]!.message.workloads[0]).toBe(ts[0]!.workload);
    expect(ingestNotices(ts, new Map())).toEqual([]);
  });

  it('splits a notice before it passes the byte budget, and sends a workload too large for one as its id', () => {
    const ts = Array.from({ length: 4 }, submitted);
    const sizes = [400, 400, 400, 5_000];
    const requests = new Map(ts.map((t, i) => [t.row.id, { subject: a, bytes: sizes[i]! }]));
    const notices = ingestNotices(ts, requests, 1_000);
    expect(notices.map((n) => ids(n.message.workloads))).toEqual([
      [ts[0]!.row.id, ts[1]!.row.id],
      [ts[2]!.row.id, ts[3]!.row.id],
    ]);
    expect(notices[1]!.message.workloads[1]).toEqual({ id: ts[3]!.row.id });
  });
});
