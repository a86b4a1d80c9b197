import { readFileSync } from 'node:fs';
import { createInMemoryDriver } from '@berth/storage-driver';
import { describe, expect, it } from 'vitest';
import { findLeftovers, newTestRoot, runSuiteTest, type SuiteTest } from './context.ts';
import { expectBytes, expectCode, expectOneOf, PseudoRandom, randomBytesFor, text } from './helpers.ts';
import { DEFAULT_LARGE_FILE_SIZE, resolveCapabilities } from './options.ts';
import { describeStorageDriver, STORAGE_DRIVER_SUITE_TESTS, SUITE_GROUPS, validateSkip } from './suite.ts';

const capabilities = resolveCapabilities({ largeFileSize: 1024 });

function adHoc(run: SuiteTest['run']): SuiteTest {
  return { id: 'adhoc.test', title: 'ad hoc', run };
}

describe('STORAGE_DRIVER_SUITE_TESTS', () => {
  it('has unique, well-formed ids prefixed with their group', () => {
    expect(new Set(STORAGE_DRIVER_SUITE_TESTS).size).toBe(STORAGE_DRIVER_SUITE_TESTS.length);
    for (const group of SUITE_GROUPS) {
      for (const test of group.tests) {
        expect(test.id).toMatch(new RegExp(`^${group.name}\\.[a-z][A-Za-z0-9-]*$`));
        expect(STORAGE_DRIVER_SUITE_TESTS).toContain(test.id);
      }
    }
    expect(Object.isFrozen(STORAGE_DRIVER_SUITE_TESTS)).toBe(true);
  });

  it('are exactly the ids listed in the README', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const listed = [...readme.matchAll(/^- `([a-z]+\.[A-Za-z0-9-]+)`/gm)].map((match) => match[1]);
    expect(listed).toEqual([...STORAGE_DRIVER_SUITE_TESTS]);
  });
});

describe('skip validation', () => {
  it('accepts known ids with reasons', () => {
    expect(() => validateSkip(undefined)).not.toThrow();
    expect(() => validateSkip({ 'paths.case-sensitive': 'case-insensitive filesystem' })).not.toThrow();
  });

  it('rejects unknown ids, naming them', () => {
    expect(() => validateSkip({ 'paths.case-sensitve': 'typo' })).toThrow(/paths\.case-sensitve/);
    expect(() =>
      describeStorageDriver('x', { create: async () => createInMemoryDriver(), skip: { nope: 'x' } }),
    ).toThrow(/unknown test id/);
  });

  it('rejects an empty reason', () => {
    expect(() => validateSkip({ 'paths.case-sensitive': ' ' })).toThrow(/needs a reason/);
  });
});

describe('capabilities', () => {
  it('fills in defaults and rejects a nonsensical large file size', () => {
    expect(resolveCapabilities()).toEqual({ redirect: false, largeFileSize: DEFAULT_LARGE_FILE_SIZE });
    expect(resolveCapabilities({ redirect: true, largeFileSize: 10 })).toEqual({
      redirect: true,
      largeFileSize: 10,
    });
    expect(() => resolveCapabilities({ largeFileSize: 0 })).toThrow(/largeFileSize/);
    expect(() => resolveCapabilities({ largeFileSize: 1.5 })).toThrow(/largeFileSize/);
  });
});

