import { randomFillSync } from 'node:crypto';

const POOL_BYTES = 16 * 1024;
const pool = Buffer.allocUnsafe(POOL_BYTES);
let offset = POOL_BYTES;

/**
 * `n` cryptographically random bytes, copied out of a pool refilled 16 KiB at a time: one
 * `randomFillSync` per few hundred ids instead of one per id (a hot path: every message).
 */
export function randomBytesPooled(n: number): Buffer {
  if (offset + n > POOL_BYTES) {
    randomFillSync(pool);
    offset = 0;
  }
  const out = Buffer.from(pool.subarray(offset, offset + n));
  offset += n;
  return out;
}

let hexPool = '';
let hexOffset = 0;

/** `n` random bytes as lowercase hex, sliced out of a pooled hex string (no Buffer per call). */
export function randomHexPooled(n: number): string {
  const chars = n * 2;
  if (hexOffset + chars > hexPool.length) {
    hexPool = randomBytesPooled(POOL_BYTES / 2).toString('hex');
    hexOffset = 0;
  }
  const out = hexPool.slice(hexOffset, hexOffset + chars);
  hexOffset += chars;
  return out;
}
