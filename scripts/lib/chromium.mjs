// Finding (or installing) the Chromium the dashboard's browser tests drive (playwright-core
// with executablePath; the tests never download a browser).
import fs from 'node:fs';
import { ScriptError } from './errors.mjs';
import { done, step, warn } from './log.mjs';
import { run, which } from './run.mjs';

/** Where the tests look first; CHROMIUM_PATH overrides it. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

const INSTALL_HELP = [
  'The dashboard tests (e2e/test/dashboard.test.ts) drive a real Chromium. Install it, then run this again:',
  '  Debian/Ubuntu:  sudo apt-get install -y chromium   (installs /usr/bin/chromium)',
  '  Elsewhere:      install Chromium or Chrome and set CHROMIUM_PATH to its binary',
].join('\n');

function canAptInstall() {
  return (
    process.getuid?.() === 0 &&
    fs.existsSync('/etc/debian_version') &&
    which('apt-get') !== undefined
  );
}

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
  const aptEnv = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  step('Chromium is missing: installing it with apt-get install -y chromium');
  let code = await run('apt-get', ['install', '-y', 'chromium'], { env: aptEnv });
  if (code !== 0) {
    warn(`apt-get install failed (exit code ${code}); running apt-get update, then trying again`);
    await run('apt-get', ['update'], { env: aptEnv });
    code = await run('apt-get', ['install', '-y', 'chromium'], { env: aptEnv });
  }
  if (code !== 0 || !fs.existsSync(CHROMIUM_PATH)) {
    throw new ScriptError(
      `apt-get could not install chromium (exit code ${code}).\n${INSTALL_HELP}`,
    );
  }
  done(`chromium installed at ${CHROMIUM_PATH}`);
  return CHROMIUM_PATH;
}
