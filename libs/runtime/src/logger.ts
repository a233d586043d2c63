import { traceFields } from '@niyanta/telemetry';
import { pino } from 'pino';
import type { Logger } from 'pino';

export type { Logger };

/** The children made from each root logger, so that a new level reaches all of them. */
const families = new WeakMap<Logger, Set<WeakRef<Logger>>>();
/** Forgets a child once it is collected, so that loggers made per request do not pile up. */
const forget = new FinalizationRegistry<{ children: Set<WeakRef<Logger>>; ref: WeakRef<Logger> }>(
  ({ children, ref }) => children.delete(ref),
);

/**
 * A pino JSON logger for a service; errors go under `err` with their stack and cause. Lines
 * written inside a span carry its `trace_id` and `span_id`.
 */
export function createLogger(service: string, level: string = 'info'): Logger {
  const children = new Set<WeakRef<Logger>>();
  const root = pino({
    name: service,
    level,
    base: { service, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    serializers: { err: pino.stdSerializers.errWithCause },
    mixin: traceFields,
    // Called for children of children too: pino hands the option down.
    onChild: (child) => {
      const ref = new WeakRef(child);
      children.add(ref);
      forget.register(child, { children, ref });
    },
  });
  families.set(root, children);
  return root;
}

/**
 * Sets the level of a logger made by `createLogger` and of every child made from it (pino
 * children keep the level they were made with). Throws for a level pino does not know.
 */
export function setLogLevel(root: Logger, level: string): void {
  if (!(level in root.levels.values)) {
    throw new Error(
      `LOG_LEVEL is not a level: "${level}". Expected one of ${Object.keys(root.levels.values).join(', ')}.`,
    );
  }
  root.level = level;
  const children = families.get(root);
  if (children === undefined) return;
  for (const ref of children) {
    const child = ref.deref();
    if (child === undefined) children.delete(ref);
    else child.level = level;
  }
}
