import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { RuntimeError } from './errors.js';

/** AES-256-GCM key length, nonce length and tag length, in bytes. */
const KEY_BYTES = 32;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
/** Key ids: short, and free of the `:` and `,` of SECRETS_KEY's syntax. */
const KEY_ID = /^[A-Za-z0-9_.-]{1,64}$/;
/** The id of a SECRETS_KEY given as one bare key. */
export const DEFAULT_SECRET_KEY_ID = 'default';

/** The keys of SECRETS_KEY: the first seals, every one opens. */
export interface SecretKeys {
  readonly current: string;
  readonly keys: ReadonlyMap<string, Buffer>;
}

/** A sealed secret value: which key, and base64 of nonce, ciphertext and tag. */
export interface SealedSecret {
  keyId: string;
  sealed: string;
}

/** Whose secret a value is: bound into the seal, so a sealed value opens only as itself. */
export interface SecretOwner {
  tenant: string;
  name: string;
}

/** A sealed secret could not be opened: its key is not configured, or it does not authenticate. */
export class SecretOpenError extends RuntimeError {
  override name = 'SecretOpenError';
  constructor(
    readonly code: 'SECRET_KEY_UNKNOWN' | 'SECRET_UNREADABLE',
    readonly secret: string,
    readonly keyId: string,
  ) {
    super(
      code === 'SECRET_KEY_UNKNOWN'
        ? `secret "${secret}" is sealed with key "${keyId}", which SECRETS_KEY does not hold. Add that key to SECRETS_KEY (after the current one).`
        : `secret "${secret}" does not open with key "${keyId}" of SECRETS_KEY: the key differs from the one that sealed it, or the value was altered. Give this service the same SECRETS_KEY as the API.`,
    );
  }
}

/**
 * Parses SECRETS_KEY: `<id>:<base64 of 32 bytes>` entries separated by commas, the first sealing
 * new values and all opening stored ones (rotation), or one bare base64 key (id `default`).
 * Returns the keys, or problems that never include a key's value.
 */
export function parseSecretKeys(value: string): SecretKeys | { problems: string[] } {
  const problems: string[] = [];
  const keys = new Map<string, Buffer>();
  const entries = value.includes(':') ? value.split(',') : [`${DEFAULT_SECRET_KEY_ID}:${value}`];
  entries.forEach((entry, index) => {
    const colon = entry.indexOf(':');
    const id = entry.slice(0, colon).trim();
    const key = Buffer.from(entry.slice(colon + 1).trim(), 'base64');
    if (colon < 0 || !KEY_ID.test(id)) {
      problems.push(
        `SECRETS_KEY entry ${index + 1} has no valid key id. Expected <id>:<base64 key>[,<id>:<base64 key>...] with ids of letters, digits, '_', '.', '-'.`,
      );
    } else if (key.length !== KEY_BYTES) {
      problems.push(
        `SECRETS_KEY key "${id}" is not ${KEY_BYTES} bytes of base64 (it decodes to ${key.length}). Generate one with: openssl rand -base64 32`,
      );
    } else if (keys.has(id)) {
      problems.push(`SECRETS_KEY names key "${id}" twice. Give each key its own id.`);
    } else keys.set(id, key);
  });
  const current = keys.keys().next().value;
  if (problems.length > 0 || current === undefined) return { problems };
  return { current, keys };
}

/** Seals `plaintext` with the current key, bound to its owner. */
export function sealSecret(keys: SecretKeys, owner: SecretOwner, plaintext: string): SealedSecret {
  const key = keys.keys.get(keys.current)!;
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(aad(owner, keys.current));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return {
    keyId: keys.current,
    sealed: Buffer.concat([nonce, body, cipher.getAuthTag()]).toString('base64'),
  };
}

/** Opens a sealed secret; throws {@link SecretOpenError} when it cannot. */
export function openSecret(keys: SecretKeys, owner: SecretOwner, secret: SealedSecret): string {
  const key = keys.keys.get(secret.keyId);
  if (key === undefined) throw new SecretOpenError('SECRET_KEY_UNKNOWN', owner.name, secret.keyId);
  const raw = Buffer.from(secret.sealed, 'base64');
  if (raw.length < NONCE_BYTES + TAG_BYTES)
    throw new SecretOpenError('SECRET_UNREADABLE', owner.name, secret.keyId);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, NONCE_BYTES));
    decipher.setAAD(aad(owner, secret.keyId));
    decipher.setAuthTag(raw.subarray(raw.length - TAG_BYTES));
    const body = raw.subarray(NONCE_BYTES, raw.length - TAG_BYTES);
    return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8');
  } catch {
    throw new SecretOpenError('SECRET_UNREADABLE', owner.name, secret.keyId);
  }
}

function aad(owner: SecretOwner, keyId: string): Buffer {
  return Buffer.from(JSON.stringify(['niyanta.secret.v1', owner.tenant, owner.name, keyId]));
}
