// HTTP/1.1 over a bare socket, for requests fetch will not send (no Content-Length, bytes after
// the request) and for a client that writes its whole body before it reads the answer.
import net from 'node:net';

/** One response, as far as it was read. */
export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** A connection to `port` that sends raw bytes and reads whole responses, one after another. */
export class RawConnection implements AsyncDisposable {
  private readonly socket: net.Socket;
  private buffered = Buffer.alloc(0);
  private ended = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.pause();
    socket.on('data', (d: Buffer) => {
      this.buffered = Buffer.concat([this.buffered, d]);
      this.wake?.();
    });
    socket.on('end', () => {
      this.ended = true;
      this.wake?.();
    });
    socket.on('error', (err) => {
      this.failure = err;
      this.wake?.();
    });
  }

  static open(port: number): Promise<RawConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => resolve(new RawConnection(socket)));
      socket.once('error', reject);
    });
  }

  /**
   * Writes `bytes` and resolves once all of them are handed to the kernel, reading nothing
   * meanwhile (as a client does that sends the body before it looks for an answer); rejects
   * with the socket's error (EPIPE, ECONNRESET) if the server closed before taking them.
   */
  write(bytes: string | Uint8Array): Promise<void> {
    return new Promise((resolve, reject) =>
      this.socket.write(bytes, (err) => (err ? reject(err) : resolve())),
    );
  }

  /** Reads the next whole response (headers and a Content-Length body). */
  async response(): Promise<RawResponse> {
    this.socket.resume();
    for (;;) {
      const parsed = this.parse();
      if (parsed !== undefined) return parsed;
      if (this.failure) throw this.failure;
      if (this.ended)
        throw new Error(`the connection ended: ${JSON.stringify(this.buffered.toString())}`);
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  private parse(): RawResponse | undefined {
    const end = this.buffered.indexOf('\r\n\r\n');
    if (end < 0) return undefined;
    const [statusLine = '', ...lines] = this.buffered.subarray(0, end).toString().split('\r\n');
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const length = Number(headers['content-length'] ?? 0);
    if (this.buffered.length < end + 4 + length) return undefined;
    const body = this.buffered.subarray(end + 4, end + 4 + length).toString();
    this.buffered = this.buffered.subarray(end + 4 + length);
    return { status: Number(statusLine.split(' ')[1]), headers, body };
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await new Promise<void>((resolve) => {
      if (this.socket.destroyed) return resolve();
      this.socket.once('close', () => resolve());
      this.socket.destroy();
    });
  }
}

/** The head of a request (ending in the blank line). */
export function requestHead(
  method: string,
  path: string,
  headers: Record<string, string | number>,
): string {
  const lines = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`);
  return `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${lines.join('')}\r\n`;
}
