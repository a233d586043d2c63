import { connect } from 'node:net';

/** Whether a NATS server answers on host:port: it accepts TCP and greets with INFO. */
export function natsAnswers(port: number, host = '127.0.0.1', timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('data', (chunk: Buffer) => done(chunk.toString('latin1').startsWith('INFO')));
    socket.once('error', () => done(false));
    socket.once('end', () => done(false));
  });
}
