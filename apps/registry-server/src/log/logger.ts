/**
 * The server's structured logger: one line per event, JSON (default), logstash-style JSON, or
 * logrus-style text, with `level`, `time`, `msg` and the configured `log.fields`. Lines go to a
 * {@link LogSink}; the default sink buffers and writes stdout in batches so a busy server does
 * not make one (synchronous, for pipes and files) write per request.
 */
import type { LogFormatter, LogLevel } from '../config/types.ts';

/** Where formatted lines go. Each line ends with `\n`. */
export interface LogSink {
  write(line: string): void;
  /** Writes anything buffered, synchronously. */
  flush?(): void;
}

/** Extra fields of one line. An `Error` under `err` becomes `error` (message) and `stack`. */
export type LogFields = Readonly<Record<string, unknown>>;

/** One access log line (logged regardless of `log.level`, as registry:2's access log). */
export interface AccessEntry {
  readonly method: string;
  /** Request path without the query. */
  readonly path: string;
  /** 499 when the client went away before the response was complete. */
  readonly status: number;
  /** Response body bytes written. */
  readonly bytes: number;
  readonly durationMs: number;
  readonly remoteAddr: string;
  readonly userAgent: string;
  readonly requestId: string;
}

export interface Logger {
  readonly level: LogLevel;
  error(msg: string, fields?: LogFields): void;
  warn(msg: string, fields?: LogFields): void;
  info(msg: string, fields?: LogFields): void;
  debug(msg: string, fields?: LogFields): void;
  /** True when lines of `level` are written. */
  enabled(level: LogLevel): boolean;
  /** The access log line of one request; a no-op when `log.accesslog.disabled`. */
  access(entry: AccessEntry): void;
  /** Writes anything buffered. */
  flush(): void;
}

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** @default 'info' */
  readonly level?: LogLevel;
  /** @default 'json' */
  readonly formatter?: LogFormatter;
  /** Added to every line (`log.fields`). */
  readonly fields?: LogFields;
  /** `log.accesslog.disabled`. @default false */
  readonly accessLogDisabled?: boolean;
  /** @default a buffered stdout sink */
  readonly sink?: LogSink;
  /** Clock, for tests. */
  readonly now?: () => Date;
}

const RANK: Readonly<Record<LogLevel, number>> = { error: 0, warn: 1, info: 2, debug: 3 };

/**
 * Creates a logger.
 *
 * @example
 * ```ts
 * const logger = createLogger({ level: 'info', fields: { service: 'registry' } });
 * logger.info('listening', { addr: '127.0.0.1:5000' });
 * // {"level":"info","time":"2024-05-01T12:00:00.000Z","msg":"listening","service":"registry","addr":"127.0.0.1:5000"}
 * ```
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? 'info';
  const threshold = RANK[level];
  const sink = options.sink ?? createStdoutSink();
  const now = options.now ?? (() => new Date());
  const format = formatterFor(options.formatter ?? 'json', options.fields ?? {});

  const log = (lineLevel: LogLevel, msg: string, fields?: LogFields): void => {
    if (RANK[lineLevel] > threshold) return;
    sink.write(format.line(lineLevel, now().toISOString(), msg, fields));
  };
  const access = options.accessLogDisabled
    ? () => {}
    : (entry: AccessEntry): void => {
        sink.write(format.access(now().toISOString(), entry));
      };

  return {
    level,
    error: (msg, fields) => log('error', msg, fields),
    warn: (msg, fields) => log('warn', msg, fields),
    info: (msg, fields) => log('info', msg, fields),
    debug: (msg, fields) => log('debug', msg, fields),
    enabled: (lineLevel) => RANK[lineLevel] <= threshold,
    access,
    flush: () => sink.flush?.(),
  };
}

interface Format {
  line(level: LogLevel, time: string, msg: string, fields: LogFields | undefined): string;
  /** The access line, built directly: it is written once per request. */
  access(time: string, entry: AccessEntry): string;
}

function expand(fields: LogFields | undefined): [string, unknown][] {
  if (fields === undefined) return [];
  const out: [string, unknown][] = [];
  for (const key in fields) {
    const value = fields[key];
    if (value === undefined) continue;
    if (value instanceof Error) {
      out.push([key === 'err' ? 'error' : key, value.message]);
      if (value.stack !== undefined) out.push([key === 'err' ? 'stack' : `${key}_stack`, value.stack]);
      continue;
    }
    out.push([key, value]);
  }
  return out;
}

