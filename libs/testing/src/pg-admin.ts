import pg from 'pg';

/** Runs `fn` with a fresh client connected to `url`, then closes it. */
export async function withClient<T>(
  url: string,
  fn: (client: pg.Client) => Promise<T>,
): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** `url` with its database replaced by `db`. */
export function databaseUrl(url: string, db: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURIComponent(db)}`;
  return parsed.toString();
}

/** A double-quoted SQL identifier. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
