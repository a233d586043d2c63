import type { Database } from '@niyanta/db';
import type { Kysely } from 'kysely';
import type { Logger } from './logger.js';
import { publishAfterCommit } from './workload-core/publish-after-commit.js';
import type { Bus } from './workload-core/publish-after-commit.js';
import { resolveChildrenWaits } from './workload-core/statements/resolve-children-waits.js';
import { wakeResolved } from './workload-core/statements/wake-waits.js';

/** Parents looked at per transaction. */
const ROUND_PARENTS = 500;

/**
 * Wakes parents gathering children (a durable wait of kind `children`) once the children they
 * await have all ended. Every commit that ends a child names its parent (`Bus.childrenEnded`);
 * the named parents are looked at right after, in transactions of their own, one at a time (the
 * names that arrive meanwhile go into the next), each resolving the waits whose children have
 * all ended and waking those parents (WAITING → PENDING). The sweep looks at every open children
 * wait: it catches what a follow-up missed (the scheduler died between the two commits, a
 * follow-up failed). A wait reported when its children have already ended is resolved where it is
 * recorded (handlers/waiting-completions.ts).
 */
export class ChildWaits {
  readonly #pending = new Set<string>();
  #running: Promise<void> | undefined;
  /** Where the sweep goes on from: it pages through the open waits, then starts over. */
  #sweepAfter: string | undefined;

  constructor(
    private readonly deps: Bus & {
      db: Kysely<Database>;
      log: Logger;
      /** Parents were woken: the placer takes them. */
      onWoken: () => void;
    },
  ) {}

  /** Children of these parents ended (committed). */
  readonly ended = (parentIds: readonly string[]): void => {
    for (const id of parentIds) this.#pending.add(id);
    this.#kick();
  };

  /**
   * One page of the periodic sweep over every open children wait (the next page each call, from
   * the first again after the last); returns the parents woken.
   */
  async sweep(): Promise<number> {
    const { woken, lastLooked } = await this.#round(undefined, this.#sweepAfter);
    this.#sweepAfter = lastLooked;
    return woken;
  }

  /** Waits for the follow-up in progress. */
  async stop(): Promise<void> {
    await this.#running;
  }

  #kick(): void {
    if (this.#running !== undefined) return;
    this.#running = this.#drain().finally(() => {
      this.#running = undefined;
      if (this.#pending.size > 0) this.#kick();
    });
  }

  async #drain(): Promise<void> {
    while (this.#pending.size > 0) {
      const ids = [...this.#pending].slice(0, ROUND_PARENTS);
      for (const id of ids) this.#pending.delete(id);
      try {
        await this.#round(ids);
      } catch (err) {
        // The sweep looks at these waits again.
        this.deps.log.warn({ err, parents: ids.length }, 'waking parents of ended children failed');
      }
    }
  }

  async #round(
    parentIds: readonly string[] | undefined,
    after?: string,
  ): Promise<{ woken: number; lastLooked: string | undefined }> {
    const { db, log } = this.deps;
    const { transitions, lastLooked } = await db.transaction().execute(async (trx) => {
      const { resolved, lastLooked } = await resolveChildrenWaits(trx, {
        ...(parentIds === undefined ? {} : { parentIds }),
        ...(after === undefined ? {} : { after }),
        limit: ROUND_PARENTS,
      });
      const transitions = await wakeResolved(trx, { ids: resolved, limit: resolved.length });
      return { transitions, lastLooked };
    });
    await publishAfterCommit(this.deps, transitions, log);
    if (transitions.length > 0) this.deps.onWoken();
    return { woken: transitions.length, lastLooked };
  }
}
