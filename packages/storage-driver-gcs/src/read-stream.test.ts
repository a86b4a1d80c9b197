import type { StorageDriver } from '@berth/storage-driver';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createGcsDriver } from './gcs-driver.ts';
import { RESPONSE_MAX_LISTENERS } from './read-stream.ts';
import { startBackend, type TestBackend } from './test-support/backend.ts';
import { patternBytes } from './test-support/pattern.ts';

const MiB = 1024 * 1024;

let backend: TestBackend;
let driver: StorageDriver;
let root: string;
const warnings: Error[] = [];
const onWarning = (warning: Error): void => {
  if (warning.name === 'MaxListenersExceededWarning') warnings.push(warning);
};

beforeAll(async () => {
  backend = await startBackend('read-stream');
  root = backend.rootPrefix === '' ? '' : `${backend.rootPrefix}/`;
  // Large chunks: a write of several closed sessions is read back at commit, as in the
  // benchmark where the warnings were seen (1 GiB chunks, 32 parts of 16 MiB).
  driver = await createGcsDriver(backend.options({ chunksize: 64 * MiB }));
  process.on('warning', onWarning);
});
afterEach(() => {
  warnings.length = 0;
});
afterAll(async () => {
  process.off('warning', onWarning);
  await driver?.delete('/reads').catch(() => {});
  await backend?.stop();
});

/** Warnings are emitted on a later tick: let them arrive. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 20));

describe('object reads and MaxListenersExceededWarning', () => {
  it('reader() and getContent() of a streaming-size object warn nothing; the body may have 16 listeners', async () => {
    const content = patternBytes(0, 3 * MiB, 1);
    await driver.putContent('/reads/object', content);
    for (let round = 0; round < 3; round++) {
      const stream = await driver.reader('/reads/object', { offset: 10 });
      let limit: number | undefined;
      stream.once('response', (response: NodeJS.EventEmitter) => {
        limit = response.getMaxListeners();
      });
      let size = 0;
      for await (const chunk of stream) size += (chunk as Buffer).byteLength;
      expect(size).toBe(content.byteLength - 10);
      expect(limit).toBe(RESPONSE_MAX_LISTENERS);
      expect(Buffer.from(await driver.getContent('/reads/object')).equals(Buffer.from(content))).toBe(true);
    }
    await settle();
    expect(warnings.map((w) => w.message)).toEqual([]);
  });

  it('a commit that reads its parts back warns nothing', async () => {
    const part = patternBytes(0, 4 * MiB, 2);
    for (let i = 0; i < 3; i++) {
      const writer = await driver.writer('/reads/parts', { append: i > 0 });
      await writer.write(part);
      await writer.close();
    }
    const writer = await driver.writer('/reads/parts', { append: true });
    await writer.commit();
    expect((await driver.stat('/reads/parts')).size).toBe(3 * part.byteLength);
    expect(await backend.objectNames(`${root}~berth-pending/`)).toEqual([]);
    await settle();
    expect(warnings.map((w) => w.message)).toEqual([]);
  });

  it('reading a missing object still rejects with PATH_NOT_FOUND', async () => {
    await expect(driver.getContent('/reads/missing')).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
  });
});
