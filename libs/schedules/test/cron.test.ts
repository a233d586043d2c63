import { ScheduleFieldError, compileCron } from '@niyanta/schedules';

const isoList = (dates: Date[]) => dates.map((d) => d.toISOString());

function fieldError(spec: Parameters<typeof compileCron>[0]): ScheduleFieldError {
  try {
    compileCron(spec);
  } catch (err) {
    if (err instanceof ScheduleFieldError) return err;
    throw err;
  }
  throw new Error(`compileCron accepted ${JSON.stringify(spec)}`);
}

describe('compileCron', () => {
  it('gives the next runs of five fields in UTC by default', () => {
    const cron = compileCron({ cron: '*/15 * * * *' });
    expect(isoList(cron.nextRuns(3, new Date('2026-12-06T10:07:00Z')))).toEqual([
      '2026-12-06T10:15:00.000Z',
      '2026-12-06T10:30:00.000Z',
      '2026-12-06T10:45:00.000Z',
    ]);
  });

  it('reads the fields in the schedule zone', () => {
    const cron = compileCron({ cron: '0 2 * * *', timezone: 'Europe/Berlin' });
    // CET is UTC+1 in December.
    expect(isoList(cron.nextRuns(1, new Date('2026-12-06T00:00:00Z')))).toEqual([
      '2026-12-06T01:00:00.000Z',
    ]);
  });

  it('fires a time in the skipped hour once, just after the gap', () => {
    // 2026-03-29 02:00 CET jumps to 03:00 CEST in Europe/Berlin: 02:30 does not exist.
    const cron = compileCron({ cron: '30 2 * * *', timezone: 'Europe/Berlin' });
    expect(isoList(cron.nextRuns(2, new Date('2026-03-28T12:00:00Z')))).toEqual([
      '2026-03-29T01:00:00.000Z',
      '2026-03-30T00:30:00.000Z',
    ]);
  });

  it('fires a time in the repeated hour once', () => {
    // 2026-10-25 03:00 CEST goes back to 02:00 CET: 02:30 happens twice on the wall clock.
    const cron = compileCron({ cron: '30 2 * * *', timezone: 'Europe/Berlin' });
    expect(isoList(cron.nextRuns(2, new Date('2026-10-24T12:00:00Z')))).toEqual([
      '2026-10-25T00:30:00.000Z',
      '2026-10-26T01:30:00.000Z',
    ]);
  });

  it('knows the @-names', () => {
    const cron = compileCron({ cron: '@daily' });
    expect(isoList(cron.nextRuns(1, new Date('2026-12-06T10:00:00Z')))).toEqual([
      '2026-12-07T00:00:00.000Z',
    ]);
    expect(
      isoList(compileCron({ cron: '@HOURLY' }).nextRuns(1, new Date('2026-12-06T10:00:00Z'))),
    ).toEqual(['2026-12-06T11:00:00.000Z']);
  });

  it('gives the previous runs earliest first, including one exactly at the reference', () => {
    const cron = compileCron({ cron: '0 * * * *' });
    expect(isoList(cron.previousRuns(2, new Date('2026-12-06T10:00:00Z')))).toEqual([
      '2026-12-06T09:00:00.000Z',
      '2026-12-06T10:00:00.000Z',
    ]);
  });

  it('refuses a bad expression naming /cron', () => {
    for (const cron of [
      '61 * * * *',
      '* * * *',
      '* * * * * *',
      '@fortnightly',
      'every minute',
      '0 0 30 2 *',
    ]) {
      const err = fieldError({ cron });
      expect(err.path).toBe('/cron');
      expect(err.message).toContain(JSON.stringify(cron));
    }
  });

  it('refuses an unknown zone naming /timezone', () => {
    const err = fieldError({ cron: '* * * * *', timezone: 'Mars/Olympus' });
    expect(err.path).toBe('/timezone');
    expect(err.message).toContain('Mars/Olympus');
  });

  it('takes a seconds field only when the test-only switch allows it', () => {
    expect(fieldError({ cron: '*/2 * * * * *' }).path).toBe('/cron');
    const cron = compileCron({ cron: '*/2 * * * * *', allowSeconds: true });
    expect(isoList(cron.nextRuns(2, new Date('2026-12-06T10:00:01Z')))).toEqual([
      '2026-12-06T10:00:02.000Z',
      '2026-12-06T10:00:04.000Z',
    ]);
  });
});
