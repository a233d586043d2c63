import { childTraceparent } from '@niyanta/messages';

const TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

describe('childTraceparent', () => {
  it('continues a valid parent trace with a new span id, and starts a trace otherwise', () => {
    const parent = '00-0123456789abcdef0123456789abcdef-0123456789abcdef-01';
    const child = childTraceparent(parent);
    expect(child).toMatch(/^00-0123456789abcdef0123456789abcdef-[0-9a-f]{16}-01$/);
    expect(child).not.toBe(parent);
    expect(childTraceparent('not a traceparent')).toMatch(TRACEPARENT);
    expect(childTraceparent()).toMatch(TRACEPARENT);
  });

  it('gives distinct ids across many calls (past a refill of the random pool)', () => {
    const spans = new Set<string>();
    for (let i = 0; i < 5_000; i++) {
      const t = childTraceparent();
      expect(t).toMatch(TRACEPARENT);
      spans.add(t);
    }
    expect(spans.size).toBe(5_000);
  });
});
