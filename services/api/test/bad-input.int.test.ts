import { createDb } from '@niyanta/db';
import type { Database } from '@niyanta/db';
import { uuidv7 } from '@niyanta/messages';
import { connectNats, createLogger } from '@niyanta/runtime';
import type { Nats } from '@niyanta/runtime';
import { createTestDatabase, startNatsServer, waitFor } from '@niyanta/testing';
import type { NatsServerHandle, TestDatabase } from '@niyanta/testing';
import type { Kysely } from 'kysely';
import { MAX_BODY_BYTES } from '../src/body.js';
import { loadConfig, start } from '../src/index.js';
import type { ApiServer } from '../src/index.js';
import { RawConnection, requestHead } from './raw-http.js';

/** The installation's root key in these tests; every /v1 request sends it. */
const ROOT_KEY = 'bad-input-root-key-0123456789abcdef0123456789';
const AUTH = { authorization: `Bearer ${ROOT_KEY}` };
/** fetch with the root key's Authorization header. */
function call(url: string, init: RequestInit = {}): Promise<Response> {
  return fetch(url, { ...init, headers: { ...AUTH, ...(init.headers as Record<string, string>) } });
}

// A small max_payload puts "fits the HTTP limit, not the broker" at tens of KiB instead of 1 MiB.
const MAX_PAYLOAD = 65_536;
const log = createLogger('api-bad-input-test', 'silent');

let natsServer: NatsServerHandle;
let database: TestDatabase;
let api: ApiServer;
let nats: Nats;
let db: Kysely<Database>;
let base: string;

beforeAll(async () => {
  natsServer = await startNatsServer({ maxPayload: MAX_PAYLOAD });
  database = await createTestDatabase();
  api = await start(
    loadConfig({
      NATS_URL: natsServer.url,
      DATABASE_URL: database.url,
      PORT: '0',
      HOST: '127.0.0.1',
      // Nothing ingests here: a submission the broker takes is answered 202 after this wait.
      SUBMIT_WAIT_MS: '50',
      LOG_LEVEL: 'silent',
      API_ROOT_KEY: ROOT_KEY,
    }),
  );
  base = `http://127.0.0.1:${api.port}`;
  await api.ready;
  nats = await connectNats({ url: natsServer.url, name: 'api-bad-input-test', log });
  db = createDb(database.url, { max: 2 });
});

afterAll(async () => {
  await api?.close();
  await nats?.close();
  await db?.destroy();
  await database?.[Symbol.asyncDispose]();
  await natsServer?.[Symbol.asyncDispose]();
});

interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  errors?: { path: string; message: string; in?: string }[];
}

async function insertWorkload(status = 'PENDING'): Promise<string> {
  const id = uuidv7();
  await db
    .insertInto('workloads')
    .values({
      id,
      tenant: 'default',
      type: 'noop',
      status,
      priority: 500,
      max_attempts: 3,
      input: JSON.stringify(1),
      labels: JSON.stringify({}),
      requirements: JSON.stringify({}),
      idempotency_key: null,
    })
    .execute();
  return id;
}

/** Every stream's last sequence and the rows of workloads: what a request could have changed. */
async function published(): Promise<Record<string, number>> {
  await nats.nc.flush();
  const out: Record<string, number> = {};
  for await (const s of nats.jsm.streams.list()) out[s.config.name] = s.state.last_seq;
  const rows = await db
    .selectFrom('workloads')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  out['workloads rows'] = Number(rows.n);
  return out;
}

/** How many requests to `route` the API has answered (or given up on), by its metrics. */
async function handled(route: string): Promise<number> {
  const text = await (await call(`${base}/metrics`)).text();
  let n = 0;
  for (const line of text.split('\n')) {
    if (
      line.startsWith('niyanta_api_http_request_duration_seconds_count{') &&
      line.includes(`route="${route}"`)
    )
      n += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return n;
}

interface Operation {
  method: string;
  path: string;
  required: boolean;
}

/** The operations of /openapi.json that take a body: a new one is covered by these tests. */
async function bodyOperations(): Promise<Operation[]> {
  const doc = (await (await call(`${base}/openapi.json`)).json()) as {
    paths: Record<string, Record<string, { requestBody?: { required?: boolean } }>>;
  };
  const out: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (op.requestBody !== undefined)
        out.push({
          method: method.toUpperCase(),
          path,
          required: op.requestBody.required === true,
        });
    }
  }
  return out;
}

function send(op: Operation, id: string, body: string | Uint8Array, contentType?: string) {
  return call(`${base}${op.path.replace('{id}', id).replace('{name}', 'a-secret')}`, {
    method: op.method,
    // A Uint8Array body gets no content type of its own.
    body: typeof body === 'string' ? new TextEncoder().encode(body) : body,
    headers: contentType === undefined ? {} : { 'content-type': contentType },
  });
}

