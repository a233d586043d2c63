// Finding (or installing) nats-server, and running one with JetStream for local development.
import { ScriptError } from './errors.mjs';
import { aptInstall, canAptInstall } from './apt-install.mjs';
import { which } from './run.mjs';

const INSTALL_HELP = [
  'Install nats-server (2.9 or newer, JetStream is built in), make sure it is on PATH, then run this again:',
  '  Debian/Ubuntu:  sudo apt-get install -y nats-server   (installs /usr/sbin/nats-server)',
  '  macOS:          brew install nats-server',
  '  Anywhere else:  download a release from https://github.com/nats-io/nats-server/releases',
  '                  and put the nats-server binary in a directory on PATH (e.g. /usr/local/bin)',
].join('\n');

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
  return aptInstall('nats-server', {
    why: 'nats-server is not on PATH',
    locate: () => which('nats-server'),
    help: INSTALL_HELP,
  });
}

/**
 * nats-server arguments for a local JetStream server on 127.0.0.1:`port` storing into `storeDir`,
 * with the configuration file `config` when given.
 */
export function natsServerArgs({ port, storeDir, config }) {
  const args = ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir];
  return config === undefined ? args : ['-c', config, ...args];
}
