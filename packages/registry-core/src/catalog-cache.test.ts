import { createInMemoryDriver } from '@berth/storage-driver';
import { describe, expect, it } from 'vitest';
import { createRegistry } from './registry.ts';
import { countingDriver, pushImage } from './test-support/stores.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('_catalog pages kept in memory (catalogTtlMs)', () => {
  it('answers a repeated page from memory, and a push through the same registry at once', async () => {
    const { driver, counts } = countingDriver(createInMemoryDriver());
    const registry = createRegistry({ driver }, { catalogTtlMs: 60_000 });
    await pushImage(registry.repository('team/a'), 'a');
    expect((await registry.catalog({ n: 10 })).items).toEqual(['team/a']);
    const walks = counts.walk ?? 0;
    expect((await registry.catalog({ n: 10 })).items).toEqual(['team/a']);
    expect(counts.walk ?? 0).toBe(walks);
    await pushImage(registry.repository('team/b'), 'b');
    expect((await registry.catalog({ n: 10 })).items).toEqual(['team/a', 'team/b']);
    // Pages are kept per n and last.
    expect(await registry.catalog({ n: 1 })).toEqual({ items: ['team/a'], more: true });
    expect(await registry.catalog({ n: 1, last: 'team/a' })).toEqual({ items: ['team/b'], more: false });
  });

  it('a repository another replica creates shows within the TTL', async () => {
    const driver = createInMemoryDriver();
    const a = createRegistry({ driver }, { catalogTtlMs: 150 });
    const b = createRegistry({ driver }, { catalogTtlMs: 150 });
    await pushImage(a.repository('one'), 'one');
    expect((await a.catalog({ n: 10 })).items).toEqual(['one']);
    await pushImage(b.repository('two'), 'two');
    expect((await b.catalog({ n: 10 })).items).toEqual(['one', 'two']);
    // `a` may still answer its page from memory, but not after the TTL.
    await sleep(200);
    expect((await a.catalog({ n: 10 })).items).toEqual(['one', 'two']);
  });

  it('a manifest deleted through the registry is reflected at once', async () => {
    const driver = createInMemoryDriver();
    const registry = createRegistry({ driver, deleteEnabled: true }, { catalogTtlMs: 60_000 });
    const { digest } = await pushImage(registry.repository('gone'), 'g', { tags: ['v1'] });
    await pushImage(registry.repository('kept'), 'k');
    expect((await registry.catalog({ n: 10 })).items).toEqual(['gone', 'kept']);
    await registry.repository('gone').manifests.delete(digest);
    // The repository's last manifest and tag are gone, and with them its `_manifests`.
    expect((await registry.catalog({ n: 10 })).items).toEqual(['kept']);
  });

  it('catalogTtlMs: 0 walks every time', async () => {
    const { driver, counts } = countingDriver(createInMemoryDriver());
    const registry = createRegistry({ driver }, { catalogTtlMs: 0 });
    await pushImage(registry.repository('x'), 'x');
    await registry.catalog({ n: 10 });
    const walks = counts.walk ?? 0;
    await registry.catalog({ n: 10 });
    expect(counts.walk ?? 0).toBe(walks + 1);
  });
});
