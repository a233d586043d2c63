import { InsertsInFlight } from '../src/inserts-in-flight.js';

describe('InsertsInFlight', () => {
  it('knows an id until its insert settles, and lets a waiter resume then, failed or not', async () => {
    const inserts = new InsertsInFlight();
    let fail!: (err: Error) => void;
    const insert = new Promise<void>((_resolve, reject) => (fail = reject));
    inserts.track(['a', 'b'], insert);
    expect(inserts.has('a')).toBe(true);
    expect(inserts.has('c')).toBe(false);
    let resumed = false;
    const waiting = inserts.wait(['a', 'c']).then(() => (resumed = true));
    await new Promise((r) => setImmediate(r));
    expect(resumed).toBe(false);
    fail(new Error('rolled back'));
    await waiting;
    expect(inserts.has('a')).toBe(false);
    expect(inserts.has('b')).toBe(false);
  });
});
