// The broker users of `npm run dev`: one per role of infra/nats/nats-server.conf, with passwords
// generated once into .data/nats-passwords.json (mode 0600).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** The users of infra/nats/nats-server.conf; a service connects as the user of its name. */
export const NATS_USERS = [
  'api',
  'scheduler',
  'health-monitor',
  'checkpoint',
  'worker',
  'submitter-default',
];

/** The variable nats-server.conf reads a user's password from (`NATS_API_PASSWORD`). */
export function passwordVariable(user) {
  return `NATS_${user.replace(/-/g, '_').toUpperCase()}_PASSWORD`;
}

// A letter first: nats-server parses a `$VAR` value like a literal, and digits would make a number.
const newPassword = () => `p${crypto.randomBytes(18).toString('hex')}`;

/**
 * The password of every user, read from `file` or generated into it (mode 0600); a user the file
 * lacks gets a new password.
 */
export function devNatsPasswords(file) {
  let stored = {};
  if (fs.existsSync(file)) stored = JSON.parse(fs.readFileSync(file, 'utf8'));
  const passwords = Object.fromEntries(NATS_USERS.map((u) => [u, stored[u] ?? newPassword()]));
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(passwords, null, 2)}\n`, { mode: 0o600 });
  // writeFileSync keeps the mode of a file that exists already.
  fs.chmodSync(file, 0o600);
  return passwords;
}

/** The environment nats-server needs for nats-server.conf: each user's password variable. */
export function natsServerPasswordEnv(passwords) {
  return Object.fromEntries(Object.entries(passwords).map(([u, p]) => [passwordVariable(u), p]));
}
