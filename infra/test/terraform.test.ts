// Checks infra/terraform without a provider download: every .tf file parses (@cdktn/hcl2json),
// every resource and data source type and every argument and nested block is in the AWS or random
// provider's schema (infra/test/provider-schema.json, extracted from the npm provider bindings by
// extract-provider-schema.mjs), required arguments are set, every reference names something
// declared (and an attribute the type has), every variable is used and documented, and the
// environment variables given to the services are ones they read.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

/**
 * @cdktn/hcl2json, typed here: its own typings reference the DOM lib (`/// <reference lib="dom" />`),
 * which would change the fetch and body types of every other test file the type check covers.
 */
const { getReferencesInExpression, parse } = createRequire(__filename)('@cdktn/hcl2json') as {
  parse(filename: string, contents: string): Promise<Record<string, unknown>>;
  getReferencesInExpression(filename: string, expression: string): Promise<{ value: string }[]>;
};

interface BlockSchema {
  attributes: string[];
  blocks: Record<string, BlockSchema>;
  required: string[];
}
interface TypeSchema extends BlockSchema {
  readable: string[];
}
interface ProviderSchema {
  generatedFrom: Record<string, string>;
  resource: Record<string, TypeSchema>;
  data: Record<string, TypeSchema>;
}
type Body = Record<string, unknown>;
type Blocks = Record<string, Record<string, Body[]>>;

const ROOT = path.resolve(__dirname, '..', '..');
const schema = JSON.parse(
  fs.readFileSync(path.join(__dirname, 'provider-schema.json'), 'utf8'),
) as ProviderSchema;
const TF_DIR = path.join(ROOT, 'infra', 'terraform');
const REFRESH =
  'Refresh the schema: node infra/test/extract-provider-schema.mjs <provider packages> (see that script).';

/** Arguments Terraform itself handles on every resource and data source. */
const META_ARGUMENTS = new Set([
  'count',
  'for_each',
  'depends_on',
  'provider',
  'lifecycle',
  'provisioner',
  'connection',
  'dynamic',
]);
/** Reference roots that are not declarations of this configuration. */
const BUILTIN_ROOTS = new Set(['count', 'each', 'path', 'self', 'terraform']);
const RESOURCE_PREFIX = /^(aws|random)_/;
/** What an index segment of a reference is replaced with. */
const INDEX = '[index]';

interface Config {
  files: Record<string, Body>;
  resources: Blocks;
  data: Blocks;
  variables: Record<string, Body>;
  locals: Set<string>;
  outputs: Record<string, Body>;
}

function merge(into: Blocks, from: unknown): void {
  for (const [type, byName] of Object.entries((from ?? {}) as Blocks)) {
    into[type] = { ...(into[type] ?? {}), ...byName };
  }
}

async function loadConfig(): Promise<Config> {
  const config: Config = {
    files: {},
    resources: {},
    data: {},
    variables: {},
    locals: new Set(),
    outputs: {},
  };
  for (const file of fs.readdirSync(TF_DIR).filter((f) => f.endsWith('.tf'))) {
    const json = (await parse(file, fs.readFileSync(path.join(TF_DIR, file), 'utf8'))) as Body;
    config.files[file] = json;
    merge(config.resources, json['resource']);
    merge(config.data, json['data']);
    for (const [name, [body]] of Object.entries((json['variable'] ?? {}) as Record<string, Body[]>))
      config.variables[name] = body ?? {};
    for (const [name, [body]] of Object.entries((json['output'] ?? {}) as Record<string, Body[]>))
      config.outputs[name] = body ?? {};
    for (const block of (json['locals'] ?? []) as Body[])
      for (const name of Object.keys(block)) config.locals.add(name);
  }
  return config;
}

/** Problems of one block body against its schema; `where` names it in messages. */
function checkBody(body: Body, block: BlockSchema, where: string, problems: string[]): void {
  const present = new Set(Object.keys(body));
  for (const [key, value] of Object.entries(body)) {
    if (META_ARGUMENTS.has(key)) continue;
    if (block.attributes.includes(key)) continue;
    const nested = block.blocks[key];
    if (nested === undefined) {
      problems.push(`${where}: "${key}" is not an argument or block of this type`);
      continue;
    }
    const items = Array.isArray(value) ? (value as Body[]) : [value as Body];
    items.forEach((item, i) => checkBody(item, nested, `${where}.${key}[${i}]`, problems));
  }
  for (const [name, dynamics] of Object.entries(
    (body['dynamic'] ?? {}) as Record<string, Body[]>,
  )) {
    present.add(name);
    const nested = block.blocks[name];
    if (nested === undefined) {
      problems.push(`${where}: dynamic "${name}" is not a block of this type`);
      continue;
    }
    for (const dyn of dynamics)
      for (const content of (dyn['content'] ?? []) as Body[])
        checkBody(content, nested, `${where}.dynamic.${name}`, problems);
  }
  for (const name of block.required) {
    if (!present.has(name)) problems.push(`${where}: required "${name}" is missing`);
  }
}

