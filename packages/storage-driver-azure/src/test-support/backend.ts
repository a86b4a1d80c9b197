/**
 * Where the tests of this package run: against real Azure when `AZURE_STORAGE_CONNECTION_STRING`
 * is set (each test file in a fresh container, deleted afterwards), else against an azurite
 * started on 127.0.0.1 for the test file and stopped by PID.
 */
import { randomBytes } from 'node:crypto';
import { BlobServiceClient } from '@azure/storage-blob';
import { type AzuriteServer, startAzurite } from '../../../../tooling/test-servers/src/azurite.ts';
import type { AzureDriverOptions } from '../options.ts';

/** A blob service to test against. */
export interface TestBackend {
  readonly kind: 'azurite' | 'azure';
  readonly connectionString: string;
  /** Driver options for a container of this backend (the account's credentials, by connection string). */
  options(container: string): AzureDriverOptions;
  /** Options that authenticate with `accountname`/`accountkey`/`serviceurl`, as a config file would (azurite only). */
  sharedKeyOptions(container: string): AzureDriverOptions;
  /** Deletes the container if it exists. */
  deleteContainer(container: string): Promise<void>;
  /** Stops azurite (a no-op against real Azure). */
  stop(): Promise<void>;
}

/** A fresh container name: `berth-<label>-<random>`. */
export function containerName(label: string): string {
  return `berth-${label}-${randomBytes(5).toString('hex')}`;
}

/** Starts azurite, or connects to real Azure when `AZURE_STORAGE_CONNECTION_STRING` is set. */
export async function startBackend(): Promise<TestBackend> {
  const real = process.env.AZURE_STORAGE_CONNECTION_STRING;
  let azurite: AzuriteServer | undefined;
  let connectionString: string;
  if (real !== undefined && real !== '') {
    connectionString = real;
  } else {
    azurite = await startAzurite();
    connectionString = azurite.connectionString;
  }
  const service = BlobServiceClient.fromConnectionString(connectionString);
  return {
    kind: azurite === undefined ? 'azure' : 'azurite',
    connectionString,
    options: (container) => ({ connectionstring: connectionString, container }),
    sharedKeyOptions: (container) => {
      if (azurite === undefined) return { connectionstring: connectionString, container };
      return {
        accountname: azurite.accountName,
        accountkey: azurite.accountKey,
        serviceurl: azurite.blobEndpoint,
        container,
      };
    },
    deleteContainer: async (container) => {
      await service.getContainerClient(container).deleteIfExists();
    },
    stop: async () => {
      await azurite?.stop();
    },
  };
}
