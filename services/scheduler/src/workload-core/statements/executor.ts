import type { Database } from '@niyanta/db';
import type { Kysely, Transaction } from 'kysely';

/** Anything a statement can run on: the pool or a transaction. */
export type Executor = Kysely<Database> | Transaction<Database>;
