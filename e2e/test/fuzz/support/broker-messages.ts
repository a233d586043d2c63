import { posix } from 'node:path';
import * as fc from 'fast-check';
import {
  CONSUMERS,
  MESSAGE_SCHEMAS,
  SCHEMAS,
  STREAMS,
  SUBJECTS,
  isSubjectToken,
  validateMessage,
  workerConsumers,
} from '@niyanta/messages';
import type { MessageKind } from '@niyanta/messages';
import {
  BAD_WORKER_IDS,
  HOSTILE_NESTING,
  HOSTILE_NUMBERS,
  HOSTILE_TIMES,
  mutate,
  mutationArb,
  nestedArrays,
  toJsonText,
  unstorableString,
} from './hostile-values.js';
import { schemaArbitrary } from './schema-arbitrary.js';
import type { JsonSchema } from './schema-arbitrary.js';

/** What the last token of a consumed subject names. */
type TokenKind = 'tenant' | 'workloadId' | 'workerId' | 'realWorker' | 'stream';

/**
 * The message each consumed subject carries and what its last token names. A subject a service
 * consumes that is missing here fails the suite (see {@link consumedFamilies}): give it a line.
 */
const SUBJECT_MESSAGES: Record<string, { kind: MessageKind; token: TokenKind }> = {
  [SUBJECTS.submitAll]: { kind: 'submission', token: 'tenant' },
  [SUBJECTS.commandAll]: { kind: 'command', token: 'tenant' },
  [SUBJECTS.runAll]: { kind: 'runUpdate', token: 'workloadId' },
  [SUBJECTS.completeAll]: { kind: 'completion', token: 'workloadId' },
  [SUBJECTS.completionsAll]: { kind: 'completionBatch', token: 'workerId' },
  [SUBJECTS.workerDeadAll]: { kind: 'workerDead', token: 'workerId' },
  [SUBJECTS.heartbeatAll]: { kind: 'heartbeat', token: 'workerId' },
  [SUBJECTS.checkpointAll]: { kind: 'checkpoint', token: 'workloadId' },
  [SUBJECTS.assignAll]: { kind: 'assignment', token: 'realWorker' },
  [SUBJECTS.controlAll]: { kind: 'control', token: 'realWorker' },
  [SUBJECTS.deadAll]: { kind: 'deadLetter', token: 'stream' },
  [SUBJECTS.spawnAll]: { kind: 'spawn', token: 'workloadId' },
};

/**
 * Where a refused message must be found: broker submissions in `rejected_submissions`, other
 * messages of the services that write PostgreSQL in `dead_letters`; a worker has no table.
 */
export type RefusalRecord = 'rejected_submissions' | 'dead_letters' | 'none';

/** A subject pattern a service consumes, with its stream, consumer and message. */
export interface Family {
  pattern: string;
  kind: MessageKind;
  token: TokenKind;
  stream: string;
  consumer: string;
  record: RefusalRecord;
}

/**
 * Every subject pattern the services consume: the subjects of each stream in CONSUMERS, and of
 * each worker's consumers (for the given real workers). Throws for a pattern without a message.
 */
export function consumedFamilies(workerIds: readonly string[]): Family[] {
  const streamSubjects = (stream: string) =>
    Object.values(STREAMS).find((s) => s.name === stream)?.subjects ?? [];
  const out: Family[] = [];
  const add = (stream: string, consumer: string, record: RefusalRecord) => {
    for (const pattern of streamSubjects(stream)) {
      const message = SUBJECT_MESSAGES[pattern];
      if (message === undefined)
        throw new Error(
          `consumer ${consumer} reads ${pattern}, for which the broker fuzz has no message: add it to SUBJECT_MESSAGES`,
        );
      const refusal: RefusalRecord =
        message.kind === 'submission' ? 'rejected_submissions' : record;
      out.push({ pattern, ...message, stream, consumer, record: refusal });
    }
  };
  for (const c of Object.values(CONSUMERS)) add(c.stream, c.durable_name, 'dead_letters');
  // One real worker's consumers stand for all: a worker id only changes the filter.
  const worker = workerIds[0];
  if (worker !== undefined)
    for (const c of Object.values(workerConsumers(worker))) add(c.stream, c.durable_name, 'none');
  return out;
}

