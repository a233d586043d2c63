export const PG_USER = 'postgres';
export const PG_PASSWORD = 'postgres';

// fsync and full page writes only guard against an OS crash, which tests never see, and cost
// seconds per run. synchronous_commit stays on: with it off, a killed postmaster loses commits it
// already acknowledged, and tests kill it on purpose. Connections: services x workers x pools.
export const POSTGRES_TEST_SETTINGS = {
  fsync: 'off',
  full_page_writes: 'off',
  max_connections: '300',
} as const;

/** `-c key=value` flags of the test settings plus `extra`. */
export function settingFlags(extra: Record<string, string> = {}): string[] {
  return Object.entries({ ...POSTGRES_TEST_SETTINGS, ...extra }).flatMap(([key, value]) => [
    '-c',
    `${key}=${value}`,
  ]);
}

/** `postgres://postgres:postgres@host:port/db` */
export function postgresUrl(host: string, port: number, db: string): string {
  return `postgres://${PG_USER}:${PG_PASSWORD}@${host}:${port}/${encodeURIComponent(db)}`;
}
