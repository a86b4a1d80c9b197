import { describe, expect, it } from 'vitest';
import { createInMemoryDriver } from './memory-driver.ts';
import type { FileInfo, StorageDriver } from './types.ts';
import { walkFallback } from './walk-fallback.ts';

/** A driver whose list/stat calls are counted, over an in-memory store. */
async function countingDriver(files: string[]) {
  const inner = createInMemoryDriver();
  for (const file of files) await inner.putContent(file, new Uint8Array([1]));
  const calls: string[] = [];
  const driver: StorageDriver = {
    ...inner,
    list: (path, options) => {
      calls.push(`list ${path}`);
      return inner.list(path, options);
    },
    stat: (path, options) => {
      calls.push(`stat ${path}`);
      return inner.stat(path, options);
    },
  };
  return { driver, calls };
}

async function paths(iterable: AsyncIterable<FileInfo>): Promise<string[]> {
  const out: string[] = [];
  for await (const info of iterable) out.push(info.path);
  return out;
}

describe('walkFallback', () => {
  const files = ['/r/a', '/r/b/c', '/r/b/d/e', '/r/b-c', '/r/c/x'];

  it('resumes inside a directory given as startAfter', async () => {
    const { driver } = await countingDriver(files);
    expect(await paths(walkFallback(driver, '/r', { startAfter: '/r/b' }))).toEqual([
      '/r/b/c',
      '/r/b/d',
      '/r/b/d/e',
      '/r/b-c',
      '/r/c',
      '/r/c/x',
    ]);
  });

  it('skips whole subtrees before startAfter without listing or stat-ing them', async () => {
    const { driver, calls } = await countingDriver(files);
    expect(await paths(walkFallback(driver, '/r', { startAfter: '/r/b-c' }))).toEqual(['/r/c', '/r/c/x']);
    expect(calls).not.toContain('list /r/b');
    expect(calls).not.toContain('stat /r/a');
  });

  it('lists nothing more once the consumer breaks', async () => {
    const { driver, calls } = await countingDriver(files);
    for await (const info of walkFallback(driver, '/r')) {
      if (info.path === '/r/a') break;
    }
    expect(calls).toEqual(['list /r', 'stat /r/a']);
  });

  it('skips entries deleted during the walk', async () => {
    const { driver } = await countingDriver(files);
    const seen: string[] = [];
    for await (const info of walkFallback(driver, '/r')) {
      seen.push(info.path);
      if (info.path === '/r/a') await driver.delete('/r/b');
    }
    expect(seen).toEqual(['/r/a', '/r/b-c', '/r/c', '/r/c/x']);
  });
});
