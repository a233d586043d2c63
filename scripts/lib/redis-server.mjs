// Finding (or installing) redis-server, which the bench's peer (BullMQ) runs on and its tests
// start on a free port.
import fs from 'node:fs';
import { ScriptError } from './errors.mjs';
import { done, step, warn } from './log.mjs';
import { run, which } from './run.mjs';

const INSTALL_HELP = [
  'The bench measures BullMQ on Redis beside Niyanta (bench/test/bullmq-peer.test.ts and the bench smoke start one). Install redis-server, then run this again:',
  '  Debian/Ubuntu:  sudo apt-get install -y redis-server',
  '  macOS:          brew install redis',
].join('\n');

function canAptInstall() {
  return (
    process.getuid?.() === 0 &&
    fs.existsSync('/etc/debian_version') &&
    which('apt-get') !== undefined
  );
}

/**
 * Returns the path of redis-server; installs Debian's package with apt-get when running as root,
 * otherwise throws a ScriptError saying what to install.
 */
export async function ensureRedisServer() {
  const found = which('redis-server');
  if (found) return found;
  if (!canAptInstall()) {
    throw new ScriptError(`redis-server was not found on PATH.\n${INSTALL_HELP}`);
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  step('redis-server is not on PATH: installing it with apt-get install -y redis-server');
  let code = await run('apt-get', ['install', '-y', 'redis-server'], { env });
  if (code !== 0) {
    warn(`apt-get install failed (exit code ${code}); running apt-get update, then trying again`);
    await run('apt-get', ['update'], { env });
    code = await run('apt-get', ['install', '-y', 'redis-server'], { env });
  }
  const installed = which('redis-server');
  if (code !== 0 || !installed) {
    throw new ScriptError(
      `apt-get could not install redis-server (exit code ${code}).\n${INSTALL_HELP}`,
    );
  }
  done(`redis-server installed at ${installed}`);
  return installed;
}
