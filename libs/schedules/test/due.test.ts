import fc from 'fast-check';
import {
  MISSED_AFTER_MS,
  compileCron,
  dueFireTimes,
  firingKey,
  scheduleIdOfKey,
} from '@niyanta/schedules';

const everyMinute = compileCron({ cron: '* * * * *' });
const at = (iso: string) => new Date(iso);
const isoList = (dates: Date[]) => dates.map((d) => d.toISOString());

describe('dueFireTimes', () => {
  it('fires the time that has just come', () => {
    const fire = dueFireTimes({
      cron: everyMinute,
      after: at('2026-12-06T10:00:30Z'),
      now: at('2026-12-06T10:01:00.200Z'),
      catchUp: 0,
    });
    expect(isoList(fire)).toEqual(['2026-12-06T10:01:00.000Z']);
  });

  it('fires nothing twice: a time at or before `after` is handled', () => {
    const fire = dueFireTimes({
      cron: everyMinute,
      after: at('2026-12-06T10:01:00Z'),
      now: at('2026-12-06T10:01:30Z'),
      catchUp: 5,
    });
    expect(fire).toEqual([]);
  });

  it('still fires a time delayed by less than a minute (a restart)', () => {
    const fire = dueFireTimes({
      cron: everyMinute,
      after: at('2026-12-06T10:00:58Z'),
      now: at('2026-12-06T10:01:40Z'),
      catchUp: 0,
    });
    expect(isoList(fire)).toEqual(['2026-12-06T10:01:00.000Z']);
  });

  it('fires every time that came while the scheduler was down for seconds', () => {
    const fire = dueFireTimes({
      cron: compileCron({ cron: '*/2 * * * * *', allowSeconds: true }),
      after: at('2026-12-06T10:00:00.100Z'),
      now: at('2026-12-06T10:00:09Z'),
      catchUp: 0,
    });
    expect(isoList(fire)).toEqual([
      '2026-12-06T10:00:02.000Z',
      '2026-12-06T10:00:04.000Z',
      '2026-12-06T10:00:06.000Z',
      '2026-12-06T10:00:08.000Z',
    ]);
  });

  it('skips missed times without catch-up', () => {
    const fire = dueFireTimes({
      cron: everyMinute,
      after: at('2026-12-06T09:00:00Z'),
      now: at('2026-12-06T10:00:10Z'),
      catchUp: 0,
    });
    expect(isoList(fire)).toEqual(['2026-12-06T10:00:00.000Z']);
  });

  it('fires at most catchUp missed times, the latest ones, earliest first', () => {
    const fire = dueFireTimes({
      cron: everyMinute,
      after: at('2026-12-06T09:00:00Z'),
      now: at('2026-12-06T10:05:30Z'),
      catchUp: 3,
    });
    expect(isoList(fire)).toEqual([
      '2026-12-06T10:02:00.000Z',
      '2026-12-06T10:03:00.000Z',
      '2026-12-06T10:04:00.000Z',
      '2026-12-06T10:05:00.000Z',
    ]);
  });

  it('property: fires only times in (after, now], at most catchUp of them missed', () => {
    const base = Date.parse('2026-12-06T00:00:00Z');
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 6 * 3_600_000 }),
        fc.integer({ min: 0, max: 3 * 3_600_000 }),
        fc.integer({ min: 0, max: 100 }),
        (afterOffset, gap, catchUp) => {
          const after = new Date(base + afterOffset);
          const now = new Date(after.getTime() + gap);
          const fire = dueFireTimes({ cron: everyMinute, after, now, catchUp });
          const times = fire.map((d) => d.getTime());
          expect(times.every((t) => t > after.getTime() && t <= now.getTime())).toBe(true);
          expect([...times].sort((a, b) => a - b)).toEqual(times);
          expect(new Set(times).size).toBe(times.length);
          const missed = times.filter((t) => now.getTime() - t > MISSED_AFTER_MS);
          expect(missed.length).toBeLessThanOrEqual(catchUp);
        },
      ),
    );
  });
});

describe('firing keys', () => {
  it('name the schedule and the fire time, and give the schedule back', () => {
    const id = '0193a5a0-0000-7000-8000-000000000001';
    const key = firingKey(id, at('2026-12-06T10:01:00Z'));
    expect(key).toBe(`schedule:${id}:2026-12-06T10:01:00.000Z`);
    expect(scheduleIdOfKey(key)).toBe(id);
    expect(scheduleIdOfKey('nightly-2026-12-06')).toBeUndefined();
    expect(scheduleIdOfKey(null)).toBeUndefined();
  });
});
