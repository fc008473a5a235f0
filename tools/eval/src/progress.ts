/** A progress bar for long steps: redrawn in place on a terminal, a line per tenth in a log. */

const formatDuration = (ms: number): string => {
  const s = Math.max(0, Math.round(ms / 1000));
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${s}s`;
};

/** `[#######.............]  35% next-basket (test) 12s, ETA 22s`; pure, for tests and redraws. */
export function formatProgress(label: string, fraction: number, elapsedMs: number, width = 24): string {
  const f = Math.min(1, Math.max(0, fraction));
  const filled = Math.round(f * width);
  const eta = f > 0 && f < 1 ? `, ETA ${formatDuration((elapsedMs / f) * (1 - f))}` : '';
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.floor(f * 100)).padStart(3)}% ${label} ${formatDuration(elapsedMs)}${eta}`;
}

export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

export interface Progress {
  update(fraction: number): void;
  done(): void;
}

export function createProgress(label: string, stream: ProgressStream, now: () => number = Date.now): Progress {
  const started = now();
  let lastTenth = -1;
  let lastDraw = 0;
  return {
    update(fraction) {
      const t = now();
      if (stream.isTTY === true) {
        // Redraws at most ten times a second: a terminal is slower than the loops that report.
        if (t - lastDraw < 100) return;
        lastDraw = t;
        stream.write(`\r${formatProgress(label, fraction, t - started)}`);
        return;
      }
      const tenth = Math.floor(Math.min(1, fraction) * 10);
      if (tenth > lastTenth && tenth < 10) {
        lastTenth = tenth;
        stream.write(`${formatProgress(label, fraction, t - started)}\n`);
      }
    },
    done() {
      const line = formatProgress(label, 1, now() - started);
      stream.write(stream.isTTY === true ? `\r${line}\n` : `${line}\n`);
    },
  };
}
