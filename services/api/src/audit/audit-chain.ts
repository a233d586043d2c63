import { createHash } from 'node:crypto';

/** The prevHash of the first entry. */
export const GENESIS_HASH = '0'.repeat(64);

/** The fields of an entry that its hash covers (everything but the hashes themselves). */
export interface AuditFields {
  seq: number;
  /** RFC 3339 UTC with milliseconds, as `Date.prototype.toISOString` writes it. */
  at: string;
  tenant: string | null;
  actor: string;
  action: string;
  target: string;
  outcome: number;
}

export interface AuditEntry extends AuditFields {
  prevHash: string;
  hash: string;
}

/** The entry as JSON with its keys sorted and no whitespace: one text per entry. */
export function canonicalJson(fields: AuditFields): string {
  const ordered: Record<string, unknown> = {};
  for (const key of Object.keys(fields).sort()) ordered[key] = fields[key as keyof AuditFields];
  return JSON.stringify(ordered);
}

/** sha256(prevHash ‖ canonical JSON of the entry), hex. */
export function entryHash(prevHash: string, fields: AuditFields): string {
  return createHash('sha256').update(prevHash).update(canonicalJson(fields)).digest('hex');
}

/** What a check of the chain found. */
export interface ChainCheck {
  ok: boolean;
  checked: number;
  firstBadSeq: number | null;
}

/**
 * Checks entries given in seq order, from the first: each must have the next seq (a gap is a
 * deleted entry, reported by the missing seq), link to the hash before it, and hash to its own
 * stored hash. Feed pages with `next`, then read `result`.
 */
export class ChainVerifier {
  private expectedSeq = 1;
  private prevHash = GENESIS_HASH;
  private checked = 0;
  private firstBad: number | null = null;

  next(entries: readonly AuditEntry[]): void {
    for (const e of entries) {
      if (this.firstBad !== null) return;
      this.checked += 1;
      const { prevHash, hash, ...fields } = e;
      if (e.seq !== this.expectedSeq) {
        this.firstBad = Math.min(e.seq, this.expectedSeq);
        return;
      }
      if (prevHash !== this.prevHash || entryHash(prevHash, fields) !== hash) {
        this.firstBad = e.seq;
        return;
      }
      this.expectedSeq += 1;
      this.prevHash = hash;
    }
  }

  get result(): ChainCheck {
    return { ok: this.firstBad === null, checked: this.checked, firstBadSeq: this.firstBad };
  }
}
