import { holds, neverFitsReason, offersByType } from '../src/placement/fit.js';
import type { OfferingWorker } from '../src/placement/fit.js';

const worker = (
  cpu: number,
  memoryMb: number,
  gpu: number,
  types: string[] = ['sleep'],
  slots = 4,
): OfferingWorker => ({ capacity: { slots, cpu, memoryMb, gpu }, types });

describe('holds', () => {
  it('holds needs of at most each resource, a missing one counting as 0', () => {
    const offer = { cpu: 4, memoryMb: 1024, gpu: 1 };
    expect(holds(offer, {})).toBe(true);
    expect(holds(offer, { cpu: 4, memoryMb: 1024, gpu: 1 })).toBe(true);
    expect(holds(offer, { cpu: 4.5 })).toBe(false);
    expect(holds(offer, { memoryMb: 1025 })).toBe(false);
    expect(holds(offer, { gpu: 2 })).toBe(false);
  });
});

describe('offersByType', () => {
  it('keeps the largest of each resource and only the offers no other worker holds', () => {
    const byType = offersByType([
      worker(8, 1024, 0, ['sleep', 'exec']),
      worker(4, 4096, 0),
      worker(4, 1024, 0), // held by both others
      worker(8, 1024, 0), // equal to the first
      worker(64, 99999, 8, ['sleep'], 0), // no slot: takes nothing
    ]);
    expect(byType.get('sleep')).toEqual({
      largest: { cpu: 8, memoryMb: 4096, gpu: 0 },
      offers: [
        { cpu: 8, memoryMb: 1024, gpu: 0 },
        { cpu: 4, memoryMb: 4096, gpu: 0 },
      ],
    });
    expect(byType.get('exec')!.offers).toEqual([{ cpu: 8, memoryMb: 1024, gpu: 0 }]);
  });
});

describe('neverFitsReason', () => {
  const byType = offersByType([worker(8, 1024, 0), worker(2, 1024, 1)]);

  it('is null when one worker offers all the workload needs', () => {
    expect(neverFitsReason('sleep', { cpu: 8 }, byType)).toBeNull();
    expect(neverFitsReason('sleep', { cpu: 2, gpu: 1 }, byType)).toBeNull();
  });

  it('names an unhandled type, a resource larger than any worker offers, or no one worker offering all', () => {
    expect(neverFitsReason('render-$&', {}, byType)).toBe(
      'no live worker handles type "render-$&"',
    );
    expect(neverFitsReason('sleep', { cpu: 64, gpu: 34 }, byType)).toBe(
      'needs cpu 64 but the largest live worker offers 8',
    );
    expect(neverFitsReason('sleep', { gpu: 34 }, byType)).toBe(
      'needs gpu 34 but the largest live worker offers 1',
    );
    expect(neverFitsReason('sleep', { cpu: 4, gpu: 1 }, byType)).toBe(
      'no live worker handling type "sleep" offers all of its cpu, memoryMb and gpu together',
    );
  });
});
