import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, applyEnvFile, parseEnvFile } from '../src/index.js';

describe('ENV_FILE', () => {
  it('parses KEY=VALUE lines, comments and quotes', () => {
    expect(
      parseEnvFile('# levels\nLOG_LEVEL=debug\n\nexport A = "x y"\nB=\'1\'\nC=\n', 'f'),
    ).toEqual({ LOG_LEVEL: 'debug', A: 'x y', B: '1', C: '' });
  });

  it('names the file and line of a line that is not KEY=VALUE', () => {
    expect(() => parseEnvFile('A=1\nnot a setting\n', '/etc/n.env')).toThrow(
      /ENV_FILE \/etc\/n\.env:2 is not a KEY=VALUE line: "not a setting"/,
    );
  });

  it('reads the file over the environment, and again after it changed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'env-file-'));
    try {
      const file = join(dir, 'n.env');
      await writeFile(file, 'LOG_LEVEL=warn\n');
      const env: NodeJS.ProcessEnv = { ENV_FILE: file, LOG_LEVEL: 'info', OTHER: 'kept' };
      expect(applyEnvFile(env)).toEqual(['LOG_LEVEL']);
      expect(env).toMatchObject({ LOG_LEVEL: 'warn', OTHER: 'kept' });
      await writeFile(file, 'LOG_LEVEL=debug\n');
      applyEnvFile(env);
      expect(env.LOG_LEVEL).toBe('debug');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('does nothing without ENV_FILE and refuses a file it cannot read', () => {
    expect(applyEnvFile({})).toEqual([]);
    expect(() => applyEnvFile({ ENV_FILE: '/nonexistent/n.env' })).toThrow(ConfigError);
  });
});