const JSON_TYPE = 'application/json';

interface BadBody {
  name: string;
  body: string | Uint8Array;
  contentType?: string;
  status: number;
  /** A JSON Pointer the problem's `errors` must name. */
  path?: string;
  /** What `errors` must say about `path`. */
  message?: RegExp;
  detail?: RegExp;
  /** Only where a body is required (an optional one may be empty). */
  requiredOnly?: boolean;
}

const BAD_BODIES: BadBody[] = [
  { name: 'an unfinished object ("{" and a newline)', body: '{\n', status: 400, path: '' },
  { name: 'a truncated member', body: '{"reason":', status: 400, detail: /not valid JSON/ },
  { name: 'a newline only', body: '\n', status: 400, detail: /not valid JSON/ },
  { name: 'trailing garbage', body: '{}x', status: 400, detail: /not valid JSON/ },
  { name: 'an array', body: '[]', status: 400, path: '', detail: /must be a JSON object/ },
  { name: 'null', body: 'null', status: 400, path: '', detail: /must be a JSON object/ },
  { name: 'a string', body: '"x"', status: 400, path: '', detail: /must be a JSON object/ },
  { name: 'a number', body: '1', status: 400, path: '', detail: /must be a JSON object/ },
  { name: 'an unknown field', body: '{"colour":"red"}', status: 400, path: '/colour' },
  {
    name: 'U+0000 in a string',
    body: '{"type":"noop","input":"a\\u0000b"}',
    status: 400,
    path: '/input',
    message: /U\+0000/,
  },
  {
    name: 'a lone surrogate',
    body: '{"type":"noop","input":"a\\ud800b"}',
    status: 400,
    path: '/input',
    message: /lone UTF-16 surrogate/,
  },
  {
    name: 'U+0000 in a name',
    body: '{"type":"noop","input":{"a\\u0000":1}}',
    status: 400,
    path: '/input/a\\u0000',
    message: /U\+0000/,
  },
  {
    name: 'a number past a double',
    body: '{"type":"noop","input":1e400}',
    status: 400,
    path: '/input',
    message: /is a number past/,
  },
  {
    name: 'nesting past 64 levels',
    body: `{"type":"noop","input":${'['.repeat(100)}${']'.repeat(100)}}`,
    status: 400,
    detail: /nested deeper than 64/,
  },
  {
    name: 'bytes that are not UTF-8',
    body: new Uint8Array([0x7b, 0x22, 0x72, 0x22, 0x3a, 0x22, 0xff, 0x22, 0x7d]),
    status: 400,
    detail: /not UTF-8/,
  },
  { name: 'JSON as text/plain', body: '{}', contentType: 'text/plain', status: 415 },
  { name: 'JSON without a content type', body: '{}', contentType: undefined, status: 415 },
  {
    name: 'JSON as application/jsonx',
    body: '{}',
    contentType: 'application/jsonx',
    status: 415,
  },
  { name: 'an empty body', body: '', status: 400, path: '', requiredOnly: true },
];

describe('bodies every operation refuses', () => {
  let operations: Operation[];
  let id: string;

  beforeAll(async () => {
    operations = await bodyOperations();
    id = await insertWorkload('RUNNING');
  });

  it('finds the operations that take a body in /openapi.json', () => {
    expect(operations.map((o) => `${o.method} ${o.path}`).sort()).toEqual(
      expect.arrayContaining([
        'POST /v1/workloads',
        'POST /v1/workloads/batch',
        'POST /v1/workloads/{id}/cancel',
      ]),
    );
  });

  it.each(BAD_BODIES)(
    'answers $status problem+json to $name, publishing and writing nothing',
    async (bad) => {
      for (const op of operations) {
        if (bad.requiredOnly === true && !op.required) continue;
        const before = await published();
        const res = await send(
          op,
          id,
          bad.body,
          'contentType' in bad ? bad.contentType : JSON_TYPE,
        );
        const where = `${op.method} ${op.path}`;
        expect({ where, status: res.status }).toEqual({ where, status: bad.status });
        expect(res.headers.get('content-type')).toBe('application/problem+json');
        const problem = (await res.json()) as Problem;
        expect(problem.status).toBe(bad.status);
        expect(problem.errors?.length).toBeGreaterThan(0);
        if (bad.path !== undefined) expect(problem.errors?.map((e) => e.path)).toContain(bad.path);
        if (bad.message !== undefined) {
          const said = problem.errors?.filter((e) => e.path === bad.path).map((e) => e.message);
          expect(said).toContainEqual(expect.stringMatching(bad.message));
        }
        if (bad.detail !== undefined) expect(problem.detail).toMatch(bad.detail);
        expect(await published()).toEqual(before);
      }
    },
  );

  it('accepts an empty body where the body is optional, with or without a content type', async () => {
    const optional = operations.filter((o) => !o.required);
    expect(optional.length).toBeGreaterThan(0);
    const pending = await insertWorkload('PENDING');
    const cancel = optional.find((o) => o.path.endsWith('/cancel'))!;
    expect((await send(cancel, pending, '')).status).toBe(202);
    expect((await send(cancel, pending, '', JSON_TYPE)).status).toBe(202);
  });
});

