import {
  createInMemoryDriver,
  type FileWriter,
  isWithin,
  type OperationOptions,
  parentPath,
  type StorageDriver,
  type WalkOptions,
} from '@berth/storage-driver';
import { describe, expect, it } from 'vitest';
import { runSuiteTest } from './context.ts';
import type { StorageDriverSuiteOptions } from './options.ts';
import { STORAGE_DRIVER_SUITE_TESTS, SUITE_TESTS } from './suite.ts';

/** A driver that delegates to `inner` except for `overrides`. */
function mutant(
  inner: StorageDriver,
  overrides: (inner: StorageDriver) => Partial<StorageDriver>,
): StorageDriver {
  const base: StorageDriver = {
    name: inner.name,
    getContent: (p, o) => inner.getContent(p, o),
    putContent: (p, c, o) => inner.putContent(p, c, o),
    reader: (p, o) => inner.reader(p, o),
    writer: (p, o) => inner.writer(p, o),
    stat: (p, o) => inner.stat(p, o),
    list: (p, o) => inner.list(p, o),
    move: (s, d, o) => inner.move(s, d, o),
    delete: (p, o) => inner.delete(p, o),
    redirectURL: (p, o) => inner.redirectURL(p, o),
    walk: (p, o) => inner.walk(p, o),
  };
  return { ...base, ...overrides(inner) };
}

function withoutSignal<T extends OperationOptions>(options: T | undefined): T | undefined {
  if (options === undefined) return undefined;
  const { signal: _ignored, ...rest } = options;
  return rest as T;
}

interface Mutation {
  readonly name: string;
  readonly mutate: (inner: StorageDriver) => Partial<StorageDriver>;
  readonly rawLeftovers?: StorageDriverSuiteOptions['rawLeftovers'];
  /** Tests that must fail on this mutant. */
  readonly caughtBy: readonly string[];
}

