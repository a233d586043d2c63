import { sanitizeText } from '@niyanta/messages';
import type { LogV1 } from '@niyanta/messages';

/** One line of a run's log, as carried by a `log` message. */
export type LogLine = LogV1['lines'][number];
export type LogStream = LogLine['stream'];

/** Buffered lines are sent at least this often. */
export const LOG_FLUSH_MS = 100;
/** ...or as soon as this many are buffered. */
export const LOG_MAX_LINES = 200;
/** Longer lines are cut (the `log` schema's limit, in UTF-16 units, so never over it). */
export const LOG_LINE_MAX_CHARS = 16_384;
/** ...or as soon as the buffered text reaches this size: 200 full lines would pass NATS's 1 MB. */
export const LOG_MAX_BYTES = 256 * 1024;

/**
 * Buffers a run's log lines and sends them in batches, in order: one `send` at a time, so
 * messages reach the stream in the order the lines were written.
 */
export class LogBuffer {
  private lines: LogLine[] = [];
  private bytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly send: (lines: LogLine[]) => Promise<void>,
    private readonly onError: (err: unknown, lines: LogLine[]) => void,
  ) {}

  /**
   * Adds a line, cut to {@link LOG_LINE_MAX_CHARS}, with U+0000 and lone surrogates (one may be
   * left by the cut) replaced by U+FFFD.
   */
  push(stream: LogStream, line: string): void {
    const text = sanitizeText(
      line.length > LOG_LINE_MAX_CHARS ? line.slice(0, LOG_LINE_MAX_CHARS) : line,
    );
    this.lines.push({ at: new Date().toISOString(), stream, line: text });
    // Upper bound of the UTF-8 size without encoding every line.
    this.bytes += text.length * 3 + 64;
    if (this.lines.length >= LOG_MAX_LINES || this.bytes >= LOG_MAX_BYTES) this.sendBuffered();
    else this.timer ??= setTimeout(() => this.sendBuffered(), LOG_FLUSH_MS);
  }

  /** Sends everything buffered; resolves once every send so far has finished. */
  async flush(): Promise<void> {
    this.sendBuffered();
    await this.chain;
  }

  private sendBuffered(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.lines.length === 0) return;
    const batch = this.lines;
    this.lines = [];
    this.bytes = 0;
    this.chain = this.chain
      .then(() => this.send(batch))
      .catch((err: unknown) => this.onError(err, batch));
  }
}
