/**
 * Where a command writes: stdout for results, stderr for progress, warnings and errors. Tests
 * pass their own {@link Io} to capture both.
 */

/** A writable text stream. */
export interface TextSink {
  write(text: string): unknown;
}

/** The process environment a command runs in. */
export interface Io {
  readonly stdout: TextSink;
  readonly stderr: TextSink;
  /** Whether stderr is a terminal (progress is shown only then). */
  readonly stderrIsTTY: boolean;
  /** Terminal width for progress lines. @default 80 */
  readonly columns?: number;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The working directory relative config paths are resolved against. */
  readonly cwd: string;
  /** Aborted when the user interrupts (Ctrl-C). */
  readonly signal?: AbortSignal;
}

/** The real process's {@link Io}. */
export function processIo(signal?: AbortSignal): Io {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stderrIsTTY: process.stderr.isTTY === true,
    columns: process.stderr.columns || 80,
    env: process.env,
    cwd: process.cwd(),
    ...(signal === undefined ? {} : { signal }),
  };
}

/** A one-line progress display on stderr. */
export interface Progress {
  /** Shows `text` (at most every 100 ms, unless `force`). */
  update(text: string, force?: boolean): void;
  /** Clears the line. */
  done(): void;
}

const NO_PROGRESS: Progress = { update() {}, done() {} };

/**
 * Progress on stderr when it is a terminal and `enabled`; otherwise a no-op. Updates are
 * throttled to one per 100 ms and the line is cleared by `done()`, so nothing is left behind.
 */
export function createProgress(io: Io, enabled: boolean, now: () => number = Date.now): Progress {
  if (!enabled || !io.stderrIsTTY) return NO_PROGRESS;
  let last = Number.NEGATIVE_INFINITY;
  let shown = false;
  const width = Math.max(20, (io.columns || 80) - 1);
  return {
    update(text, force = false) {
      const t = now();
      if (!force && t - last < 100) return;
      last = t;
      shown = true;
      io.stderr.write(`\r\x1b[2K${text.length > width ? `${text.slice(0, width - 1)}…` : text}`);
    },
    done() {
      if (shown) io.stderr.write('\r\x1b[2K');
      shown = false;
    },
  };
}
