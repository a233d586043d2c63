// Installing a missing tool from Debian's packages: the one way nats-server, redis-server and
// Chromium get onto a fresh machine (CI runs as root and reaches the package registry).
import fs from 'node:fs';
import { ScriptError } from './errors.mjs';
import { done, step, warn } from './log.mjs';
import { run, which } from './run.mjs';

/** Whether this process may install Debian packages: root, on Debian, with apt-get. */
export function canAptInstall() {
  return (
    process.getuid?.() === 0 &&
    fs.existsSync('/etc/debian_version') &&
    which('apt-get') !== undefined
  );
}

/**
 * Installs Debian's package `pkg` (after `apt-get update` when the first try fails) and returns
 * `locate()`, the installed binary's path; throws a ScriptError with `help` when it is still missing.
 */
export async function aptInstall(pkg, { why, locate, help }) {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  step(`${why}: installing it with apt-get install -y ${pkg}`);
  let code = await run('apt-get', ['install', '-y', pkg], { env });
  if (code !== 0) {
    warn(`apt-get install failed (exit code ${code}); running apt-get update, then trying again`);
    await run('apt-get', ['update'], { env });
    code = await run('apt-get', ['install', '-y', pkg], { env });
  }
  const installed = locate();
  if (code !== 0 || !installed) {
    throw new ScriptError(`apt-get could not install ${pkg} (exit code ${code}).\n${help}`);
  }
  done(`${pkg} installed at ${installed}`);
  return installed;
}
