import { createServer } from 'node:net';
import { TestingError } from './errors.js';

/** A TCP port that was free on 127.0.0.1 a moment ago (bind port 0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', (err) =>
      reject(new TestingError('Could not bind a free port on 127.0.0.1.', { cause: err })),
    );
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : undefined;
      server.close(() => {
        if (port === undefined) {
          reject(new TestingError(`Binding port 0 gave no TCP address: ${String(address)}.`));
        } else {
          resolve(port);
        }
      });
    });
  });
}
