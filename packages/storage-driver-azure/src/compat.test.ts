import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import type { StorageDriver } from '@berth/storage-driver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAzureDriver } from './azure-driver.ts';
import { containerName, startBackend, type TestBackend } from './test-support/backend.ts';

// Data registry:2 left behind: its writer made append blobs, and very old versions wrote small
// files as append blobs too. Blob names are registry:2's, below `rootdirectory`.
let backend: TestBackend;
let container: string;
let blobs: ContainerClient;
let driver: StorageDriver;

beforeAll(async () => {
  backend = await startBackend();
  container = containerName('compat');
  blobs = BlobServiceClient.fromConnectionString(backend.connectionString).getContainerClient(container);
  driver = await createAzureDriver({ ...backend.options(container), rootdirectory: '/registry/' });
});

afterAll(async () => {
  await backend?.deleteContainer(container);
  await backend?.stop();
});

async function appendBlob(name: string, content: string): Promise<void> {
  const blob = blobs.getAppendBlobClient(name);
  await blob.create();
  await blob.appendBlock(content, content.length);
}

describe('registry:2 data', () => {
  it('maps paths below rootdirectory the way registry:2 does', async () => {
    await driver.putContent('/docker/registry/v2/x', new TextEncoder().encode('x'));
    const names: string[] = [];
    for await (const item of blobs.listBlobsFlat()) names.push(item.name);
    expect(names).toEqual(['registry/docker/registry/v2/x']);
    expect(await driver.list('/')).toEqual(['/docker']);
    await driver.delete('/docker');
  });

  it('reads append blobs, and replaces a small one with putContent', async () => {
    await appendBlob(
      'registry/docker/registry/v2/repositories/r/_manifests/tags/t/current/link',
      'sha256:old',
    );
    const link = '/docker/registry/v2/repositories/r/_manifests/tags/t/current/link';
    expect(new TextDecoder().decode(await driver.getContent(link))).toBe('sha256:old');
    expect(await driver.stat(link)).toMatchObject({ size: 10, isDir: false });
    await driver.putContent(link, new TextEncoder().encode('sha256:new'));
    expect(new TextDecoder().decode(await driver.getContent(link))).toBe('sha256:new');
    expect((await blobs.getBlobClient(link.replace(/^\//, 'registry/')).getProperties()).blobType).toBe(
      'BlockBlob',
    );
    await driver.delete('/docker');
  });

  it('refuses to continue an upload registry:2 left as an append blob (UNSUPPORTED)', async () => {
    await appendBlob('registry/docker/registry/v2/repositories/r/_uploads/u/data', 'partial');
    const data = '/docker/registry/v2/repositories/r/_uploads/u/data';
    await expect(driver.writer(data, { append: true })).rejects.toMatchObject({ code: 'UNSUPPORTED' });
    expect(new TextDecoder().decode(await driver.getContent(data))).toBe('partial');
    await driver.delete('/docker');
  });
});
