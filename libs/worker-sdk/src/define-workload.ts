import { WORKLOAD_TYPE_PATTERN } from './definition.js';
import type { WorkloadDefinition } from './definition.js';
import { WorkloadDefinitionError } from './errors.js';
import { inputValidator } from './input-validator.js';

/** Validates a workload definition (type name, handler, input schema compiles) and returns it. */
export function defineWorkload<I = unknown, S = unknown, R = unknown>(
  def: WorkloadDefinition<I, S, R>,
): WorkloadDefinition<I, S, R> {
  assertWorkloadDefinition(def);
  return def;
}

/** True when `value` has the shape of a workload definition (type, input schema, run). */
export function isWorkloadDefinition(value: unknown): value is WorkloadDefinition {
  // Duck-typed on purpose: modules may come from another realm or SDK copy, so no instanceof.
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.type === 'string' && isSchemaObject(v.input) && typeof v.run === 'function';
}

/** Throws a {@link WorkloadDefinitionError} saying what is wrong with `value` as a definition. */
export function assertWorkloadDefinition(value: unknown): asserts value is WorkloadDefinition {
  if (typeof value !== 'object' || value === null) {
    throw new WorkloadDefinitionError(
      `A workload definition must be an object with type, input and run; got ${describe(value)}.`,
    );
  }
  const v = value as Record<string, unknown>;
  if (typeof v.type !== 'string' || !WORKLOAD_TYPE_PATTERN.test(v.type)) {
    throw new WorkloadDefinitionError(
      `Workload type ${JSON.stringify(v.type) ?? String(v.type)} is not a valid type name. Use lower case letters, digits, ".", "_" and "-", starting with a letter, at most 100 characters (e.g. "video.transcode").`,
    );
  }
  const type = v.type;
  if (!isSchemaObject(v.input)) {
    throw new WorkloadDefinitionError(
      `Workload type "${type}" needs "input": a JSON Schema object (e.g. { type: 'object' }); got ${describe(v.input)}.`,
      { type },
    );
  }
  if (typeof v.run !== 'function') {
    throw new WorkloadDefinitionError(
      `Workload type "${type}" needs a "run(ctx, input)" function; got ${describe(v.run)}.`,
      {
        type,
      },
    );
  }
  if (v.snapshot !== undefined && typeof v.snapshot !== 'function') {
    throw new WorkloadDefinitionError(
      `Workload type "${type}" has a "snapshot" that is not a function; got ${describe(v.snapshot)}.`,
      {
        type,
      },
    );
  }
  const interval = v.checkpointIntervalMs;
  if (
    interval !== undefined &&
    !(typeof interval === 'number' && Number.isInteger(interval) && interval > 0)
  ) {
    throw new WorkloadDefinitionError(
      `Workload type "${type}" has checkpointIntervalMs ${describe(interval)}; use a positive integer number of milliseconds or leave it out.`,
      { type },
    );
  }
  inputValidator(value as unknown as WorkloadDefinition);
}

function isSchemaObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${JSON.stringify(value) ?? String(value)}`;
}
