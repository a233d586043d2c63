import { sql } from 'kysely';
import type { Selectable } from 'kysely';
import type { AuditLogTable } from '@niyanta/db';
import type { Db, Logger } from '@niyanta/runtime';
import { TokenBucket } from '../token-bucket.js';
import { ChainVerifier, GENESIS_HASH, entryHash } from './audit-chain.js';
import type { AuditEntry, AuditFields, ChainCheck } from './audit-chain.js';

type Kysely = Db['db'];

/**
 * The advisory lock that serializes appends across every API instance: each append reads the
 * last entry and writes the next under it, so two instances can never both extend one entry.
 */
export const AUDIT_LOCK_KEY = 7_011_001_900_001n;
const VERIFY_PAGE = 1000;
/** Failed authentications recorded per instance: a flood of bad keys cannot fill the table. */
const FAILED_AUTH_PER_SECOND = 5;
const FAILED_AUTH_BURST = 20;

export const FAILED_AUTH_ACTION = 'auth.failed';

type NewEntry = Omit<AuditFields, 'seq' | 'at'>;

/** A stored entry as PostgreSQL returns it. */
type AuditRow = Selectable<AuditLogTable>;

function toEntry(r: AuditRow): AuditEntry {
  return {
    seq: Number(r.seq),
    at: new Date(r.at).toISOString(),
    tenant: r.tenant,
    actor: r.actor,
    action: r.action,
    target: r.target,
    outcome: r.outcome,
    prevHash: r.prev_hash,
    hash: r.hash,
  };
}

/** Appends one entry to the chain; returns it. */
export async function appendAudit(db: Kysely, entry: NewEntry): Promise<AuditEntry> {
  return db.transaction().execute(async (trx) => {
    await sql`select pg_advisory_xact_lock(${AUDIT_LOCK_KEY})`.execute(trx);
    const last = await trx
      .selectFrom('audit_log')
      .select(['seq', 'hash'])
      .orderBy('seq', 'desc')
      .limit(1)
      .executeTakeFirst();
    const fields: AuditFields = {
      seq: last === undefined ? 1 : Number(last.seq) + 1,
      at: new Date().toISOString(),
      ...entry,
    };
    const prevHash = last?.hash ?? GENESIS_HASH;
    const hash = entryHash(prevHash, fields);
    await trx
      .insertInto('audit_log')
      .values({
        seq: fields.seq,
        at: fields.at,
        tenant: fields.tenant,
        actor: fields.actor,
        action: fields.action,
        target: fields.target,
        outcome: fields.outcome,
        prev_hash: prevHash,
        hash,
      })
      .execute();
    return { ...fields, prevHash, hash };
  });
}

/** A page of entries, newest first; only `tenant`'s when given. */
export async function listAudit(
  db: Kysely,
  opts: { tenant: string | undefined; beforeSeq: number | undefined; limit: number },
): Promise<{ items: AuditEntry[]; more: boolean }> {
  let query = db.selectFrom('audit_log').selectAll();
  if (opts.tenant !== undefined) query = query.where('tenant', '=', opts.tenant);
  if (opts.beforeSeq !== undefined)
    query = query.where('seq', '<', String(opts.beforeSeq) as never);
  const rows = (await query
    .orderBy('seq', 'desc')
    .limit(opts.limit + 1)
    .execute()) as AuditRow[];
  return { items: rows.slice(0, opts.limit).map(toEntry), more: rows.length > opts.limit };
}

/** Checks the whole chain from its first entry; `checked` counts `tenant`'s entries when given. */
export async function verifyAudit(db: Kysely, tenant: string | undefined): Promise<ChainCheck> {
  const verifier = new ChainVerifier();
  let after = 0;
  let counted = 0;
  for (;;) {
    const rows = (await db
      .selectFrom('audit_log')
      .selectAll()
      .where('seq', '>', String(after) as never)
      .orderBy('seq')
      .limit(VERIFY_PAGE)
      .execute()) as AuditRow[];
    const entries = rows.map(toEntry);
    verifier.next(entries);
    counted +=
      tenant === undefined ? entries.length : entries.filter((e) => e.tenant === tenant).length;
    if (rows.length < VERIFY_PAGE || !verifier.result.ok) break;
    after = entries.at(-1)!.seq;
  }
  const result = verifier.result;
  return { ...result, checked: tenant === undefined ? result.checked : counted };
}

/** Appends entries for one API instance; failed authentications are rate-limited. */
export class AuditLog {
  private readonly failedAuth = new TokenBucket(FAILED_AUTH_PER_SECOND, FAILED_AUTH_BURST);
  private suppressed = 0;

  constructor(
    private readonly db: () => Kysely,
    private readonly log: Logger,
  ) {}

  /** Appends an entry; a failure is logged (the request it records has taken effect). */
  async record(entry: NewEntry): Promise<void> {
    try {
      await appendAudit(this.db(), entry);
    } catch (err) {
      this.log.error({ err, action: entry.action, target: entry.target }, 'audit append failed');
    }
  }

  /**
   * Records a failed authentication unless this instance recorded too many just now; the next
   * recorded one says how many were left out.
   */
  async failedAuthentication(target: string, outcome: number): Promise<void> {
    if (!this.failedAuth.take()) {
      this.suppressed += 1;
      return;
    }
    const suppressed = this.suppressed;
    this.suppressed = 0;
    await this.record({
      tenant: null,
      actor: 'unauthenticated',
      action: FAILED_AUTH_ACTION,
      target: suppressed > 0 ? `${target} (+${suppressed} not recorded)` : target,
      outcome,
    });
  }
}
