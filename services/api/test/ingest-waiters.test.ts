import { encode, envelope, uuidv7 } from '@niyanta/messages';
import type { WorkloadV1 } from '@niyanta/messages';
import { IngestWaiters } from '../src/ingest-waiters.js';
import { submittedWorkload } from '../src/submitted-workload.js';
import { toSubmission } from '../src/submissions.js';

const utf8 = new TextEncoder();

function pendingWorkload(): WorkloadV1 {
  const workload = submittedWorkload(
    toSubmission({ type: 'noop', input: {} }, uuidv7()),
    'default',
  );
  return { ...workload, status: 'PENDING' };
}

function notice(...workloads: [object, ...object[]]): Uint8Array {
  return encode('ingested', { ...envelope(), workloads });
}

describe('IngestWaiters', () => {
  it('hands each watched workload of a notice to its listeners, and nothing for the others', () => {
    const waiters = new IngestWaiters();
    const [a, b, other] = [pendingWorkload(), pendingWorkload(), pendingWorkload()];
    const heard: [string, WorkloadV1 | null][] = [];
    const unwatch = waiters.watch([a.id, b.id], (id, workload) => heard.push([id, workload]));
    waiters.handle(notice(other, b, a));
    expect(heard).toEqual([
      [b.id, b],
      [a.id, a],
    ]);
    unwatch();
    expect(waiters.size).toBe(0);
  });

  it('hands null for a watched workload whose copy is no valid workload (so the wait looks it up)', () => {
    const waiters = new IngestWaiters();
    const id = uuidv7();
    const heard: (WorkloadV1 | null)[] = [];
    waiters.watch([id], (_id, workload) => heard.push(workload));
    waiters.handle(notice({ id, status: 'PENDING' }));
    expect(heard).toEqual([null]);
  });

  it('ignores a notice that is not JSON or breaks its schema', () => {
    const waiters = new IngestWaiters();
    const workload = pendingWorkload();
    const heard: unknown[] = [];
    waiters.watch([workload.id], (...args) => heard.push(args));
    waiters.handle(utf8.encode('{not json'));
    waiters.handle(utf8.encode(JSON.stringify({ ...envelope(), workloads: [] })));
    waiters.handle(utf8.encode(JSON.stringify({ workloads: [workload] })));
    expect(heard).toEqual([]);
  });

  it('has a notice subject of its own for each instance', () => {
    const [one, two] = [new IngestWaiters(), new IngestWaiters()];
    expect(one.subject).toMatch(/^niyanta\.ingested\.[0-9a-f-]{36}$/);
    expect(one.subject).not.toBe(two.subject);
  });
});
