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