/** Resolves the `$ref`s of the message schemas (`../common.v1.json#/$defs/x`). */
function resolveFrom(file: string) {
  return (ref: string): JsonSchema => {
    const [target = '', fragment = ''] = ref.split('#', 2);
    const path = target === '' ? file : posix.normalize(posix.join(posix.dirname(file), target));
    let schema = (SCHEMAS as Record<string, unknown>)[path];
    for (const key of fragment.split('/').filter(Boolean))
      schema = (schema as Record<string, unknown> | undefined)?.[key];
    if (schema === undefined) throw new Error(`$ref ${ref} in ${file} names nothing`);
    // A schema from another file keeps its own local refs (`#/$defs/x`): point them at that file.
    return path === file
      ? (schema as JsonSchema)
      : (rebase(schema, posix.relative(posix.dirname(file), path)) as JsonSchema);
  };
}

/** `schema` with every local `$ref` (`#/...`) made to name `target` (a path from the caller). */
function rebase(schema: unknown, target: string): unknown {
  if (Array.isArray(schema)) return schema.map((s) => rebase(s, target));
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema))
    out[k] =
      k === '$ref' && typeof v === 'string' && v.startsWith('#')
        ? `${target}${v}`
        : rebase(v, target);
  return out;
}

/** What a test expects of a message after the run. */
export type Expectation =
  /** It must be refused and recorded (rejected_submissions or dead_letters, by family). */
  | 'refused'
  /** Either handled or refused; if refused, recorded with its error. */
  | 'either';

/** One message to publish. */
export interface FuzzMessage {
  family: Family;
  subject: string;
  payload: Uint8Array;
  msgId: string | undefined;
  expect: Expectation;
  /** Why it is expected to be refused, or what was done to it. */
  why: string;
  /** For a submission: what identifies the workload it would make. */
  submission: { id: unknown; tenant: string; idempotencyKey: unknown } | undefined;
}

/** Real things the messages may name: workloads of the test and the real workers. */
export interface BrokerContext {
  realWorkloadIds: readonly string[];
  realWorkerIds: readonly string[];
  /** Fake workers valid heartbeats announce: they go silent and must be declared dead. */
  fakeWorkerIds: readonly string[];
}

/**
 * Nesting past which a message must be refused: PostgreSQL's jsonb parser and any recursive walk
 * give up long before. Between the API's 64 and this, a service may store or refuse it.
 */
const REFUSED_DEPTH = 1_000;
/** Largest attempt or sequence number PostgreSQL stores (integer). */
const MAX_INT4 = 2 ** 31 - 1;
/** Messages whose `workerId` becomes part of a subject (issue 18: validated where it enters). */
const WORKER_ID_KINDS: ReadonlySet<MessageKind> = new Set([
  'heartbeat',
  'completion',
  'completionBatch',
  'runUpdate',
  'workerDead',
]);

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const unstorable = (s: string) => s.includes('\u0000') || LONE_SURROGATE.test(s);

/** Deepest nesting of JSON text (brackets outside strings). */
function depthOf(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '[' || c === '{') max = Math.max(max, ++depth);
    else if (c === ']' || c === '}') depth--;
  }
  return max;
}

/** Why the contract of issue 18 says this message must be refused, or undefined. */
export function refusalReason(kind: MessageKind, text: string): string | undefined {
  if (depthOf(text) > REFUSED_DEPTH) return `nested ${depthOf(text)} deep`;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'not JSON';
  }
  const errors = validateMessage(kind, value);
  if (errors.length > 0)
    return `invalid: ${errors.map((e) => `${e.path || '/'} ${e.message}`).join('; ')}`.slice(
      0,
      200,
    );
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') {
      if (unstorable(v)) return 'a string PostgreSQL cannot store';
    } else if (Array.isArray(v)) stack.push(...(v as unknown[]));
    else if (v !== null && typeof v === 'object') {
      for (const [k, child] of Object.entries(v)) {
        if (unstorable(k)) return 'a key PostgreSQL cannot store';
        // A heartbeat's runs are kept as jsonb, which holds any number.
        const column = kind !== 'heartbeat' && (k === 'attempt' || k === 'seq');
        if (column && typeof child === 'number' && child > MAX_INT4)
          return `${k} ${child} out of PostgreSQL's integer range`;
        stack.push(child);
      }
    }
  }
  const workerId = (value as { workerId?: unknown }).workerId;
  if (WORKER_ID_KINDS.has(kind) && typeof workerId === 'string' && !isSubjectToken(workerId))
    return `workerId ${JSON.stringify(workerId.slice(0, 40))} is not a subject token`;
  return undefined;
}

