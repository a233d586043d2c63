import { Backlog } from '../src/backlog.js';
import { UsageLedger } from '../src/placement/usage-ledger.js';

const row = (id: string, status: string, attempt: number) => ({ id, status, attempt });

describe('UsageLedger', () => {
  it('counts slots and resources per worker from reservations', () => {
    const ledger = new UsageLedger();
    ledger.reserve('a', 'w1', { cpu: 2, memoryMb: 512 }, 1);
    ledger.reserve('b', 'w1', { gpu: 1 }, 1);
    ledger.reserve('c', 'w2', { cpu: 1 }, 3);
    expect(ledger.usage().get('w1')).toEqual({ slots: 2, cpu: 2, memoryMb: 512, gpu: 1 });
    expect(ledger.usage().get('w2')).toEqual({ slots: 1, cpu: 1, memoryMb: 0, gpu: 0 });
    expect(ledger.size).toBe(3);
    expect(ledger.has('c')).toBe(true);
  });

  it('knows whether any active run is at or below a priority, the unknown counting as lowest', () => {
    const ledger = new UsageLedger();
    expect(ledger.hasRunAtOrBelow(1000)).toBe(false);
    ledger.reserve('a', 'w1', {}, 1, {}, 500);
    ledger.reserve('b', 'w2', {}, 1, {}, 500);
    expect(ledger.hasRunAtOrBelow(499)).toBe(false);
    expect(ledger.hasRunAtOrBelow(500)).toBe(true);
    ledger.record(row('a', 'COMPLETED', 1));
    expect(ledger.hasRunAtOrBelow(500)).toBe(true);
    ledger.record(row('b', 'FAILED', 1));
    expect(ledger.hasRunAtOrBelow(1000)).toBe(false);
    ledger.reserve('c', 'w1', {}, 1);
    expect(ledger.hasRunAtOrBelow(0)).toBe(true);
    ledger.cancel('c', 1);
    expect(ledger.hasRunAtOrBelow(1000)).toBe(false);
  });

  it('frees a run when a committed row of its attempt is no longer active, and only once', () => {
    const ledger = new UsageLedger();
    ledger.reserve('a', 'w1', { cpu: 2 }, 1);
    ledger.record(row('a', 'SCHEDULED', 1)); // its own commit: changes nothing
    ledger.record(row('a', 'RUNNING', 1));
    expect(ledger.usage().get('w1')?.slots).toBe(1);
    ledger.record(row('a', 'COMPLETED', 1));
    ledger.record(row('a', 'COMPLETED', 1)); // a redelivered batch
    expect(ledger.usage().get('w1')).toBeUndefined();
    expect(ledger.size).toBe(0);
  });

  it('keeps a retry placed before the late row of its previous attempt arrives', () => {
    const ledger = new UsageLedger();
    ledger.reserve('a', 'w1', {}, 1);
    // Attempt 1 failed and went back to PENDING; the placer saw the committed row and placed
    // attempt 2 before the completion handler got to record it.
    ledger.reserve('a', 'w2', {}, 2);
    ledger.record(row('a', 'PENDING', 1));
    expect(ledger.usage().get('w1')).toBeUndefined();
    expect(ledger.usage().get('w2')?.slots).toBe(1);
    ledger.record(row('a', 'COMPLETED', 2));
    expect(ledger.size).toBe(0);
  });

  it('does not take a slot back for an active row recorded after its end', () => {
    const ledger = new UsageLedger();
    ledger.reserve('a', 'w1', {}, 1);
    ledger.record(row('a', 'COMPLETED', 1));
    ledger.record(row('a', 'SCHEDULED', 1)); // the placement's handler resumed late
    expect(ledger.size).toBe(0);
  });

  it('cancels only the reservation of the attempt that did not commit', () => {
    const ledger = new UsageLedger();
    ledger.reserve('a', 'w1', {}, 2);
    ledger.cancel('a', 1);
    expect(ledger.has('a')).toBe(true);
    ledger.cancel('a', 2);
    expect(ledger.has('a')).toBe(false);
    expect(ledger.usage().size).toBe(0);
  });
});

describe('UsageLedger resync', () => {
  const active = (id: string, worker: string, attempt = 1) => ({
    id,
    worker_id: worker,
    attempt,
    requirements: {},
  });

  it('drops old entries PostgreSQL does not show and adds active rows it lacks', () => {
    let now = 0;
    const ledger = new UsageLedger(() => now);
    ledger.reserve('leaked', 'w1', {}, 1);
    now = 60_000;
    expect(ledger.correct([active('missing', 'w2')], now)).toBe(2);
    expect(ledger.has('leaked')).toBe(false);
    expect(ledger.usage().get('w2')?.slots).toBe(1);
    expect(ledger.correct([active('missing', 'w2')], now)).toBe(0);
  });

  it('keeps a reservation too young for the query to have seen', () => {
    let now = 60_000;
    const ledger = new UsageLedger(() => now);
    ledger.reserve('fresh', 'w1', {}, 1); // its placement may not have committed yet
    now += 10;
    expect(ledger.correct([], now)).toBe(0);
    expect(ledger.has('fresh')).toBe(true);
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
