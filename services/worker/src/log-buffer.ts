import { sanitizeText } from '@niyanta/messages';
import type { LogV1 } from '@niyanta/messages';

/** One line of a run's log, as carried by a `log` message. */
export type LogLine = LogV1['lines'][number];
export type LogStream = LogLine['stream'];

/** Buffered lines are sent at least this often. */
export const LOG_FLUSH_MS = 100;
/** ...or as soon as this many are buffered. */
export const LOG_MAX_LINES = 200;
/** Longer lines are split into pieces of at most this (the `log` schema's limit, in UTF-16 units). */
export const LOG_LINE_MAX_CHARS = 16_384;
/** ...or as soon as the buffered text reaches this size: 200 full lines would pass NATS's 1 MB. */
export const LOG_MAX_BYTES = 256 * 1024;
/**
 * Unsent output (buffered and in flight) above which {@link LogBuffer.hasRoom} is false: a child
 * writing faster than its lines are published is paused there instead of growing the worker.
 */
export const LOG_PENDING_MAX_BYTES = 1024 * 1024;

/**
 * Buffers a run's log lines and sends them in batches, in order: one `send` at a time, so
 * messages reach the stream in the order the lines were written.
 */
export class LogBuffer {
  private lines: LogLine[] = [];
  private bytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();
  /** Estimated bytes buffered or being sent. */
  private pending = 0;
  private roomWaiters: (() => void)[] = [];

  constructor(
    private readonly send: (lines: LogLine[]) => Promise<void>,
    private readonly onError: (err: unknown, lines: LogLine[]) => void,
  ) {}

  /**
   * Adds a line, split into pieces of at most {@link LOG_LINE_MAX_CHARS}, with U+0000 and lone
   * surrogates replaced by U+FFFD.
   */
  push(stream: LogStream, line: string): void {
    let rest = line;
    while (rest.length > LOG_LINE_MAX_CHARS) {
      // Never between the two halves of a surrogate pair.
      const cut = isHighSurrogate(rest.charCodeAt(LOG_LINE_MAX_CHARS - 1))
        ? LOG_LINE_MAX_CHARS - 1
        : LOG_LINE_MAX_CHARS;
      this.add(stream, rest.slice(0, cut));
      rest = rest.slice(cut);
    }
    this.add(stream, rest);
  }

  /** False while more than {@link LOG_PENDING_MAX_BYTES} are buffered or in flight. */
  hasRoom(): boolean {
    return this.pending < LOG_PENDING_MAX_BYTES;
  }

  /** Resolves once {@link hasRoom} is true. */
  waitForRoom(): Promise<void> {
    if (this.hasRoom()) return Promise.resolve();
    // What is buffered goes out now rather than at the next timer, so room comes soonest.
    this.sendBuffered();
    return new Promise((resolve) => this.roomWaiters.push(resolve));
  }

  private add(stream: LogStream, line: string): void {
    const text = sanitizeText(line);
    this.lines.push({ at: new Date().toISOString(), stream, line: text });
    // Upper bound of the UTF-8 size without encoding every line.
    const size = text.length * 3 + 64;
    this.bytes += size;
    this.pending += size;
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
    const size = this.bytes;
    this.lines = [];
    this.bytes = 0;
    this.chain = this.chain
      .then(() => this.send(batch))
      .catch((err: unknown) => this.onError(err, batch))
      .finally(() => this.sent(size));
  }

  private sent(size: number): void {
    this.pending -= size;
    if (!this.hasRoom() || this.roomWaiters.length === 0) return;
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    for (const resolve of waiters) resolve();
  }
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}
