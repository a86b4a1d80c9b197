import { describe, expect, it } from 'vitest';
import { problemLines } from './target.ts';

describe('problemLines', () => {
  it('keeps warn/error/fatal JSON lines and anything that is not JSON, drops the rest', () => {
    const log = [
      '{"level":"info","msg":"listening"}',
      '{"level":"info","msg":"request","status":500}',
      '{"level":"warn","msg":"slow"}',
      '{"level":"error","msg":"internal server error"}',
      '{"level":50,"msg":"pino-style error"}',
      '{"level":30,"msg":"pino-style info"}',
      '(node:1) MaxListenersExceededWarning: Possible EventEmitter memory leak detected.',
      '{"level":"debug"',
      '',
    ].join('\n');
    expect(problemLines(log)).toEqual([
      '{"level":"warn","msg":"slow"}',
      '{"level":"error","msg":"internal server error"}',
      '{"level":50,"msg":"pino-style error"}',
      '(node:1) MaxListenersExceededWarning: Possible EventEmitter memory leak detected.',
      '{"level":"debug"',
    ]);
  });
});
