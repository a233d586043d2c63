/** "12 s", "3 min", "2 h", "4 d": how long ago `iso` was, from `now`. */
export function age(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h`;
  return `${Math.floor(s / 86_400)} d`;
}

export const percent = (fraction: number | null | undefined): string =>
  fraction === null || fraction === undefined ? '—' : `${Math.round(fraction * 100)}%`;

export const time = (iso: string | null | undefined): string =>
  iso ? new Date(iso).toLocaleString() : '—';

export const labelsText = (labels: Record<string, string> | undefined): string =>
  Object.entries(labels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(', ') || '—';

/** `k=v` into a pair; undefined when it is not one. */
export function parseLabel(text: string): [string, string] | undefined {
  const at = text.indexOf('=');
  if (at <= 0) return undefined;
  return [text.slice(0, at).trim(), text.slice(at + 1).trim()];
}
