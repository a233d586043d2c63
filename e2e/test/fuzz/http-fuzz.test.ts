import * as fc from 'fast-check';
import { assertProperty, fuzzSettings, writeReport, withReplay } from './support/fuzz-settings.js';
import type { FuzzReport } from './support/fuzz-settings.js';
import { startFuzzSystem } from './support/fuzz-system.js';
import type { FuzzSystem } from './support/fuzz-system.js';
import {
  answerProblem,
  describeRequest,
  operationsOf,
  requestArb,
  send,
} from './support/http-requests.js';
import type { Operation } from './support/http-requests.js';
import type { JsonSchema } from './support/schema-arbitrary.js';
import { probeLiveness } from './support/liveness.js';

// Random requests against every operation /openapi.json lists, then the liveness probe. One
// system for the file. FUZZ_RUNS sets the number of requests, FUZZ_SEED replays a run.
const settings = fuzzSettings(200);
// A long run (npm run fuzz) gets time in proportion.
jest.setTimeout(180_000 + settings.runs * 100);
const report: FuzzReport = {
  suite: 'http',
  seed: settings.seed,
  runs: settings.runs,
  requestsSent: 0,
  status5xx: 0,
  statuses: {},
  failures: [],
};
let f: FuzzSystem;
let operations: Operation[];
let resolve: (ref: string) => JsonSchema;
const realIds: string[] = [];

beforeAll(async () => {
  f = await startFuzzSystem({
    workers: [
      { id: 'fzh-a', slots: 4 },
      { id: 'fzh-b', slots: 4 },
    ],
  });
  const doc = (await (await fetch(`${f.sys.apiUrl}/openapi.json`)).json()) as Parameters<
    typeof operationsOf
  >[0];
  ({ operations, resolve } = operationsOf(doc));
  // Ids of real workloads for path parameters: one finished, one that waits for ever.
  const done = await f.submit({ type: 'noop', input: { real: 1 } });
  const waiting = await f.submit({ type: 'fz-nobody-runs-this', input: {} });
  realIds.push(done.id, waiting.id);
  await f.waitCompleted([done.id], 20_000);
}, 120_000);

afterAll(async () => {
  writeReport(report);
  await f?.[Symbol.asyncDispose]();
});

describe('HTTP fuzzing of every operation in /openapi.json', () => {
  it('lists the operations the API serves', () => {
    const ids = operations.map((o) => o.operationId);
    expect(ids).toEqual(expect.arrayContaining(['submitWorkload', 'getWorkload', 'listWorkers']));
    expect(operations.some((o) => o.bodySchema !== undefined)).toBe(true);
  });

  it('never answers 5xx, and answers every 4xx as problem+json with a title and the status', async () => {
    // Operations that take a body have more to get wrong: they get more of the requests.
    const arb = fc.oneof(
      ...operations.map((op) => ({
        weight: op.bodySchema === undefined ? 1 : 4,
        arbitrary: requestArb(op, resolve, realIds),
      })),
    );
    await assertProperty(
      'HTTP property',
      fc.asyncProperty(arb, async (req) => {
        report.requestsSent! += 1;
        let problem: string | undefined;
        try {
          const res = await send(f.sys.apiUrl, req);
          if (res.status >= 500) report.status5xx! += 1;
          report.statuses![res.status] = (report.statuses![res.status] ?? 0) + 1;
          problem = answerProblem(req, res);
        } catch (err) {
          problem = `no answer: ${(err as Error).message} ${String((err as { cause?: unknown }).cause ?? '')}`;
        }
        if (problem !== undefined) {
          report.failures!.push(`${problem} for ${describeRequest(req)}`);
          throw new Error(`${describeRequest(req)} ${problem}`);
        }
      }),
      settings,
    );
  });

  it('stays live after the HTTP fuzz run', async () => {
    const result = await probeLiveness(f);
    report.probes = [
      { name: 'after HTTP fuzz', ok: result.ok, ms: result.ms, failures: result.failures },
    ];
    report.stalledConsumers = result.stalledConsumers;
    withReplay(settings, 'the system is not live after the HTTP fuzz run', result.failures);
  });
});
