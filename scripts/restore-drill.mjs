#!/usr/bin/env node
// Logical backup and restore of Niyanta's state, and a drill that proves them.
//
//   node scripts/restore-drill.mjs backup  --out <dir>
//   node scripts/restore-drill.mjs restore --from <dir>
//   node scripts/restore-drill.mjs drill   --out <dir> --yes-wipe
//
// Settings (environment): DATABASE_URL (the Niyanta database), NATS_URL (+ NATS_USER and
// NATS_PASSWORD, or NATS_TOKEN, of a user allowed the JetStream API of the streams), PG_BIN
// (a directory holding pg_dump and pg_restore of the server's major version or newer; default:
// the PATH), STREAM_PREFIX (default NIYANTA_).
//
// backup   pg_dump (custom format) of the database into <dir>/postgres.dump, and for every stream
//          its configuration, its durable consumers and every message it holds (subject,
//          headers, payload) into <dir>/streams/<name>.json and .jsonl. Work-queue streams hold
//          exactly the messages not yet acknowledged, so this is the work in flight.
// restore  recreates the database's contents (pg_restore --clean) and every stream in the
//          backup: deleted, created with the saved configuration, refilled in order (new sequence
//          numbers), then its consumers recreated (they deliver the restored messages again,
//          which every handler tolerates: they are idempotent or fenced by attempt).
// drill    backup, wipe both (DROP DATABASE + CREATE DATABASE, delete every stream), restore,
//          and compare: every table's row count, every workload (id, status, attempt, input), and
//          every stream's messages. Exits 1 on any difference. Only for a drill environment.
//
// Stop the services first (or accept that what changes during the backup may be missing):
// this is a logical copy, not a snapshot. Production backups are the managed ones
// (docs/operations.md, "Back up and restore"); this script is the portable fallback and the drill.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, headers as natsHeaders } from '@nats-io/transport-node';
import pg from 'pg';

export class DrillError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = 'DrillError';
  }
}

/** Runs a PostgreSQL client program; rejects with its stderr on failure. */
function runPg(bin, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', (err) =>
      reject(
        new DrillError(`${bin} could not run: ${err.message}. Set PG_BIN to a directory with it.`),
      ),
    );
    child.on('exit', (code) =>
      code === 0
        ? resolve()
        : reject(new DrillError(`${path.basename(bin)} exited with ${code}:\n${stderr.trim()}`)),
    );
  });
}

function settings(env) {
  const problems = [];
  const databaseUrl = env.DATABASE_URL;
  if (!databaseUrl)
    problems.push('DATABASE_URL is required, e.g. postgres://user@host:5432/niyanta.');
  const natsUrl = env.NATS_URL ?? 'nats://127.0.0.1:4222';
  if (!/^(nats|tls):\/\//.test(natsUrl))
    problems.push(`NATS_URL is not a nats:// URL: "${natsUrl}".`);
  if (problems.length > 0) throw new DrillError(problems.join('\n'));
  const bin = (name) => (env.PG_BIN ? path.join(env.PG_BIN, name) : name);
  return {
    databaseUrl,
    natsUrl,
    natsAuth: {
      ...(env.NATS_USER ? { user: env.NATS_USER, pass: env.NATS_PASSWORD } : {}),
      ...(env.NATS_TOKEN ? { token: env.NATS_TOKEN } : {}),
    },
    pgDump: bin('pg_dump'),
    pgRestore: bin('pg_restore'),
    streamPrefix: env.STREAM_PREFIX ?? 'NIYANTA_',
  };
}

async function withNats(s, fn) {
  const nc = await connect({ servers: s.natsUrl, ...s.natsAuth });
  try {
    return await fn(await jetstreamManager(nc), nc);
  } finally {
    await nc.drain();
  }
}

async function streamNames(jsm, prefix) {
  const names = [];
  for await (const info of jsm.streams.list()) {
    if (info.config.name.startsWith(prefix)) names.push(info.config.name);
  }
  return names.sort();
}

/** Every message a stream holds, oldest first. */
async function readMessages(jsm, name) {
  const info = await jsm.streams.info(name);
  const out = [];
  if (info.state.messages === 0) return out;
  for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
    let m;
    try {
      m = await jsm.streams.getMessage(name, { seq });
    } catch (err) {
      // A gap: acknowledged (work queue) or deleted messages leave holes in the sequence.
      if (/no message found|not found/i.test(String(err?.message))) continue;
      throw err;
    }
    if (m === null) continue;
    const hdrs = {};
    if (m.header) for (const k of m.header.keys()) hdrs[k] = m.header.values(k);
    out.push({
      seq: m.seq,
      subject: m.subject,
      time: m.timestamp,
      headers: hdrs,
      data: Buffer.from(m.data).toString('base64'),
    });
  }
  return out;
}

