import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Niyanta } from '@niyanta/client';
import { waitFor } from '@niyanta/testing';
import { sql } from 'kysely';
import type { WorkloadV1 } from '@niyanta/messages';
import { E2E_ROOT_KEY, startSystem } from './support/system.js';
import type { System } from './support/system.js';

const MODULES = join(__dirname, 'fixtures', 'workloads', 'graph');

let sys: System;

beforeAll(async () => {
  sys = await startSystem({
    workers: [{ id: 'e2e-graph', slots: 4, env: { WORKLOAD_MODULES: MODULES } }],
  });
}, 120_000);

afterAll(async () => {
  await sys?.[Symbol.asyncDispose]();
});

interface BatchAnswer {
  items: WorkloadV1[];
  refs: Record<string, string>;
}

async function submitGraph(workloads: Record<string, unknown>[]): Promise<BatchAnswer> {
  const res = await sys.api<BatchAnswer>('POST', '/v1/workloads/batch', { workloads });
  if (res.status !== 201 && res.status !== 202)
    throw new Error(`batch answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body;
}

const step = (ref: string, dependsOn: string[] = [], extra: Record<string, unknown> = {}) => ({
  type: 'step',
  ref,
  input: { name: ref, ...(extra.fail === true ? { fail: true } : {}) },
  ...(dependsOn.length > 0 ? { dependsOn } : {}),
  maxAttempts: 1,
});

describe('dependencies', () => {
  it('runs a diamond submitted in one batch in order, the last step seeing both results', async () => {
    // Listed dependents first: the API orders the graph itself.
    const { refs, items } = await submitGraph([
      step('d', ['b', 'c']),
      step('b', ['a']),
      step('c', ['a']),
      step('a'),
    ]);
    expect(Object.keys(refs).sort()).toEqual(['a', 'b', 'c', 'd']);
    expect(items.map((w) => w.id)).toEqual([refs.d, refs.b, refs.c, refs.a]);

    const d = await sys.waitForStatus(refs.d!, ['COMPLETED', 'FAILED', 'CANCELLED']);
    expect(d.status).toBe('COMPLETED');
    const done = new Map<string, WorkloadV1>();
    for (const ref of ['a', 'b', 'c'])
      done.set(ref, await sys.waitForStatus(refs[ref]!, 'COMPLETED'));
    const t = (w: WorkloadV1, f: 'startedAt' | 'finishedAt') => Date.parse(w[f]!);
    for (const ref of ['b', 'c']) {
      expect(t(done.get(ref)!, 'startedAt')).toBeGreaterThanOrEqual(
        t(done.get('a')!, 'finishedAt'),
      );
      expect(t(d, 'startedAt')).toBeGreaterThanOrEqual(t(done.get(ref)!, 'finishedAt'));
    }
    const saw = (d.result as { saw: Record<string, unknown> }).saw;
    const bResult = {
      name: 'b',
      saw: { [refs.a!]: { name: 'a', saw: {} }, a: { name: 'a', saw: {} } },
    };
    expect(saw[refs.b!]).toEqual(bResult);
    expect(saw.b).toEqual(bResult);
    expect((saw.c as { name: string }).name).toBe('c');
    expect(saw[refs.c!]).toEqual(saw.c);

    // The graph, both ways.
    expect(d.dependsOn).toEqual([refs.b, refs.c]);
    const a = (await sys.api<WorkloadV1>('GET', `/v1/workloads/${refs.a}`)).body;
    expect([...(a.dependents ?? [])].sort()).toEqual([refs.b, refs.c].sort());
    expect(a.dependsOn).toBeUndefined();
  }, 60_000);

  it('cancels the dependents of a failed step with DEPENDENCY_FAILED, down the graph', async () => {
    const { refs } = await submitGraph([
      step('a'),
      step('b', ['a'], { fail: true }),
      step('c', ['a']),
      step('d', ['b', 'c']),
      step('e', ['d']),
      { ...step('f', ['b']), onDependencyFailure: 'run' },
    ]);
    const b = await sys.waitForStatus(refs.b!, ['FAILED', 'COMPLETED']);
    expect(b.status).toBe('FAILED');
    const d = await sys.waitForStatus(refs.d!, ['CANCELLED', 'COMPLETED', 'FAILED']);
    expect(d.status).toBe('CANCELLED');
    expect(d.error).toMatchObject({ code: 'DEPENDENCY_FAILED' });
    expect(d.error?.message).toBe(`dependency ${refs.b} ended FAILED`);
    const e = await sys.waitForStatus(refs.e!, ['CANCELLED', 'COMPLETED', 'FAILED']);
    expect(e.status).toBe('CANCELLED');
    expect(e.error?.message).toBe(`dependency ${refs.d} ended CANCELLED`);
    // A dependent of the failed b submitted now is cancelled at ingest: the answers say so.
    const late = await sys.api<WorkloadV1>('POST', '/v1/workloads', {
      type: 'step',
      input: { name: 'late' },
      dependsOn: [refs.b],
    });
    expect(late.status).toBe(201);
    expect(late.body).toMatchObject({
      status: 'CANCELLED',
      error: { code: 'DEPENDENCY_FAILED', message: `dependency ${refs.b} ended FAILED` },
    });
    const lateBatch = await submitGraph([step('g', [refs.b!]), step('h', ['g'])]);
    for (const w of lateBatch.items)
      expect(w).toMatchObject({ status: 'CANCELLED', error: { code: 'DEPENDENCY_FAILED' } });
    // c does not depend on b: it runs. f runs anyway, seeing b's (absent) result as null.
    expect((await sys.waitForStatus(refs.c!, ['COMPLETED', 'FAILED'])).status).toBe('COMPLETED');
    const f = await sys.waitForStatus(refs.f!, ['COMPLETED', 'FAILED', 'CANCELLED']);
    expect(f.status).toBe('COMPLETED');
    expect((f.result as { saw: Record<string, unknown> }).saw).toEqual({
      [refs.b!]: null,
      b: null,
    });
  }, 60_000);

  it('keeps a workload PENDING with its reason while it waits, and refuses bad graphs with 400s', async () => {
    // A dependency that no worker runs keeps its dependent waiting.
    const { refs } = await submitGraph([
      { type: 'nobody-runs-this', ref: 'x', input: {} },
      step('y', ['x']),
    ]);
    const y = (await sys.api<WorkloadV1>('GET', `/v1/workloads/${refs.y}`)).body;
    expect(y.status).toBe('PENDING');
    expect(y.pendingReason).toBe('waiting for 1 of 1 dependencies');
    expect(y.onDependencyFailure).toBe('cancel');

    const bad = async (workloads: Record<string, unknown>[]) => {
      const res = await sys.api<{ errors: { path: string; message: string }[] }>(
        'POST',
        '/v1/workloads/batch',
        { workloads },
      );
      expect(res.status).toBe(400);
      return res.body.errors;
    };
    const unknown = '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b';
    expect(await bad([step('p'), step('q', ['p', refs.x!, unknown])])).toEqual([
      expect.objectContaining({ path: '/workloads/1/dependsOn/2' }),
    ]);
    expect(await bad([step('p'), step('p')])).toEqual([
      expect.objectContaining({ path: '/workloads/1/ref' }),
    ]);
    expect(await bad([step('p', ['nope'])])).toEqual([
      expect.objectContaining({ path: '/workloads/0/dependsOn/0' }),
    ]);
    const cycle = await bad([step('p', ['r']), step('q', ['p']), step('r', ['q'])]);
    expect(cycle).toHaveLength(1);
    expect(cycle[0]!.message).toContain('cycle');
    for (const ref of ['"p"', '"q"', '"r"']) expect(cycle[0]!.message).toContain(ref);
    const single = await sys.api<{ errors: { path: string }[] }>('POST', '/v1/workloads', {
      type: 'step',
      input: { name: 'z' },
      dependsOn: [unknown],
    });
    expect(single.status).toBe(400);
    expect(single.body.errors).toEqual([expect.objectContaining({ path: '/dependsOn/0' })]);
  }, 60_000);
});

describe('dependencies across a scheduler SIGKILL', () => {
  it('runs a chain to its end once each, the scheduler killed while the first step runs', async () => {
    const { refs } = await submitGraph([
      { ref: 'a', type: 'sleep', input: { durationMs: 1500, steps: 3 }, maxAttempts: 1 },
      step('b', ['a']),
      step('c', ['b']),
    ]);
    await sys.waitForStatus(refs.a!, 'RUNNING');
    await sys.restartService('scheduler');
    const c = await sys.waitForStatus(refs.c!, ['COMPLETED', 'FAILED', 'CANCELLED'], 60_000);
    expect(c.status).toBe('COMPLETED');
    expect((c.result as { saw: Record<string, unknown> }).saw.b).toMatchObject({ name: 'b' });
    const { rows } = await sql<{ workload_id: string; n: number }>`
      select workload_id::text, count(*)::int as n from workload_events
      where workload_id = any(${[refs.a, refs.b, refs.c]}::uuid[]) and to_status = 'COMPLETED'
      group by workload_id`.execute(sys.db);
    expect(rows.map((r) => r.n)).toEqual([1, 1, 1]);
  }, 90_000);
});

describe('dependencies through the client and the CLI', () => {
  it('submits a graph with the client, and the CLI submits a dependent and shows the graph', async () => {
    const nt = new Niyanta({ url: sys.apiUrl, apiKey: E2E_ROOT_KEY });
    const { refs } = await nt.submitGraph([step('second', ['first']), step('first')]);
    const second = await refs.second!.result();
    expect(second).toEqual({
      name: 'second',
      saw: {
        [refs.first!.id]: { name: 'first', saw: {} },
        first: { name: 'first', saw: {} },
      },
    });

    const cli = (args: string[]) =>
      promisify(execFile)(
        process.execPath,
        [resolve(__dirname, '../../libs/cli/bin/niyanta.js'), ...args],
        {
          env: {
            PATH: process.env.PATH ?? '',
            NIYANTA_URL: sys.apiUrl,
            NIYANTA_API_KEY: E2E_ROOT_KEY,
          },
          timeout: 60_000,
        },
      );
    const submitted = await cli([
      'submit',
      'step',
      '--input',
      '{"name":"third"}',
      '--depends-on',
      refs.second!.id,
      '--on-dependency-failure',
      'run',
      '-o',
      'json',
    ]);
    const third = JSON.parse(submitted.stdout) as WorkloadV1;
    await sys.waitForStatus(third.id, 'COMPLETED');
    const shown = await cli(['get', third.id]);
    expect(shown.stdout).toMatch(
      new RegExp(`depends on\\s+${refs.second!.id} \\(runs even if one fails\\)`),
    );
    const parent = await cli(['get', refs.second!.id]);
    expect(parent.stdout).toMatch(new RegExp(`dependents\\s+${third.id}`));
  }, 60_000);
});

describe('bulk commands', () => {
  it('cancels 500 held workloads with one filtered call', async () => {
    const workloads = Array.from({ length: 500 }, (_, i) => ({
      type: 'held-for-bulk',
      input: { i },
      labels: { batch: 'bulk-500' },
    }));
    const res = await sys.api<BatchAnswer>('POST', '/v1/workloads/batch', { workloads });
    expect([201, 202]).toContain(res.status);
    const count = async (status: string) =>
      (
        await sys.api<{ items: WorkloadV1[] }>(
          'GET',
          `/v1/workloads?type=held-for-bulk&status=${status}&limit=500`,
        )
      ).body.items.length;
    const until = async (status: string) =>
      waitFor(async () => ((await count(status)) === 500 ? 500 : undefined), {
        timeoutMs: 60_000,
        intervalMs: 100,
        message: `500 workloads ${status}`,
      });
    expect(await until('PENDING')).toBe(500);
    const cancel = await sys.api<{ matched: number; changed: number }>(
      'POST',
      '/v1/workloads/cancel',
      { filter: { type: 'held-for-bulk', status: 'PENDING' }, reason: 'e2e bulk' },
    );
    expect(cancel.status).toBe(202);
    expect(cancel.body).toMatchObject({ matched: 500, changed: 500 });
    expect(await until('CANCELLED')).toBe(500);
  }, 90_000);
});
