// Finding (or installing) redis-server, which the bench's peer (BullMQ) runs on and its tests
// start on a free port.
import { ScriptError } from './errors.mjs';
import { aptInstall, canAptInstall } from './apt-install.mjs';
import { which } from './run.mjs';

const INSTALL_HELP = [
  'The bench measures BullMQ on Redis beside Niyanta (bench/test/bullmq-peer.test.ts and the bench smoke start one). Install redis-server, then run this again:',
  '  Debian/Ubuntu:  sudo apt-get install -y redis-server',
  '  macOS:          brew install redis',
].join('\n');

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
  return aptInstall('redis-server', {
    why: 'redis-server is not on PATH',
    locate: () => which('redis-server'),
    help: INSTALL_HELP,
  });
}