const encoder = new TextEncoder();

/** The subject's last token for a family. */
function tokenArb(family: Family, ctx: BrokerContext): fc.Arbitrary<string> {
  switch (family.token) {
    case 'tenant':
      return fc.oneof(
        { weight: 5, arbitrary: fc.constant('default') },
        { weight: 1, arbitrary: fc.stringMatching(/^[a-z][a-z0-9-]{0,15}$/) },
      );
    case 'workloadId':
      return fc.oneof(
        fc.uuid({ version: 7 }),
        fc.constantFrom(...(ctx.realWorkloadIds.length > 0 ? ctx.realWorkloadIds : ['none'])),
        fc.constantFrom('not-a-uuid', 'x', '0'),
      );
    case 'workerId':
      return fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom(...ctx.fakeWorkerIds) },
        { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{1,20}$/) },
      );
    case 'realWorker':
      return fc.constantFrom(...ctx.realWorkerIds);
    case 'stream':
      return fc.constantFrom(...Object.values(STREAMS).map((s) => s.name));
  }
}

/** A valid message of the family, coherent with the subject token where the schema allows. */
function validMessage(family: Family, token: string): fc.Arbitrary<unknown> {
  const file = MESSAGE_SCHEMAS[family.kind];
  const schema = SCHEMAS[file] as unknown as JsonSchema;
  return schemaArbitrary(schema, resolveFrom(file)).map((v) => {
    const m = { ...(v as Record<string, unknown>) };
    if (family.token === 'workloadId' && 'workloadId' in m) m.workloadId = token;
    if ((family.token === 'workerId' || family.token === 'realWorker') && 'workerId' in m)
      m.workerId = token;
    // Orders a trusted scheduler gives that would take a real worker out of service.
    if (family.kind === 'control' && m.action === 'drain') m.action = 'stop';
    return m;
  });
}

const RAW_PAYLOADS: readonly { bytes: Uint8Array; label: string }[] = [
  { bytes: new Uint8Array([0]), label: 'a NUL byte instead of JSON' },
  { bytes: new Uint8Array([0xff, 0xfe, 0xfd]), label: 'bytes that are not UTF-8' },
  {
    bytes: new Uint8Array([0x7b, 0x22, 0xc3, 0x28, 0x22, 0x3a, 0x31, 0x7d]),
    label: 'JSON with invalid UTF-8',
  },
  { bytes: new Uint8Array(0), label: 'an empty payload' },
  { bytes: encoder.encode('{\n'), label: 'truncated JSON' },
  { bytes: encoder.encode('null'), label: 'null' },
  { bytes: encoder.encode('[]'), label: 'an array' },
];

/** One hostile change to a valid message (as a function of it), with its label. */
const changeArb = (
  ctx: BrokerContext,
): fc.Arbitrary<{ label: string; apply: (m: unknown) => unknown }> =>
  fc.oneof(
    { weight: 2, arbitrary: fc.constant({ label: 'valid', apply: (m: unknown) => m }) },
    {
      weight: 4,
      arbitrary: fc.tuple(mutationArb, fc.nat()).map(([mutation, pick]) => ({
        label: `mutated:${mutation.kind}`,
        apply: (m: unknown) => mutate(m, mutation, pick),
      })),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.constantFrom('workerId', 'type', 'tenant', 'reason'), unstorableString())
        .map(([field, bad]) => ({
          label: `${field} with U+0000 or a lone surrogate`,
          apply: (m: unknown) => setDeep(m, field, bad),
        })),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(...HOSTILE_NESTING).map((depth) => ({
        label: `a value nested ${depth} deep`,
        apply: (m: unknown) =>
          setDeep(setDeep(m, 'result', nestedArrays(depth)), 'input', nestedArrays(depth)),
      })),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(...HOSTILE_NUMBERS).map((n) => ({
        label: `attempt ${JSON.stringify(n)}`,
        apply: (m: unknown) => setDeep(m, 'attempt', n),
      })),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(...HOSTILE_TIMES).map((t) => ({
        label: `time ${JSON.stringify(t)}`,
        apply: (m: unknown) => setDeep(m, 'time', t),
      })),
    },
    {
      weight: 2,
      arbitrary: fc.constantFrom(...BAD_WORKER_IDS).map((id) => ({
        label: `workerId ${JSON.stringify(id.slice(0, 20))}${id.length > 20 ? ` (${id.length} chars)` : ''}`,
        apply: (m: unknown) => setDeep(m, 'workerId', id),
      })),
    },
    {
      weight: 1,
      arbitrary: fc.tuple(fc.nat(), fc.integer({ min: 101, max: 100_000 })).map(([i, attempt]) => ({
        label: `a real workload with attempt ${attempt}`,
        apply: (m: unknown) => {
          const id = ctx.realWorkloadIds[i % Math.max(1, ctx.realWorkloadIds.length)];
          return id === undefined ? m : setDeep(setDeep(m, 'workloadId', id), 'attempt', attempt);
        },
      })),
    },
  );

