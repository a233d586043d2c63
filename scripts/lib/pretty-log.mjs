// Compact rendering of pino JSON log lines: `12:00:01.123 INFO  message key=value`.
import { color } from './log.mjs';

const LEVELS = {
  10: ['TRACE', color.dim],
  20: ['DEBUG', color.dim],
  30: ['INFO ', color.green],
  40: ['WARN ', color.yellow],
  50: ['ERROR', color.red],
  60: ['FATAL', color.red],
};
// Fields every pino line carries that add nothing on a developer's terminal.
const DROPPED = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'v']);
const MAX_VALUE_CHARS = 200;

function clock(time) {
  const date = typeof time === 'number' || typeof time === 'string' ? new Date(time) : new Date();
  return Number.isNaN(date.getTime()) ? '' : date.toISOString().slice(11, 23);
}

function renderValue(value) {
  const text =
    typeof value === 'string'
      ? /\s/.test(value)
        ? JSON.stringify(value)
        : value
      : JSON.stringify(value);
  return text.length > MAX_VALUE_CHARS ? `${text.slice(0, MAX_VALUE_CHARS)}…` : text;
}

/** Renders one output line: a pino JSON object compactly, anything else unchanged. */
export function prettyLine(line) {
  if (!line.startsWith('{')) return line;
  let entry;
  try {
    entry = JSON.parse(line);
  } catch {
    return line;
  }
  if (entry === null || typeof entry !== 'object' || !('msg' in entry || 'level' in entry))
    return line;
  const [label, paint] = LEVELS[entry.level] ?? [String(entry.level ?? '').padEnd(5), (t) => t];
  const parts = [color.dim(clock(entry.time)), paint(label), String(entry.msg ?? '')];
  let stack;
  for (const [key, value] of Object.entries(entry)) {
    if (DROPPED.has(key) || value === undefined) continue;
    if ((key === 'err' || key === 'error') && value && typeof value === 'object') {
      parts.push(
        color.dim(`${key}=`) + renderValue(`${value.type ?? 'Error'}: ${value.message ?? ''}`),
      );
      if (typeof value.stack === 'string' && entry.level >= 50) stack = value.stack;
      continue;
    }
    parts.push(color.dim(`${key}=`) + renderValue(value));
  }
  const text = parts.filter(Boolean).join(' ');
  return stack ? `${text}\n${color.dim(stack)}` : text;
}
