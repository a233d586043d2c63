import { decode, envelope, uuidv7 } from '@niyanta/messages';

// seq and attempt are PostgreSQL integers: a larger value would fail the insert every time and,
// before it was refused here, held its whole batch back forever.
describe('checkpoint message schema', () => {
  const message = (fields: { attempt: number; seq: number }) =>
    new TextEncoder().encode(
      JSON.stringify({ ...envelope(), workloadId: uuidv7(), data: {}, ...fields }),
    );

  it('accepts seq and attempt up to 2^31 - 1', () => {
    expect(decode('checkpoint', message({ attempt: 2 ** 31 - 1, seq: 2 ** 31 - 1 })).ok).toBe(true);
  });

  it.each([
    ['seq', { attempt: 1, seq: 2 ** 31 }],
    ['attempt', { attempt: 2 ** 31, seq: 1 }],
  ])('refuses a %s of 2^31 or more', (_field, fields) => {
    const result = decode('checkpoint', message(fields));
    expect(result.ok).toBe(false);
  });
});
