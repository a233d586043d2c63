/** A one-line progress bar: `[██████░░░░░░]  50%  message`, at most `width` characters. */
export function progressBar(fraction: number, message: string | null, width: number): string {
  const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  const pct = `${Math.floor(f * 100)}%`.padStart(4);
  const barWidth = Math.max(10, Math.min(40, width - 8));
  const filled = Math.round(f * barWidth);
  const bar = `[${'█'.repeat(filled)}${'░'.repeat(barWidth - filled)}] ${pct}`;
  const rest = message ? `  ${message}` : '';
  return (bar + rest).slice(0, Math.max(barWidth + 7, width - 1));
}
