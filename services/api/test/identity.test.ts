import { ConfigError } from '@niyanta/runtime';
import {
  ChainVerifier,
  GENESIS_HASH,
  canonicalJson,
  entryHash,
  loadConfig,
  newApiKey,
  parseApiKey,
} from '../src/index.js';
import type { AuditEntry } from '../src/index.js';
import { secretMatches } from '../src/auth/api-key-format.js';
import { TenantRateLimiter } from '../src/auth/rate-limiter.js';
import { RateLimitedError } from '../src/errors.js';

const BASE = { DATABASE_URL: 'postgres://u@h/db' };

describe('API configuration of authentication', () => {
  it('refuses AUTH_MODE=disabled unless HOST is a loopback address', () => {
    expect(() => loadConfig({ ...BASE, AUTH_MODE: 'disabled' })).toThrow(
      /AUTH_MODE=disabled with HOST=0\.0\.0\.0/,
    );
    for (const HOST of ['127.0.0.1', 'localhost', '::1'])
      expect(loadConfig({ ...BASE, AUTH_MODE: 'disabled', HOST }).AUTH_MODE).toBe('disabled');
    expect(loadConfig(BASE).AUTH_MODE).toBe('enabled');
  });

  it('refuses an API_ROOT_KEY under 32 characters without printing it', () => {
    const short = 'short-secret-value';
    let error: unknown;
    try {
      loadConfig({ ...BASE, API_ROOT_KEY: short });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(
      /API_ROOT_KEY has 18 characters; it needs at least 32/,
    );
    expect((error as Error).message).not.toContain(short);
    expect(loadConfig({ ...BASE, API_ROOT_KEY: 'x'.repeat(32) }).API_ROOT_KEY).toHaveLength(32);
  });
});

describe('API key format', () => {
  it('makes keys with a public id and 256 random bits, and stores only a hash of the secret', () => {
    const { id, key, secretSha256 } = newApiKey();
    const parsed = parseApiKey(key)!;
    expect(parsed.id).toBe(id);
    expect(Buffer.from(parsed.secret, 'base64url')).toHaveLength(32);
    expect(secretSha256).not.toContain(parsed.secret);
    expect(secretMatches(parsed.secret, secretSha256)).toBe(true);
    expect(secretMatches(`${parsed.secret.slice(0, -1)}x`, secretSha256)).toBe(false);
    expect(parseApiKey(`${key}x`)).toBeUndefined();
    expect(newApiKey().key).not.toBe(key);
  });
});

describe('audit hash chain', () => {
  const chain = (n: number): AuditEntry[] => {
    const out: AuditEntry[] = [];
    let prevHash = GENESIS_HASH;
    for (let seq = 1; seq <= n; seq++) {
      const fields = {
        seq,
        at: new Date(Date.UTC(2026, 0, 1, 0, 0, seq)).toISOString(),
        tenant: 'a',
        actor: 'root',
        action: 'PATCH /v1/tenants/:id',
        target: `/v1/tenants/a${seq}`,
        outcome: 200,
      };
      const hash = entryHash(prevHash, fields);
      out.push({ ...fields, prevHash, hash });
      prevHash = hash;
    }
    return out;
  };
  const verify = (entries: AuditEntry[]) => {
    const v = new ChainVerifier();
    v.next(entries.slice(0, 3));
    v.next(entries.slice(3));
    return v.result;
  };

  it('hashes the canonical JSON (sorted keys) after the previous hash', () => {
    expect(
      canonicalJson({
        seq: 1,
        at: 'x',
        tenant: null,
        actor: 'r',
        action: 'a',
        target: 't',
        outcome: 200,
      }),
    ).toBe('{"action":"a","actor":"r","at":"x","outcome":200,"seq":1,"target":"t","tenant":null}');
  });

  it('accepts an intact chain and names the first changed, deleted or moved entry', () => {
    expect(verify(chain(6))).toEqual({ ok: true, checked: 6, firstBadSeq: null });
    const changed = chain(6);
    changed[3] = { ...changed[3]!, outcome: 500 };
    expect(verify(changed)).toMatchObject({ ok: false, firstBadSeq: 4 });
    const deleted = chain(6).filter((e) => e.seq !== 3);
    expect(verify(deleted)).toMatchObject({ ok: false, firstBadSeq: 3 });
    const moved = chain(6);
    [moved[1], moved[2]] = [moved[2]!, moved[1]!];
    expect(verify(moved)).toMatchObject({ ok: false, firstBadSeq: 2 });
    // Renumbered to hide a deletion: the links break.
    const renumbered = chain(6)
      .filter((e) => e.seq !== 3)
      .map((e, i) => ({ ...e, seq: i + 1 }));
    expect(verify(renumbered)).toMatchObject({ ok: false, firstBadSeq: 3 });
  });
});

describe('tenant rate limiter', () => {
  it('spends the burst, then answers 429 with the draft headers', () => {
    const limiter = new TenantRateLimiter();
    const limit = { requestsPerSecond: 2, burst: 3 };
    expect(limiter.take('t', limit)).toEqual({
      'RateLimit-Policy': '"tenant";q=3;w=2',
      RateLimit: '"tenant";r=2;t=1',
    });
    limiter.take('t', limit);
    limiter.take('t', limit);
    let refused: unknown;
    try {
      limiter.take('t', limit);
    } catch (err) {
      refused = err;
    }
    expect(refused).toBeInstanceOf(RateLimitedError);
    expect((refused as RateLimitedError).extra.headers).toMatchObject({
      'Retry-After': '1',
      RateLimit: '"tenant";r=0;t=1',
    });
    expect(limiter.take('other', null)).toEqual({});
  });
});