describe('POST /v1/workloads/{id}/cancel with the body "{" and a newline', () => {
  it('answers 400 naming the body, and sends no command', async () => {
    const id = await insertWorkload('PENDING');
    const before = await published();
    const res = await call(`${base}/v1/workloads/${id}/cancel`, {
      method: 'POST',
      headers: { 'content-type': JSON_TYPE },
      body: '{\n',
    });
    expect(res.status).toBe(400);
    const problem = (await res.json()) as Problem;
    expect(problem.detail).toMatch(/^the body is not valid JSON/);
    expect(problem.errors).toEqual([
      { path: '', in: 'body', message: expect.stringMatching(/^is not valid JSON/) },
    ]);
    expect(await published()).toEqual(before);
    const row = await db.selectFrom('workloads').select('status').where('id', '=', id).execute();
    expect(row).toEqual([{ status: 'PENDING' }]);
  });

  it('sends no command when it comes without a length, so that "{" is no part of it', async () => {
    // Without Content-Length or Transfer-Encoding a request has no body (RFC 9112 §6.3): Node
    // reads "{\n" as the next request, answers that 400 and closes. The cancel must not happen.
    const id = await insertWorkload('PENDING');
    const before = await published();
    const handledBefore = await handled('/v1/workloads/:id/cancel');
    await using conn = await RawConnection.open(api.port);
    await conn.write(
      `${requestHead('POST', `/v1/workloads/${id}/cancel`, {
        ...AUTH,
        'content-type': JSON_TYPE,
      })}{\n`,
    );
    const res = await conn.response();
    expect(res.status).toBe(400);
    // The handler ran to its end (the request is in the metrics) and sent nothing.
    await waitFor(async () => (await handled('/v1/workloads/:id/cancel')) > handledBefore, {
      message: 'the cancel request to be handled',
    });
    expect(await published()).toEqual(before);
  });
});

describe('a body the broker cannot carry', () => {
  const submission = (inputBytes: number) => ({ type: 'noop', input: 'x'.repeat(inputBytes) });

  it('answers 413 naming the size and the max_payload read from the server, publishing nothing', async () => {
    const before = await published();
    const body = JSON.stringify(submission(100_000));
    expect(body.length).toBeGreaterThan(MAX_PAYLOAD);
    expect(body.length).toBeLessThan(MAX_BODY_BYTES);
    const res = await call(`${base}/v1/workloads`, {
      method: 'POST',
      headers: { 'content-type': JSON_TYPE },
      body,
    });
    expect(res.status).toBe(413);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    const problem = (await res.json()) as Problem;
    expect(problem.detail).toMatch(
      new RegExp(
        `^the submission is \\d+ bytes as a broker message; the broker \\(max_payload\\) accepts at most ${MAX_PAYLOAD}`,
      ),
    );
    expect(problem.errors).toEqual([
      { path: '', in: 'body', message: expect.stringContaining(`at most ${MAX_PAYLOAD}`) },
    ]);
    expect(await published()).toEqual(before);
  });

  it('counts the envelope and headers: a body just under max_payload is a 413, not a 503', async () => {
    const before = await published();
    // The body alone fits; with the id, defaults and headers the message does not.
    const body = JSON.stringify(submission(MAX_PAYLOAD - 40));
    expect(body.length).toBeLessThan(MAX_PAYLOAD);
    const res = await call(`${base}/v1/workloads`, {
      method: 'POST',
      headers: { 'content-type': JSON_TYPE },
      body,
    });
    expect(res.status).toBe(413);
    const problem = (await res.json()) as Problem;
    const size = Number(/is (\d+) bytes/.exec(problem.detail)?.[1]);
    expect(size).toBeGreaterThan(MAX_PAYLOAD);
    expect(await published()).toEqual(before);
    // Well under the limit it goes through.
    const small = await call(`${base}/v1/workloads`, {
      method: 'POST',
      headers: { 'content-type': JSON_TYPE },
      body: JSON.stringify(submission(MAX_PAYLOAD - 2_000)),
    });
    expect(small.status).toBe(202);
  });

  it('refuses a whole batch, naming the workload too large, with none of it published', async () => {
    const before = await published();
    const res = await call(`${base}/v1/workloads/batch`, {
      method: 'POST',
      headers: { 'content-type': JSON_TYPE },
      body: JSON.stringify({
        workloads: [submission(10), submission(10), submission(100_000), submission(10)],
      }),
    });
    expect(res.status).toBe(413);
    const problem = (await res.json()) as Problem;
    expect(problem.detail).toMatch(/^the submission at \/workloads\/2 is \d+ bytes/);
    expect(problem.detail).toContain(`accepts at most ${MAX_PAYLOAD}`);
    expect(problem.errors?.map((e) => e.path)).toEqual(['/workloads/2']);
    expect(await published()).toEqual(before);
  });
});

