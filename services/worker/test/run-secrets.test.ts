import { parseSecretKeys, sealSecret } from '@niyanta/runtime';
import type { SecretKeys } from '@niyanta/runtime';
import { openRunSecrets, REDACTED, redactJson, secretRedactor } from '../src/run-secrets.js';

const keys = parseSecretKeys(`k1:${Buffer.alloc(32, 1).toString('base64')}`) as SecretKeys;
const other = parseSecretKeys(`k1:${Buffer.alloc(32, 2).toString('base64')}`) as SecretKeys;
const sealed = (name: string, value: string) => ({
  name,
  ...sealSecret(keys, { tenant: 'acme', name }, value),
});

describe('run secrets', () => {
  it('opens an assignment’s sealed secrets by name', () => {
    const opened = openRunSecrets(keys, {
      tenant: 'acme',
      secrets: [sealed('a', 'alpha-value'), sealed('b', 'beta-value')],
    });
    expect(opened).toEqual({ ok: true, secrets: { a: 'alpha-value', b: 'beta-value' } });
    expect(openRunSecrets(undefined, { tenant: 'acme' })).toEqual({ ok: true, secrets: {} });
  });

  it('fails with a code, never throws, when the worker cannot open them', () => {
    const assignment = { tenant: 'acme', secrets: [sealed('a', 'alpha-value')] };
    expect(openRunSecrets(undefined, assignment)).toMatchObject({
      ok: false,
      error: { code: 'SECRETS_KEY_MISSING', retryable: false },
    });
    const wrong = openRunSecrets(other, assignment);
    expect(wrong).toMatchObject({
      ok: false,
      error: { code: 'SECRET_UNREADABLE', retryable: false },
    });
    expect(JSON.stringify(wrong)).not.toContain('alpha-value');
    expect(openRunSecrets(keys, { ...assignment, tenant: 'other' })).toMatchObject({
      ok: false,
      error: { code: 'SECRET_UNREADABLE' },
    });
  });

  it('redacts every value of 4 characters or more, longest first', () => {
    const redact = secretRedactor({ a: 'pass', b: 'password1', c: 'x' });
    expect(redact('user password1 and pass, x')).toBe(`user ${REDACTED} and ${REDACTED}, x`);
    expect(secretRedactor({})('as is')).toBe('as is');
  });

  it('redacts the strings of a result or failure, leaving numbers and structure', () => {
    const redact = secretRedactor({ a: '1234' });
    expect(
      redactJson({ n: 12345, s: 'x1234y', list: ['1234', 1234], ['k1234']: null }, redact),
    ).toEqual({ n: 12345, s: `x${REDACTED}y`, list: [REDACTED, 1234], [`k${REDACTED}`]: null });
  });
});
