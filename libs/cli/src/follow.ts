import type { WorkloadHandle, WorkloadV1 } from '@niyanta/client';
import type { RunContext } from './command.js';
import { EXIT } from './exit-codes.js';
import type { ExitCode } from './exit-codes.js';
import { formatData } from './output.js';
import { progressBar } from './progress.js';

/** The exit code a workload's final status means. */
export function exitCodeOf(status: WorkloadV1['status']): ExitCode {
  return status === 'COMPLETED' ? EXIT.ok : EXIT.workloadFailed;
}

/**
 * Follows a workload to its end: status changes as lines, a progress bar on a terminal, the
 * result (or error) at the end. With --output json/yaml only the final workload is printed.
 */
export async function followWorkload(ctx: RunContext, handle: WorkloadHandle): Promise<ExitCode> {
  const { io, style } = ctx;
  const human = ctx.output === 'table';
  const tty = human && io.out.isTTY === true;
  let bar: { fraction: number; message: string | null } | undefined;
  const clearBar = () => {
    if (tty && bar !== undefined) io.out.write('\r\x1b[2K');
  };
  const drawBar = () => {
    if (tty && bar !== undefined)
      io.out.write(progressBar(bar.fraction, bar.message, io.out.columns ?? 80));
  };
  let final: WorkloadV1 | undefined;
  try {
    for await (const e of handle.events({ signal: io.signal })) {
      if (e.type === 'status') {
        final = e.workload;
        if (!human) continue;
        clearBar();
        const time = new Date().toISOString().slice(11, 19);
        const from = e.fromStatus === null ? '' : `${style.status(e.fromStatus)} → `;
        const extra = [
          e.workload.workerId && e.toStatus !== 'PENDING' ? `worker ${e.workload.workerId}` : '',
          e.workload.attempt > 1 ? `attempt ${e.workload.attempt}` : '',
          e.reason ?? '',
          e.toStatus === 'PENDING' && e.workload.pendingReason ? e.workload.pendingReason : '',
        ].filter(Boolean);
        io.out.write(
          `${style.dim(time)}  ${from}${style.status(e.toStatus)}${extra.length ? style.dim(`  (${extra.join('; ')})`) : ''}\n`,
        );
        if (e.toStatus === 'RUNNING')
          bar ??= { fraction: e.workload.progress?.fraction ?? 0, message: null };
        else bar = undefined;
        drawBar();
      } else if (e.type === 'progress' && tty) {
        clearBar();
        bar = { fraction: e.fraction, message: e.message };
        drawBar();
      }
    }
  } catch (err) {
    clearBar();
    if (io.signal.aborted) {
      io.err.write(`stopped following ${handle.id}; the workload keeps running\n`);
      return 130 as ExitCode;
    }
    throw err;
  }
  clearBar();
  if (final === undefined) throw new Error(`no status of workload ${handle.id} arrived`);
  if (!human) {
    io.out.write(formatData(final, ctx.output as 'json' | 'yaml'));
    return exitCodeOf(final.status);
  }
  if (final.status === 'COMPLETED') {
    if (tty) io.out.write(`${progressBar(1, null, io.out.columns ?? 80)}\n`);
    io.out.write(`${style.bold('result:')} ${JSON.stringify(final.result, null, 2)}\n`);
  } else if (final.error) {
    io.err.write(
      `${style.red('error:')} ${final.error.message}${final.error.code ? ` (${final.error.code})` : ''}\n`,
    );
  }
  return exitCodeOf(final.status);
}
