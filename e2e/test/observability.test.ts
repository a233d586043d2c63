import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from '@niyanta/testing';
import { startOtlpReceiver } from './support/otlp-receiver.js';
import type { OtlpReceiver, ReceivedSpan } from './support/otlp-receiver.js';
import { startSystem } from './support/system.js';
import type { System } from './support/system.js';

const MODULES = join(__dirname, 'fixtures', 'workloads', 'traced');
const WORKER = 'e2e-observed';

/** The value of a sample line `name{labels} value` (the sum over every matching series). */
function sampleSum(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  let found = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (match === null || match[1] !== name) continue;
    const set = match[2] ?? '';
    if (!Object.entries(labels).every(([k, v]) => set.includes(`${k}="${v}"`))) continue;
    sum += Number(match[3]);
    found = true;
  }
  return found ? sum : Number.NaN;
}

async function scrape(url: string): Promise<string> {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
  return res.text();
}

describe('observability across every service', () => {
  let sys: System;
  let otlp: OtlpReceiver;
  let dir: string;
  let envFile: string;

  beforeAll(async () => {
    otlp = await startOtlpReceiver();
    dir = await mkdtemp(join(tmpdir(), 'niyanta-observability-'));
    envFile = join(dir, 'niyanta.env');
    await writeFile(envFile, 'LOG_LEVEL=info\n');
    sys = await startSystem({
      workers: [
        // Its own level (no ENV_FILE): its debug lines inside the run span show the trace ids.
        { id: WORKER, env: { WORKLOAD_MODULES: MODULES, ENV_FILE: '', LOG_LEVEL: 'debug' } },
      ],
      env: {
        OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
        OTEL_BSP_SCHEDULE_DELAY: '100',
        ENV_FILE: envFile,
      },
    });
  }, 120_000);

  afterAll(async () => {
    await sys?.[Symbol.asyncDispose]();
    await otlp?.[Symbol.asyncDispose]();
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it('joins the spans of one workload from every service into one trace', async () => {
    const workload = await sys.submit({ type: 'traced', input: { steps: 2 } });
    await sys.waitForStatus(workload.id, 'COMPLETED');

    const run = await waitFor(
      () =>
        otlp.spans.find(
          (s) => s.name === 'run' && s.attributes['niyanta.workload.id'] === workload.id,
        ),
      { timeoutMs: 15_000, message: 'the run span to be exported' },
    );
    const wanted = [
      'POST /v1/workloads',
      'publish submission',
      'ingest',
      'place',
      'assign',
      'run',
      'step',
      'publish checkpoint',
      'checkpoint',
      'publish completionBatch',
      'complete',
    ];
    const inTrace = () => otlp.spans.filter((s) => s.traceId === run.traceId);
    const trace = await waitFor(
      () => {
        const spans = inTrace();
        return wanted.every((name) => spans.some((s) => s.name === name)) ? spans : undefined;
      },
      {
        timeoutMs: 15_000,
        message: `every span of the trace (have: ${inTrace()
          .map((s) => s.name)
          .join(', ')})`,
      },
    );
    expect(otlp.refused).toEqual([]);

    const byId = new Map(trace.map((s) => [s.spanId, s]));
    const named = (name: string): ReceivedSpan[] => trace.filter((s) => s.name === name);
    const parentOf = (s: ReceivedSpan) => byId.get(s.parentSpanId);
    /** Every span named `child` has a parent named `parent`, from service `service`. */
    const expectLink = (child: string, parent: string, service: string) => {
      for (const span of named(child)) {
        expect({ span: child, service: span.service, parent: parentOf(span)?.name }).toEqual({
          span: child,
          service,
          parent,
        });
      }
    };

    const [root] = named('POST /v1/workloads');
    expect(root).toMatchObject({ service: 'api', parentSpanId: '' });
    expect(named('POST /v1/workloads')).toHaveLength(1);
    expectLink('publish submission', 'POST /v1/workloads', 'api');
    expectLink('ingest', 'publish submission', 'scheduler');
    expectLink('place', 'ingest', 'scheduler');
    expectLink('assign', 'place', 'scheduler');
    expectLink('run', 'assign', 'worker');
    expectLink('step', 'run', 'worker');
    expectLink('publish checkpoint', 'step', 'worker');
    expectLink('checkpoint', 'publish checkpoint', 'checkpoint');
    expectLink('publish completionBatch', 'run', 'worker');
    expectLink('complete', 'publish completionBatch', 'scheduler');
    expect(named('step')).toHaveLength(2);
    expect(named('checkpoint')).toHaveLength(2);
    // One trace: every span but the root has its parent in it.
    for (const span of trace) {
      if (span !== root) expect(parentOf(span)?.traceId).toBe(run.traceId);
    }
    // Log lines written inside a span carry its ids.
    const worker = sys.services.get(WORKER)!;
    await worker.waitForLine(new RegExp(`"trace_id":"${run.traceId}","span_id":"[0-9a-f]{16}"`));
  });

  it('serves metrics on every service that name the platform and move with the work', async () => {
    const urls = sys.metricsUrls;
    expect([...urls.keys()].sort()).toEqual(
      ['api', 'checkpoint', 'health-monitor', 'scheduler', WORKER].sort(),
    );
    const before = new Map<string, string>();
    for (const [name, url] of urls) before.set(name, await scrape(url));
    const releaseFile = join(dir, 'release-metrics');
    const workload = await sys.submit({ type: 'traced', input: { steps: 3, releaseFile } });
    // Its checkpoints are stored while it runs (those of an ended workload are discarded).
    await waitFor(
      async () => {
        const res = await sys.api<{ items: unknown[] }>(
          'GET',
          `/v1/workloads/${workload.id}/checkpoints`,
        );
        return res.status === 200 && res.body.items.length > 0 ? true : undefined;
      },
      { timeoutMs: 15_000, message: 'a stored checkpoint of the running workload' },
    );
    await writeFile(releaseFile, '');
    await sys.waitForStatus(workload.id, 'COMPLETED');

    const moved = async (
      service: string,
      name: string,
      labels: Record<string, string> = {},
    ): Promise<void> => {
      const was = sampleSum(before.get(service)!, name, labels);
      await waitFor(
        async () => {
          const now = sampleSum(await scrape(urls.get(service)!), name, labels);
          return now > (Number.isNaN(was) ? 0 : was) ? now : undefined;
        },
        { timeoutMs: 15_000, message: `${service} ${name} ${JSON.stringify(labels)} to grow` },
      );
    };
    await moved('api', 'niyanta_api_http_request_duration_seconds_count', {
      route: '/v1/workloads',
      status: '201',
    });
    await moved('api', 'niyanta_messages_published_total', { kind: 'submission' });
    await moved('scheduler', 'niyanta_messages_consumed_total', { consumer: 'scheduler-ingest' });
    await moved('scheduler', 'niyanta_placements_total');
    await moved('scheduler', 'niyanta_placement_cycle_duration_seconds_count');
    await moved('scheduler', 'niyanta_submit_to_start_seconds_count', { type: 'traced' });
    await moved('scheduler', 'niyanta_completions_total', {
      outcome: 'succeeded',
      type: 'traced',
    });
    await moved('health-monitor', 'niyanta_heartbeats_total');
    await moved('checkpoint', 'niyanta_checkpoints_total', { storage: 'inline' });
    await moved('checkpoint', 'niyanta_checkpoint_bytes_total', { storage: 'inline' });
    await moved(WORKER, 'niyanta_messages_published_total', { kind: 'checkpoint' });

    const scheduler = await scrape(urls.get('scheduler')!);
    expect(sampleSum(scheduler, 'niyanta_leader', { service: 'scheduler' })).toBe(1);
    for (const name of ['niyanta_retries_total', 'niyanta_queue_depth']) {
      expect(scheduler).toContain(`# TYPE ${name} `);
    }
    expect(
      sampleSum(scheduler, 'niyanta_consumer_pending_messages', { consumer: 'scheduler-ingest' }),
    ).toBeGreaterThanOrEqual(0);
    const monitor = await scrape(urls.get('health-monitor')!);
    expect(sampleSum(monitor, 'niyanta_leader', { service: 'health-monitor' })).toBe(1);
    expect(
      sampleSum(monitor, 'niyanta_worker_heartbeat_age_seconds', { worker: WORKER }),
    ).toBeGreaterThanOrEqual(0);
    expect(monitor).toContain('# TYPE niyanta_dead_workers_total counter');
    const worker = await scrape(urls.get(WORKER)!);
    for (const name of ['niyanta_blob_uploads_total', 'niyanta_worker_runs_active']) {
      expect(worker).toContain(`# TYPE ${name} `);
    }
    expect(
      sampleSum(worker, 'niyanta_consumer_pending_messages', {
        consumer: `worker-assign-${WORKER}`,
      }),
    ).toBeGreaterThanOrEqual(0);
    // The queue depth follows the queue: a workload that waits shows up by tenant and type.
    const waiting = await sys.submit({ type: 'no-worker-has-it', input: {} });
    await waitFor(
      async () =>
        sampleSum(await scrape(urls.get('scheduler')!), 'niyanta_queue_depth', {
          type: 'no-worker-has-it',
          status: 'PENDING',
        }) >= 1
          ? true
          : undefined,
      { timeoutMs: 15_000, message: 'the waiting workload in niyanta_queue_depth' },
    );
    await sys.api('POST', `/v1/workloads/${waiting.id}/cancel`);
  });

  it('takes a new LOG_LEVEL from ENV_FILE on SIGHUP without a restart', async () => {
    const scheduler = sys.services.get('scheduler')!;
    const pid = scheduler.pid;
    const debugLines = () => scheduler.lines().filter((l) => l.includes('"level":20')).length;
    expect(debugLines()).toBe(0);
    await writeFile(envFile, '# reloaded\nLOG_LEVEL=debug\n');
    scheduler.signal('SIGHUP');
    await scheduler.waitForLine(/configuration reloaded on SIGHUP/, 10_000);
    // A placement cycle logs at debug: some work makes one.
    const workload = await sys.submit({ type: 'traced', input: { steps: 1 } });
    await sys.waitForStatus(workload.id, 'COMPLETED');
    await waitFor(() => (debugLines() > 0 ? true : undefined), {
      timeoutMs: 10_000,
      message: 'a debug line from the scheduler after SIGHUP',
    });
    expect(scheduler.pid).toBe(pid);
    // The other services were not signalled: they stay at info.
    const monitor = sys.services.get('health-monitor')!;
    expect(monitor.lines().some((l) => l.includes('"level":20'))).toBe(false);
  });
});
