import { checkpointBlobKey, checkpointBlobPrefix } from '../src/index.js';

describe('checkpointBlobKey', () => {
  const workloadId = '0190f2a4-7b1c-7c3e-8a55-3f0c2d9e4b11';

  it("is under the workload's prefix and names the attempt and seq", () => {
    const key = checkpointBlobKey(workloadId, 2, 7);
    expect(key.startsWith(checkpointBlobPrefix(workloadId))).toBe(true);
    expect(key).toMatch(new RegExp(`^checkpoints/${workloadId}/2-7-[0-9a-f]{8}\\.json$`));
  });

  it('is a new key on every call, so no upload overwrites an object a row refers to', () => {
    // A fenced-out worker with the same attempt and seq must not replace the committed object.
    const keys = new Set(Array.from({ length: 50 }, () => checkpointBlobKey(workloadId, 2, 7)));
    expect(keys.size).toBe(50);
  });
});
