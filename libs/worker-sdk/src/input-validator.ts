import { Ajv2020 } from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { WorkloadDefinition } from './definition.js';
import { WorkloadDefinitionError } from './errors.js';

// ajv-formats is CommonJS with `exports.default`; under nodenext the default import is the
// whole module object, and `.default` is the plugin both in Node and under jest's CJS transform.
const addFormats = addFormatsModule.default;

/** One failing location of an input: a JSON Pointer into the input and what is wrong there. */
export interface InputIssue {
  path: string;
  message: string;
}

// Compiled once per definition object. One ajv instance per definition so that two types may
// use the same `$id` without colliding in a shared schema registry.
const validators = new WeakMap<object, ValidateFunction>();

/** Compiles (once, cached per definition) the validator of a definition's input schema. */
export function inputValidator(def: WorkloadDefinition): ValidateFunction {
  const cached = validators.get(def);
  if (cached) return cached;
  const ajv = new Ajv2020({ allErrors: true });
  addFormats(ajv as unknown as Parameters<typeof addFormats>[0]);
  let validate: ValidateFunction;
  try {
    validate = ajv.compile(def.input);
  } catch (err) {
    throw new WorkloadDefinitionError(
      `Workload type "${def.type}" has an input schema that does not compile: ${(err as Error).message}. Fix the schema (JSON Schema draft 2020-12).`,
      { type: def.type, cause: err },
    );
  }
  validators.set(def, validate);
  return validate;
}

/** Validates `input` against the definition's schema; returns the issues (empty when valid). */
export function validateInput(def: WorkloadDefinition, input: unknown): InputIssue[] {
  const validate = inputValidator(def);
  if (validate(input)) return [];
  return (validate.errors ?? []).map(toIssue);
}

function toIssue(error: ErrorObject): InputIssue {
  // Point at the offending property itself rather than at its parent object.
  if (error.keyword === 'required') {
    const name = String((error.params as { missingProperty: unknown }).missingProperty);
    return { path: `${error.instancePath}/${escapePointer(name)}`, message: 'is required' };
  }
  if (error.keyword === 'additionalProperties') {
    const name = String((error.params as { additionalProperty: unknown }).additionalProperty);
    return { path: `${error.instancePath}/${escapePointer(name)}`, message: 'is not allowed' };
  }
  return { path: error.instancePath, message: error.message ?? `fails "${error.keyword}"` };
}

function escapePointer(segment: string): string {
  return segment.replaceAll('~', '~0').replaceAll('/', '~1');
}

/** Formats issues as `/a must be integer; /b is required` (the root is shown as `(root)`). */
export function formatIssues(issues: readonly InputIssue[]): string {
  return issues.map((i) => `${i.path === '' ? '(root)' : i.path} ${i.message}`).join('; ');
}
