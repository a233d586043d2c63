import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadWorkloadModules, runAttempt, WorkloadModuleError } from '../src/index.js';
import { recordingHost } from './fake-host.js';

// The modules import nothing: a plain object with the right shape is a workload definition.
const moduleSource = (type: string): string =>
  `export default { type: ${JSON.stringify(type)}, input: { type: 'object' }, run: (ctx, input) => ({ type: ${JSON.stringify(type)}, attempt: ctx.attempt, input }) };\n`;

describe('loadWorkloadModules', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'niyanta-workloads-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function dirWith(name: string, files: Record<string, string>): Promise<string> {
    const dir = join(root, name);
    await mkdir(dir, { recursive: true });
    for (const [file, text] of Object.entries(files)) await writeFile(join(dir, file), text);
    return dir;
  }

  it('imports the .js and .mjs files of each directory, sorted, not recursively', async () => {
    const a = await dirWith('a', {
      'b.mjs': moduleSource('beta'),
      'a.mjs': moduleSource('alpha'),
      'notes.txt': 'not a module',
      'c.js': moduleSource('gamma'), // no package.json: Node loads it as CommonJS-or-ESM by syntax detection
    });
    await dirWith('a/nested', { 'z.mjs': moduleSource('nested') });
    const b = await dirWith('b', { 'x.mjs': moduleSource('delta') });

    const defs = await loadWorkloadModules([a, b]);
    expect(defs.map((d) => d.type)).toEqual(['alpha', 'beta', 'gamma', 'delta']);

    const outcome = await runAttempt(defs[0]!, {
      workloadId: 'w',
      attempt: 2,
      input: { k: 1 },
      host: recordingHost(),
    });
    expect(outcome).toEqual({
      outcome: 'succeeded',
      result: { type: 'alpha', attempt: 2, input: { k: 1 } },
    });
  });

  it('names a missing directory', async () => {
    const missing = join(root, 'nope');
    await expect(loadWorkloadModules([missing])).rejects.toThrow(WorkloadModuleError);
    await expect(loadWorkloadModules([missing])).rejects.toThrow(
      `Cannot read workload module directory ${missing}`,
    );
  });

  it('names a file whose default export is not a workload definition', async () => {
    const dir = await dirWith('bad', { 'wrong.mjs': 'export default { hello: 1 };\n' });
    await expect(loadWorkloadModules([dir])).rejects.toThrow(
      `Workload module ${join(dir, 'wrong.mjs')} does not default-export a workload definition`,
    );
  });

  it('names a file whose definition is invalid', async () => {
    const dir = await dirWith('invalid', { 'upper.mjs': moduleSource('Upper') });
    await expect(loadWorkloadModules([dir])).rejects.toThrow(
      new RegExp(
        `Workload module ${join(dir, 'upper.mjs')} exports an invalid definition: .*"Upper" is not a valid type name`,
      ),
    );
  });

  it('names a file that fails to import', async () => {
    const dir = await dirWith('syntax', { 'broken.mjs': 'export default {\n' });
    await expect(loadWorkloadModules([dir])).rejects.toThrow(
      `Cannot import workload module ${join(dir, 'broken.mjs')}`,
    );
  });

  it('names both files when two define the same type', async () => {
    const one = await dirWith('one', { 'sleep.mjs': moduleSource('sleep') });
    const two = await dirWith('two', { 'other.mjs': moduleSource('sleep') });
    await expect(loadWorkloadModules([one, two])).rejects.toThrow(
      `Workload type "sleep" is defined twice: in ${join(one, 'sleep.mjs')} and in ${join(two, 'other.mjs')}`,
    );
  });
});
