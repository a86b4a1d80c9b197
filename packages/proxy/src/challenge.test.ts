import { describe, expect, it } from 'vitest';
import { parseChallenges } from './challenge.ts';

describe('parseChallenges', () => {
  it('reads a Docker Hub Bearer challenge', () => {
    expect(
      parseChallenges(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull"',
      ),
    ).toEqual([
      {
        scheme: 'bearer',
        params: {
          realm: 'https://auth.docker.io/token',
          service: 'registry.docker.io',
          scope: 'repository:library/alpine:pull',
        },
      },
    ]);
  });

  it('reads Basic, token values, escapes, commas inside quotes and several challenges', () => {
    expect(parseChallenges('Basic realm="Registry Realm"')).toEqual([
      { scheme: 'basic', params: { realm: 'Registry Realm' } },
    ]);
    expect(parseChallenges('Bearer realm="a,b", scope="repository:x:pull,push" , Basic realm=plain')).toEqual(
      [
        { scheme: 'bearer', params: { realm: 'a,b', scope: 'repository:x:pull,push' } },
        { scheme: 'basic', params: { realm: 'plain' } },
      ],
    );
    expect(parseChallenges('BEARER Realm="say \\"hi\\""')).toEqual([
      { scheme: 'bearer', params: { realm: 'say "hi"' } },
    ]);
  });

  it('stops at what it cannot parse, keeping what came before', () => {
    expect(parseChallenges('')).toEqual([]);
    expect(parseChallenges('Bearer realm="unterminated')).toEqual([{ scheme: 'bearer', params: {} }]);
    expect(parseChallenges('Bearer realm=,x')).toEqual([{ scheme: 'bearer', params: {} }]);
    expect(parseChallenges('"nonsense"')).toEqual([]);
  });
});
