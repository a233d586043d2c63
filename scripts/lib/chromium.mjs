// Finding (or installing) the Chromium the dashboard's browser tests drive (playwright-core
// with executablePath; the tests never download a browser).
import fs from 'node:fs';
import { ScriptError } from './errors.mjs';
import { aptInstall, canAptInstall } from './apt-install.mjs';

/** Where the tests look first; CHROMIUM_PATH overrides it. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

const INSTALL_HELP = [
  'The dashboard tests (e2e/test/dashboard.test.ts) drive a real Chromium. Install it, then run this again:',
  '  Debian/Ubuntu:  sudo apt-get install -y chromium   (installs /usr/bin/chromium)',
  '  Elsewhere:      install Chromium or Chrome and set CHROMIUM_PATH to its binary',
].join('\n');

/**
 * Returns the path of chromium; installs Debian's package with apt-get when running as root,
 * otherwise throws a ScriptError saying what to install.
 */
export async function ensureChromium(env = process.env) {
  const wanted = env.CHROMIUM_PATH || CHROMIUM_PATH;
  if (fs.existsSync(wanted)) return wanted;
  if (env.CHROMIUM_PATH || !canAptInstall()) {
    throw new ScriptError(`Chromium was not found at ${wanted}.\n${INSTALL_HELP}`);
  }
  return aptInstall('chromium', {
    why: 'Chromium is missing',
    locate: () => (fs.existsSync(CHROMIUM_PATH) ? CHROMIUM_PATH : undefined),
    help: INSTALL_HELP,
  });
}
