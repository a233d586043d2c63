// The admin key of tenant `default` that `npm run dev` keeps in .data/api-key (mode 0600).
import crypto from 'node:crypto';
import fs from 'node:fs';
import { ScriptError } from './errors.mjs';

/** A root key for one dev run: it lives in the API process's environment only. */
export function runRootKey(env) {
  return env.API_ROOT_KEY || crypto.randomBytes(32).toString('base64url');
}

async function works(apiUrl, key) {
  const res = await fetch(`${apiUrl}/v1/tenants/default`, {
    headers: { authorization: `Bearer ${key}` },
    signal: AbortSignal.timeout(5_000),
  });
  return res.ok;
}

/**
 * The key in `file` if the API still accepts it; otherwise a new admin key of tenant `default`,
 * created with the run's root key and written to `file` (mode 0600). Returns the key and whether
 * it is new.
 */
export async function ensureDevApiKey({ apiUrl, rootKey, file }) {
  if (fs.existsSync(file)) {
    const key = fs.readFileSync(file, 'utf8').trim();
    if (key !== '' && (await works(apiUrl, key))) return { key, created: false };
  }
  const res = await fetch(`${apiUrl}/v1/api-keys`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${rootKey}`,
      'content-type': 'application/json',
      'niyanta-tenant': 'default',
    },
    body: JSON.stringify({ name: 'npm run dev', role: 'admin' }),
    signal: AbortSignal.timeout(10_000),
  });
  if (res.status !== 201) {
    throw new ScriptError(
      `Creating the dev API key failed: HTTP ${res.status} ${(await res.text()).slice(0, 300)}`,
    );
  }
  const { key } = await res.json();
  fs.writeFileSync(file, `${key}\n`, { mode: 0o600 });
  // writeFileSync keeps the mode of a file that exists already.
  fs.chmodSync(file, 0o600);
  return { key, created: true };
}