/** Backs up the database and the streams into `dir`; returns what it wrote. */
export async function backup(s, dir) {
  fs.mkdirSync(path.join(dir, 'streams'), { recursive: true });
  await runPg(s.pgDump, [
    '--format=custom',
    '--no-owner',
    '--file',
    path.join(dir, 'postgres.dump'),
    s.databaseUrl,
  ]);
  const streams = await withNats(s, async (jsm) => {
    const summary = {};
    for (const name of await streamNames(jsm, s.streamPrefix)) {
      const info = await jsm.streams.info(name);
      const consumers = [];
      for await (const c of jsm.consumers.list(name))
        if (c.config.durable_name) consumers.push(c.config);
      const messages = await readMessages(jsm, name);
      fs.writeFileSync(
        path.join(dir, 'streams', `${name}.json`),
        JSON.stringify({ config: info.config, consumers, messages: messages.length }, null, 2),
      );
      fs.writeFileSync(
        path.join(dir, 'streams', `${name}.jsonl`),
        messages.map((m) => JSON.stringify(m)).join('\n') + (messages.length > 0 ? '\n' : ''),
      );
      summary[name] = messages.length;
    }
    return summary;
  });
  const manifest = { createdAt: new Date().toISOString(), streams };
  fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
  return manifest;
}

/** Restores the database contents and every stream of the backup in `dir`. */
export async function restore(s, dir) {
  const manifestFile = path.join(dir, 'manifest.json');
  if (!fs.existsSync(manifestFile))
    throw new DrillError(`${dir} holds no backup (no manifest.json).`);
  const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8'));
  await runPg(s.pgRestore, [
    '--clean',
    '--if-exists',
    '--no-owner',
    '--exit-on-error',
    '--single-transaction',
    '--dbname',
    s.databaseUrl,
    path.join(dir, 'postgres.dump'),
  ]);
  const duplicates = {};
  await withNats(s, async (jsm, nc) => {
    const js = jsm.jetstream();
    for (const name of Object.keys(manifest.streams)) {
      const saved = JSON.parse(fs.readFileSync(path.join(dir, 'streams', `${name}.json`), 'utf8'));
      await jsm.streams.delete(name).catch((err) => {
        if (!/not found/i.test(String(err?.message))) throw err;
      });
      await jsm.streams.add(saved.config);
      const lines = fs.readFileSync(path.join(dir, 'streams', `${name}.jsonl`), 'utf8').split('\n');
      const acks = [];
      for (const line of lines.filter((l) => l !== '')) {
        const m = JSON.parse(line);
        const h = natsHeaders();
        for (const [k, values] of Object.entries(m.headers)) for (const v of values) h.append(k, v);
        acks.push(js.publish(m.subject, Buffer.from(m.data, 'base64'), { headers: h }));
        if (acks.length >= 500) duplicates[name] = (duplicates[name] ?? 0) + (await settle(acks));
      }
      duplicates[name] = (duplicates[name] ?? 0) + (await settle(acks));
      for (const c of saved.consumers) await jsm.consumers.add(name, c);
    }
    await nc.flush();
  });
  // Two messages with the same Nats-Msg-Id inside the duplicate window are one message to the
  // broker: the backup held both, so this is reported rather than hidden.
  return { streams: manifest.streams, duplicates };
}

async function settle(acks) {
  const results = await Promise.all(acks.splice(0));
  return results.filter((a) => a.duplicate).length;
}

