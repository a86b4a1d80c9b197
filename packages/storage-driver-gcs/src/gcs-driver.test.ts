import { describeStorageDriver } from '@berth/storage-driver-testsuite';
import { createGcsDriver } from './gcs-driver.ts';
import { NEEDS_COMPOSE, onRealGcs, startBackend, type TestBackend } from './test-support/backend.ts';

// The emulator (or real GCS, see test-support/backend.ts) with the default 5 MiB chunk size:
// registry:2's default, so the suite checks what operators run.
let backend: TestBackend | undefined;

describeStorageDriver('gcs', {
  create: async () => {
    backend ??= await startBackend('suite');
    return createGcsDriver(backend.signingOptions());
  },
  teardown: async () => {
    await backend?.stop();
  },
  capabilities: { redirect: true },
  // Writes of more than one chunk (5 MiB) in several parts are composed at commit. Nothing else
  // is skipped, and nothing at all against real GCS.
  skip: onRealGcs()
    ? {}
    : {
        'reader.large-stream': `64 MiB in 13 parts: ${NEEDS_COMPOSE}`,
        'writer.resume-rounds': `6.1 MiB in 10 parts: ${NEEDS_COMPOSE}`,
      },
  // Files below the root and pending-write objects in the hidden tree.
  rawLeftovers: async (root) => {
    const prefix = backend!.rootPrefix === '' ? '' : `${backend!.rootPrefix}/`;
    return [
      ...(await backend!.objectNames(`${prefix}${root.slice(1)}/`)),
      ...(await backend!.objectNames(`${prefix}~berth-pending${root}/`)),
    ];
  },
});
