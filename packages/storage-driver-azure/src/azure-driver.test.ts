import { BlobServiceClient } from '@azure/storage-blob';
import { describeStorageDriver } from '@berth/storage-driver-testsuite';
import { createAzureDriver } from './azure-driver.ts';
import { readBlockList } from './azure-writer.ts';
import { findPendingWrite } from './block-ids.ts';
import { containerName, startBackend, type TestBackend } from './test-support/backend.ts';

// azurite (or real Azure with AZURE_STORAGE_CONNECTION_STRING): nothing is skipped. Small blocks,
// so the large-file and resume tests go through many blocks and the staging pipeline.
let backend: TestBackend | undefined;
const container = containerName('suite');

describeStorageDriver('azure', {
  create: async () => {
    backend ??= await startBackend();
    return createAzureDriver({ ...backend.options(container), blockSize: 1024 * 1024 });
  },
  teardown: async () => {
    await backend?.deleteContainer(container);
    await backend?.stop();
  },
  capabilities: { redirect: true },
  // Committed blobs below the root, and blobs with only uncommitted blocks that still hold a
  // live pending write. Uncommitted blocks of cancelled or superseded writes are expected: Azure
  // cannot delete them (it drops them after 7 days), and a resume ignores them.
  rawLeftovers: async (root) => {
    const blobs = BlobServiceClient.fromConnectionString(backend!.connectionString).getContainerClient(
      container,
    );
    const found: string[] = [];
    for await (const item of blobs.listBlobsFlat({
      prefix: `${root.slice(1)}/`,
      includeUncommitedBlobs: true,
    })) {
      const state = await readBlockList(blobs.getBlockBlobClient(item.name));
      if (state === undefined) continue;
      let committed = state.committed.length > 0 || state.contentLength > 0;
      if (!committed) committed = await blobs.getBlobClient(item.name).exists();
      if (committed) found.push(item.name);
      else if (findPendingWrite(state) !== undefined) found.push(`${item.name} (pending write)`);
    }
    return found;
  },
});
