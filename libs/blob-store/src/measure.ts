import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';

/** A pass-through stream that counts bytes and hashes them (SHA-256) on the way. */
export class Measure extends Transform {
  private readonly hash = createHash('sha256');
  private bytes = 0;
  private digest: string | undefined;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    callback(null, chunk);
  }

  /** Size and hex sha256 of everything that passed; call once the stream has ended. */
  result(): { size: number; sha256: string } {
    this.digest ??= this.hash.digest('hex');
    return { size: this.bytes, sha256: this.digest };
  }
}

/** Whether what was written matches what the caller stated. */
export function matches(
  stated: { size?: number; sha256?: string } | undefined,
  actual: { size: number; sha256: string },
): boolean {
  if (stated === undefined) return true;
  if (stated.size !== undefined && stated.size !== actual.size) return false;
  if (stated.sha256 !== undefined && stated.sha256.toLowerCase() !== actual.sha256) return false;
  return true;
}
