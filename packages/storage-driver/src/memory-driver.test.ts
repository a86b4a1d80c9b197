// The conformance suite lives in a package that depends on this one, so it is imported by
// relative path rather than as a (circular) workspace dependency.
import { describe, expect, it } from 'vitest';
import { describeStorageDriver } from '../../storage-driver-testsuite/src/index.ts';
import { createInMemoryDriver, inMemoryDriverFactory } from './memory-driver.ts';

// Pending writes live inside one in-memory instance, so "another instance on the same
// backend" is that same instance.
const driver = createInMemoryDriver();

describeStorageDriver('inmemory', {
  create: async () => driver,
  capabilities: { redirect: false },
});

describe('inMemoryDriverFactory', () => {
  it('is named inmemory, accepts no parameters and creates empty, independent stores', async () => {
    expect(inMemoryDriverFactory.name).toBe('inmemory');
    const options = inMemoryDriverFactory.parseParameters({});
    const first = await inMemoryDriverFactory.create(options);
    const second = await inMemoryDriverFactory.create(options);
    expect(first.name).toBe('inmemory');
    expect(await first.list('/')).toEqual([]);
    await first.putContent('/a', new Uint8Array([1]));
    expect(await first.list('/')).toEqual(['/a']);
    expect(await second.list('/')).toEqual([]);
  });

  it("stat('/') of an empty store is a directory", async () => {
    const empty = createInMemoryDriver();
    expect(await empty.stat('/')).toMatchObject({ path: '/', isDir: true, size: 0 });
    expect(await empty.list('/')).toEqual([]);
  });
});
