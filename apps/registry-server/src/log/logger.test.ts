import { describe, expect, it, vi } from 'vitest';
import { type AccessEntry, createLogger, createMemorySink, createStdoutSink } from './logger.ts';

const now = (): Date => new Date('2024-05-01T12:00:00.000Z');
const entry: AccessEntry = {
  method: 'GET',
  path: '/v2/',
  status: 200,
  bytes: 2,
  durationMs: 1.23456,
  remoteAddr: '127.0.0.1',
  userAgent: 'skopeo/1.13 (x)',
  requestId: '1b4e28ba-2fa1-11d2-883f-0016d3cca427',
};

describe('createLogger', () => {
  it('writes JSON lines with level, time, msg, the static fields and the line fields', () => {
    const sink = createMemorySink();
    const logger = createLogger({ sink, now, fields: { service: 'registry', replica: 2 } });
    logger.info('listening', { addr: '127.0.0.1:5000' });
    expect(sink.lines).toEqual([
      '{"level":"info","time":"2024-05-01T12:00:00.000Z","msg":"listening","service":"registry","replica":2,"addr":"127.0.0.1:5000"}\n',
    ]);
  });

  it('drops lines below the level', () => {
    const sink = createMemorySink();
    const logger = createLogger({ sink, now, level: 'warn' });
    logger.debug('d');
    logger.info('i');
    logger.warn('w');
    logger.error('e');
    expect(sink.records().map((r) => r.msg)).toEqual(['w', 'e']);
    expect(logger.enabled('info')).toBe(false);
    expect(logger.enabled('error')).toBe(true);
  });

  it('expands an error into its message and stack', () => {
    const sink = createMemorySink();
    const logger = createLogger({ sink, now });
    const err = new Error('boom');
    logger.error('internal error', { err, requestId: 'r1' });
    expect(sink.records()[0]).toEqual({
      level: 'error',
      time: '2024-05-01T12:00:00.000Z',
      msg: 'internal error',
      error: 'boom',
      stack: err.stack,
      requestId: 'r1',
    });
  });

  it('writes the access line regardless of level, unless disabled', () => {
    const sink = createMemorySink();
    createLogger({ sink, now, level: 'error', fields: { service: 'registry' } }).access(entry);
    expect(sink.records()).toEqual([
      {
        level: 'info',
        time: '2024-05-01T12:00:00.000Z',
        msg: 'access',
        service: 'registry',
        method: 'GET',
        path: '/v2/',
        status: 200,
        bytes: 2,
        duration_ms: 1.235,
        remote_addr: '127.0.0.1',
        user_agent: 'skopeo/1.13 (x)',
        request_id: entry.requestId,
      },
    ]);
    const quiet = createMemorySink();
    createLogger({ sink: quiet, accessLogDisabled: true }).access(entry);
    expect(quiet.lines).toEqual([]);
  });

  it('formats logrus-style text', () => {
    const sink = createMemorySink();
    const logger = createLogger({ sink, now, formatter: 'text', fields: { service: 'registry' } });
    logger.warn('no secret set', { hint: 'set http.secret', n: 3 });
    logger.access(entry);
    expect(sink.lines).toEqual([
      'time=2024-05-01T12:00:00.000Z level=warn msg="no secret set" service=registry hint="set http.secret" n=3\n',
      'time=2024-05-01T12:00:00.000Z level=info msg=access service=registry method=GET path=/v2/ status=200 bytes=2 ' +
        `duration_ms=1.235 remote_addr=127.0.0.1 user_agent="skopeo/1.13 (x)" request_id=${entry.requestId}\n`,
    ]);
  });

  it('formats logstash JSON', () => {
    const sink = createMemorySink();
    createLogger({ sink, now, formatter: 'logstash' }).info('hi');
    expect(sink.records()).toEqual([
      { '@timestamp': '2024-05-01T12:00:00.000Z', '@version': '1', level: 'info', message: 'hi' },
    ]);
  });
});

describe('createStdoutSink', () => {
  it('batches lines into one write per interval', () => {
    vi.useFakeTimers();
    try {
      const stream = { write: vi.fn() };
      const sink = createStdoutSink({ stream, flushIntervalMs: 20 });
      sink.write('a\n');
      sink.write('b\n');
      expect(stream.write).not.toHaveBeenCalled();
      vi.advanceTimersByTime(20);
      expect(stream.write.mock.calls).toEqual([['a\nb\n']]);
      sink.write('c\n');
      sink.flush();
      expect(stream.write.mock.calls).toEqual([['a\nb\n'], ['c\n']]);
      sink.flush();
      expect(stream.write).toHaveBeenCalledTimes(2);
    } finally {
      vi.useRealTimers();
    }
  });

  it('writes as soon as the buffer is full', () => {
    const stream = { write: vi.fn() };
    const sink = createStdoutSink({ stream, maxBufferBytes: 4 });
    sink.write('ab\n');
    expect(stream.write).not.toHaveBeenCalled();
    sink.write('cd\n');
    expect(stream.write.mock.calls).toEqual([['ab\ncd\n']]);
    sink.flush();
  });
});
