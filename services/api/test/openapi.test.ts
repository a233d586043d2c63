import { createLogger } from '@niyanta/runtime';
import { validateHttp } from '@niyanta/messages';
import {
  Connections,
  SseRegistry,
  IngestWaiters,
  buildOpenApi,
  createApp,
  createMetrics,
  identityContext,
} from '../src/index.js';
import type { ApiContext } from '../src/index.js';
import { submittedWorkload } from '../src/submitted-workload.js';
import { toSubmission } from '../src/submissions.js';

function offlineContext(): ApiContext {
  const log = createLogger('api-test', 'silent');
  const connections = new Connections(log);
  return {
    ...identityContext(connections, log, {
      enabled: false,
      rootKey: undefined,
      metricsAuth: false,
    }),
    submitWaitMs: 10,
    log,
    connections,
    waiters: new IngestWaiters(),
    streams: new SseRegistry(),
    metrics: createMetrics(),
  };
}

type Obj = Record<string, unknown>;

function collectRefs(value: unknown, out: string[] = []): string[] {
  if (Array.isArray(value)) for (const v of value) collectRefs(v, out);
  else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string') out.push(v);
      else collectRefs(v, out);
    }
  }
  return out;
}

function resolvePointer(doc: unknown, ref: string): unknown {
  if (!ref.startsWith('#/')) return undefined;
  let node: unknown = doc;
  for (const raw of ref.slice(2).split('/')) {
    const token = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Obj)[token];
  }
  return node;
}

describe('OpenAPI document', () => {
  const doc = buildOpenApi() as Obj;

  it('is OpenAPI 3.1 with the HTTP schemas and the shared definitions as components', () => {
    expect(doc['openapi']).toBe('3.1.0');
    const schemas = (doc['components'] as Obj)['schemas'] as Obj;
    for (const name of [
      'Workload',
      'WorkloadSubmission',
      'WorkloadBatch',
      'WorkloadList',
      'WorkloadBatchResponse',
      'Worker',
      'WorkerList',
      'Problem',
      'Requirements',
      'Labels',
      'WorkloadError',
      'Progress',
    ]) {
      expect(schemas[name]).toBeDefined();
    }
    expect(JSON.stringify(doc)).not.toContain('"$id"');
    expect(JSON.stringify(doc)).not.toContain('"$schema"');
  });

  it('resolves every $ref inside the document', () => {
    const refs = collectRefs(doc);
    expect(refs.length).toBeGreaterThan(20);
    const unresolved = refs.filter((ref) => resolvePointer(doc, ref) === undefined);
    expect(unresolved).toEqual([]);
    expect(refs.every((r) => r.startsWith('#/components/schemas/'))).toBe(true);
  });

  it('documents every route of the app, with its path parameters', () => {
    const app = createApp(offlineContext());
    const paths = doc['paths'] as Record<string, Record<string, Obj>>;
    const routes = app.routes.filter((r) => r.method !== 'ALL');
    expect(routes.length).toBeGreaterThan(10);
    const missing: string[] = [];
    for (const route of routes) {
      const path = route.path.replace(/:([A-Za-z]+)/g, '{$1}');
      const op = paths[path]?.[route.method.toLowerCase()];
      if (op === undefined) {
        missing.push(`${route.method} ${path}`);
        continue;
      }
      for (const param of path.match(/\{([A-Za-z]+)\}/g) ?? []) {
        const name = param.slice(1, -1);
        const params = (op['parameters'] as { name: string; in: string }[] | undefined) ?? [];
        if (!params.some((p) => p.name === name && p.in === 'path'))
          missing.push(`${route.method} ${path} parameter ${name}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('is served at /openapi.json, and Swagger UI at /docs, without NATS or PostgreSQL', async () => {
    const app = createApp(offlineContext());
    const res = await app.request('/openapi.json');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(doc);
    const docs = await app.request('/docs');
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain('/openapi.json');
  });
});

describe('offline behaviour', () => {
  it('answers unknown routes with a 404 problem', async () => {
    const res = await createApp(offlineContext()).request('/v2/nothing');
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(await res.json()).toMatchObject({ status: 404, instance: '/v2/nothing' });
  });

  it('answers 503 with Retry-After while NATS and PostgreSQL are not connected', async () => {
    const app = createApp(offlineContext());
    const res = await app.request('/v1/workloads', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'noop', input: {} }),
    });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('2');
    const ready = await app.request('/readyz');
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({
      status: 'not ready',
      checks: { nats: false, postgres: false },
    });
    expect((await app.request('/healthz')).status).toBe(200);
  });

  it('asks every /v1 request for a key, and /metrics, /openapi.json and /docs too under METRICS_AUTH', async () => {
    const ctx = offlineContext();
    const open = createApp(ctx);
    const locked = createApp({
      ...ctx,
      ...identityContext(ctx.connections, ctx.log, {
        enabled: true,
        rootKey: undefined,
        metricsAuth: true,
      }),
    });
    const unlocked = createApp({
      ...ctx,
      ...identityContext(ctx.connections, ctx.log, {
        enabled: true,
        rootKey: undefined,
        metricsAuth: false,
      }),
    });
    for (const path of ['/v1/workloads', '/v1/tenants', '/v1/audit']) {
      const res = await locked.request(path);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer');
    }
    for (const path of ['/metrics', '/openapi.json', '/docs']) {
      expect((await locked.request(path)).status).toBe(401);
      expect((await unlocked.request(path)).status).toBe(200);
      expect((await open.request(path)).status).toBe(200);
    }
    expect((await locked.request('/healthz')).status).toBe(200);
  });

  it('gives every /v1 operation the bearer scheme and its 401, 403 and 429 answers', () => {
    const openapi = buildOpenApi() as Obj;
    const paths = openapi['paths'] as Record<string, Record<string, Obj>>;
    const schemes = (openapi['components'] as Obj)['securitySchemes'] as Obj;
    expect(schemes['bearerAuth']).toMatchObject({ type: 'http', scheme: 'bearer' });
    for (const [path, ops] of Object.entries(paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const responses = Object.keys(op['responses'] as Obj);
        if (!path.startsWith('/v1/')) {
          expect(op['security']).toBeUndefined();
          continue;
        }
        expect({ method, path, security: op['security'] }).toEqual({
          method,
          path,
          security: [{ bearerAuth: [] }],
        });
        for (const code of ['401', '403', '429']) expect(responses).toContain(code);
      }
    }
  });

  it('makes a 202 body that is a valid Workload', () => {
    const submission = toSubmission(
      { type: 'sleep', input: { seconds: 1 }, idempotencyKey: 'k1', runAt: '2030-01-01T00:00:00Z' },
      '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b',
    );
    const workload = submittedWorkload(submission, 'default');
    expect(validateHttp('workload', workload)).toEqual([]);
    expect(workload).toMatchObject({
      status: 'SUBMITTED',
      priority: 500,
      maxAttempts: 3,
      idempotencyKey: 'k1',
      attempt: 0,
    });
  });

  it('labels request metrics by route pattern, never by the raw path', async () => {
    const ctx = offlineContext();
    const app = createApp(ctx);
    await app.request('/v1/workloads/0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b');
    await app.request('/no/such/path');
    const text = await ctx.metrics.registry.metrics();
    expect(text).toContain('route="/v1/workloads/:id"');
    expect(text).toContain('route="unmatched"');
    expect(text).not.toContain('0190a1b2');
  });
});
