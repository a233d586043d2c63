import { openSecret, SecretOpenError } from '@niyanta/runtime';
import type { SecretKeys } from '@niyanta/runtime';
import type { AttemptFailure } from '@niyanta/worker-sdk';
import type { Assignment } from './run.js';

/** What a secret is replaced by in a run's log lines. */
export const REDACTED = '[REDACTED]';
/** Values shorter than this are not redacted: replacing every "a" would garble the log for nothing. */
const REDACT_MIN_CHARS = 4;

/**
 * Opens an assignment's sealed secrets in memory, just before its run. Fails (never throws) with
 * SECRETS_KEY_MISSING when the worker has no SECRETS_KEY, SECRET_KEY_UNKNOWN or
 * SECRET_UNREADABLE when a value does not open with it.
 */
export function openRunSecrets(
  keys: SecretKeys | undefined,
  assignment: Pick<Assignment, 'tenant' | 'secrets'>,
): { ok: true; secrets: Record<string, string> } | { ok: false; error: AttemptFailure } {
  const sealed = assignment.secrets ?? [];
  const secrets: Record<string, string> = {};
  if (sealed.length === 0) return { ok: true, secrets };
  if (keys === undefined) {
    return {
      ok: false,
      error: {
        code: 'SECRETS_KEY_MISSING',
        message: `the run needs secrets (${sealed.map((s) => s.name).join(', ')}) and this worker has no SECRETS_KEY. Start the workers with the API's SECRETS_KEY.`,
        retryable: false,
      },
    };
  }
  for (const s of sealed) {
    try {
      secrets[s.name] = openSecret(keys, { tenant: assignment.tenant, name: s.name }, s);
    } catch (err) {
      if (!(err instanceof SecretOpenError)) throw err;
      return { ok: false, error: { code: err.code, message: err.message, retryable: false } };
    }
  }
  return { ok: true, secrets };
}

/**
 * Replaces every occurrence of the run's secret values in a log line with {@link REDACTED}
 * (longest first, so a value containing another is replaced whole). Identity without secrets.
 */
export function secretRedactor(
  secrets: Readonly<Record<string, string>>,
): (line: string) => string {
  const values = [...new Set(Object.values(secrets))]
    .filter((v) => v.length >= REDACT_MIN_CHARS)
    .sort((a, b) => b.length - a.length);
  if (values.length === 0) return (line) => line;
  return (line) => {
    let out = line;
    for (const value of values) if (out.includes(value)) out = out.replaceAll(value, REDACTED);
    return out;
  };
}

/** `value` with the run's secret values replaced in every string of it (keys included). */
export function redactJson<T>(value: T, redact: (text: string) => string): T {
  return redactValue(value, redact) as T;
}

function redactValue(value: unknown, redact: (text: string) => string): unknown {
  if (typeof value === 'string') return redact(value);
  if (Array.isArray(value)) return value.map((v) => redactValue(v, redact));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[redact(k)] = redactValue(v, redact);
    return out;
  }
  return value;
}