function json(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : 'null';
  if (typeof value === 'bigint') return `"${value}"`;
  try {
    return JSON.stringify(value) ?? 'null';
  } catch {
    return JSON.stringify(String(value));
  }
}

/** Milliseconds with at most 3 decimals. */
function ms(value: number): number {
  return Math.round(value * 1000) / 1000;
}

function formatterFor(kind: LogFormatter, staticFields: LogFields): Format {
  if (kind === 'text') {
    const fixed = expand(staticFields)
      .map(([key, value]) => ` ${key}=${textValue(value)}`)
      .join('');
    return {
      line(level, time, msg, fields) {
        let line = `time=${time} level=${level} msg=${textValue(msg)}${fixed}`;
        for (const [key, value] of expand(fields)) line += ` ${key}=${textValue(value)}`;
        return `${line}\n`;
      },
      access(time, e) {
        return (
          `time=${time} level=info msg=access${fixed} method=${textValue(e.method)} path=${textValue(e.path)}` +
          ` status=${e.status} bytes=${e.bytes} duration_ms=${ms(e.durationMs)} remote_addr=${textValue(e.remoteAddr)}` +
          ` user_agent=${textValue(e.userAgent)} request_id=${e.requestId}\n`
        );
      },
    };
  }
  const fixed = expand(staticFields)
    .map(([key, value]) => `,${JSON.stringify(key)}:${json(value)}`)
    .join('');
  const head =
    kind === 'logstash'
      ? (level: LogLevel, time: string, msg: string) =>
          `{"@timestamp":"${time}","@version":"1","level":"${level}","message":${JSON.stringify(msg)}${fixed}`
      : (level: LogLevel, time: string, msg: string) =>
          `{"level":"${level}","time":"${time}","msg":${JSON.stringify(msg)}${fixed}`;
  return {
    line(level, time, msg, fields) {
      let line = head(level, time, msg);
      for (const [key, value] of expand(fields)) line += `,${JSON.stringify(key)}:${json(value)}`;
      return `${line}}\n`;
    },
    access(time, e) {
      return (
        `${head('info', time, 'access')},"method":${JSON.stringify(e.method)},"path":${JSON.stringify(e.path)}` +
        `,"status":${e.status},"bytes":${e.bytes},"duration_ms":${ms(e.durationMs)}` +
        `,"remote_addr":${JSON.stringify(e.remoteAddr)},"user_agent":${JSON.stringify(e.userAgent)}` +
        `,"request_id":"${e.requestId}"}\n`
      );
    },
  };
}

/** logrus' text quoting: bare when safe, else a JSON string. */
function textValue(value: unknown): string {
  const text = typeof value === 'string' ? value : json(value);
  return /^[A-Za-z0-9_.\-/:@+]+$/.test(text) ? text : JSON.stringify(text);
}

/** Options of {@link createStdoutSink}. */
export interface StdoutSinkOptions {
  /** @default process.stdout */
  readonly stream?: { write(chunk: string): unknown };
  /** Flush when this much is buffered. @default 65536 */
  readonly maxBufferBytes?: number;
  /** Flush at most this long after the first buffered line. @default 20 */
  readonly flushIntervalMs?: number;
}

/**
 * A sink that batches lines and writes them with one `write` per batch. Call `flush()` before
 * the process exits (the server does, and registers an `exit` hook).
 */
export function createStdoutSink(options: StdoutSinkOptions = {}): Required<LogSink> {
  const stream = options.stream ?? process.stdout;
  const maxBufferBytes = options.maxBufferBytes ?? 65_536;
  const flushIntervalMs = options.flushIntervalMs ?? 20;
  let buffer = '';
  let timer: NodeJS.Timeout | undefined;

  const flush = (): void => {
    if (timer !== undefined) {
      clearTimeout(timer);
      timer = undefined;
    }
    if (buffer === '') return;
    const data = buffer;
    buffer = '';
    stream.write(data);
  };

  return {
    write(line: string): void {
      buffer += line;
      if (buffer.length >= maxBufferBytes) flush();
      else if (timer === undefined) {
        timer = setTimeout(flush, flushIntervalMs);
        timer.unref();
      }
    },
    flush,
  };
}

/** A sink that keeps lines in memory, for tests. */
export function createMemorySink(): LogSink & {
  readonly lines: string[];
  records(): Record<string, unknown>[];
} {
  const lines: string[] = [];
  return {
    lines,
    write(line: string): void {
      lines.push(line);
    },
    records(): Record<string, unknown>[] {
      return lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    },
  };
}