/** Every string in `value`, with the path of keys that leads to it. */
function* strings(value: unknown, keys: string[] = []): Generator<[string, string[]]> {
  if (typeof value === 'string') yield [value, keys];
  else if (Array.isArray(value)) for (const v of value) yield* strings(v, keys);
  else if (value !== null && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) yield* strings(v, [...keys, k]);
}

/** Every reference in the configuration's expressions, outside `lifecycle` (attribute names). */
async function references(config: Config): Promise<{ file: string; ref: string[] }[]> {
  const out: { file: string; ref: string[] }[] = [];
  for (const [file, json] of Object.entries(config.files)) {
    for (const [text, keys] of strings(json)) {
      if (!text.includes('${') || keys.includes('lifecycle')) continue;
      if (keys[0] === 'variable' && keys.at(-1) === 'type') continue;
      for (const r of await getReferencesInExpression(file, text)) {
        // An index (`[0]`, `["worker"]`) comes out as a segment: numeric, or quoted.
        const ref = r.value.split('.').map((s) => (/^(\d+|".*")$/.test(s) ? INDEX : s));
        out.push({ file, ref });
      }
    }
  }
  return out;
}

/** Names of the dynamic blocks (their iterators are references too). */
function dynamicNames(config: Config): Set<string> {
  const names = new Set<string>();
  for (const json of Object.values(config.files))
    for (const [, keys] of strings(json)) {
      const i = keys.indexOf('dynamic');
      if (i >= 0 && keys[i + 1] !== undefined) names.add(keys[i + 1]!);
    }
  return names;
}

