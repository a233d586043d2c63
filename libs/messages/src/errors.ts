/** A field that failed validation: `path` is a JSON Pointer into the value. */
export interface FieldError {
  path: string;
  message: string;
}

/** Base error of `@niyanta/messages`. */
export class MessagesError extends Error {
  override name = 'MessagesError';
}

/** A message failed its schema on encode or decode. */
export class InvalidMessageError extends MessagesError {
  override name = 'InvalidMessageError';
  constructor(
    readonly kind: string,
    readonly errors: FieldError[],
    options?: { cause?: unknown },
  ) {
    super(
      `invalid ${kind} message: ${errors.map((e) => `${e.path || '/'} ${e.message}`).join('; ')}`,
      options,
    );
  }
}

/** A subject token (tenant, worker id) that NATS cannot carry. */
export class InvalidSubjectTokenError extends MessagesError {
  override name = 'InvalidSubjectTokenError';
  constructor(
    readonly field: string,
    readonly value: string,
  ) {
    super(
      `${field} "${value}" cannot be used in a subject: use 1-128 characters from A-Z a-z 0-9 _ -`,
    );
  }
}

/**
 * A message larger than the connected server's max_payload (its body and headers), refused
 * before it is sent: the server would refuse it, and a payload it cannot carry is the sender's
 * error, not the broker's.
 */
export class MessageTooLargeError extends MessagesError {
  override name = 'MessageTooLargeError';
  constructor(
    readonly kind: string,
    readonly subject: string,
    /** Body plus encoded headers, in bytes. */
    readonly size: number,
    /** The server's max_payload, in bytes. */
    readonly limit: number,
    /** Position of the message in the call that published it (0 for a single message). */
    readonly index = 0,
  ) {
    super(
      `the ${kind} message on ${subject} is ${size} bytes with its headers; the broker (max_payload) accepts at most ${limit}: make it smaller (store large data elsewhere and pass a reference)`,
    );
  }
}

/** The broker refused to create or update a stream (its limits, its replicas). */
export class StreamSetupError extends MessagesError {
  override name = 'StreamSetupError';
  constructor(
    readonly stream: string,
    readonly replicas: number,
    options: { cause: unknown },
  ) {
    const reason = options.cause instanceof Error ? options.cause.message : String(options.cause);
    super(
      `creating or updating stream ${stream} with ${replicas} replica(s) failed: ${reason}.` +
        (replicas > 1
          ? ` NATS_STREAM_REPLICAS (${replicas}) may not exceed the JetStream servers of the cluster; a single server takes only 1.`
          : ''),
      options,
    );
  }
}
