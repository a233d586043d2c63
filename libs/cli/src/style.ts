/** Output streams and whether they take colours and cursor control. */
export interface Io {
  out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  err: NodeJS.WritableStream & { isTTY?: boolean };
  env: Record<string, string | undefined>;
  /** Aborts on Ctrl-C: follow and watch loops end cleanly. */
  signal: AbortSignal;
}

/** ANSI colours, or identity functions when colours are off. */
export interface Style {
  color: boolean;
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  cyan(s: string): string;
  status(s: string): string;
}

/** Colours only on a terminal, never with NO_COLOR (https://no-color.org) or --no-color. */
export function styleFor(io: Io, noColorFlag: boolean): Style {
  const color =
    io.out.isTTY === true &&
    !noColorFlag &&
    (io.env.NO_COLOR === undefined || io.env.NO_COLOR === '') &&
    io.env.TERM !== 'dumb';
  const wrap = (open: number, close: number) => (s: string) =>
    color ? `\x1b[${open}m${s}\x1b[${close}m` : s;
  const red = wrap(31, 39);
  const green = wrap(32, 39);
  const yellow = wrap(33, 39);
  const cyan = wrap(36, 39);
  return {
    color,
    bold: wrap(1, 22),
    dim: wrap(2, 22),
    red,
    green,
    yellow,
    cyan,
    status(s) {
      if (s === 'COMPLETED') return green(s);
      if (s === 'FAILED' || s === 'CANCELLED') return red(s);
      if (s === 'RUNNING') return cyan(s);
      if (s === 'PAUSED' || s === 'WAITING') return yellow(s);
      return s;
    },
  };
}
