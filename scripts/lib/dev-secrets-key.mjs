// The SECRETS_KEY `npm run dev` gives the API and the workers, kept in .data/secrets-key (mode
// 0600) so secrets stored in one run still open in the next.
import crypto from 'node:crypto';
import fs from 'node:fs';

/** SECRETS_KEY from the environment, else the one in `file` (made once: `dev:<32 random bytes>`). */
export function devSecretsKey(env, file) {
  if (env.SECRETS_KEY) return env.SECRETS_KEY;
  if (fs.existsSync(file)) {
    const stored = fs.readFileSync(file, 'utf8').trim();
    if (stored !== '') return stored;
  }
  const key = `dev:${crypto.randomBytes(32).toString('base64')}`;
  fs.writeFileSync(file, `${key}\n`, { mode: 0o600 });
  return key;
}
