import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);

/** A checkpoint state as stored inline: gzip of its JSON, with the JSON's size and digest. */
export interface EncodedState {
  /** gzip of the JSON bytes. */
  data: Buffer;
  /** Bytes of the JSON (uncompressed). */
  size: number;
  /** Hex SHA-256 of the JSON bytes, so a reader can check what it restores. */
  sha256: string;
}

/** Serialises and compresses a checkpoint state. */
export async function encodeState(state: unknown): Promise<EncodedState> {
  const json = Buffer.from(JSON.stringify(state), 'utf8');
  return {
    data: await gzipAsync(json),
    size: json.length,
    sha256: createHash('sha256').update(json).digest('hex'),
  };
}

/** The state back from its stored form. */
export async function decodeState(data: Buffer): Promise<unknown> {
  return JSON.parse((await gunzipAsync(data)).toString('utf8')) as unknown;
}