const MUTATIONS: readonly Mutation[] = [
  {
    name: 'list includes sibling-prefix entries (prefix listing instead of directory listing)',
    mutate: (inner) => ({
      list: async (path, options) => {
        const children = await inner.list(path, options);
        if (path === '/') return children;
        const siblings = await inner.list(parentPath(path), options).catch(() => []);
        return [...children, ...siblings.filter((s) => s !== path && s.startsWith(path))];
      },
    }),
    caughtBy: ['list.sibling-prefix'],
  },
  {
    name: 'delete removes every sibling whose path starts with the deleted path',
    mutate: (inner) => ({
      delete: async (path, options) => {
        await inner.delete(path, options);
        const siblings = await inner.list(parentPath(path)).catch(() => []);
        for (const sibling of siblings) if (sibling.startsWith(path)) await inner.delete(sibling);
      },
    }),
    caughtBy: ['delete.sibling-prefix'],
  },
  {
    name: 'writer writes through to the path before commit',
    mutate: (inner) => ({
      writer: async (path, options) => {
        const real = await inner.writer(path, options);
        const wrapped: FileWriter = {
          get size() {
            return real.size;
          },
          write: async (chunk) => {
            await real.write(chunk);
            await inner.putContent(path, chunk);
          },
          close: () => real.close(),
          commit: () => real.commit(),
          cancel: () => real.cancel(),
        };
        return wrapped;
      },
    }),
    caughtBy: ['writer.invisible-before-commit', 'writer.old-content-until-commit'],
  },
  {
    name: 'close discards the pending write',
    mutate: (inner) => ({
      writer: async (path, options) => {
        const real = await inner.writer(path, options);
        const wrapped: FileWriter = {
          get size() {
            return real.size;
          },
          write: (chunk) => real.write(chunk),
          close: () => real.cancel(),
          commit: () => real.commit(),
          cancel: () => real.cancel(),
        };
        return wrapped;
      },
    }),
    caughtBy: ['writer.resume-same-instance', 'writer.resume-other-instance', 'writer.zero-byte-pending'],
  },
  {
    name: 'writer.size counts only the bytes of the current session',
    mutate: (inner) => ({
      writer: async (path, options) => {
        const real = await inner.writer(path, options);
        const start = real.size;
        const wrapped: FileWriter = {
          get size() {
            return real.size - start;
          },
          write: (chunk) => real.write(chunk),
          close: () => real.close(),
          commit: () => real.commit(),
          cancel: () => real.cancel(),
        };
        return wrapped;
      },
    }),
    caughtBy: ['writer.resume-same-instance', 'writer.append-committed', 'writer.resume-rounds'],
  },
  {
    name: 'reader ignores the offset',
    mutate: (inner) => ({ reader: (path, options) => inner.reader(path, { ...options, offset: 0 }) }),
    caughtBy: ['reader.offsets', 'reader.offsets-across-writes', 'concurrency.readers'],
  },
  {
    name: 'reader clamps invalid offsets instead of rejecting',
    mutate: (inner) => ({
      reader: (path, options) => {
        const offset = options?.offset ?? 0;
        const clamped = Number.isSafeInteger(offset) && offset >= 0 ? offset : 0;
        return inner.reader(path, { ...options, offset: clamped });
      },
    }),
    caughtBy: ['reader.invalid-offset'],
  },
  {
    name: 'getContent returns empty content for a missing file',
    mutate: (inner) => ({
      getContent: (path, options) => inner.getContent(path, options).catch(() => new Uint8Array(0)),
    }),
    caughtBy: ['content.missing', 'delete.file'],
  },
  {
    name: 'list returns children in reverse order',
    mutate: (inner) => ({ list: async (path, options) => (await inner.list(path, options)).reverse() }),
    caughtBy: ['list.children', 'content.many-files'],
  },
  {
    name: 'stat reports a size for directories',
    mutate: (inner) => ({
      stat: async (path, options) => {
        const info = await inner.stat(path, options);
        return info.isDir ? { ...info, size: 4096 } : info;
      },
    }),
    caughtBy: ['stat.directory', 'stat.root'],
  },
  {
    name: 'walk ignores startAfter',
    mutate: (inner) => ({
      walk: (path, options?: WalkOptions) => inner.walk(path, { ...options, startAfter: undefined }),
    }),
    caughtBy: ['walk.start-after-file', 'walk.start-after-directory', 'walk.start-after-after-all'],
  },
  {
    name: 'walk ignores descend',
    mutate: (inner) => ({
      walk: async function* (path, options?: WalkOptions) {
        for await (const info of inner.walk(path, { ...options, descend: undefined })) {
          if (info.isDir) options?.descend?.(info);
          yield info;
        }
      },
    }),
    caughtBy: ['walk.descend'],
  },
  {
    name: 'walk yields files only',
    mutate: (inner) => ({
      walk: async function* (path, options?: WalkOptions) {
        for await (const info of inner.walk(path, options)) if (!info.isDir) yield info;
      },
    }),
    caughtBy: ['walk.all', 'walk.root'],
  },
  {
    name: 'move does not replace an existing destination',
    mutate: (inner) => ({
      move: async (source, destination, options) => {
        try {
          await inner.stat(destination);
          await inner.delete(source);
        } catch {
          await inner.move(source, destination, options);
        }
      },
    }),
    caughtBy: ['move.overwrite'],
  },
  {
    name: 'move copies instead of moving',
    mutate: (inner) => ({
      move: async (source, destination, options) => {
        await inner.putContent(destination, await inner.getContent(source, options), options);
      },
    }),
    caughtBy: ['move.new-path', 'move.overwrite'],
  },
  {
    name: 'the abort signal is ignored',
    mutate: (inner) => ({
      getContent: (p, o) => inner.getContent(p, withoutSignal(o)),
      stat: (p, o) => inner.stat(p, withoutSignal(o)),
    }),
    caughtBy: ['abort.pre-aborted'],
  },
  {
    name: 'invalid paths reach the backend (validation skipped for list)',
    mutate: (inner) => ({
      list: async (path, options) => {
        if (typeof path !== 'string' || !path.startsWith('/')) return [];
        return inner.list(path, options);
      },
    }),
    caughtBy: ['paths.invalid-list'],
  },
  {
    name: 'names are case-insensitive',
    mutate: (inner) => ({
      putContent: (p, c, o) => inner.putContent(p.toLowerCase(), c, o),
      getContent: (p, o) => inner.getContent(p.toLowerCase(), o),
    }),
    caughtBy: ['paths.case-sensitive'],
  },
  {
    name: 'a temporary file is left behind (reported by rawLeftovers)',
    mutate: () => ({}),
    rawLeftovers: async (root) => [`${root}/.tmp-upload-1234`],
    caughtBy: ['content.round-trip', 'writer.commit'],
  },
  {
    name: 'cancel keeps the pending write',
    mutate: (inner) => ({
      writer: async (path, options) => {
        const real = await inner.writer(path, options);
        const wrapped: FileWriter = {
          get size() {
            return real.size;
          },
          write: (chunk) => real.write(chunk),
          close: () => real.close(),
          commit: () => real.commit(),
          cancel: () => real.close(),
        };
        return wrapped;
      },
    }),
    caughtBy: ['writer.cancel-discards', 'writer.cancel-keeps-committed'],
  },
  {
    name: 'empty directories stay listed after their last file is deleted',
    mutate: (inner) => {
      const ghosts = new Set<string>();
      return {
        delete: async (path, options) => {
          await inner.delete(path, options);
          if (!isWithin(path, '/') || parentPath(path) === '/') return;
          ghosts.add(parentPath(path));
        },
        list: async (path, options) => {
          const children = await inner.list(path, options);
          const extra = [...ghosts].filter((g) => parentPath(g) === path && !children.includes(g));
          return [...children, ...extra].sort();
        },
      };
    },
    caughtBy: ['list.empty-dir-disappears'],
  },
];

const capabilities = { redirect: false, largeFileSize: 1024 * 1024 + 5 };

async function outcome(id: string, driver: StorageDriver, rawLeftovers?: Mutation['rawLeftovers']) {
  const test = SUITE_TESTS.find((t) => t.id === id);
  if (test === undefined) throw new Error(`no such test: ${id}`);
  const options: StorageDriverSuiteOptions = {
    create: async () => driver,
    ...(rawLeftovers ? { rawLeftovers } : {}),
  };
  try {
    await runSuiteTest(test, driver, options, capabilities);
    return 'passed';
  } catch (err) {
    return `failed: ${(err as Error).message.split('\n')[0]}`;
  }
}

describe('the suite catches broken drivers', () => {
  it('lists only real test ids as catchers', () => {
    const ids = new Set(STORAGE_DRIVER_SUITE_TESTS);
    for (const mutation of MUTATIONS)
      for (const id of mutation.caughtBy) expect(ids, mutation.name).toContain(id);
  });

  for (const mutation of MUTATIONS) {
    it(mutation.name, async () => {
      for (const id of mutation.caughtBy) {
        // The catching test passes on the correct driver ...
        expect(await outcome(id, createInMemoryDriver()), `${id} on the correct driver`).toBe('passed');
        // ... and fails on the mutant.
        const broken = mutant(createInMemoryDriver(), mutation.mutate);
        expect(await outcome(id, broken, mutation.rawLeftovers), `${id} on the mutant`).toMatch(/^failed/);
      }
    });
  }
});