describe('a body over the HTTP limit', () => {
  // Far more than the socket buffers hold: the client is still writing when the server answers.
  const overLimit = () => JSON.stringify({ type: 'noop', input: 'x'.repeat(8 * MAX_BODY_BYTES) });

  it('answers 413 to a client that sends the whole body before reading, and keeps the connection', async () => {
    const before = await published();
    const body = overLimit();
    await using conn = await RawConnection.open(api.port);
    await conn.write(
      requestHead('POST', '/v1/workloads', {
        ...AUTH,
        'content-type': JSON_TYPE,
        'content-length': Buffer.byteLength(body),
      }) + body,
    );
    const res = await conn.response();
    expect(res.status).toBe(413);
    expect((JSON.parse(res.body) as Problem).detail).toContain(`over ${MAX_BODY_BYTES} bytes`);
    await conn.write(requestHead('GET', '/healthz', {}));
    expect((await conn.response()).status).toBe(200);
    expect(await published()).toEqual(before);
  });

  it('answers 413 to a chunked body over the limit sent whole before reading', async () => {
    const body = overLimit();
    await using conn = await RawConnection.open(api.port);
    const chunk = (s: string) => `${Buffer.byteLength(s).toString(16)}\r\n${s}\r\n`;
    await conn.write(
      requestHead('POST', '/v1/workloads', {
        ...AUTH,
        'content-type': JSON_TYPE,
        'transfer-encoding': 'chunked',
      }) +
        chunk(body.slice(0, MAX_BODY_BYTES)) +
        chunk(body.slice(MAX_BODY_BYTES)) +
        '0\r\n\r\n',
    );
    expect((await conn.response()).status).toBe(413);
  });
});

describe('parameters every operation refuses', () => {
  interface Parameter {
    name: string;
    in: 'path' | 'query' | 'header';
    schema: { type?: string; enum?: string[]; format?: string };
  }
  type Doc = {
    paths: Record<string, Record<string, { parameters?: Parameter[] }>>;
  };

  /** Values no parameter of this schema accepts. */
  function badValues(p: Parameter): string[] {
    const anywhere = ['%00', '%FF', 'x'.repeat(3_000)];
    if (p.schema.format === 'uuid') return ['not-a-uuid', '..%2F..', `${uuidv7()}x`, ...anywhere];
    if (p.schema.enum !== undefined) return ['bogus', p.schema.enum[0]!.toLowerCase(), ...anywhere];
    if (p.schema.type === 'integer')
      return ['abc', '1e3', '1.5', '-1', '0x10', '99999999999999999999', ...anywhere];
    if (p.schema.type === 'boolean') return ['maybe', 'yes', ...anywhere];
    return ['!!', '-x', ...anywhere];
  }

  it('answers 400 problem+json naming the parameter, never 5xx', async () => {
    const doc = (await (await call(`${base}/openapi.json`)).json()) as Doc;
    const id = await insertWorkload('RUNNING');
    let tried = 0;
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        for (const p of op.parameters ?? []) {
          for (const value of badValues(p)) {
            const target =
              p.in === 'path'
                ? path.replace(`{${p.name}}`, value).replace('{id}', id)
                : p.in === 'header'
                  ? path.replace('{id}', id)
                  : `${path.replace('{id}', id)}?${p.name}=${value}`;
            const res = await call(`${base}${target}`, {
              method: method.toUpperCase(),
              headers: p.in === 'header' ? { [p.name]: value } : {},
            });
            const where = `${method.toUpperCase()} ${target.slice(0, 120)}`;
            expect({ where, status: res.status }).toEqual({ where, status: 400 });
            expect(res.headers.get('content-type')).toBe('application/problem+json');
            const problem = (await res.json()) as Problem;
            expect(problem.errors).toContainEqual(
              expect.objectContaining({ path: p.name, in: p.in }),
            );
            tried += 1;
          }
        }
      }
    }
    expect(tried).toBeGreaterThan(20);
  });
});
