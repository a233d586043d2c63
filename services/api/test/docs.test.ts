import { createLogger } from '@niyanta/runtime';
import {
  Connections,
  IngestWaiters,
  SseRegistry,
  createApp,
  createMetrics,
  identityContext,
} from '../src/index.js';

function offlineApp() {
  const log = createLogger('api-docs-test', 'silent');
  const connections = new Connections(log);
  return createApp({
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
  });
}

describe('/docs', () => {
  const app = offlineApp();

  it('serves a page whose every asset comes from this server', async () => {
    const res = await app.request('/docs');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    const html = await res.text();
    const refs = [...html.matchAll(/(?:src|href)="([^"]*)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThanOrEqual(3);
    for (const ref of refs) expect(ref).toMatch(/^\/docs\/[\w.-]+$/);
    expect(html).not.toMatch(/https?:\/\//);
    for (const ref of refs) {
      const asset = await app.request(ref);
      expect({ ref, status: asset.status }).toEqual({ ref, status: 200 });
      expect((await asset.arrayBuffer()).byteLength).toBeGreaterThan(0);
    }
  });

  it('serves Swagger UI from the installed package', async () => {
    const bundle = await app.request('/docs/swagger-ui-bundle.js');
    expect(bundle.headers.get('content-type')).toMatch(/javascript/);
    expect(await bundle.text()).toContain('SwaggerUIBundle');
    const page = await (await app.request('/docs')).text();
    expect(page).toContain('data-url="/openapi.json"');
    const init = await (await app.request('/docs/swagger-init.js')).text();
    expect(init).toContain('SwaggerUIBundle({ url: root.dataset.url');
  });

  it('serves no other file', async () => {
    for (const path of ['/docs/package.json', '/docs/..%2Fpackage.json', '/docs/index.html']) {
      const res = await app.request(path);
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
    }
  });
});
