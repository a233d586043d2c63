import { SCHEMAS } from './generated/schemas.js';

// The rule is the submission schema's: a type a worker advertises must be one a workload can have.
const TYPE_SCHEMA = SCHEMAS['messages/submission.v1.json'].properties.type;
const TYPE_RE = new RegExp(TYPE_SCHEMA.pattern);

/**
 * Whether `value` is a valid workload type name, by the submission schema (its pattern and
 * length): what a worker may advertise and placement may match on.
 */
export function isWorkloadType(value: string): boolean {
  return (
    value.length >= TYPE_SCHEMA.minLength &&
    value.length <= TYPE_SCHEMA.maxLength &&
    TYPE_RE.test(value)
  );
}