/** `value` with every property named `field` (at any depth, and at the top) set to `to`. */
function setDeep(value: unknown, field: string, to: unknown): unknown {
  if (Array.isArray(value)) return value.map((v) => setDeep(v, field, to));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = k === field ? to : setDeep(v, field, to);
  return out;
}

/** Random messages on every consumed subject, each with what the test expects of it. */
export function messageArb(
  families: readonly Family[],
  ctx: BrokerContext,
): fc.Arbitrary<FuzzMessage> {
  const perFamily = families.map((family) =>
    tokenArb(family, ctx).chain((token) =>
      fc
        .tuple(
          validMessage(family, token),
          fc.oneof(
            { weight: 9, arbitrary: changeArb(ctx).map((c) => ({ ...c, raw: undefined })) },
            {
              weight: 1,
              arbitrary: fc
                .constantFrom(...RAW_PAYLOADS)
                .map((r) => ({ label: r.label, apply: (m: unknown) => m, raw: r.bytes })),
            },
          ),
          fc.oneof(
            { weight: 6, arbitrary: fc.constant<'none' | 'id' | 'nul'>('none') },
            { weight: 3, arbitrary: fc.constant<'none' | 'id' | 'nul'>('id') },
            { weight: 1, arbitrary: fc.constant<'none' | 'id' | 'nul'>('nul') },
          ),
          fc.oneof(
            { weight: 9, arbitrary: fc.constant('') },
            { weight: 1, arbitrary: fc.constantFrom('.extra', '.a.b') },
          ),
        )
        .map(([valid, change, msgIdKind, suffix]) => {
          const changed = change.apply(valid);
          const text = change.raw === undefined ? toJsonText(changed) : undefined;
          const payload = change.raw ?? encoder.encode(text!);
          const reason = text === undefined ? change.label : refusalReason(family.kind, text);
          const id = (valid as { id?: unknown }).id;
          const msgId =
            msgIdKind === 'none'
              ? undefined
              : msgIdKind === 'id'
                ? String(id)
                : `fz\u0000${String(id)}`;
          const body = (changed ?? {}) as { id?: unknown; idempotencyKey?: unknown };
          const message: FuzzMessage = {
            family,
            subject: `${family.pattern.slice(0, -1)}${token}${suffix}`,
            payload,
            msgId,
            expect: reason === undefined ? 'either' : 'refused',
            why: `${change.label}${reason === undefined ? '' : `: ${reason}`}`,
            submission:
              family.kind === 'submission'
                ? { id: body.id, tenant: token, idempotencyKey: body.idempotencyKey }
                : undefined,
          };
          return Object.assign(message, {
            [fc.toStringMethod]: () => describeMessage(message),
          });
        }),
    ),
  );
  return fc.oneof(...perFamily);
}

/** A short description of a message for a failure's message. */
export function describeMessage(m: FuzzMessage): string {
  const text = Buffer.from(m.payload.subarray(0, 160)).toString('latin1');
  return `${m.subject.slice(0, 80)} (${m.family.consumer}; ${m.why}; ${m.payload.length} bytes${
    m.msgId === undefined ? '' : `; Nats-Msg-Id ${JSON.stringify(m.msgId.slice(0, 60))}`
  }) ${JSON.stringify(text)}`;
}
