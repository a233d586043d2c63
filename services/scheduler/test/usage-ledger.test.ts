import { Backlog } from '../src/backlog.js';
import { UsageLedger } from '../src/usage-ledger.js';

const row = (id: string, status: string, worker: string | null, req = {}) => ({
  id,
  status,
  worker_id: worker,
  requirements: req,
});

describe('UsageLedger', () => {
  it('counts slots and resources per worker from reservations and committed rows', () => {
    const ledger = new UsageLedger();
    ledger.reserve('a', 'w1', { cpu: 2, memoryMb: 512 });
    ledger.reserve('b', 'w1', { gpu: 1 });
    ledger.record(row('c', 'RUNNING', 'w2', { cpu: 1 }));
    expect(ledger.usage().get('w1')).toEqual({ slots: 2, cpu: 2, memoryMb: 512, gpu: 1 });
    expect(ledger.usage().get('w2')).toEqual({ slots: 1, cpu: 1, memoryMb: 0, gpu: 0 });
    expect(ledger.size).toBe(3);
  });

  it('frees a run when its row leaves SCHEDULED/RUNNING, and only once', () => {
    const ledger = new UsageLedger();
    ledger.reserve('a', 'w1', { cpu: 2 });
    ledger.record(row('a', 'SCHEDULED', 'w1', { cpu: 2 })); // the commit of the reservation
    expect(ledger.usage().get('w1')?.slots).toBe(1);
    ledger.record(row('a', 'COMPLETED', 'w1', { cpu: 2 }));
    ledger.record(row('a', 'COMPLETED', 'w1', { cpu: 2 })); // a redelivered batch
    ledger.release('a');
    expect(ledger.usage().get('w1')).toBeUndefined();
    expect(ledger.size).toBe(0);
  });

  it('moves a run to its new worker when a row is placed elsewhere', () => {
    const ledger = new UsageLedger();
    ledger.record(row('a', 'RUNNING', 'w1', { memoryMb: 100 }));
    ledger.record(row('a', 'PENDING', null));
    ledger.record(row('a', 'SCHEDULED', 'w2', { memoryMb: 100 }));
    expect(ledger.usage().get('w1')).toBeUndefined();
    expect(ledger.usage().get('w2')).toEqual({ slots: 1, cpu: 0, memoryMb: 100, gpu: 0 });
  });
});

describe('Backlog', () => {
  it('is unknown (waiting) until a cycle clears it', () => {
    const backlog = new Backlog();
    expect(backlog.any).toBe(true);
    backlog.clear(backlog.begin());
    expect(backlog.any).toBe(false);
  });

  it('stays set when something was left PENDING after the clearing cycle began', () => {
    const backlog = new Backlog();
    const token = backlog.begin();
    backlog.mark(); // an ingest commit left a workload PENDING meanwhile
    backlog.clear(token);
    expect(backlog.any).toBe(true);
    backlog.clear(backlog.begin());
    expect(backlog.any).toBe(false);
  });
});
