import { isWorkloadType, uuidv7, validateMessage } from '@niyanta/messages';

const SAMPLES = [
  'sleep',
  'exec',
  'a',
  'Render.v2:gpu_big-1',
  'x'.repeat(100),
  'x'.repeat(101),
  '',
  '.hidden',
  '-dash',
  'has space',
  'tab\there',
  'nul\u0000',
  '\u0000',
  'lone\ud800',
  'niyanta.assign.*',
  'wild>',
  'ümlaut',
  'line\n',
];

describe('isWorkloadType', () => {
  it('agrees with the submission schema on every sample', () => {
    for (const type of SAMPLES) {
      const errors = validateMessage('submission', {
        schemaVersion: 1,
        id: uuidv7(),
        type,
        input: null,
      });
      expect([type, isWorkloadType(type)]).toEqual([type, errors.length === 0]);
    }
  });

  it('refuses NUL, whitespace, a leading dot and more than 100 characters', () => {
    expect(isWorkloadType('sleep')).toBe(true);
    expect(isWorkloadType('nul\u0000')).toBe(false);
    expect(isWorkloadType('has space')).toBe(false);
    expect(isWorkloadType('.hidden')).toBe(false);
    expect(isWorkloadType('x'.repeat(101))).toBe(false);
  });
});
