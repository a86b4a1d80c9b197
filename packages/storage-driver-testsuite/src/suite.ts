import type { StorageDriver } from '@berth/storage-driver';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { runSuiteTest, type SuiteGroup, type SuiteTest } from './context.ts';
import { resolveCapabilities, type StorageDriverSuiteOptions } from './options.ts';
import { abortTests } from './tests/abort.ts';
import { concurrencyTests } from './tests/concurrency.ts';
import { contentTests } from './tests/content.ts';
import { deleteTests } from './tests/delete.ts';
import { listTests } from './tests/list.ts';
import { moveTests } from './tests/move.ts';
import { pathTests } from './tests/paths.ts';
import { readerTests } from './tests/reader.ts';
import { redirectTests } from './tests/redirect.ts';
import { statTests } from './tests/stat.ts';
import { walkTests } from './tests/walk.ts';
import { writerTests } from './tests/writer.ts';

/** Every group of the suite, in the order they run. */
export const SUITE_GROUPS: readonly SuiteGroup[] = [
  contentTests,
  pathTests,
  readerTests,
  writerTests,
  statTests,
  listTests,
  moveTests,
  deleteTests,
  redirectTests,
  walkTests,
  concurrencyTests,
  abortTests,
];

/** Every test of the suite, in the order they run. */
export const SUITE_TESTS: readonly SuiteTest[] = SUITE_GROUPS.flatMap((g) => g.tests);

/** The ids of every conformance test, the valid keys of `options.skip`. */
export const STORAGE_DRIVER_SUITE_TESTS: readonly string[] = Object.freeze(
  SUITE_TESTS.map((test) => test.id),
);

/**
 * Checks `skip` against the suite's test ids.
 * @throws {Error} naming every unknown id or empty reason.
 */
export function validateSkip(skip: Readonly<Record<string, string>> | undefined): void {
  if (skip === undefined) return;
  const known = new Set(STORAGE_DRIVER_SUITE_TESTS);
  const unknown = Object.keys(skip).filter((id) => !known.has(id));
  if (unknown.length > 0) {
    throw new Error(
      `describeStorageDriver: unknown test id(s) in skip: ${unknown.join(', ')} ` +
        '(see STORAGE_DRIVER_SUITE_TESTS for the valid ids)',
    );
  }
  const unexplained = Object.entries(skip)
    .filter(([, reason]) => typeof reason !== 'string' || reason.trim() === '')
    .map(([id]) => id);
  if (unexplained.length > 0) {
    throw new Error(`describeStorageDriver: skip needs a reason for ${unexplained.join(', ')}`);
  }
}

/**
 * Registers the storage driver conformance suite as a vitest `describe` block named after the
 * driver. Call it at the top level of a test file.
 *
 * Each test works below its own random top-level directory (`/suite-<random>`) and must leave
 * nothing behind there: no files, no directories, no pending writes, nothing `rawLeftovers`
 * reports.
 *
 * @example
 * ```ts
 * import { createInMemoryDriver } from '@berth/storage-driver';
 * import { describeStorageDriver } from '@berth/storage-driver-testsuite';
 *
 * const driver = createInMemoryDriver();
 * describeStorageDriver('inmemory', { create: async () => driver });
 * ```
 * @throws {Error} when `options.skip` names an unknown test id or gives no reason.
 */
export function describeStorageDriver(name: string, options: StorageDriverSuiteOptions): void {
  validateSkip(options.skip);
  const capabilities = resolveCapabilities(options.capabilities);
  describe(`storage driver conformance: ${name}`, () => {
    let driver: StorageDriver | undefined;
    beforeAll(async () => {
      driver = await options.create();
    });
    afterAll(async () => {
      await options.teardown?.();
    });
    for (const group of SUITE_GROUPS) {
      describe(group.title, () => {
        for (const test of group.tests) {
          const title = `${test.title} [${test.id}]`;
          const reason = options.skip?.[test.id];
          if (reason !== undefined) {
            it.skip(`${title} — skipped: ${reason}`, () => {});
            continue;
          }
          it(
            title,
            async () => {
              if (driver === undefined) throw new Error('options.create() did not return a driver');
              await runSuiteTest(test, driver, options, capabilities);
            },
            test.timeout,
          );
        }
      });
    }
  });
}
