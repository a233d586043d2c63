import { LOG_LINE_MAX_CHARS, LOG_MAX_LINES, LogBuffer } from '../src/log-buffer.js';
import type { LogLine } from '../src/log-buffer.js';
import { createThrottle } from '../src/throttle.js';

async function waitFor(cond: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

describe('createThrottle', () => {
  it('runs the first call at once, collapses calls inside the interval into one at its end', async () => {
    const times: number[] = [];
    const t = createThrottle(50, () => times.push(Date.now()));
    const t0 = Date.now();
    t.trigger();
    expect(times).toHaveLength(1);
    t.trigger();
    t.trigger();
    t.trigger();
    expect(times).toHaveLength(1);
    await waitFor(() => times.length === 2);
    expect(times[1]! - t0).toBeGreaterThanOrEqual(45);
    t.trigger();
    t.flush();
    expect(times).toHaveLength(3);
    t.cancel();
  });

  it('drops a pending call on cancel', async () => {
    let calls = 0;
    const t = createThrottle(20, () => calls++);
    t.trigger();
    t.trigger();
    t.cancel();
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(calls).toBe(1);
  });
});

describe('LogBuffer', () => {
  it('sends lines in order, in batches of at most LOG_MAX_LINES, splitting long lines', async () => {
    const sent: LogLine[][] = [];
    const buffer = new LogBuffer(
      async (lines) => void sent.push(lines),
      (err) => {
        throw err;
      },
    );
    for (let i = 0; i < LOG_MAX_LINES + 5; i++) buffer.push('stdout', `line ${i}`);
    buffer.push('stderr', 'x'.repeat(LOG_LINE_MAX_CHARS + 10));
    // The first full batch goes without waiting for the timer.
    await waitFor(() => sent.length === 1);
    expect(sent[0]).toHaveLength(LOG_MAX_LINES);
    await buffer.flush();
    expect(sent).toHaveLength(2);
    const all = sent.flat();
    expect(all.slice(0, 3).map((l) => l.line)).toEqual(['line 0', 'line 1', 'line 2']);
    expect(all.at(-2)).toMatchObject({ stream: 'stderr' });
    expect(all.at(-2)!.line).toHaveLength(LOG_LINE_MAX_CHARS);
    expect(all.at(-1)).toMatchObject({ stream: 'stderr', line: 'x'.repeat(10) });
  });

  it('flushes a few lines after the flush interval, and reports a failed send', async () => {
    const sent: LogLine[][] = [];
    const failures: number[] = [];
    let fail = true;
    const buffer = new LogBuffer(
      async (lines) => {
        if (fail) throw new Error('broker down');
        sent.push(lines);
      },
      (_err, lines) => failures.push(lines.length),
    );
    buffer.push('info', 'a');
    await waitFor(() => failures.length === 1);
    fail = false;
    buffer.push('info', 'b');
    await waitFor(() => sent.length === 1);
    expect(sent[0]!.map((l) => l.line)).toEqual(['b']);
  });
});
