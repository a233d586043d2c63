import type { GlobalPostgres } from './global-postgres.js';

const GLOBAL_KEY = Symbol.for('niyanta.testing.globalPostgres');

/** Jest global teardown: drops the template database and stops the server the setup started. */
export default async function globalTeardown(): Promise<void> {
  const state = (globalThis as Record<symbol, GlobalPostgres | undefined>)[GLOBAL_KEY];
  if (state === undefined) return;
  delete (globalThis as Record<symbol, unknown>)[GLOBAL_KEY];
  await state.teardown();
}
