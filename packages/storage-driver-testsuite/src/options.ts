import type { StorageDriver } from '@berth/storage-driver';

/** What a driver can do beyond the baseline every driver must support. */
export interface StorageDriverCapabilities {
  /**
   * `redirectURL` returns a URL that serves the file (GET and HEAD) to a plain `fetch()`.
   * When false, the suite checks that `redirectURL` resolves to `undefined`.
   * @default false
   */
  redirect?: boolean;
  /**
   * Size in bytes of the file the large-stream test writes and reads back. Lower it for slow
   * or metered backends; raise it to stress a driver's multipart logic.
   * @default 67108864 (64 MiB)
   */
  largeFileSize?: number;
}

/** Options of {@link describeStorageDriver}. */
export interface StorageDriverSuiteOptions {
  /**
   * Returns a driver for the backend under test. Called once before the suite's tests, and
   * again by the tests that resume a write from a second driver instance: every call must
   * return a driver on the *same* backend (same directory, bucket, container or store), as a
   * second registry process would see it. Returning the same instance again is allowed for a
   * backend that only exists inside one instance (the in-memory driver).
   */
  create(): Promise<StorageDriver>;
  /** Called once after the suite's tests (for example to remove a temporary directory). */
  teardown?(): Promise<void>;
  /** What the driver supports; see {@link StorageDriverCapabilities}. */
  capabilities?: StorageDriverCapabilities;
  /**
   * Tests not to run, as test id → why. The reason is shown in the skipped test's name. An id
   * that is not in `STORAGE_DRIVER_SUITE_TESTS` makes `describeStorageDriver` throw.
   */
  skip?: Readonly<Record<string, string>>;
  /**
   * The backend's real entries below the storage path `root` (for example a temporary upload
   * file that `list` hides), in any form that helps a human find them. After each test the
   * suite calls this with the test's root and fails the test unless it returns `[]`.
   */
  rawLeftovers?(root: string): Promise<string[]>;
}

/** Capabilities with their defaults filled in. */
export interface ResolvedCapabilities {
  readonly redirect: boolean;
  readonly largeFileSize: number;
}

/** 64 MiB. */
export const DEFAULT_LARGE_FILE_SIZE: number = 64 * 1024 * 1024;

/** Fills in the defaults of {@link StorageDriverCapabilities}. */
export function resolveCapabilities(capabilities: StorageDriverCapabilities = {}): ResolvedCapabilities {
  const largeFileSize = capabilities.largeFileSize ?? DEFAULT_LARGE_FILE_SIZE;
  if (!Number.isSafeInteger(largeFileSize) || largeFileSize < 1) {
    throw new Error(`capabilities.largeFileSize must be a positive integer, got ${largeFileSize}`);
  }
  return { redirect: capabilities.redirect ?? false, largeFileSize };
}
