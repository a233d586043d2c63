// Finding (or installing) nats-server, and running one with JetStream for local development.
import fs from 'node:fs';
import { ScriptError } from './errors.mjs';
import { done, step, warn } from './log.mjs';
import { run, which } from './run.mjs';

const INSTALL_HELP = [
  'Install nats-server (2.9 or newer, JetStream is built in), make sure it is on PATH, then run this again:',
  '  Debian/Ubuntu:  sudo apt-get install -y nats-server   (installs /usr/sbin/nats-server)',
  '  macOS:          brew install nats-server',
  '  Anywhere else:  download a release from https://github.com/nats-io/nats-server/releases',
  '                  and put the nats-server binary in a directory on PATH (e.g. /usr/local/bin)',
].join('\n');

function canAptInstall() {
  return (
    process.getuid?.() === 0 &&
    fs.existsSync('/etc/debian_version') &&
    which('apt-get') !== undefined
  );
}

/**
 * Returns the path of nats-server; installs it with apt-get when running as root on Debian-like
 * systems, otherwise throws a ScriptError saying what to install and where.
 */
export async function ensureNatsServer() {
  const found = which('nats-server');
  if (found) return found;
  if (!canAptInstall()) {
    throw new ScriptError(`nats-server was not found on PATH (nor in /usr/sbin).\n${INSTALL_HELP}`);
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  step('nats-server is not on PATH: installing it with apt-get install -y nats-server');
  let code = await run('apt-get', ['install', '-y', 'nats-server'], { env });
  if (code !== 0) {
    warn(`apt-get install failed (exit code ${code}); running apt-get update, then trying again`);
    await run('apt-get', ['update'], { env });
    code = await run('apt-get', ['install', '-y', 'nats-server'], { env });
  }
  const installed = which('nats-server');
  if (code !== 0 || !installed) {
    throw new ScriptError(
      `apt-get could not install nats-server (exit code ${code}).\n${INSTALL_HELP}`,
    );
  }
  done(`nats-server installed at ${installed}`);
  return installed;
}

/**
 * nats-server arguments for a local JetStream server on 127.0.0.1:`port` storing into `storeDir`,
 * with the configuration file `config` when given.
 */
export function natsServerArgs({ port, storeDir, config }) {
  const args = ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir];
  return config === undefined ? args : ['-c', config, ...args];
}
