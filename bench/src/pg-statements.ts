import type { Database } from '@niyanta/db';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import type { TableRow } from './scenario-context.js';
import { format } from './targets.js';

/** PostgreSQL settings that make `pg_stat_statements` available (own servers only). */
export const STATEMENT_STATS_SETTINGS = {
  shared_preload_libraries: 'pg_stat_statements',
  'pg_stat_statements.track_planning': 'on',
};

/** One statement's share of PostgreSQL's time over a phase. */
export interface StatementStat {
  /** Normalised text, whitespace folded, cut at 160 characters. */
  query: string;
  calls: number;
  rows: number;
  totalMs: number;
  /** Time spent planning it (custom plans are made on every execution). */
  planMs: number;
}

/**
 * Statement statistics of the server the bench started, or a deployment that loads the
 * extension; `undefined` where it is not loaded (nothing is measured then, and nothing fails).
 */
export class StatementStats {
  private constructor(private readonly db: Kysely<Database>) {}

  static async open(db: Kysely<Database>): Promise<StatementStats | undefined> {
    try {
      await sql`create extension if not exists pg_stat_statements`.execute(db);
      await sql`select pg_stat_statements_reset()`.execute(db);
      return new StatementStats(db);
    } catch {
      return undefined;
    }
  }

  /** Forgets what was counted: the next `top` covers only what runs after this. */
  async reset(): Promise<void> {
    await sql`select pg_stat_statements_reset()`.execute(this.db);
  }

  /**
   * The statements that took the most execution time since the last reset (lock waits included;
   * the bench's own progress counts too: `count(*) as persisted`).
   */
  async top(limit = 10): Promise<StatementStat[]> {
    const { rows } = await sql<{
      query: string;
      calls: string;
      rows: string;
      total_ms: number;
      plan_ms: number;
    }>`
      select left(regexp_replace(s.query, '\\s+', ' ', 'g'), 160) as query, s.calls, s.rows,
        s.total_exec_time::float8 as total_ms, s.total_plan_time::float8 as plan_ms
      from pg_stat_statements s
      where s.query not like '%pg_stat_statements%'
        and s.dbid = (select oid from pg_database where datname = current_database())
      order by s.total_exec_time desc
      limit ${limit}`.execute(this.db);
    return rows.map((r) => ({
      query: r.query,
      calls: Number(r.calls),
      rows: Number(r.rows),
      totalMs: Math.round(r.total_ms),
      planMs: Math.round(r.plan_ms),
    }));
  }
}

/** Table rows for the busiest `count` statements, each named `<label> <n>`. */
export function statementRows(
  label: string,
  statements: readonly StatementStat[] | undefined,
  count = 3,
): TableRow[] {
  return (statements ?? []).slice(0, count).map((st, i) => ({
    figure: `${label} ${i + 1}`,
    value: `${format(st.totalMs)} ms (planning ${format(st.planMs)}), ${format(st.calls)} calls, ${format(st.rows)} rows: ${st.query.slice(0, 70)}`,
  }));
}
