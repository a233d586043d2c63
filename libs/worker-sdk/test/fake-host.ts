import type { AttemptHost } from '../src/index.js';

/** An AttemptHost that records every call (the runner is a pure unit; no worker needed). */
export interface RecordingHost extends AttemptHost {
  readonly progressCalls: { fraction: number; message: string | undefined }[];
  readonly lines: { stream: string; line: string }[];
  readonly checkpoints: unknown[];
}

export function recordingHost(): RecordingHost {
  const progressCalls: RecordingHost['progressCalls'] = [];
  const lines: RecordingHost['lines'] = [];
  const checkpoints: unknown[] = [];
  return {
    progressCalls,
    lines,
    checkpoints,
    progress: (fraction, message) => void progressCalls.push({ fraction, message }),
    log: (stream, line) => void lines.push({ stream, line }),
    checkpoint: async (state) => void checkpoints.push(state),
  };
}
