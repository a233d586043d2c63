import { createDb } from '@niyanta/db';
import { createTestDatabase } from '@niyanta/testing';
import { sql } from 'kysely';

describe('timestamps read from PostgreSQL', () => {
  it('are the instants stored, whatever the session time zone prints them in', async () => {
    await using database = await createTestDatabase();
    const db = createDb(database.url, { max: 1 }); // one connection: the time zone set stays
    try {
      // Whole-hour, half-hour, 45-minute and (Amsterdam in 1900) seconds offsets, both signs.
      for (const zone of [
        'UTC',
        'Asia/Kolkata',
        'Asia/Kathmandu',
        'America/St_Johns',
        'Europe/Amsterdam',
      ]) {
        await sql`select set_config('TimeZone', ${zone}, false)`.execute(db);
        const { rows } = await sql<{ at: Date; epoch_ms: string; text: string }>`
          select at, (extract(epoch from at) * 1000)::bigint::text as epoch_ms, at::text as text
          from unnest(array[
            '2026-12-03 13:09:00.123456+00', '1900-01-01 00:00:00+00', '2026-06-30 23:59:59+00',
            '2000-02-29 12:00:00.5+00'
          ]::timestamptz[]) as at`.execute(db);
        for (const row of rows) {
          expect({ zone, text: row.text, ms: row.at.getTime() }).toEqual({
            zone,
            text: row.text,
            ms: Math.floor(Number(row.epoch_ms)),
          });
        }
      }
    } finally {
      await db.destroy();
    }
  });
});
