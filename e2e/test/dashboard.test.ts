import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { freePort, startServiceProcess, waitFor, waitForHttpReady } from '@niyanta/testing';
import { E2E_ROOT_KEY, startSystem } from './support/system.js';
import type { System } from './support/system.js';

// The web dashboard in a real Chromium (Debian's package, driven by playwright-core; nothing is
// downloaded) against every service as its own process. `npm test` installs chromium as root
// when it is missing; elsewhere set CHROMIUM_PATH.
const CHROMIUM = process.env['CHROMIUM_PATH'] || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
// The README's screenshots are rewritten only on demand (UPDATE_DASHBOARD_SHOTS=1): a test run
// leaves the working tree as it found it.
const SHOTS =
  process.env['UPDATE_DASHBOARD_SHOTS'] === '1'
    ? path.resolve(__dirname, '..', '..', 'docs', 'images')
    : fs.mkdtempSync(path.join(os.tmpdir(), 'niyanta-dashboard-shots-'));
const UI_TIMEOUT_MS = 15_000;

let sys: System;
let browser: Browser;
let admin: BrowserContext;
let page: Page;
/** Every console error, page error and request to another origin, over the whole file. */
const problems: string[] = [];

function watch(p: Page, origin: string): void {
  p.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning')
      problems.push(`console ${m.type()}: ${m.text()}`);
  });
  p.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()} ${r.request().method()} ${r.url()}`);
  });
  p.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  p.on('request', (r) => {
    if (new URL(r.url()).origin !== origin) problems.push(`request to another origin: ${r.url()}`);
  });
}

async function signIn(p: Page, key: string): Promise<void> {
  await p.goto(`${sys.apiUrl}/ui`);
  await p.getByLabel('API key').fill(key);
  await p.getByRole('button', { name: 'Sign in' }).click();
  await p.getByTestId('identity').waitFor();
}

beforeAll(async () => {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(
      `No Chromium at ${CHROMIUM}: install it (apt-get install -y chromium; npm test does so as root) or set CHROMIUM_PATH.`,
    );
  }
  sys = await startSystem({ workers: [{ id: 'ui-worker', slots: 4 }] });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  admin = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  admin.setDefaultTimeout(UI_TIMEOUT_MS);
  page = await admin.newPage();
  watch(page, sys.apiUrl);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await sys?.[Symbol.asyncDispose]();
});

describe('the web dashboard in Chromium', () => {
  let finishedId: string;

  it('asks for a key, then shows a submitted workload go RUNNING → COMPLETED without reloading', async () => {
    await page.goto(`${sys.apiUrl}/ui`);
    await page.getByLabel('API key').fill('nyk_not_a_key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'not valid' }).waitFor();
    problems.length = 0; // the refused sign-in's 401 is the one expected console error

    await page.getByLabel('API key').fill(E2E_ROOT_KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expectText(page.getByTestId('identity'), 'default · root');
    await page.evaluate('window.marker = 1');

    const w = await sys.submit({
      type: 'exec',
      input: { command: 'sh', args: ['-c', 'echo hello-from-ui; sleep 4; echo bye-from-ui'] },
      labels: { team: 'ui' },
    });
    finishedId = w.id;
    const status = page.locator(`tr[data-id="${w.id}"] [data-status]`);
    await page.locator(`tr[data-id="${w.id}"] [data-status="RUNNING"]`).waitFor();
    await page.locator(`tr[data-id="${w.id}"] [data-status="COMPLETED"]`).waitFor();
    expect(await status.textContent()).toBe('COMPLETED');
    expect(await page.evaluate('window.marker')).toBe(1);
    await expectText(page.locator('[data-count="COMPLETED"]'), '1');

    // The label filter narrows the list on the server.
    await page.getByLabel('Label').fill('team=nobody');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.getByText('No workloads match.').waitFor();
    await page.getByLabel('Label').fill('team=ui');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.locator(`tr[data-id="${w.id}"]`).waitFor();
    await page.screenshot({ path: path.join(SHOTS, 'dashboard-workloads.png') });
  });

  it('opens the workload and shows its timeline and logs', async () => {
    await page.locator(`tr[data-id="${finishedId}"] a`).click();
    const timeline = page.getByRole('list', { name: 'Timeline' });
    await expectText(timeline, 'COMPLETED');
    const text = (await timeline.textContent()) ?? '';
    for (const s of ['PENDING', 'SCHEDULED', 'RUNNING', 'COMPLETED']) expect(text).toContain(s);
    const logs = page.getByRole('log', { name: 'Logs' });
    await expectText(logs, 'bye-from-ui');
    expect(await logs.textContent()).toContain('hello-from-ui');
    // The placement route comes with the placement framework; without it the panel says so.
    const doc = (await (await fetch(`${sys.apiUrl}/openapi.json`)).json()) as {
      paths: Record<string, unknown>;
    };
    if (doc.paths['/v1/workloads/{id}/placement'] === undefined) {
      await page.getByText('Not available').waitFor();
    } else {
      await expectText(page.getByTestId('placement-summary'), 'COMPLETED');
    }
    expect(
      await page.locator('#progress').evaluate((el) => (el as unknown as { value: number }).value),
    ).toBe(1);
    // The skip link moves focus to the content and stays on this page.
    const here = page.url();
    await page.locator('a.skip').focus();
    await page.keyboard.press('Enter');
    expect(
      await page.locator('#main').evaluate((el) => el.ownerDocument.activeElement === el),
    ).toBe(true);
    expect(page.url()).toBe(here);
  });

  it('cancels a running sleep from its page', async () => {
    const w = await sys.submit({ type: 'sleep', input: { durationMs: 60_000, steps: 60 } });
    await page.goto(`${sys.apiUrl}/ui#/workloads/${w.id}`);
    await page.locator('h1 [data-status="RUNNING"]').waitFor();
    await waitFor(
      async () =>
        (await page
          .locator('#progress')
          .evaluate((el) => (el as unknown as { value: number }).value)) > 0,
      { timeoutMs: UI_TIMEOUT_MS, message: 'the progress bar to move' },
    );
    await page.screenshot({ path: path.join(SHOTS, 'dashboard-workload.png') });
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.locator('h1 [data-status="CANCELLED"]').waitFor();
    await sys.waitForStatus(w.id, 'CANCELLED');
    expect(await page.locator('button[data-command]').count()).toBe(0);
  });

  it("draws a workload's dependencies and dependents, each linking to its page", async () => {
    const res = await sys.api<{ refs: Record<string, string> }>('POST', '/v1/workloads/batch', {
      workloads: [
        { ref: 'a', type: 'noop', input: 1 },
        { ref: 'b', type: 'noop', input: 2, dependsOn: ['a'] },
        { ref: 'c', type: 'noop', input: 3, dependsOn: ['b'] },
      ],
    });
    const { a, b, c } = res.body.refs as { a: string; b: string; c: string };
    await sys.waitForStatus(c, 'COMPLETED');
    await page.goto(`${sys.apiUrl}/ui#/workloads/${b}`);
    const graph = page.locator('#dependency-graph');
    await graph.locator(`[data-node="${a}"][data-status="COMPLETED"]`).waitFor();
    await graph.locator(`[data-node="${c}"][data-status="COMPLETED"]`).waitFor();
    expect(await graph.locator('.dep-edge').count()).toBe(2);
    await graph.screenshot({ path: path.join(SHOTS, 'dashboard-dependencies.png') });
    await graph.locator(`a[href="#/workloads/${c}"]`).click();
    await page.locator(`h1 .mono`, { hasText: c }).waitFor();
    await page.locator(`#dependency-graph [data-node="${b}"]`).waitFor();
  });

  it('shows the workers with their capacity and runs', async () => {
    const w = await sys.submit({ type: 'sleep', input: { durationMs: 30_000, steps: 30 } });
    await sys.waitForStatus(w.id, 'RUNNING');
    await page.getByRole('link', { name: 'Workers' }).click();
    const card = page.locator('[data-worker="ui-worker"]');
    await expectText(card, 'ACTIVE');
    await card.locator(`a[href="#/workloads/${w.id}"]`).waitFor();
    expect(await card.getByRole('progressbar', { name: /^Slots: 1 \/ 4/ }).count()).toBe(1);
    await page.screenshot({ path: path.join(SHOTS, 'dashboard-workers.png') });
    await sys.api('POST', `/v1/workloads/${w.id}/cancel`, {});
  });

  it('lets an admin create a viewer key (shown once) that sees no commands, then revoke it', async () => {
    await page.getByRole('link', { name: 'Keys' }).click();
    const form = page.getByRole('form', { name: 'New key' });
    await form.getByLabel('Name').fill('ui-viewer');
    await form.getByLabel('Role').selectOption('viewer');
    await page.getByRole('button', { name: 'Create key' }).click();
    const key = await page.getByLabel('New API key').inputValue();
    expect(key).toMatch(/^nyk_/);
    const row = page.locator('tr', { hasText: 'ui-viewer' });
    await row.waitFor();

    const running = await sys.submit({ type: 'sleep', input: { durationMs: 30_000, steps: 30 } });
    await sys.waitForStatus(running.id, 'RUNNING');
    const viewer = await browser.newContext({ viewport: { width: 390, height: 844 } });
    viewer.setDefaultTimeout(UI_TIMEOUT_MS);
    try {
      const v = await viewer.newPage();
      watch(v, sys.apiUrl);
      await signIn(v, key);
      await expectText(v.getByTestId('identity'), 'default · viewer');
      expect(await v.getByRole('link', { name: 'Workers' }).count()).toBe(0);
      expect(await v.getByRole('link', { name: 'Keys' }).count()).toBe(0);
      await v.goto(`${sys.apiUrl}/ui#/workloads/${running.id}`);
      await v.locator('h1 [data-status="RUNNING"]').waitFor();
      expect(await v.locator('button[data-command]').count()).toBe(0);
      await v.getByRole('button', { name: 'Sign out' }).click();
      await v.getByLabel('API key').waitFor();
      await signIn(v, key);
      await sys.api('POST', `/v1/workloads/${running.id}/cancel`, {});

      // Revoked while the viewer's list is open: its next refresh goes back to sign-in.
      page.once('dialog', (d) => void d.accept());
      await row.getByRole('button', { name: 'Revoke key ui-viewer' }).click();
      await expectText(row, 'revoked');
      await v.getByLabel('API key').waitFor();
      expect(
        (await fetch(`${sys.apiUrl}/v1/me`, { headers: { authorization: `Bearer ${key}` } }))
          .status,
      ).toBe(401);
      // The refused refreshes are the expected errors of this test.
      const expected = (p: string) => / 401 |status of 401/.test(p);
      problems.splice(0, problems.length, ...problems.filter((p) => !expected(p)));
    } finally {
      await viewer.close();
    }
  });

  it('does not ask for a key when the API runs with AUTH_MODE=disabled', async () => {
    const port = await freePort();
    await using open = await startServiceProcess({
      service: 'api',
      name: 'api-open',
      env: {
        ...sys.brokerEnv('api'),
        DATABASE_URL: sys.database.url,
        PORT: String(port),
        HOST: '127.0.0.1',
        AUTH_MODE: 'disabled',
        LOG_LEVEL: 'warn',
      },
    });
    const url = `http://127.0.0.1:${port}`;
    await waitForHttpReady(`${url}/readyz`, 30_000).catch((err: unknown) => {
      throw new Error(`api-open did not become ready:\n${open.output().slice(-3000)}`, {
        cause: err,
      });
    });
    const p = await admin.newPage();
    watch(p, url);
    try {
      await p.goto(`${url}/ui`);
      await expectText(p.getByTestId('identity'), 'default · admin');
      await p.locator(`tr[data-id="${finishedId}"]`).waitFor();
      expect(await p.getByLabel('API key').count()).toBe(0);
      expect(await p.getByRole('button', { name: 'Sign out' }).count()).toBe(0);
    } finally {
      await p.close();
    }
  });

  it('is served with a strict CSP from its own origin, and an injected inline script does not run', async () => {
    const res = await fetch(`${sys.apiUrl}/ui`);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('unsafe');
    expect(problems).toEqual([]);

    const probe = await admin.newPage();
    const violations: string[] = [];
    probe.on('console', (m) => violations.push(m.text()));
    await probe.goto(`${sys.apiUrl}/ui`);
    await probe.getByLabel('API key').waitFor();
    // A string, run in the page: the test's own types have no DOM.
    const ran = await probe.evaluate(`(async () => {
      const seen = new Promise((r) =>
        document.addEventListener('securitypolicyviolation', r, { once: true }),
      );
      const s = document.createElement('script');
      s.textContent = 'window.injected = 1';
      document.body.appendChild(s);
      await seen;
      return window.injected;
    })()`);
    expect(ran).toBeUndefined();
    expect(violations.join('\n')).toContain('Content Security Policy');
    await probe.close();
  });
});

async function expectText(locator: ReturnType<Page['locator']>, text: string): Promise<void> {
  await waitFor(async () => ((await locator.textContent()) ?? '').includes(text), {
    timeoutMs: UI_TIMEOUT_MS,
    message: `${locator.toString()} to contain ${JSON.stringify(text)}`,
  }).catch(async (err: unknown) => {
    throw new Error(
      `${(err as Error).message}; it reads ${JSON.stringify(await locator.textContent())}`,
      {
        cause: err,
      },
    );
  });
}