describe('leftover detection', () => {
  it('reports nothing for a clean root', async () => {
    const driver = createInMemoryDriver();
    expect(await findLeftovers(driver, newTestRoot(), new Set())).toEqual([]);
  });

  it('reports committed files, pending writes and raw leftovers', async () => {
    const driver = createInMemoryDriver();
    const root = newTestRoot();
    await driver.putContent(`${root}/file`, text('x'));
    const writer = await driver.writer(`${root}/pending`);
    await writer.write(text('abc'));
    await writer.close();
    const problems = await findLeftovers(driver, root, new Set([`${root}/pending`]), async () => ['tmp-1']);
    expect(problems.join('\n')).toMatch(/stat\(/);
    expect(problems.join('\n')).toMatch(/list\(/);
    expect(problems.join('\n')).toMatch(/pending write or file of 3 bytes/);
    expect(problems.join('\n')).toMatch(/tmp-1/);
  });

  it('fails a passing test that leaves a file behind, and cleans up', async () => {
    const driver = createInMemoryDriver();
    const test = adHoc(async ({ driver: d, path }) => {
      await d.putContent(path('forgotten'), text('x'));
    });
    await expect(runSuiteTest(test, driver, { create: async () => driver }, capabilities)).rejects.toThrow(
      /left data behind/,
    );
    expect(await driver.list('/')).toEqual([]);
  });

  it('fails a passing test that leaves a pending write behind, and cancels it', async () => {
    const driver = createInMemoryDriver();
    let leftPath = '';
    const test = adHoc(async ({ driver: d, path }) => {
      leftPath = path('upload');
      const writer = await d.writer(leftPath);
      await writer.write(text('x'));
      await writer.close();
    });
    await expect(runSuiteTest(test, driver, { create: async () => driver }, capabilities)).rejects.toThrow(
      /pending write/,
    );
    await expectCode(driver.writer(leftPath, { append: true }), 'PATH_NOT_FOUND');
  });

  it("keeps a failing test's own error and still cleans up", async () => {
    const driver = createInMemoryDriver();
    const test = adHoc(async ({ driver: d, path }) => {
      await d.putContent(path('x'), text('x'));
      throw new Error('the real failure');
    });
    await expect(runSuiteTest(test, driver, { create: async () => driver }, capabilities)).rejects.toThrow(
      'the real failure',
    );
    expect(await driver.list('/')).toEqual([]);
  });

  it('gives each test its own root below /suite-', async () => {
    const driver = createInMemoryDriver();
    const roots: string[] = [];
    const test = adHoc(async ({ root, path }) => {
      roots.push(root);
      expect(path('a', 'b')).toBe(`${root}/a/b`);
    });
    await runSuiteTest(test, driver, { create: async () => driver }, capabilities);
    await runSuiteTest(test, driver, { create: async () => driver }, capabilities);
    expect(roots[0]).toMatch(/^\/suite-[0-9a-f]{12}$/);
    expect(roots[0]).not.toBe(roots[1]);
  });
});

describe('helpers', () => {
  it('PseudoRandom is deterministic, fills unaligned views, and differs by seed', () => {
    const a = new PseudoRandom(7).bytes(1001);
    expect(new PseudoRandom(7).bytes(1001)).toEqual(a);
    expect(new PseudoRandom(8).bytes(1001)).not.toEqual(a);
    const backing = new Uint8Array(1003);
    new PseudoRandom(7).fill(backing.subarray(1, 1002));
    expect(backing.subarray(1, 1002)).toEqual(a);
    expect(new Set(randomBytesFor(4096, 1)).size).toBeGreaterThan(200);
  });

  it('expectBytes reports the first difference', () => {
    expect(() => expectBytes(text('abc'), text('abc'))).not.toThrow();
    expect(() => expectBytes(text('abd'), text('abc'))).toThrow(/first difference at byte 2/);
    expect(() => expectBytes(text('ab'), text('abc'))).toThrow(/got 2 bytes, expected 3/);
  });

  it('expectOneOf rejects a mix', () => {
    expect(expectOneOf(text('new'), [text('old'), text('new')])).toBe(1);
    expect(() => expectOneOf(text('nld'), [text('old'), text('new')])).toThrow(/none of the 2/);
  });

  it('expectCode checks the code, not the class', async () => {
    const lookalike = Object.assign(new Error('x'), { name: 'StorageDriverError', code: 'PATH_NOT_FOUND' });
    await expect(expectCode(Promise.reject(lookalike), 'PATH_NOT_FOUND')).resolves.toBe(lookalike);
    await expect(expectCode(Promise.reject(lookalike), 'INVALID_PATH')).rejects.toThrow(
      /got StorageDriverError/,
    );
    await expect(expectCode(Promise.resolve(1), 'INVALID_PATH')).rejects.toThrow(/resolved/);
    await expect(expectCode(Promise.reject(new Error('plain')), 'INVALID_PATH')).rejects.toThrow(/plain/);
  });
});
