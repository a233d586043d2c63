import { TransientError, isTransientError } from '../src/index.js';

const coded = (code: string, message = 'failed') => Object.assign(new Error(message), { code });
const named = (name: string) => Object.assign(new Error('failed'), { name });

describe('isTransientError', () => {
  it.each([
    ['a serialization failure', coded('40001')],
    ['a deadlock', coded('40P01')],
    ['an administrator shutdown', coded('57P01')],
    ['too many connections', coded('53300')],
    ['a connection exception', coded('08006')],
    ['a statement timeout', coded('57014')],
    ['a refused connection', coded('ECONNREFUSED')],
    ['a reset connection', coded('ECONNRESET')],
    ['a lost PostgreSQL connection', new Error('Connection terminated unexpectedly')],
    ['a pool connect timeout', new Error('timeout exceeded when trying to connect')],
    ['a NATS timeout', named('TimeoutError')],
    ['no JetStream responders', named('NoResponders')],
    ['a closed NATS connection', named('ClosedConnectionError')],
    ['JetStream unavailable', Object.assign(named('JetStreamApiError'), { status: 503 })],
    ['a TransientError', new TransientError('rows kept changing')],
    ['a wrapped cause', new Error('insert failed', { cause: coded('ECONNREFUSED') })],
    ['one of an AggregateError', new AggregateError([new Error('x'), coded('ETIMEDOUT')])],
  ])('takes %s for transient', (_name, err) => {
    expect(isTransientError(err)).toBe(true);
  });

  it.each([
    ['a data exception', coded('22021', 'invalid byte sequence for encoding "UTF8": 0x00')],
    ['a number out of range', coded('22003')],
    ['a unique violation', coded('23505')],
    ['a syntax error', coded('42601')],
    ['a stack overflow', new RangeError('Maximum call stack size exceeded')],
    ['a subject error', named('InvalidSubjectTokenError')],
    ['a JetStream API error', Object.assign(named('JetStreamApiError'), { status: 400 })],
    ['a string', 'boom'],
    ['undefined', undefined],
  ])('takes %s for permanent', (_name, err) => {
    expect(isTransientError(err)).toBe(false);
  });

  it('ends on a cycle of causes', () => {
    const a = new Error('a');
    const b = new Error('b', { cause: a });
    (a as { cause?: unknown }).cause = b;
    expect(isTransientError(a)).toBe(false);
  });
});
