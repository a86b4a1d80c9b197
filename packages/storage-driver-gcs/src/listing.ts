import type { Bucket } from '@google-cloud/storage';
import type { Limiter } from './limiter.ts';

/** One object of a listing. */
export interface ListedObject {
  readonly name: string;
  readonly size: number;
  readonly updated: Date;
}

/** One page of a listing. */
interface ListPage {
  readonly objects: ListedObject[];
  readonly prefixes: string[];
  readonly nextPageToken: string | undefined;
}

interface RawListResponse {
  items?: { name?: string; size?: string | number; updated?: string }[];
  prefixes?: string[];
  nextPageToken?: string;
}

const EPOCH = new Date(0);

/** Objects.list without the SDK's per-item `File` objects (listings of a registry can be long). */
async function listPage(
  bucket: Bucket,
  limiter: Limiter,
  query: { prefix: string; delimiter?: string; maxResults: number; pageToken?: string },
): Promise<ListPage> {
  const [body] = await limiter.run(() =>
    bucket.request({
      uri: '/o',
      qs: { ...query, fields: 'items(name,size,updated),prefixes,nextPageToken' },
    }),
  );
  const raw = (body ?? {}) as RawListResponse;
  return {
    objects: (raw.items ?? []).map((item) => ({
      name: item.name ?? '',
      size: Number(item.size ?? 0),
      updated: item.updated === undefined ? EPOCH : new Date(item.updated),
    })),
    prefixes: raw.prefixes ?? [],
    nextPageToken: raw.nextPageToken || undefined,
  };
}

/** Every object whose name starts with `prefix`, in name order, page by page. */
export async function* listFlat(
  bucket: Bucket,
  limiter: Limiter,
  prefix: string,
  pageSize: number,
  signal?: AbortSignal,
): AsyncIterable<ListedObject[]> {
  let pageToken: string | undefined;
  do {
    signal?.throwIfAborted();
    const page = await listPage(bucket, limiter, {
      prefix,
      maxResults: pageSize,
      ...(pageToken === undefined ? {} : { pageToken }),
    });
    yield page.objects;
    pageToken = nextToken(pageToken, page.nextPageToken);
  } while (pageToken !== undefined);
}

/** The first object whose name starts with `prefix`, if any. */
export async function firstObject(
  bucket: Bucket,
  limiter: Limiter,
  prefix: string,
): Promise<ListedObject | undefined> {
  const page = await listPage(bucket, limiter, { prefix, maxResults: 1 });
  return page.objects[0];
}

/**
 * The objects and sub-prefixes directly below `prefix` (a delimiter listing), all pages.
 *
 * Google pages objects and prefixes together. firebase-tools' emulator pages only the objects
 * and returns every prefix on every page, so prefixes are de-duplicated rather than trusted to
 * come once.
 */
export async function listDirectory(
  bucket: Bucket,
  limiter: Limiter,
  prefix: string,
  pageSize: number,
  signal?: AbortSignal,
): Promise<{ objects: ListedObject[]; prefixes: string[] }> {
  const objects: ListedObject[] = [];
  const prefixes = new Set<string>();
  let pageToken: string | undefined;
  do {
    signal?.throwIfAborted();
    const page = await listPage(bucket, limiter, {
      prefix,
      delimiter: '/',
      maxResults: pageSize,
      ...(pageToken === undefined ? {} : { pageToken }),
    });
    objects.push(...page.objects);
    for (const sub of page.prefixes) prefixes.add(sub);
    pageToken = nextToken(pageToken, page.nextPageToken);
  } while (pageToken !== undefined);
  return { objects, prefixes: [...prefixes] };
}

/** The next page token; a token that repeats (a server that would loop forever) ends the listing. */
function nextToken(previous: string | undefined, next: string | undefined): string | undefined {
  if (next === undefined || next === previous) return undefined;
  return next;
}
