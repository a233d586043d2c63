import { WORKLOAD_STATUS, isUuid } from '@niyanta/messages';
import type { WorkloadStatus } from '@niyanta/messages';
import { ValidationError } from './errors.js';

const CURSOR_RE = /^[A-Za-z0-9_-]{1,64}$/;

/** The `{id}` of a path, which must be a UUID (PostgreSQL would reject anything else). */
export function parseWorkloadId(value: string | undefined): string {
  if (value === undefined || !isUuid(value)) {
    throw new ValidationError(
      `workload id ${JSON.stringify(value ?? '')} is not a UUID: use the id a submission returned`,
      [{ path: 'id', in: 'path', message: 'must be a UUID' }],
    );
  }
  return value.toLowerCase();
}

/** An optional UUID query parameter `name`: 400 naming it (and what to use) when it is not one. */
function parseUuidQueryParam(
  name: string,
  value: string | undefined,
  use: string,
): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (!isUuid(value)) {
    throw new ValidationError(
      `${name} ${JSON.stringify(value.slice(0, 100))} is not a UUID: use ${use}`,
      [{ path: name, in: 'query', message: 'must be a UUID' }],
    );
  }
  return value.toLowerCase();
}

/** The optional `scheduleId` query parameter: 400 naming it when it is not a UUID. */
export function parseScheduleIdParam(value: string | undefined): string | undefined {
  return parseUuidQueryParam('scheduleId', value, 'the id of a schedule');
}

/** The optional `parentId` query parameter: 400 naming it when it is not a UUID. */
export function parseParentIdParam(value: string | undefined): string | undefined {
  return parseUuidQueryParam('parentId', value, 'the id of a workload that spawned children');
}

/** An optional integer query parameter within [min, max]. */
export function parseIntParam(
  name: string,
  value: string | undefined,
  opts: { min: number; max: number; default: number },
): number {
  if (value === undefined || value === '') return opts.default;
  const n = Number(value);
  if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(n) || n < opts.min || n > opts.max) {
    throw new ValidationError(
      `${name} is ${JSON.stringify(value)}: use an integer from ${opts.min} to ${opts.max}`,
      [{ path: name, in: 'query', message: `must be an integer from ${opts.min} to ${opts.max}` }],
    );
  }
  return n;
}

/** An optional query parameter from a closed set (upper case, as on the wire). */
export function parseEnumParam<T extends string>(
  name: string,
  value: string | undefined,
  allowed: readonly T[],
): T | undefined {
  if (value === undefined || value === '') return undefined;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new ValidationError(
      `${name} is ${JSON.stringify(value)}: use one of ${allowed.join(', ')}`,
      [{ path: name, in: 'query', message: `must be one of ${allowed.join(', ')}` }],
    );
  }
  return value as T;
}

/** A `?status=` of workloads. */
export function parseStatusParam(value: string | undefined): WorkloadStatus | undefined {
  return parseEnumParam('status', value, Object.values(WORKLOAD_STATUS));
}

// The workload type pattern of the schemas: a filter by anything else can match nothing.
const TYPE_RE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/;

/** A `?type=` of workloads. */
export function parseTypeParam(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (!TYPE_RE.test(value)) {
    throw new ValidationError(
      `type ${JSON.stringify(value)} is not a workload type name: use 1-100 characters from A-Z a-z 0-9 . _ : -, starting with a letter or digit`,
      [{ path: 'type', in: 'query', message: 'must be a workload type name' }],
    );
  }
  return value;
}

/** A boolean query parameter: true/false/1/0, absent = false. */
export function parseBoolParam(name: string, value: string | undefined): boolean {
  if (value === undefined || value === '' || value === 'false' || value === '0') return false;
  if (value === 'true' || value === '1') return true;
  throw new ValidationError(`${name} is ${JSON.stringify(value)}: use true or false`, [
    { path: name, in: 'query', message: 'must be true or false' },
  ]);
}

/** The opaque cursor of the page after `lastId`. */
export function encodeCursor(lastId: string): string {
  return Buffer.from(lastId, 'utf8').toString('base64url');
}

/** The last id of the previous page, from a cursor this API made; 400 for anything else. */
export function decodeCursor(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined;
  const id = CURSOR_RE.test(value) ? Buffer.from(value, 'base64url').toString('utf8') : '';
  if (!isUuid(id) || encodeCursor(id) !== value) {
    throw new ValidationError(
      `cursor ${JSON.stringify(value)} is not one this API made: pass nextCursor from the previous page unchanged`,
      [{ path: 'cursor', in: 'query', message: 'is not a valid cursor' }],
    );
  }
  return id.toLowerCase();
}

const LABEL_KEY_RE = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$/;
const LABEL_VALUE_MAX_CHARS = 253;

/** The `label` filter `key=value`: only workloads with that label. */
export function parseLabelParam(value: string | undefined): [string, string] | undefined {
  if (value === undefined || value === '') return undefined;
  const at = value.indexOf('=');
  const key = at < 0 ? value : value.slice(0, at);
  const labelValue = at < 0 ? '' : value.slice(at + 1);
  if (at < 0 || !LABEL_KEY_RE.test(key) || labelValue.length > LABEL_VALUE_MAX_CHARS) {
    throw new ValidationError(
      `label ${JSON.stringify(value.slice(0, 300))} is not key=value: the key is 1-63 characters from A-Z a-z 0-9 . _ / -, starting with a letter or digit; the value at most 253 characters`,
      [{ path: 'label', in: 'query', message: 'must be key=value' }],
    );
  }
  return [key, labelValue];
}
