import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { TableRow } from './scenario-context.js';

/** The run's timestamp for file names: 2025-01-31T12-00-00Z (no colons, sorts by time). */
export function fileStamp(date: Date): string {
  return date
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replace(/:/g, '-');
}

/** Writes `<dir>/<scenario>-<stamp>.json` and returns its path. */
export async function writeResult(
  dir: string,
  scenario: string,
  stamp: string,
  result: unknown,
): Promise<string> {
  await mkdir(dir, { recursive: true });
  const file = resolve(join(dir, `${scenario}-${stamp}.json`));
  await writeFile(file, `${JSON.stringify(result, null, 2)}\n`);
  return file;
}

/** The summary table as aligned text (columns: figure, value, target, verdict). */
export function formatTable(rows: readonly TableRow[]): string {
  const header: TableRow = {
    figure: 'figure',
    value: 'value',
    target: 'target',
    verdict: 'verdict',
  };
  const all = [header, ...rows];
  const width = (k: keyof TableRow): number => Math.max(...all.map((r) => (r[k] ?? '').length));
  const w = { figure: width('figure'), value: width('value'), target: width('target') };
  const line = (r: TableRow): string =>
    [
      r.figure.padEnd(w.figure),
      r.value.padEnd(w.value),
      (r.target ?? '').padEnd(w.target),
      r.verdict ?? '',
    ]
      .join('  ')
      .trimEnd();
  const rule = '-'.repeat(Math.min(160, w.figure + w.value + w.target + 20));
  return [line(header), rule, ...rows.map(line)].join('\n');
}
