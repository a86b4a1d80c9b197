import { randomBytes } from 'node:crypto';
import { isPathNotFound, isValidPath, type StorageDriver } from '@berth/storage-driver';
import { describeError } from './helpers.ts';
import type { ResolvedCapabilities, StorageDriverSuiteOptions } from './options.ts';

/** Every test root is a top-level directory with this prefix. */
export const SUITE_ROOT_PREFIX = '/suite-';

/** What a suite test gets to work with. */
export interface SuiteTestContext {
  /** The driver under test. */
  readonly driver: StorageDriver;
  /** This test's private top-level directory (`/suite-<random>`); it must be gone at the end. */
  readonly root: string;
  /** `root` joined with `names` (which may themselves contain `/`). */
  path(...names: string[]): string;
  /** Another driver instance on the same backend, from `options.create()`. */
  otherInstance(): Promise<StorageDriver>;
  readonly capabilities: ResolvedCapabilities;
}

/** One conformance test. */
export interface SuiteTest {
  /** Stable id (`group.name`), used as the key of `options.skip`. */
  readonly id: string;
  /** What the test checks, in a few words. */
  readonly title: string;
  /** A timeout for a test that needs more than the runner's default. */
  readonly timeout?: number;
  run(t: SuiteTestContext): Promise<void>;
}

/** A random, unused test root. */
export function newTestRoot(): string {
  return `${SUITE_ROOT_PREFIX}${randomBytes(6).toString('hex')}`;
}

/**
 * Wraps `driver` so that every path a writer is opened on is remembered: after the test the
 * suite checks that no pending write is left there.
 */
function tracking(driver: StorageDriver, writerPaths: Set<string>): StorageDriver {
  return {
    name: driver.name,
    getContent: (path, options) => driver.getContent(path, options),
    putContent: (path, content, options) => driver.putContent(path, content, options),
    reader: (path, options) => driver.reader(path, options),
    writer: (path, options) => {
      if (isValidPath(path)) writerPaths.add(path);
      return driver.writer(path, options);
    },
    stat: (path, options) => driver.stat(path, options),
    list: (path, options) => driver.list(path, options),
    move: (source, destination, options) => driver.move(source, destination, options),
    delete: (path, options) => driver.delete(path, options),
    redirectURL: (path, options) => driver.redirectURL(path, options),
    walk: (path, options) => driver.walk(path, options),
  };
}

/**
 * Everything a test left behind below `root`: committed content (via `stat`/`list`), pending
 * writes on any path a writer was opened on (via an append writer, which is then cancelled),
 * and whatever `rawLeftovers` reports.
 */
export async function findLeftovers(
  driver: StorageDriver,
  root: string,
  writerPaths: ReadonlySet<string>,
  rawLeftovers?: (root: string) => Promise<string[]>,
): Promise<string[]> {
  const problems: string[] = [];
  const expectGone = async (label: string, action: () => Promise<unknown>): Promise<void> => {
    try {
      const value = await action();
      problems.push(`${label} still finds something: ${JSON.stringify(value)}`);
    } catch (err) {
      if (!isPathNotFound(err)) problems.push(`${label} failed: ${describeError(err)}`);
    }
  };
  await expectGone(`stat(${root})`, () => driver.stat(root));
  await expectGone(`list(${root})`, () => driver.list(root));
  const top = await driver.list('/');
  if (top.includes(root)) problems.push(`list('/') still contains ${root}`);
  for (const path of writerPaths) {
    try {
      const writer = await driver.writer(path, { append: true });
      problems.push(
        `writer(${path}, { append: true }) found a pending write or file of ${writer.size} bytes`,
      );
      await writer.cancel();
    } catch (err) {
      if (!isPathNotFound(err))
        problems.push(`writer(${path}, { append: true }) failed: ${describeError(err)}`);
    }
  }
  if (rawLeftovers) {
    const raw = await rawLeftovers(root);
    if (raw.length > 0) problems.push(`rawLeftovers(${root}) reports ${JSON.stringify(raw)}`);
  }
  return problems;
}

/** Best-effort removal of everything below `root`, including pending writes. */
async function forceCleanup(
  driver: StorageDriver,
  root: string,
  writerPaths: ReadonlySet<string>,
): Promise<void> {
  for (const path of writerPaths) {
    try {
      await (await driver.writer(path, { append: true })).cancel();
    } catch {
      // nothing pending there, or the driver is broken: either way, carry on
    }
  }
  try {
    await driver.delete(root);
  } catch {
    // already gone
  }
}

/**
 * Runs one suite test under a fresh root, then fails it if it left anything behind. A test that
 * already failed is cleaned up as well as possible without masking its own error.
 */
export async function runSuiteTest(
  test: SuiteTest,
  driver: StorageDriver,
  options: Pick<StorageDriverSuiteOptions, 'create' | 'rawLeftovers'>,
  capabilities: ResolvedCapabilities,
): Promise<void> {
  const root = newTestRoot();
  const writerPaths = new Set<string>();
  const context: SuiteTestContext = {
    driver: tracking(driver, writerPaths),
    root,
    path: (...names) => [root, ...names].join('/'),
    otherInstance: async () => tracking(await options.create(), writerPaths),
    capabilities,
  };
  let failure: { error: unknown } | undefined;
  try {
    await test.run(context);
  } catch (error) {
    failure = { error };
  }
  let problems: string[] = [];
  let checkFailure: { error: unknown } | undefined;
  try {
    problems = await findLeftovers(driver, root, writerPaths, options.rawLeftovers);
  } catch (error) {
    checkFailure = { error };
  }
  if (problems.length > 0 || checkFailure !== undefined) await forceCleanup(driver, root, writerPaths);
  if (failure !== undefined) throw failure.error;
  if (checkFailure !== undefined) throw checkFailure.error;
  if (problems.length > 0) {
    throw new Error(`test ${test.id} left data behind below ${root}:\n  - ${problems.join('\n  - ')}`);
  }
}

/** A named group of suite tests; registered as one nested `describe`. */
export interface SuiteGroup {
  /** The id prefix of the group's tests (`content` for `content.round-trip`). */
  readonly name: string;
  /** The `describe` title. */
  readonly title: string;
  readonly tests: readonly SuiteTest[];
}

/** Builds a {@link SuiteGroup}, prefixing each test's local id with the group name. */
export function group(
  name: string,
  title: string,
  tests: readonly (readonly [id: string, title: string, run: SuiteTest['run'], timeout?: number])[],
): SuiteGroup {
  return {
    name,
    title,
    tests: tests.map(([id, testTitle, run, timeout]) => ({
      id: `${name}.${id}`,
      title: testTitle,
      run,
      ...(timeout === undefined ? {} : { timeout }),
    })),
  };
}
