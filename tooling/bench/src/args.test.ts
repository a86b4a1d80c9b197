import { describe, expect, it } from 'vitest';
import { MAX_REPLICAS, parseArgs, USAGE, UsageError } from './args.ts';

const parse = (...argv: string[]) => {
  const parsed = parseArgs(argv);
  if (parsed === 'help') throw new Error('unexpected help');
  return parsed;
};

describe('parseArgs', () => {
  it('defaults: Berth alone on fs, redirects on, one replica', () => {
    expect(parse()).toEqual({
      compare: false,
      runs: undefined,
      quick: false,
      scenarios: [],
      set: [],
      cpuProf: false,
      out: undefined,
      harness: undefined,
      storage: 'fs',
      redirect: true,
      gcsChunkSize: undefined,
      replicas: [1],
      proxy: false,
      caches: ['none'],
      mirror: false,
      metrics: [false],
    });
  });

  it('--metrics off,on alternates Berth without and with its metrics', () => {
    expect(parse('--metrics', 'off,on').metrics).toEqual([false, true]);
    expect(parse('--metrics', 'on').metrics).toEqual([true]);
    expect(() => parse('--metrics', 'yes')).toThrow('--metrics takes off, on or both');
    expect(() => parse('--metrics', 'on,on')).toThrow('names a value twice');
  });

  it('--mirror takes --compare, --runs, --quick and --out, and refuses the harness and storage options', () => {
    const options = parse('--mirror', '--compare', '--runs', '3', '--quick', '--out', 'x');
    expect(options).toMatchObject({ mirror: true, compare: true, runs: 3, quick: true, out: 'x' });
    expect(() => parse('--mirror', '--storage', 's3')).toThrow('--storage does not apply');
    expect(() => parse('--mirror', '--replicas', '2', '--cache', 'redis')).toThrow(
      '--replicas, --cache does not apply',
    );
    expect(() => parse('--mirror', '--scenarios', 'pull-big')).toThrow(UsageError);
  });

  it.each(['none', 'inmemory', 'redis'] as const)('--cache %s', (kind) => {
    expect(parse('--cache', kind, '--replicas', '3').caches).toEqual([kind]);
  });

  it('--cache with several kinds keeps their order (the first is the baseline)', () => {
    expect(parse('--cache', 'redis,none,inmemory').caches).toEqual(['redis', 'none', 'inmemory']);
    expect(() => parse('--cache', 'redis,redis')).toThrow('--cache names a kind twice');
    expect(() => parse('--cache', 'none,')).toThrow('got ""');
  });

  it('refuses an unknown cache kind', () => {
    expect(() => parse('--cache', 'memcached')).toThrow(
      '--cache must be one of none, inmemory, redis, got "memcached"',
    );
    expect(() => parse('--cache')).toThrow('--cache needs a value');
  });

  it('--help and -h', () => {
    expect(parseArgs(['--help'])).toBe('help');
    expect(parseArgs(['--storage', 's3', '-h'])).toBe('help');
  });

  it.each(['fs', 's3', 'azure', 'gcs'] as const)('--storage %s', (kind) => {
    expect(parse('--storage', kind).storage).toBe(kind);
  });

  it('refuses an unknown storage kind and a missing value', () => {
    expect(() => parse('--storage', 'minio')).toThrow(UsageError);
    expect(() => parse('--storage', 'minio')).toThrow(
      '--storage must be one of fs, s3, azure, gcs, got "minio"',
    );
    expect(() => parse('--storage')).toThrow('--storage needs a value');
  });

  it('--no-redirect', () => {
    expect(parse('--storage', 'azure', '--no-redirect')).toMatchObject({ storage: 'azure', redirect: false });
  });

  it('--replicas', () => {
    expect(parse('--replicas', '2').replicas).toEqual([2]);
    expect(parse('--replicas', String(MAX_REPLICAS)).replicas).toEqual([MAX_REPLICAS]);
    expect(parse('--replicas', '1,3').replicas).toEqual([1, 3]);
    expect(parse('--replicas', '1,3', '--proxy')).toMatchObject({ replicas: [1, 3], proxy: true });
    expect(() => parse('--replicas', '3,3')).toThrow('--replicas names a count twice');
    expect(() => parse('--replicas', '1,9')).toThrow(`between 1 and ${MAX_REPLICAS}`);
    for (const bad of ['0', '-1', '1.5', 'two', '', '2x']) {
      expect(() => parse('--replicas', bad), bad).toThrow(UsageError);
    }
    expect(() => parse('--replicas', String(MAX_REPLICAS + 1))).toThrow(`between 1 and ${MAX_REPLICAS}`);
  });

  it('--gcs-chunksize needs --storage gcs (in either order)', () => {
    expect(parse('--gcs-chunksize', '67108864', '--storage', 'gcs').gcsChunkSize).toBe(67108864);
    expect(parse('--storage', 'gcs', '--gcs-chunksize', '5242880').gcsChunkSize).toBe(5242880);
    expect(() => parse('--gcs-chunksize', '5242880')).toThrow('--gcs-chunksize needs --storage gcs');
    expect(() => parse('--storage', 'gcs', '--gcs-chunksize', 'big')).toThrow(UsageError);
  });

  it('the measurement of the issue: storage, scenarios and runs together', () => {
    expect(parse('--', '--storage', 's3', '--scenarios', 'push-big,pull-big', '--runs', '3')).toMatchObject({
      storage: 's3',
      scenarios: ['push-big', 'pull-big'],
      runs: 3,
      replicas: [1],
      redirect: true,
    });
    expect(parse('--replicas', '2', '--runs', '3', '--compare')).toMatchObject({
      replicas: [2],
      runs: 3,
      compare: true,
      storage: 'fs',
    });
  });

  it('the older options still parse', () => {
    expect(
      parse('--quick', '--cpu-prof', '--set', 'a=1', '--set', 'b=2', '--out', 'o', '--harness', 'h.mjs'),
    ).toMatchObject({ quick: true, cpuProf: true, set: ['a=1', 'b=2'], out: 'o', harness: 'h.mjs' });
    expect(() => parse('--runs', '0')).toThrow(UsageError);
    expect(() => parse('--bogus')).toThrow('unknown argument --bogus');
  });

  it('the usage names every option and says that registry:2 stays on fs', () => {
    for (const option of ['--storage', '--no-redirect', '--replicas', '--gcs-chunksize', '--compare']) {
      expect(USAGE).toContain(option);
    }
    expect(USAGE).toMatch(/registry:2 always stores on fs/);
  });
});
