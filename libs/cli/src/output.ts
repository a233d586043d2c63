import { stringify as toYaml } from 'yaml';
import { UsageError } from './exit-codes.js';

export const OUTPUT_FORMATS = ['table', 'json', 'yaml'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** The --output value, checked. */
export function parseOutput(value: string | undefined): OutputFormat {
  if (value === undefined) return 'table';
  if ((OUTPUT_FORMATS as readonly string[]).includes(value)) return value as OutputFormat;
  throw new UsageError(
    `--output ${JSON.stringify(value)} is not one of ${OUTPUT_FORMATS.join(', ')}`,
  );
}

/** A table column: its header and how to show a row's cell. */
export interface Column<T> {
  header: string;
  cell(row: T): string;
  /** Shrinks first when the table is wider than the terminal. */
  flexible?: boolean;
}

/** `data` as JSON or YAML (for scripts), the same data each time. */
export function formatData(data: unknown, format: Exclude<OutputFormat, 'table'>): string {
  return format === 'json' ? `${JSON.stringify(data, null, 2)}\n` : toYaml(data);
}

/**
 * Rows as an aligned table no wider than `width` (when given): flexible columns shrink first,
 * cut values end with "…".
 */
export function formatTable<T>(
  rows: readonly T[],
  columns: readonly Column<T>[],
  width?: number,
  header: (s: string) => string = (s) => s,
): string {
  const cells = rows.map((r) => columns.map((c) => oneLine(c.cell(r))));
  const widths = columns.map((c, i) =>
    Math.max(c.header.length, ...cells.map((row) => row[i]!.length)),
  );
  if (width !== undefined) {
    const gap = 2 * (columns.length - 1);
    let over = widths.reduce((a, b) => a + b, 0) + gap - width;
    const order = columns
      .map((c, i) => ({ i, flexible: c.flexible === true }))
      .sort((a, b) => Number(b.flexible) - Number(a.flexible) || widths[b.i]! - widths[a.i]!);
    for (const { i } of order) {
      if (over <= 0) break;
      const min = Math.max(columns[i]!.header.length, 6);
      const cut = Math.min(over, widths[i]! - min);
      if (cut > 0) {
        widths[i]! -= cut;
        over -= cut;
      }
    }
  }
  const fit = (s: string, w: number) =>
    s.length > w ? `${s.slice(0, Math.max(0, w - 1))}…` : s.padEnd(w);
  const line = (values: string[]) =>
    values
      .map((v, i) => (i === values.length - 1 ? fit(v, widths[i]!).trimEnd() : fit(v, widths[i]!)))
      .join('  ');
  const head = header(line(columns.map((c) => c.header)));
  return [head, ...cells.map(line)].join('\n') + '\n';
}

/** Key/value lines of one object (for `get`). */
export function formatFields(
  fields: readonly [string, string][],
  key: (s: string) => string = (s) => s,
): string {
  const w = Math.max(...fields.map(([k]) => k.length));
  return fields.map(([k, v]) => `${key(k.padEnd(w))}  ${v}`).join('\n') + '\n';
}

function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ');
}

/** "3s", "5m", "2h", "4d" since `iso`. */
export function age(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '-';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86_400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}
