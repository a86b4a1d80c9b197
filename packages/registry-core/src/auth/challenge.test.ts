import { describe, expect, it } from 'vitest';
import { formatChallenge, quoteParam } from './challenge.ts';

describe('formatChallenge', () => {
  it('Basic', () => {
    expect(formatChallenge({ scheme: 'Basic', realm: 'Registry Realm' })).toBe(
      'Basic realm="Registry Realm"',
    );
  });

  it('Bearer without scope (GET /v2/)', () => {
    expect(
      formatChallenge({ scheme: 'Bearer', realm: 'https://auth.example.com/token', service: 'reg' }),
    ).toBe('Bearer realm="https://auth.example.com/token",service="reg"');
  });

  it('Bearer with scope', () => {
    expect(
      formatChallenge({
        scheme: 'Bearer',
        realm: 'https://a/token',
        service: 'reg',
        scope: 'repository:a:pull,push',
      }),
    ).toBe('Bearer realm="https://a/token",service="reg",scope="repository:a:pull,push"');
  });

  it.each(['insufficient_scope', 'invalid_token'] as const)('Bearer with error=%s', (error) => {
    expect(
      formatChallenge({ scheme: 'Bearer', realm: 'r', service: 's', scope: 'repository:a:pull', error }),
    ).toBe(`Bearer realm="r",service="s",scope="repository:a:pull",error="${error}"`);
  });

  it('escapes quotes and backslashes and drops control characters', () => {
    expect(quoteParam('a"b\\c\r\nd')).toBe('"a\\"b\\\\cd"');
    expect(formatChallenge({ scheme: 'Basic', realm: 'say "hi"' })).toBe('Basic realm="say \\"hi\\""');
  });
});
