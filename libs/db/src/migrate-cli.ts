#!/usr/bin/env node
// `npm run migrate`: applies migrations to DATABASE_URL.
import { migrateToLatest } from './migrate.js';

const url = process.env.DATABASE_URL;
if (!url) {
  console.error(
    'DATABASE_URL is not set. Expected e.g. postgres://postgres@127.0.0.1:5432/niyanta.',
  );
  process.exit(2);
}
try {
  new URL(url);
} catch {
  console.error(
    `DATABASE_URL is not a URL: "${url}". Expected postgres://user@host:port/database.`,
  );
  process.exit(2);
}
try {
  const results = await migrateToLatest(url);
  for (const r of results)
    console.log(`${r.status === 'Success' ? 'applied' : r.status}: ${r.migrationName}`);
  console.log(
    results.length === 0 ? 'database is up to date' : `applied ${results.length} migration(s)`,
  );
} catch (err) {
  console.error(`migration failed: ${(err as Error).message}`);
  process.exit(1);
}
