import { SecretOpenError, openSecret, parseSecretKeys, sealSecret } from '../src/index.js';
import type { SecretKeys } from '../src/index.js';

const k = (byte: number) => Buffer.alloc(32, byte).toString('base64');
const keysOf = (value: string) => {
  const parsed = parseSecretKeys(value);
  if ('problems' in parsed) throw new Error(parsed.problems.join('; '));
  return parsed as SecretKeys;
};
const owner = { tenant: 'acme', name: 'db-password' };

describe('secret box', () => {
  it('seals with the first key and opens with any listed key (rotation)', () => {
    const old = keysOf(`k1:${k(1)}`);
    const sealedOld = sealSecret(old, owner, 'pa55word');
    expect(sealedOld.keyId).toBe('k1');
    expect(Buffer.from(sealedOld.sealed, 'base64').toString('latin1')).not.toContain('pa55word');

    const rotated = keysOf(`k2:${k(2)},k1:${k(1)}`);
    expect(rotated.current).toBe('k2');
    expect(openSecret(rotated, owner, sealedOld)).toBe('pa55word');
    const sealedNew = sealSecret(rotated, owner, 'pa55word');
    expect(sealedNew.keyId).toBe('k2');
    expect(sealedNew.sealed).not.toBe(sealSecret(rotated, owner, 'pa55word').sealed); // fresh nonce
    expect(openSecret(rotated, owner, sealedNew)).toBe('pa55word');
  });

  it('accepts one bare key as id default', () => {
    const keys = keysOf(k(7));
    expect(keys.current).toBe('default');
    expect(openSecret(keys, owner, sealSecret(keys, owner, 'x'))).toBe('x');
  });

  it('refuses a missing key, a wrong key, another owner and an altered value with typed errors', () => {
    const keys = keysOf(`k1:${k(1)}`);
    const sealed = sealSecret(keys, owner, 'value');
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        expect(err).toBeInstanceOf(SecretOpenError);
        expect((err as Error).message).not.toContain('value"');
        return (err as SecretOpenError).code;
      }
      return 'opened';
    };
    expect(code(() => openSecret(keysOf(`k9:${k(1)}`), owner, sealed))).toBe('SECRET_KEY_UNKNOWN');
    expect(code(() => openSecret(keysOf(`k1:${k(3)}`), owner, sealed))).toBe('SECRET_UNREADABLE');
    expect(code(() => openSecret(keys, { ...owner, tenant: 'other' }, sealed))).toBe(
      'SECRET_UNREADABLE',
    );
    expect(code(() => openSecret(keys, { ...owner, name: 'other' }, sealed))).toBe(
      'SECRET_UNREADABLE',
    );
    const raw = Buffer.from(sealed.sealed, 'base64');
    raw[15] = raw[15]! ^ 1;
    expect(code(() => openSecret(keys, owner, { ...sealed, sealed: raw.toString('base64') }))).toBe(
      'SECRET_UNREADABLE',
    );
    expect(code(() => openSecret(keys, owner, { ...sealed, sealed: 'AAAA' }))).toBe(
      'SECRET_UNREADABLE',
    );
  });

  it('names malformed SECRETS_KEY entries without printing a key', () => {
    const secretish = Buffer.alloc(31, 9).toString('base64');
    const result = parseSecretKeys(
      `k1:${secretish},bad id:${k(1)},k1:${k(2)},k3:${k(3)},k3:${k(4)}`,
    );
    expect('problems' in result).toBe(true);
    const problems = (result as { problems: string[] }).problems;
    expect(problems).toEqual([
      expect.stringContaining('key "k1" is not 32 bytes'),
      expect.stringContaining('entry 2 has no valid key id'),
      expect.stringContaining('names key "k3" twice'),
    ]);
    expect(problems.join(' ')).not.toContain(secretish);
    expect(problems.join(' ')).not.toContain(k(4));
  });
});
