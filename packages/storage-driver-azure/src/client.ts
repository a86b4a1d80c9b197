import { Agent } from 'node:https';
import {
  AnonymousCredential,
  BlobSASPermissions,
  BlobServiceClient,
  type ContainerClient,
  generateBlobSASQueryParameters,
  newPipeline,
  type RequestPolicy,
  type RequestPolicyFactory,
  SASProtocol,
  StorageSharedKeyCredential,
  type UserDelegationKey,
  type WebResource,
} from '@azure/storage-blob';
import type { ResolvedAzureDriverOptions } from './options.ts';

/** Signs read-only SAS URLs for blobs. */
export interface SasSigner {
  /** What signs: the account key, or a user delegation key (token credentials). */
  readonly kind: 'shared_key' | 'user_delegation';
  /** The SAS query string (without `?`) granting read access to one blob until `expiresOn`. */
  sign(blobName: string, expiresOn: Date, signal?: AbortSignal): Promise<string>;
}

/** What the driver talks to. */
export interface AzureClients {
  readonly service: BlobServiceClient;
  readonly container: ContainerClient;
  /** `undefined` when the credentials cannot sign (a connection string with a SAS). */
  readonly signer: SasSigner | undefined;
}

/** How far back a SAS's start time is set, so a client whose clock is behind can use it. */
const SAS_CLOCK_SKEW_MS = 5 * 60 * 1000;
/** Lifetime of a user delegation key (the service allows up to 7 days). */
const DELEGATION_KEY_LIFETIME_MS = 7 * 24 * 3600 * 1000 - SAS_CLOCK_SKEW_MS;
/** A user delegation key is renewed once less than this (plus the SAS's own lifetime) is left. */
const DELEGATION_KEY_GRACE_MS = 30 * 60 * 1000;

/**
 * A pipeline step that sends every request through an agent accepting any TLS certificate
 * (`skipverify`). The SDK has no option for it; a custom policy can set the request's agent.
 */
function insecureAgentFactory(): RequestPolicyFactory {
  const agent = new Agent({ keepAlive: true, rejectUnauthorized: false });
  return {
    create(next: RequestPolicy): RequestPolicy {
      return {
        sendRequest(request: WebResource) {
          request.agent = agent;
          return next.sendRequest(request);
        },
      };
    },
  };
}

/**
 * Builds the SDK clients for `options`. `@azure/identity` is imported only for token
 * credentials, so shared-key and connection-string users never load it.
 */
export async function createClients(options: ResolvedAzureDriverOptions): Promise<AzureClients> {
  const { auth } = options;
  let url: string;
  let credential: Parameters<typeof newPipeline>[0];
  if (auth.kind === 'connection_string') {
    // The SDK parses the string (account key, SAS, emulator shorthand); keep its endpoint and
    // credential but build our own pipeline so retries and `skipverify` apply.
    const parsed = BlobServiceClient.fromConnectionString(auth.connectionString);
    url = parsed.url;
    credential = parsed.credential;
  } else if (auth.kind === 'shared_key') {
    url = options.serviceUrl!;
    credential = new StorageSharedKeyCredential(auth.accountName, auth.accountKey);
  } else {
    url = options.serviceUrl!;
    const identity = await import('@azure/identity');
    credential =
      auth.kind === 'client_secret'
        ? new identity.ClientSecretCredential(auth.tenantId, auth.clientId, auth.secret)
        : new identity.DefaultAzureCredential();
  }
  const pipeline = newPipeline(credential, {
    retryOptions: {
      maxTries: options.maxRetries + 1,
      retryDelayInMs: Math.max(1, options.retryDelayMs),
      maxRetryDelayInMs: Math.max(options.retryDelayMs, 30_000),
    },
    userAgentOptions: { userAgentPrefix: 'berth-storage-driver-azure' },
  });
  if (options.skipVerify) pipeline.factories.unshift(insecureAgentFactory());
  const service = new BlobServiceClient(url, pipeline);
  const container = service.getContainerClient(options.container);
  const https = new URL(url).protocol === 'https:';

  let signer: SasSigner | undefined;
  if (credential instanceof StorageSharedKeyCredential) {
    const sharedKey = credential;
    signer = {
      kind: 'shared_key',
      async sign(blobName, expiresOn) {
        return generateBlobSASQueryParameters(
          {
            containerName: options.container,
            blobName,
            permissions: BlobSASPermissions.parse('r'),
            startsOn: new Date(Date.now() - SAS_CLOCK_SKEW_MS),
            expiresOn,
            protocol: https ? SASProtocol.Https : SASProtocol.HttpsAndHttp,
          },
          sharedKey,
        ).toString();
      },
    };
  } else if (!(credential instanceof AnonymousCredential) && auth.kind !== 'connection_string') {
    signer = delegationSigner(service, options.container, auth.accountName, https);
  }
  return { service, container, signer };
}

/** Signs with a user delegation key (token credentials), fetched once and renewed before it expires. */
function delegationSigner(
  service: BlobServiceClient,
  containerName: string,
  accountName: string,
  https: boolean,
): SasSigner {
  let cached: { key: UserDelegationKey; expiresAt: number } | undefined;
  let fetching: Promise<{ key: UserDelegationKey; expiresAt: number }> | undefined;
  const keyValidUntil = async (until: number, signal?: AbortSignal) => {
    if (cached !== undefined && cached.expiresAt - DELEGATION_KEY_GRACE_MS > until) return cached;
    fetching ??= (async () => {
      try {
        const startsOn = new Date(Date.now() - SAS_CLOCK_SKEW_MS);
        const expiresAt = Date.now() + DELEGATION_KEY_LIFETIME_MS;
        const key = await service.getUserDelegationKey(startsOn, new Date(expiresAt), {
          ...(signal === undefined ? {} : { abortSignal: signal }),
        });
        cached = { key, expiresAt };
        return cached;
      } finally {
        fetching = undefined;
      }
    })();
    return fetching;
  };
  return {
    kind: 'user_delegation',
    async sign(blobName, expiresOn, signal) {
      const { key, expiresAt } = await keyValidUntil(expiresOn.getTime(), signal);
      return generateBlobSASQueryParameters(
        {
          containerName,
          blobName,
          permissions: BlobSASPermissions.parse('r'),
          startsOn: new Date(Date.now() - SAS_CLOCK_SKEW_MS),
          // A SAS cannot outlive the key that signs it.
          expiresOn: new Date(Math.min(expiresOn.getTime(), expiresAt)),
          protocol: https ? SASProtocol.Https : SASProtocol.HttpsAndHttp,
        },
        key,
        accountName,
      ).toString();
    },
  };
}
