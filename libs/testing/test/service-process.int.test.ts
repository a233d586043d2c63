import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNodeProcess, startServiceProcess, waitForHttpReady } from '@niyanta/testing';
import type { ServiceName } from '@niyanta/testing';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'niyanta-service-test-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function script(name: string, source: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, source);
  return path;
}

describe('startNodeProcess', () => {
  it('passes env and captures stdout and stderr line by line', async () => {
    const path = await script(
      'echo.cjs',
      "console.log('hello ' + process.env.GREETING); console.error('on stderr'); setInterval(() => {}, 1000);",
    );
    await using proc = await startNodeProcess(path, { env: { GREETING: 'niyanta' }, name: 'echo' });
    expect(await proc.waitForLine(/^hello /)).toBe('hello niyanta');
    expect(await proc.waitForLine(/stderr/)).toBe('on stderr');
    expect(proc.lines()).toEqual(expect.arrayContaining(['hello niyanta', 'on stderr']));
  });

  it('escalates to SIGKILL when SIGTERM is ignored', async () => {
    const path = await script(
      'stubborn.cjs',
      "process.on('SIGTERM', () => console.log('ignoring SIGTERM')); console.log('up'); setInterval(() => {}, 1000);",
    );
    await using proc = await startNodeProcess(path);
    await proc.waitForLine(/^up$/);
    expect(await proc.stop(300)).toEqual({ code: null, signal: 'SIGKILL' });
    expect(proc.output()).toContain('ignoring SIGTERM');
  });

  it('stops gracefully with SIGTERM and reports the exit code', async () => {
    const path = await script(
      'graceful.cjs',
      "process.on('SIGTERM', () => { console.log('draining'); process.exit(3); }); console.log('up'); setInterval(() => {}, 1000);",
    );
    await using proc = await startNodeProcess(path);
    await proc.waitForLine(/^up$/);
    expect(await proc.stop()).toEqual({ code: 3, signal: null });
    expect(await proc.exited).toEqual({ code: 3, signal: null });
  });

  it('rejects waitForLine when the process exits first, with its output', async () => {
    const path = await script(
      'crash.cjs',
      "console.error('config invalid: PORT'); process.exit(1);",
    );
    await using proc = await startNodeProcess(path, { name: 'crasher' });
    await expect(proc.waitForLine(/listening/, 5000)).rejects.toThrow(
      /crasher exited \(code 1[\s\S]*config invalid: PORT/,
    );
  });

  it('pauses and resumes with SIGSTOP and SIGCONT', async () => {
    const path = await script(
      'http.cjs',
      "require('node:http').createServer((q, s) => s.end('ok')).listen(0, '127.0.0.1', function () { console.log('port ' + this.address().port); });",
    );
    await using proc = await startNodeProcess(path);
    const port = Number((await proc.waitForLine(/^port \d+$/)).split(' ')[1]);
    await waitForHttpReady(`http://127.0.0.1:${port}/`);
    proc.signal('SIGSTOP');
    await expect(waitForHttpReady(`http://127.0.0.1:${port}/`, 300)).rejects.toThrow(
      'GET http://127.0.0.1',
    );
    proc.signal('SIGCONT');
    await waitForHttpReady(`http://127.0.0.1:${port}/`);
    expect(await proc.kill()).toEqual({ code: null, signal: 'SIGKILL' });
  });
});

describe('startServiceProcess', () => {
  it('names the missing build output and the fix', async () => {
    // A service name outside the set has no dist/main.js, whatever has been built.
    const service = 'no-such-service' as ServiceName;
    await expect(startServiceProcess({ service, env: {} })).rejects.toThrow(
      /services\/no-such-service\/dist\/main\.js does not exist: run `npm run build` first/,
    );
  });
});