describe('infra/terraform', () => {
  let config: Config;
  beforeAll(async () => {
    config = await loadConfig();
  });

  it('parses every .tf file', () => {
    expect(Object.keys(config.files).length).toBeGreaterThan(5);
    expect(Object.keys(config.resources).length).toBeGreaterThan(20);
  });

  it('uses only resource and data types of the provider schema, with their arguments', () => {
    const problems: string[] = [];
    for (const [kind, blocks] of [
      ['resource', config.resources],
      ['data', config.data],
    ] as const) {
      for (const [type, byName] of Object.entries(blocks)) {
        const typeSchema = schema[kind][type];
        if (typeSchema === undefined) {
          problems.push(`${kind} type ${type} is not in provider-schema.json. ${REFRESH}`);
          continue;
        }
        for (const [name, bodies] of Object.entries(byName))
          bodies.forEach((body) =>
            checkBody(body, typeSchema, `${kind}.${type}.${name}`, problems),
          );
      }
    }
    expect(problems).toEqual([]);
  });

  it('refers only to declared variables, locals, resources, data sources and their attributes', async () => {
    const problems: string[] = [];
    const dynamics = dynamicNames(config);
    for (const { file, ref } of await references(config)) {
      const [root, second, ...rest] = ref;
      const shown = `${file}: ${ref.join('.')}`;
      if (root === undefined || BUILTIN_ROOTS.has(root) || dynamics.has(root)) continue;
      if (root === 'var') {
        if (second === undefined || !(second in config.variables))
          problems.push(`${shown}: no such variable`);
      } else if (root === 'local') {
        if (second === undefined || !config.locals.has(second))
          problems.push(`${shown}: no such local`);
      } else if (root === 'data' || RESOURCE_PREFIX.test(root)) {
        const [kind, type, name, tail] =
          root === 'data'
            ? (['data', second, rest[0], rest.slice(1)] as const)
            : (['resource', root, second, rest] as const);
        const blocks = kind === 'data' ? config.data : config.resources;
        if (type === undefined || name === undefined || blocks[type]?.[name] === undefined) {
          problems.push(`${shown}: no such ${kind}`);
          continue;
        }
        // The attribute follows the name, after an index when there is one.
        const attr = tail.find((s) => s !== INDEX);
        const readable = schema[kind][type]?.readable ?? [];
        if (attr !== undefined && !readable.includes(attr))
          problems.push(`${shown}: ${type} has no attribute "${attr}"`);
      } else {
        problems.push(`${shown}: unknown reference root "${root}"`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('uses and documents every variable, and validates every scalar one', async () => {
    const used = new Set(
      (await references(config)).filter((r) => r.ref[0] === 'var').map((r) => r.ref[1]),
    );
    const problems: string[] = [];
    for (const [name, body] of Object.entries(config.variables)) {
      if (!used.has(name)) problems.push(`variable ${name} is never used`);
      if (typeof body['description'] !== 'string' || body['description'].length < 10)
        problems.push(`variable ${name} has no description`);
      if (body['type'] === undefined) problems.push(`variable ${name} has no type`);
      const scalar = ['${string}', '${number}'].includes(String(body['type']));
      if (scalar && body['validation'] === undefined)
        problems.push(`variable ${name} has no validation`);
    }
    expect(problems).toEqual([]);
  });

  it('lists every variable in the README and every required one in terraform.tfvars.example', async () => {
    const readme = fs.readFileSync(path.join(TF_DIR, 'README.md'), 'utf8');
    const example = (await parse(
      'terraform.tfvars.example',
      fs.readFileSync(path.join(TF_DIR, 'terraform.tfvars.example'), 'utf8'),
    )) as Body;
    const problems: string[] = [];
    for (const [name, body] of Object.entries(config.variables)) {
      if (!readme.includes(`\`${name}\``)) problems.push(`README.md does not mention ${name}`);
      if (!('default' in body) && !(name in example))
        problems.push(`terraform.tfvars.example lacks required ${name}`);
    }
    for (const name of Object.keys(example))
      if (!(name in config.variables))
        problems.push(`terraform.tfvars.example sets undeclared ${name}`);
    expect(problems).toEqual([]);
  });

  it('describes every output and gives the API URL', () => {
    expect(config.outputs['api_url']).toBeDefined();
    for (const [name, body] of Object.entries(config.outputs))
      expect([name, typeof body['description']]).toEqual([name, 'string']);
  });

  it('reads only files that exist, and fills every template variable', () => {
    const problems: string[] = [];
    const calls = /(file|templatefile)\("\$\{path\.module\}\/([^"]+)"(?:, \{([\s\S]*?)\n\s*\}\))?/g;
    for (const file of Object.keys(config.files)) {
      const text = fs.readFileSync(path.join(TF_DIR, file), 'utf8');
      for (const [, fn, rel, vars] of text.matchAll(calls)) {
        const target = path.join(TF_DIR, rel!);
        if (!fs.existsSync(target)) {
          problems.push(`${file}: ${fn}() reads ${rel}, which does not exist`);
          continue;
        }
        if (fn !== 'templatefile') continue;
        const given = new Set([...(vars ?? '').matchAll(/^\s*(\w+)\s*=/gm)].map((m) => m[1]));
        const template = fs.readFileSync(target, 'utf8');
        const loopVars = new Set([...template.matchAll(/%\{\s*for (\w+) in/g)].map((m) => m[1]));
        for (const [, name] of template.matchAll(/\$\{\s*(\w+)/g))
          if (!given.has(name) && !loopVars.has(name))
            problems.push(`${rel}: \${${name}} is not given by ${file}`);
        for (const name of given)
          if (!template.includes(`\${${name}}`) && !template.includes(` in ${name}`))
            problems.push(`${file}: ${rel} never uses ${name}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('sets only environment variables the services read', () => {
    const sources = [
      'libs/runtime/src/config.ts',
      'libs/blob-store/src/config.ts',
      ...fs
        .readdirSync(path.join(ROOT, 'services'))
        .map((s) => `services/${s}/src/config.ts`)
        .filter((f) => fs.existsSync(path.join(ROOT, f))),
    ].map((f) => fs.readFileSync(path.join(ROOT, f), 'utf8'));
    const known = (name: string) => sources.some((s) => new RegExp(`\\b${name}: \\{`).test(s));
    const ecs = fs.readFileSync(path.join(TF_DIR, 'ecs.tf'), 'utf8');
    const locals = ecs.slice(0, ecs.indexOf('resource '));
    const names = new Set([...locals.matchAll(/^\s+([A-Z][A-Z0-9_]+)\s+=/gm)].map((m) => m[1]!));
    expect(names.size).toBeGreaterThan(10);
    expect([...names].filter((n) => !known(n))).toEqual([]);
  });

  it('is formatted as terraform fmt writes it (when the terraform binary is installed)', () => {
    const found = spawnSync('terraform', ['version'], { encoding: 'utf8' });
    if (found.error !== undefined) return; // not installed: the checks above still ran
    const fmt = spawnSync('terraform', ['fmt', '-check', '-recursive', '-diff', TF_DIR], {
      encoding: 'utf8',
    });
    expect(fmt.stdout).toBe('');
    expect(fmt.status).toBe(0);
  });
});
