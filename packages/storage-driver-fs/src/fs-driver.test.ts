import { describeStorageDriver } from '@berth/storage-driver-testsuite';
import { createFilesystemDriver } from './fs-driver.ts';
import type { FilesystemDriverOptions } from './options.ts';
import { makeTempDir, rawLeftovers, removeTempDir } from './test-support/tmp.ts';

/**
 * Runs the conformance suite on a fresh root directory that does not exist yet (the first
 * write creates it). `rawLeftovers` reports every real entry on disk for a test's root: the
 * directory itself, everything below it and its hidden `#` siblings; the same in the pending
 * tree (`#berth/pending/<test root>`); and any temporary file in `#berth/tmp`. So a leftover
 * pending file, temporary file or empty directory (visible or in the pending tree) fails the test.
 */
function suite(
  name: string,
  options: Omit<FilesystemDriverOptions, 'rootdirectory'>,
  largeFileSize?: number,
): void {
  let parent: string | undefined;
  async function rootDirectory(): Promise<string> {
    parent ??= await makeTempDir('suite');
    return `${parent}/registry`;
  }
  describeStorageDriver(name, {
    create: async () => createFilesystemDriver({ ...options, rootdirectory: await rootDirectory() }),
    teardown: async () => {
      if (parent !== undefined) await removeTempDir(parent);
    },
    rawLeftovers: async (root) => rawLeftovers(await rootDirectory(), root),
    ...(largeFileSize === undefined ? {} : { capabilities: { largeFileSize } }),
  });
}

suite('filesystem', {});
// The same contract with fsync off, every filesystem call serialised (no deadlock with a limit
// of one, no reliance on fsync for ordering) and reads through the thread pool only.
suite(
  'filesystem (maxthreads 1, fsync off, quickreads off)',
  { maxthreads: 1, fsync: false, quickreads: false },
  16 * 1024 * 1024,
);
