import http from 'node:http';
import https from 'node:https';

/** An HTTP answer: status, parsed JSON body (undefined when empty or not JSON). */
export interface JsonResponse {
  status: number;
  body: unknown;
}

/**
 * How long a keep-alive socket may sit idle before the client closes it: under the 5 s after
 * which a Node server closes one by default (the API keeps them 65 s unless HTTP_KEEP_ALIVE_MS
 * says less). Node's agent shortens it further to a second under a server's
 * `Keep-Alive: timeout=` hint, but only when it has a timeout of its own; without one it keeps
 * idle sockets for ever, and a request sent on one just as the server closes it fails with
 * ECONNRESET (one of 4,000 at 200/s on 3 December).
 */
export const FREE_SOCKET_TIMEOUT_MS = 4_000;

/**
 * A keep-alive JSON client on node:http: lighter per request than fetch, so on a small machine
 * the load generator takes less of the CPU the services need.
 */
export class JsonClient {
  private readonly agent: http.Agent;
  private readonly base: URL;

  /** `apiKey` is sent as `Authorization: Bearer` on every request. */
  constructor(
    baseUrl: string,
    maxSockets = 256,
    private readonly apiKey?: string,
  ) {
    this.base = new URL(baseUrl);
    const Agent = this.base.protocol === 'https:' ? https.Agent : http.Agent;
    this.agent = new Agent({ keepAlive: true, maxSockets, timeout: FREE_SOCKET_TIMEOUT_MS });
  }

  /** POSTs `body` as JSON to `path`; rejects only on a network error or a timeout. */
  post(path: string, body: unknown, timeoutMs = 60_000): Promise<JsonResponse> {
    const payload = Buffer.from(JSON.stringify(body));
    const lib = this.base.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = lib.request(
        new URL(path, this.base),
        {
          method: 'POST',
          agent: this.agent,
          headers: {
            'content-type': 'application/json',
            'content-length': payload.length,
            ...(this.apiKey === undefined ? {} : { authorization: `Bearer ${this.apiKey}` }),
          },
          timeout: timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', reject);
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown;
            try {
              parsed = text === '' ? undefined : JSON.parse(text);
            } catch {
              parsed = text;
            }
            resolve({ status: res.statusCode ?? 0, body: parsed });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`POST ${path} took over ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** Closes the idle keep-alive sockets. */
  close(): void {
    this.agent.destroy();
  }
}
