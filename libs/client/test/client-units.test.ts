import { defineWorkload } from '@niyanta/worker-sdk';
import type { WorkloadContext } from '@niyanta/worker-sdk';
import { Niyanta, NiyantaApiError } from '@niyanta/client';
import type { StatusEvent, WorkloadV1 } from '@niyanta/client';
import { isLaterEventId, isNewStatus } from '../src/event-stream.js';
import { parseRetryAfterMs, retryDelayMs, DEFAULT_RETRY } from '../src/retry.js';
import { readSse } from '../src/sse.js';

function streamOf(...chunks: string[]): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return new ReadableStream({
    start(c) {
      for (const chunk of chunks) c.enqueue(enc.encode(chunk));
      c.close();
    },
  });
}

describe('readSse', () => {
  it('parses events split across chunks, multi-line data and CRLF, skipping comments', async () => {
    const out = [];
    for await (const m of readSse(
      streamOf(
        ': keep-alive\n\nevent: sta',
        'tus\r\ndata: {"a":\r',
        '\ndata: 1}\r\n\r\ndata: x\n\n',
      ),
    ))
      out.push(m);
    expect(out).toEqual([
      { event: 'status', data: '{"a":\n1}', id: undefined },
      { event: 'message', data: 'x', id: undefined },
    ]);
  });
});

describe('isNewStatus', () => {
  const ev = (toStatus: StatusEvent['toStatus'], attempt: number, updatedAt: string) =>
    ({ type: 'status', toStatus, workload: { attempt, updatedAt } as WorkloadV1 }) as StatusEvent;
  it('drops the repeat a reconnect starts with and stale events, keeps a retry', () => {
    const seen = { status: 'RUNNING' as const, attempt: 1, updatedAt: '2026-01-01T00:00:02Z' };
    expect(isNewStatus(undefined, ev('PENDING', 0, '2026-01-01T00:00:00Z'))).toBe(true);
    expect(isNewStatus(seen, ev('RUNNING', 1, '2026-01-01T00:00:03Z'))).toBe(false);
    expect(isNewStatus(seen, ev('SCHEDULED', 1, '2026-01-01T00:00:01Z'))).toBe(false);
    expect(isNewStatus(seen, ev('RUNNING', 2, '2026-01-01T00:00:05Z'))).toBe(true);
    expect(isNewStatus(seen, ev('COMPLETED', 1, '2026-01-01T00:00:05Z'))).toBe(true);
  });
});

describe('isLaterEventId', () => {
  it('orders decimal event ids by value, past 2^53', () => {
    expect(isLaterEventId('1', undefined)).toBe(true);
    expect(isLaterEventId('10', '9')).toBe(true);
    expect(isLaterEventId('9', '10')).toBe(false);
    expect(isLaterEventId('7', '7')).toBe(false);
    expect(isLaterEventId('9007199254740993', '9007199254740992')).toBe(true);
  });
});

describe('retry delays', () => {
  it('honours Retry-After in seconds or as a date, capped by maxDelayMs', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfterMs('2', now)).toBe(2000);
    expect(parseRetryAfterMs('Thu, 01 Jan 2026 00:00:05 GMT', now)).toBe(5000);
    expect(parseRetryAfterMs('soon', now)).toBeUndefined();
    expect(retryDelayMs({ ...DEFAULT_RETRY, maxDelayMs: 1000 }, 0, '120', now)).toBe(1000);
    const backoff = retryDelayMs(DEFAULT_RETRY, 2, null, now);
    expect(backoff).toBeGreaterThanOrEqual(500);
    expect(backoff).toBeLessThanOrEqual(1000);
  });
});

describe('Niyanta', () => {
  it('stops at the first answer that is not 429/503, as a NiyantaApiError', async () => {
    const answers = [
      new Response('', { status: 503, headers: { 'retry-after': '0' } }),
      new Response(
        JSON.stringify({
          type: 'https://niyanta.dev/problems/not-found',
          title: 'Not Found',
          status: 404,
          detail: 'no workload 1',
        }),
        { status: 404, headers: { 'content-type': 'application/problem+json' } },
      ),
    ];
    const nt = new Niyanta({ url: 'http://api.test/', fetch: async () => answers.shift()! });
    const err = (await nt.get('1').catch((e: unknown) => e)) as NiyantaApiError;
    expect(err).toBeInstanceOf(NiyantaApiError);
    expect([err.status, err.code, err.title, err.detail]).toEqual([
      404,
      'not-found',
      'Not Found',
      'no workload 1',
    ]);
    expect(answers).toHaveLength(0);
  });

  it('waits for a SUBMITTED (202) workload to be ingested before following it', async () => {
    const w = { id: 'w1', status: 'SUBMITTED', attempt: 0, updatedAt: '2026-01-01T00:00:00Z' };
    const done = {
      ...w,
      status: 'COMPLETED',
      attempt: 1,
      result: { ok: true },
      updatedAt: '2026-01-01T00:00:01Z',
    };
    const problem404 = JSON.stringify({ type: 'x/not-found', title: 'Not Found', status: 404 });
    const answers = [
      new Response(JSON.stringify(w), { status: 202 }),
      new Response(problem404, { status: 404 }),
      new Response(
        `event: status\ndata: ${JSON.stringify({ workloadId: 'w1', workload: done, fromStatus: null, toStatus: 'COMPLETED', reason: null })}\n\n`,
        { headers: { 'content-type': 'text/event-stream' } },
      ),
    ];
    const nt = new Niyanta({
      url: 'http://api.test',
      fetch: async () => answers.shift()!,
      reconnect: { baseDelayMs: 1 },
    });
    const handle = await nt.submit({ type: 'noop', input: {} });
    await expect(handle.result()).resolves.toEqual({ ok: true });
    // A workload that was never SUBMITTED: its 404 is final.
    const gone = new Niyanta({
      url: 'http://api.test',
      fetch: async () => new Response(problem404, { status: 404 }),
    });
    await expect(gone.workload('w2').result()).rejects.toBeInstanceOf(NiyantaApiError);
  });

  it('types submit(definition, input) from the definition', () => {
    const resize = defineWorkload({
      type: 'resize',
      input: { type: 'object' },
      run: (_ctx: WorkloadContext, input: { url: string; width: number }) => ({
        out: `${input.url}@${input.width}`,
      }),
    });
    const nt = new Niyanta({ url: 'http://api.test', fetch: async () => new Response('{}') });
    const typed = async () => {
      const h = await nt.submit(resize, { url: 'a', width: 1 }, { priority: 5 });
      const out: string = (await h.result()).out;
      // @ts-expect-error width must be a number
      await nt.submit(resize, { url: 'a', width: '1' });
      // @ts-expect-error url is required
      await nt.submit(resize, { width: 1 });
      return out;
    };
    expect(typeof typed).toBe('function');
  });
});
