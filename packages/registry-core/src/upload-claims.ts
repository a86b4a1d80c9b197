/**
 * Claims: at most one request at a time writes to an upload, across every process and replica
 * sharing the storage.
 *
 * Within a process, `StoreContext.uploadLocks` serializes the operations on one upload. Across
 * processes the storage is all they share, and a storage driver has no compare-and-swap, so a
 * claim is a file of its own, `_uploads/<id>/_berth/claims/<claim>`, and the rule is:
 *
 * 1. write your claim (a name nobody else can pick);
 * 2. list the claims; if any other live claim is there, delete yours and give up ("busy");
 * 3. otherwise the upload is yours until you delete your claim.
 *
 * Two requests that overlap both see each other's claim and both give up, so at most one ever
 * proceeds — the guarantee needs only that a listing shows every file whose write completed
 * before the listing began (read-after-write listing, which the filesystem, S3, GCS and Azure
 * all give). Both giving up is the price: the clients retry, which honest clients never need
 * (none sends two writes to one upload at once).
 *
 * A claim left by a process that died is ignored (and deleted) once older than
 * {@link CLAIM_TTL_MS}: its name starts with the time it was written. A request that takes
 * longer (a large blob streamed slowly) renews its claim every {@link CLAIM_RENEW_MS} by writing
 * a fresh one and deleting the old, so it never looks stale. Clocks of the replicas must agree
 * to within the difference of the two (20 s).
 *
 * Claims are bookkeeping, written without fsync: after a power loss a missing claim could only
 * matter to a request that is no longer running.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { baseName, isPathNotFound, type StorageDriver } from '@berth/storage-driver';
import { pathFor } from './paths.ts';

/** A claim older than this belongs to a request that is gone. */
export const CLAIM_TTL_MS = 30_000;
/** How often a running request writes its claim afresh. */
export const CLAIM_RENEW_MS = 10_000;

/** A held claim; {@link release} it when the request is done, whatever happened. */
export interface UploadClaim {
  /** Deletes the claim (idempotent; a claim whose upload was removed is gone already). */
  release(): Promise<void>;
  /**
   * Releases a claim that was deleted with its upload's directory: only stops the renewal, so
   * no delete is spent on a file that is gone (unless a renewal raced the removal).
   */
  removedWithUpload(): Promise<void>;
}

/** What {@link claimUpload} found. */
export type ClaimResult<T> =
  | { readonly claim: UploadClaim; readonly checked: T }
  | { readonly claim: undefined; readonly checked: undefined };

const encoder = new TextEncoder();
const CLAIM_NAME = /^(\d{13,16})-[0-9a-f]{16}$/;

function newClaimName(now: number): string {
  return `${now}-${randomBytes(8).toString('hex')}`;
}

/** The time a claim was written, from its name; `undefined` for a file that is no claim. */
function claimTime(name: string): number | undefined {
  const match = CLAIM_NAME.exec(name);
  return match === null ? undefined : Number(match[1]);
}

async function deleteQuietly(driver: StorageDriver, path: string): Promise<void> {
  try {
    await driver.delete(path);
  } catch (err) {
    if (!isPathNotFound(err)) throw err;
  }
}

/** Options of {@link claimUpload}. */
export interface ClaimOptions<T> {
  /**
   * Run once the claim is written, alongside the listing of the claims (saving a round trip):
   * reads of the upload's state that must not happen before the claim. Its result is returned
   * with the claim; if it rejects, the claim is released and the rejection passed on.
   */
  readonly check: () => Promise<T>;
  /** The clock. @default Date.now */
  readonly now?: () => number;
}

/**
 * Claims upload `id` of repository `name`; `{ claim: undefined }` when another live claim is
 * held (see the module comment).
 */
export async function claimUpload<T>(
  driver: StorageDriver,
  name: string,
  id: string,
  options: ClaimOptions<T>,
): Promise<ClaimResult<T>> {
  const now = options.now ?? Date.now;
  const pathOf = (claim: string): string => pathFor({ kind: 'berthUploadClaim', name, id, claim });
  const content = encoder.encode(`${hostname()} ${process.pid}\n`);
  let current = newClaimName(now());
  await driver.putContent(pathOf(current), content, { durable: false });

  const listing = driver.list(pathFor({ kind: 'berthUploadClaims', name, id })).then(
    (paths) => paths.map(baseName),
    (err: unknown) => {
      // The upload was removed meanwhile (our claim with it): nobody else holds it; the check
      // finds the upload gone.
      if (isPathNotFound(err)) return [];
      throw err;
    },
  );
  const [listed, checked] = await Promise.allSettled([listing, options.check()]);
  if (listed.status === 'rejected' || checked.status === 'rejected') {
    await deleteQuietly(driver, pathOf(current)).catch(() => {});
    throw listed.status === 'rejected' ? listed.reason : (checked as PromiseRejectedResult).reason;
  }
  const others = listed.value;
  const at = now();
  let busy = false;
  for (const other of others) {
    if (other === current) continue;
    const time = claimTime(other);
    if (time !== undefined && at - time <= CLAIM_TTL_MS) {
      busy = true;
    } else {
      // A dead request's claim (or a stray file): out of the way for the next one.
      await deleteQuietly(driver, pathOf(other)).catch(() => {});
    }
  }
  if (busy) {
    await deleteQuietly(driver, pathOf(current));
    return { claim: undefined, checked: undefined };
  }

  let renewing: Promise<void> | undefined;
  let released = false;
  const timer = setInterval(() => {
    if (renewing !== undefined) return;
    const next = newClaimName(now());
    renewing = (async () => {
      await driver.putContent(pathOf(next), content, { durable: false });
      const previous = current;
      current = next;
      await deleteQuietly(driver, pathOf(previous));
    })()
      // A failed renewal leaves the older claim, which still counts until it is stale.
      .catch(() => {})
      .finally(() => {
        renewing = undefined;
      });
  }, CLAIM_RENEW_MS);
  timer.unref();

  const claim: UploadClaim = {
    async release() {
      if (released) return;
      released = true;
      clearInterval(timer);
      await renewing;
      await deleteQuietly(driver, pathOf(current));
    },
    async removedWithUpload() {
      if (renewing !== undefined) return claim.release();
      released = true;
      clearInterval(timer);
    },
  };
  return { claim, checked: checked.value };
}
