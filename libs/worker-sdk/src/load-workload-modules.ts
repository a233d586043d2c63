import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import vm from 'node:vm';
import { assertWorkloadDefinition, isWorkloadDefinition } from './define-workload.js';
import type { WorkloadDefinition } from './definition.js';
import { WorkloadModuleError } from './errors.js';

const MODULE_EXTENSIONS = ['.js', '.mjs'];

/** Imports every `.js`/`.mjs` file (sorted, not recursive) of each directory and returns their default-exported workload definitions. */
export async function loadWorkloadModules(dirs: readonly string[]): Promise<WorkloadDefinition[]> {
  const definitions: WorkloadDefinition[] = [];
  const fileOfType = new Map<string, string>();
  for (const dir of dirs) {
    for (const file of await moduleFiles(dir)) {
      const def = await loadDefinition(file);
      const previous = fileOfType.get(def.type);
      if (previous !== undefined) {
        throw new WorkloadModuleError(
          `Workload type "${def.type}" is defined twice: in ${previous} and in ${file}. Rename one type or remove one module.`,
          { path: file },
        );
      }
      fileOfType.set(def.type, file);
      definitions.push(def);
    }
  }
  return definitions;
}

async function moduleFiles(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    throw new WorkloadModuleError(
      `Cannot read workload module directory ${dir}: ${(err as Error).message}. Check the path (it must be an existing directory).`,
      { path: dir, cause: err },
    );
  }
  const files: string[] = [];
  for (const name of names.filter((n) => MODULE_EXTENSIONS.some((ext) => n.endsWith(ext))).sort()) {
    const file = join(dir, name);
    // stat, not the dirent, so symlinked modules count too.
    if ((await stat(file)).isFile()) files.push(file);
  }
  return files;
}

async function loadDefinition(file: string): Promise<WorkloadDefinition> {
  let mod: { default?: unknown };
  try {
    mod = await importModule(pathToFileURL(file).href);
  } catch (err) {
    throw new WorkloadModuleError(
      `Cannot import workload module ${file}: ${(err as Error).message}`,
      { path: file, cause: err },
    );
  }
  const def = mod.default;
  if (!isWorkloadDefinition(def)) {
    throw new WorkloadModuleError(
      `Workload module ${file} does not default-export a workload definition. Use \`export default defineWorkload({ type, input, run })\`.`,
      { path: file },
    );
  }
  try {
    assertWorkloadDefinition(def);
  } catch (err) {
    throw new WorkloadModuleError(
      `Workload module ${file} exports an invalid definition: ${(err as Error).message}`,
      {
        path: file,
        cause: err,
      },
    );
  }
  return def;
}

type ImportFn = (specifier: string) => Promise<{ default?: unknown }>;

// Written as `new Function` so no transpiler can rewrite it: swc (jest's CommonJS transform)
// turns a literal `import()` into `require()`, which cannot load ES modules from a file URL.
const nativeImport = new Function('specifier', 'return import(specifier)') as ImportFn;

let mainContextImport: ImportFn | undefined;

async function importModule(href: string): Promise<{ default?: unknown }> {
  try {
    return await nativeImport(href);
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'ERR_VM_DYNAMIC_IMPORT_CALLBACK_MISSING_FLAG')
      throw err;
    // Only inside a vm sandbox without a dynamic-import hook (jest without
    // --experimental-vm-modules): import through Node's main-context loader instead.
    mainContextImport ??= vm.runInThisContext('(specifier) => import(specifier)', {
      importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
    }) as ImportFn;
    return mainContextImport(href);
  }
}
