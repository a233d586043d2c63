import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { decodeState, encodeState } from '../src/index.js';
import { SYNC_GZIP_MAX_BYTES } from '../src/encode-state.js';

describe('encodeState / decodeState', () => {
  const small = { step: 3 };
  // Past the size compressed on the calling thread: the thread pool takes it.
  const large = { rows: Array.from({ length: 2_000 }, (_, i) => ({ i, name: `row ${i}` })) };

  it.each([
    ['a small state', small],
    ['a state past the sync limit', large],
  ])(
    'stores %s as gzip of its JSON, with its size and digest, and reads it back',
    async (_, state) => {
      const json = Buffer.from(JSON.stringify(state));
      if (state === large) expect(json.length).toBeGreaterThan(SYNC_GZIP_MAX_BYTES);
      const encoded = await encodeState(state);
      // The stored form any gzip reader takes, whichever way it was compressed.
      expect(gunzipSync(encoded.data)).toEqual(json);
      expect(encoded.size).toBe(json.length);
      expect(encoded.sha256).toBe(createHash('sha256').update(json).digest('hex'));
      expect(await decodeState(encoded.data)).toEqual(state);
    },
  );

  it('refuses data that is not gzip, naming zlib’s reason', async () => {
    await expect(decodeState(Buffer.from('not gzip'))).rejects.toThrow(/incorrect header check/);
  });
});
