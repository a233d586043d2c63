import { existsSync } from 'node:fs';
import pg from 'pg';
import { MissingBinaryError, POSTGRES_BIN_ENV, startPostgresServer } from '@niyanta/testing';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

describe('startPostgresServer', () => {
  it('starts a server that answers queries', async () => {
    await using server = await startPostgresServer();
    expect(await query(server.url, 'select 1 as one')).toEqual([{ one: 1 }]);
    expect(await query(server.url, 'show fsync')).toEqual([{ fsync: 'off' }]);
    expect(server.urlFor('other')).toBe(
      `postgres://postgres:postgres@127.0.0.1:${server.port}/other`,
    );
  });

  it(`starts the binaries ${POSTGRES_BIN_ENV} names, and says so when they are not there`, async () => {
    const empty = await mkdtemp(join(tmpdir(), 'no-postgres-'));
    process.env[POSTGRES_BIN_ENV] = empty;
    try {
      const started = startPostgresServer();
      await expect(started).rejects.toBeInstanceOf(MissingBinaryError);
      await expect(started).rejects.toThrow(
        `${POSTGRES_BIN_ENV}=${empty} has no initdb or postgres`,
      );
    } finally {
      delete process.env[POSTGRES_BIN_ENV];
      await rm(empty, { recursive: true });
    }
  });

  it('keeps its data across a kill and a restart on the same port', async () => {
    await using server = await startPostgresServer();
    await query(server.url, 'create table kept (id int); insert into kept values (42)');
    // A connection open during the kill must not stop the restart.
    const open = new pg.Client({ connectionString: server.url });
    open.on('error', () => undefined);
    try {
      await open.connect();
      const firstPid = server.pid;
      await server.kill();
      await expect(query(server.url, 'select 1')).rejects.toThrow(/ECONNREFUSED/);
      await server.restart();
      expect(server.pid).not.toBe(firstPid);
      expect(await query(server.url, 'select id from kept')).toEqual([{ id: 42 }]);
    } finally {
      await open.end().catch(() => undefined);
    }
  });

  it('removes its temp data directory on dispose', async () => {
    let dataDir: string;
    {
      await using server = await startPostgresServer();
      dataDir = server.dataDir;
      expect(existsSync(dataDir)).toBe(true);
    }
    expect(existsSync(dataDir)).toBe(false);
  });
});
