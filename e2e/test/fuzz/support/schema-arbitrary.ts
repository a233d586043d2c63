import * as fc from 'fast-check';

/** A JSON Schema as the project writes them (draft 2020-12, the keywords schemas/ uses). */
export type JsonSchema = { [key: string]: unknown };

/** Resolves a `$ref` met in `from` to the schema it names. */
export type RefResolver = (ref: string) => JsonSchema;

/** A JSON value an arbitrary JSON input may hold: small, so generated messages stay small. */
export const smallJson = (): fc.Arbitrary<unknown> =>
  fc.jsonValue({ maxDepth: 3, depthSize: 'small', stringUnit: 'grapheme-ascii' });

const isoTime = fc
  .date({
    min: new Date('1970-01-01T00:00:00.000Z'),
    max: new Date('2100-01-01T00:00:00.000Z'),
    noInvalidDate: true,
  })
  .map((d) => d.toISOString());

/**
 * Values that satisfy `schema` (valid by construction for the keywords handled here: type,
 * const, enum, properties, required, additionalProperties, items, min/max items, length and
 * value bounds, pattern, format uuid and date-time, oneOf, $ref). Optional properties appear about
 * half the time; arrays are kept short (at most `maxItems`), so a valid batch stays cheap.
 */
export function schemaArbitrary(
  schema: JsonSchema,
  resolve: RefResolver,
  opts: { maxItems?: number } = {},
): fc.Arbitrary<unknown> {
  const maxItems = opts.maxItems ?? 3;
  const build = (s: JsonSchema, depth: number): fc.Arbitrary<unknown> => {
    if (depth > 12) return fc.constant(null);
    if (typeof s.$ref === 'string') return build(resolve(s.$ref), depth + 1);
    if ('const' in s) return fc.constant(s.const);
    if (Array.isArray(s.enum)) return fc.constantFrom(...(s.enum as unknown[]));
    if (Array.isArray(s.oneOf))
      return fc.oneof(...(s.oneOf as JsonSchema[]).map((o) => build(o, depth + 1)));
    const types = Array.isArray(s.type) ? (s.type as string[]) : [s.type];
    if (types.length > 1 || types[0] === undefined) {
      if (types[0] === undefined) return smallJson();
      return fc.oneof(...types.map((t) => build({ ...s, type: t }, depth)));
    }
    switch (types[0]) {
      case 'null':
        return fc.constant(null);
      case 'boolean':
        return fc.boolean();
      case 'integer':
        return fc.integer({
          min: typeof s.minimum === 'number' ? s.minimum : -1_000_000,
          max: typeof s.maximum === 'number' ? Math.min(s.maximum, 2 ** 31 - 1) : 1_000_000,
        });
      case 'number':
        return fc.double({
          min: typeof s.minimum === 'number' ? s.minimum : -1e6,
          max: typeof s.maximum === 'number' ? s.maximum : 1e6,
          noNaN: true,
          noDefaultInfinity: true,
        });
      case 'string':
        return stringFor(s);
      case 'array': {
        const min = typeof s.minItems === 'number' ? s.minItems : 0;
        const max = Math.max(
          min,
          Math.min(typeof s.maxItems === 'number' ? s.maxItems : 5, maxItems),
        );
        return fc.array(s.items ? build(s.items as JsonSchema, depth + 1) : smallJson(), {
          minLength: min,
          maxLength: max,
        });
      }
      case 'object':
        return objectFor(s, depth);
      default:
        return smallJson();
    }
  };

  const objectFor = (s: JsonSchema, depth: number): fc.Arbitrary<unknown> => {
    const properties = (s.properties ?? {}) as Record<string, JsonSchema>;
    const required = new Set((s.required ?? []) as string[]);
    const names = Object.keys(properties);
    if (
      names.length === 0 &&
      s.additionalProperties &&
      typeof s.additionalProperties === 'object'
    ) {
      const names = s.propertyNames as JsonSchema | undefined;
      return fc.dictionary(
        names ? stringFor({ type: 'string', ...names }) : fc.string({ maxLength: 10 }),
        build(s.additionalProperties as JsonSchema, depth + 1),
        { maxKeys: typeof s.maxProperties === 'number' ? Math.min(s.maxProperties, 3) : 3 },
      );
    }
    const model: Record<string, fc.Arbitrary<unknown>> = {};
    for (const name of names) model[name] = build(properties[name]!, depth + 1);
    return fc.record(model, { requiredKeys: names.filter((n) => required.has(n)) });
  };

  return build(schema, 0);
}

function stringFor(s: JsonSchema): fc.Arbitrary<string> {
  const minLength = typeof s.minLength === 'number' ? s.minLength : 0;
  const maxLength = typeof s.maxLength === 'number' ? s.maxLength : 40;
  if (s.format === 'uuid') {
    // The submission schema asks for version 7 by pattern; every other uuid accepts it too.
    return fc.uuid({ version: 7 });
  }
  if (s.format === 'date-time') return isoTime;
  if (typeof s.pattern === 'string') {
    // Only the schema's own bound: a pattern may ask for more than the default (a sha256).
    const bound = typeof s.maxLength === 'number' ? { maxLength: s.maxLength } : {};
    return fc
      .stringMatching(new RegExp(s.pattern), bound)
      .filter((v) => v.length >= minLength && v.length <= (bound.maxLength ?? Infinity));
  }
  return fc.string({ minLength, maxLength: Math.min(maxLength, 40) });
}
