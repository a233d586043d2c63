import type { ColumnType } from 'kysely';

/** A tenant's secrets, sealed (AES-256-GCM); the plaintext is never stored. Written only by the API. */
export interface SecretsTable {
  tenant: string;
  /** `^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$` */
  name: string;
  /** Id of the SECRETS_KEY key that sealed it. */
  key_id: string;
  /** base64 of nonce (12 bytes), ciphertext and tag (16 bytes). */
  sealed: string;
  created_at: ColumnType<Date, Date | string | undefined, never>;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
}
