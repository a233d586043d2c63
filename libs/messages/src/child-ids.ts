import { createHash } from 'node:crypto';
import { isUuid } from './ids.js';

/** Largest call index of a child (it is stored in an `integer` column). */
export const MAX_CHILD_INDEX = 2_147_483_647;

/**
 * The id of the child a parent workload spawns at call `index` (0-based, in the order of its
 * `ctx.spawn` calls): UUIDv7-shaped and derived, not drawn, so that the worker knows it without a
 * round trip, the scheduler can check it, and a resumed parent that spawns again in the same order
 * names the same children (their inserts are then skipped as duplicates).
 *
 * Layout (RFC 9562 version 7, variant 10): the parent's 48-bit millisecond timestamp, then the
 * index (12 bits in `rand_a`, 20 in the top of `rand_b`), then 42 bits of
 * sha256(parent id, index). Children sort with their parent and among themselves by index: the
 * queue, which takes equal priorities oldest id first, runs a fan-out in call order and ahead of
 * work submitted after its parent.
 */
export function childWorkloadId(parentId: string, index: number): string {
  if (!isUuid(parentId))
    throw new RangeError(`parent id ${JSON.stringify(parentId)} is not a UUID`);
  if (!Number.isInteger(index) || index < 0 || index > MAX_CHILD_INDEX)
    throw new RangeError(`child index ${String(index)} is not an integer in 0..${MAX_CHILD_INDEX}`);
  const parent = parentId.toLowerCase();
  const hash = createHash('sha256').update(`${parent}/${index}`).digest();
  const bytes = Buffer.alloc(16);
  Buffer.from(parent.replace(/-/g, '').slice(0, 12), 'hex').copy(bytes, 0);
  const high = Math.floor(index / 2 ** 20); // 12 bits (index < 2^32)
  const low = index % 2 ** 20; // 20 bits
  bytes[6] = 0x70 | ((high >>> 8) & 0x0f);
  bytes[7] = high & 0xff;
  // Variant 10, then the low 20 bits of the index over 6 + 8 + 6 bits, then 42 bits of hash.
  bytes[8] = 0x80 | ((low >>> 14) & 0x3f);
  bytes[9] = (low >>> 6) & 0xff;
  bytes[10] = ((low & 0x3f) << 2) | (hash[0]! & 0x03);
  hash.copy(bytes, 11, 1, 6);
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
