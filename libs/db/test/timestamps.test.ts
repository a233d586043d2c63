import { isoTimestamp, parseTimestamptz } from '@niyanta/db';
import pg from 'pg';

// What pg itself makes of a timestamptz (postgres-date): the fast parser must agree everywhere.
const pgParse = pg.types.getTypeParser(1184, 'text') as (s: string) => Date;

/** A deterministic PRNG (mulberry32), so a failure names a value that reproduces. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** PostgreSQL's ISO output for `utcMs` shown at `offsetSeconds`, with `fraction` digits. */
function pgText(utcMs: number, offsetSeconds: number, fraction: string): string {
  const local = new Date(utcMs + offsetSeconds * 1000);
  const sign = offsetSeconds < 0 ? '-' : '+';
  const abs = Math.abs(offsetSeconds);
  const [h, m, s] = [Math.floor(abs / 3600), Math.floor((abs % 3600) / 60), abs % 60];
  const zone = `${sign}${pad(h)}${m || s ? `:${pad(m)}` : ''}${s ? `:${pad(s)}` : ''}`;
  return (
    `${pad(local.getUTCFullYear(), 4)}-${pad(local.getUTCMonth() + 1)}-${pad(local.getUTCDate())} ` +
    `${pad(local.getUTCHours())}:${pad(local.getUTCMinutes())}:${pad(local.getUTCSeconds())}` +
    `${fraction === '' ? '' : `.${fraction}`}${zone}`
  );
}

describe('parseTimestamptz', () => {
  it('gives the same instant as pg for every form PostgreSQL prints', () => {
    const r = rng(7);
    const offsets = [0, 3600, -18_000, 19_800, 20_700, -12_600, 1172, -3_600 * 12 - 59];
    const wrong: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      const utcMs = Math.floor(r() * 8.0e12) - 1.0e12; // 1938 … 2223
      const digits = Math.floor(r() * 7); // none, or 1 to 6 fraction digits
      const fraction = Array.from({ length: digits }, () => Math.floor(r() * 10)).join('');
      const text = pgText(utcMs, offsets[i % offsets.length]!, fraction);
      if (parseTimestamptz(text).getTime() !== pgParse(text).getTime()) wrong.push(text);
    }
    expect(wrong).toEqual([]);
  });

  it.each([
    ['0099-12-31 23:59:59+00'], // years 0–99: Date.UTC would read 1999
    ['0001-01-01 00:00:00+00 BC'],
    ['12345-06-07 08:09:10+00'],
    ['infinity'],
    ['-infinity'],
    ['2026-12-03 13:09:00.5 +00'], // not PostgreSQL's own form: pg's parser decides
  ])('leaves %s to pg and answers as it does', (text) => {
    expect(parseTimestamptz(text)).toEqual(pgParse(text));
  });

  it('cuts microseconds to milliseconds as pg does', () => {
    expect(parseTimestamptz('2026-12-03 13:09:00.123999+00').toISOString()).toBe(
      '2026-12-03T13:09:00.123Z',
    );
    expect(parseTimestamptz('2026-12-03 13:09:00.9+05:45').toISOString()).toBe(
      '2026-12-03T07:24:00.900Z',
    );
  });
});

describe('isoTimestamp', () => {
  it('prints what toISOString prints', () => {
    const r = rng(11);
    const wrong: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      const d = new Date(Math.floor(r() * 2.5e14) - 3.0e13); // 1019 … 9875
      if (isoTimestamp(d) !== d.toISOString()) wrong.push(d.toISOString());
    }
    expect(wrong).toEqual([]);
    for (const ms of [Date.UTC(1000, 0, 1), Date.UTC(9999, 11, 31, 23, 59, 59, 999), 0]) {
      expect(isoTimestamp(new Date(ms))).toBe(new Date(ms).toISOString());
    }
  });

  it('hands other years to toISOString, and an invalid date fails as it does', () => {
    for (const ms of [Date.UTC(999, 11, 31), Date.UTC(10_000, 0, 1), -6.2e13]) {
      expect(isoTimestamp(new Date(ms))).toBe(new Date(ms).toISOString());
    }
    expect(() => isoTimestamp(new Date(NaN))).toThrow(RangeError);
  });
});
