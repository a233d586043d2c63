#!/usr/bin/env node
// Extracts a compact schema of the Terraform resources and data sources infra/terraform uses from
// the provider bindings published on the npm registry (@cdktn/provider-aws, @cdktn/provider-random),
// so infra/test/terraform.test.ts can check every argument offline without a 400 MB package.
//
//   mkdir -p /tmp/prov && cd /tmp/prov
//   npm pack @cdktn/provider-aws@25.7.0 @cdktn/provider-random@15.0.1
//   for f in *.tgz; do mkdir -p "${f%.tgz}" && tar xzf "$f" -C "${f%.tgz}"; done
//   cd - && node infra/test/extract-provider-schema.mjs /tmp/prov/cdktn-provider-aws-25.7.0/package \
//     /tmp/prov/cdktn-provider-random-15.0.1/package
//
// The bindings are generated from each provider's own schema: every class has
// `static tfResourceType`, and `synthesizeHclAttributes()` lists every argument with `isBlock`
// (nested blocks name the function that renders them); the `.d.ts` config interfaces mark the
// optional ones with `?`; getters read the attributes a reference may use.
import fs from 'node:fs';
import path from 'node:path';
import { parse } from '@cdktn/hcl2json';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const TF_DIR = path.join(ROOT, 'infra', 'terraform');
const OUT = path.join(import.meta.dirname, 'provider-schema.json');

/** `{ resource: Set, data: Set }` of the types the .tf files use. */
async function usedTypes() {
  const used = { resource: new Set(), data: new Set() };
  for (const file of fs.readdirSync(TF_DIR).filter((f) => f.endsWith('.tf'))) {
    const json = await parse(file, fs.readFileSync(path.join(TF_DIR, file), 'utf8'));
    for (const kind of ['resource', 'data']) {
      for (const type of Object.keys(json[kind] ?? {})) used[kind].add(type);
    }
  }
  return used;
}

/** The text of `{ ... }` starting at `open` (the index of `{`), braces balanced. */
function balanced(text, open) {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === '{') depth++;
    else if (text[i] === '}' && --depth === 0) return text.slice(open, i + 1);
  }
  throw new Error(`unbalanced braces at ${open}`);
}

const ENTRY =
  /(\w+): \{\s*value: ([^\n]*),\s*isBlock: (true|false),\s*type: "(\w+)",\s*storageClassType: "([^"]+)",?\s*\}/g;

/** The optional/required flags of a `.d.ts` interface's members, by camelCase name. */
function interfaceMembers(dts, name) {
  const at = dts.search(new RegExp(`export interface ${name}\\b[^{]*\\{`));
  if (at < 0) return new Map();
  const body = balanced(dts, dts.indexOf('{', at));
  const members = new Map();
  for (const m of body.matchAll(/readonly (\w+)(\?)?:/g)) members.set(m[1], m[2] !== '?');
  return members;
}

/** The arguments and blocks of one `attrs = {...}` object, recursing into nested blocks. */
function describe(js, dts, attrsBody, interfaceName) {
  const members = interfaceMembers(dts, interfaceName);
  const out = { attributes: [], blocks: {}, required: [] };
  for (const m of attrsBody.matchAll(ENTRY)) {
    const [, name, value, isBlock] = m;
    const camel = [...value.matchAll(/(?:this\._|struct\.)(\w+)\)/g)].at(-1)?.[1];
    if (camel !== undefined && members.get(camel) === true) out.required.push(name);
    if (isBlock === 'true') {
      const fn = [...value.matchAll(/(\w+)ToHclTerraform\b/g)]
        .map((x) => x[1])
        .find((x) => !x.startsWith('cdktn') && !/^(string|number|boolean|list|hash)/.test(x));
      if (fn === undefined) throw new Error(`no renderer for block ${name}: ${value}`);
      const at = js.indexOf(`function ${fn}ToHclTerraform(struct) {`);
      const body = balanced(js, js.indexOf('{', at));
      const attrs = balanced(body, body.indexOf('const attrs = {') + 'const attrs = '.length);
      const iface = fn[0].toUpperCase() + fn.slice(1);
      out.blocks[name] = describe(js, dts, attrs, iface);
    } else {
      out.attributes.push(name);
    }
  }
  out.attributes.sort();
  out.required.sort();
  return out;
}

/** Every class of the package's lib/, by `<kind>:<type>` (kind: resource, data). */
function indexClasses(pkgDir) {
  const classes = new Map();
  const lib = path.join(pkgDir, 'lib');
  for (const dir of fs.readdirSync(lib)) {
    const file = path.join(lib, dir, 'index.js');
    if (!fs.existsSync(file) || dir === 'provider' || dir.startsWith('ephemeral-')) continue;
    const head = fs.readFileSync(file, 'utf8');
    const m = /static tfResourceType = "(\w+)";/.exec(head);
    if (m) classes.set(`${dir.startsWith('data-') ? 'data' : 'resource'}:${m[1]}`, dir);
  }
  return classes;
}

function extract(pkgDir, dir) {
  const js = fs.readFileSync(path.join(pkgDir, 'lib', dir, 'index.js'), 'utf8');
  const dts = fs.readFileSync(path.join(pkgDir, 'lib', dir, 'index.d.ts'), 'utf8');
  const classAt = js.search(/\nclass \w+ extends cdktn\.Terraform(Resource|DataSource) \{/);
  const className = /class (\w+) extends/.exec(js.slice(classAt))[1];
  const klass = balanced(js, js.indexOf('{', classAt));
  const synth = klass.indexOf('synthesizeHclAttributes() {');
  const attrs = balanced(klass, klass.indexOf('const attrs = {', synth) + 'const attrs = '.length);
  const schema = describe(js, dts, attrs, `${className}Config`);
  const readable = new Set(schema.attributes);
  for (const m of klass.matchAll(/(?:Attribute|interpolationForAttribute)\('([a-z0-9_]+)'\)/g))
    readable.add(m[1]);
  for (const m of klass.matchAll(/new \w+\(this, "([a-z0-9_]+)"/g)) readable.add(m[1]);
  schema.readable = [...readable].sort();
  return schema;
}

async function main() {
  const pkgDirs = process.argv.slice(2);
  if (pkgDirs.length === 0) {
    console.error('usage: extract-provider-schema.mjs <provider package dir>...');
    process.exit(2);
  }
  const used = await usedTypes();
  const out = { generatedFrom: {}, resource: {}, data: {} };
  const indexes = pkgDirs.map((dir) => {
    const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
    out.generatedFrom[pkg.name] = pkg.version;
    return { dir, classes: indexClasses(dir) };
  });
  const missing = [];
  for (const kind of ['resource', 'data']) {
    for (const type of [...used[kind]].sort()) {
      const hit = indexes.find((i) => i.classes.has(`${kind}:${type}`));
      if (!hit) {
        missing.push(`${kind} ${type}`);
        continue;
      }
      out[kind][type] = extract(hit.dir, hit.classes.get(`${kind}:${type}`));
    }
  }
  fs.writeFileSync(OUT, `${JSON.stringify(out, null, 1)}\n`);
  console.log(
    `wrote ${path.relative(ROOT, OUT)}: ${Object.keys(out.resource).length} resource and ${Object.keys(out.data).length} data types`,
  );
  if (missing.length > 0) {
    console.error(`not in any provider package given: ${missing.join(', ')}`);
    process.exit(1);
  }
}

await main();