/** Row counts of every table, and the workloads' identity and state: what a restore must keep. */
export async function databaseState(databaseUrl) {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const tables = await client.query(
      `select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' order by 1`,
    );
    const counts = {};
    for (const { table_name: t } of tables.rows) {
      const r = await client.query(`select count(*)::int as n from "${t.replace(/"/g, '""')}"`);
      counts[t] = r.rows[0].n;
    }
    const workloads = await client.query(
      `select id, tenant, type, status, attempt, input from workloads order by id`,
    );
    return { counts, workloads: workloads.rows };
  } finally {
    await client.end();
  }
}

/** Every stream's messages (subject, headers, payload), keyed by stream. */
export async function streamState(s) {
  return withNats(s, async (jsm) => {
    const out = {};
    for (const name of await streamNames(jsm, s.streamPrefix)) {
      out[name] = (await readMessages(jsm, name)).map(({ subject, headers, data }) => ({
        subject,
        headers,
        data,
      }));
    }
    return out;
  });
}

/** Drops and recreates the database (empty) and deletes every stream. */
export async function wipe(s) {
  const url = new URL(s.databaseUrl);
  const db = decodeURIComponent(url.pathname.slice(1));
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    const ident = `"${db.replace(/"/g, '""')}"`;
    await client.query(`drop database if exists ${ident} with (force)`);
    await client.query(`create database ${ident}`);
  } finally {
    await client.end();
  }
  await withNats(s, async (jsm) => {
    for (const name of await streamNames(jsm, s.streamPrefix)) await jsm.streams.delete(name);
  });
}

/** Backup, wipe, restore, compare; returns the differences (none: the drill passed). */
export async function drill(s, dir) {
  const before = { db: await databaseState(s.databaseUrl), streams: await streamState(s) };
  const manifest = await backup(s, dir);
  await wipe(s);
  const wiped = await streamState(s);
  if (Object.keys(wiped).length > 0) throw new DrillError('the wipe left streams behind');
  const restored = await restore(s, dir);
  const after = { db: await databaseState(s.databaseUrl), streams: await streamState(s) };
  const differences = [];
  const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);
  for (const t of new Set([...Object.keys(before.db.counts), ...Object.keys(after.db.counts)]))
    if (before.db.counts[t] !== after.db.counts[t])
      differences.push(
        `table ${t}: ${before.db.counts[t]} rows before, ${after.db.counts[t]} after`,
      );
  if (!same(before.db.workloads, after.db.workloads))
    differences.push('workloads differ after the restore');
  for (const name of new Set([...Object.keys(before.streams), ...Object.keys(after.streams)]))
    if (!same(before.streams[name], after.streams[name]))
      differences.push(
        `stream ${name}: ${before.streams[name]?.length ?? 0} messages before, ${after.streams[name]?.length ?? 0} after (or contents differ)`,
      );
  return {
    differences,
    workloads: after.db.workloads.length,
    tables: after.db.counts,
    streams: manifest.streams,
    duplicates: restored.duplicates,
  };
}

async function main() {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: { out: { type: 'string' }, from: { type: 'string' }, 'yes-wipe': { type: 'boolean' } },
  });
  const [command] = positionals;
  const s = settings(process.env);
  if (command === 'backup' && values.out) {
    console.log(JSON.stringify(await backup(s, values.out), null, 2));
  } else if (command === 'restore' && values.from) {
    console.log(JSON.stringify(await restore(s, values.from), null, 2));
  } else if (command === 'drill' && values.out) {
    if (!values['yes-wipe'])
      throw new DrillError(
        'drill deletes the database and every stream before restoring them: pass --yes-wipe, and never against production.',
      );
    const result = await drill(s, values.out);
    console.log(JSON.stringify(result, null, 2));
    if (result.differences.length > 0) process.exitCode = 1;
  } else {
    throw new DrillError(
      'usage: restore-drill.mjs backup --out <dir> | restore --from <dir> | drill --out <dir> --yes-wipe',
    );
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(import.meta.filename)) {
  main().catch((err) => {
    console.error(err instanceof DrillError ? err.message : err);
    process.exit(err instanceof DrillError ? 2 : 1);
  });
}
