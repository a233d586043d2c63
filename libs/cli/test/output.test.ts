import { formatTable, parseOutput } from '../src/output.js';
import { progressBar } from '../src/progress.js';
import { UsageError } from '../src/exit-codes.js';

describe('formatTable', () => {
  const rows = [
    { id: 'a1', note: 'a long explanation of why this workload waits for a worker' },
    { id: 'b2', note: 'short' },
  ];
  const cols = [
    { header: 'ID', cell: (r: (typeof rows)[number]) => r.id },
    { header: 'NOTE', cell: (r: (typeof rows)[number]) => r.note, flexible: true },
  ];

  it('aligns columns and fits the terminal width by cutting flexible columns', () => {
    const wide = formatTable(rows, cols);
    expect(wide.split('\n')[0]).toBe('ID  NOTE');
    const narrow = formatTable(rows, cols, 30);
    for (const line of narrow.trimEnd().split('\n')) expect(line.length).toBeLessThanOrEqual(30);
    expect(narrow).toContain('a1  a long explanation of why…');
    expect(narrow).toContain('b2  short');
  });
});

describe('progressBar', () => {
  it('draws the fraction, clamped, within the width', () => {
    expect(progressBar(0.5, 'half', 80)).toMatch(/^\[█{20}░{20}\] {2}50% {2}half$/);
    expect(progressBar(2, null, 80)).toMatch(/^\[█{40}\] 100%$/);
    expect(progressBar(Number.NaN, null, 20).length).toBeLessThanOrEqual(19);
  });
});

describe('parseOutput', () => {
  it('accepts table, json and yaml only', () => {
    expect(parseOutput(undefined)).toBe('table');
    expect(parseOutput('yaml')).toBe('yaml');
    expect(() => parseOutput('xml')).toThrow(UsageError);
  });
});
