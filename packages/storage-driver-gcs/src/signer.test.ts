import { Storage } from '@google-cloud/storage';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { signUrl } from './signer.ts';
import { localServiceAccount } from './test-support/backend.ts';

afterEach(() => {
  vi.useRealTimers();
});

describe('signUrl', () => {
  const storage = new Storage({ credentials: { ...localServiceAccount() }, projectId: 'berth-test' });
  const now = Date.UTC(2026, 0, 2, 3, 4, 5);

  it('signs GET exactly as the SDK does (which Google verifies)', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now });
    const object = 'root dir/docker/registry/v2/blobs/sha256/ab/ab(1)!/data';
    const file = storage.bucket('my-bucket').file(object);
    const [expected] = await file.getSignedUrl({ version: 'v4', action: 'read', expires: now + 1200 * 1000 });
    const actual = await signUrl(storage, {
      bucket: 'my-bucket',
      object,
      method: 'GET',
      expiresIn: 1200,
      now,
    });
    expect(new URL(actual).toString()).toBe(new URL(expected).toString());
    expect(actual.startsWith('https://storage.googleapis.com/my-bucket/root%20dir/docker/')).toBe(true);
  });

  it('signs HEAD for HEAD: only the method differs, so the signature does', async () => {
    const get = new URL(
      await signUrl(storage, { bucket: 'b-1', object: 'a/b', method: 'GET', expiresIn: 60, now }),
    );
    const head = new URL(
      await signUrl(storage, { bucket: 'b-1', object: 'a/b', method: 'HEAD', expiresIn: 60, now }),
    );
    for (const key of ['X-Goog-Algorithm', 'X-Goog-Credential', 'X-Goog-Date', 'X-Goog-Expires']) {
      expect(head.searchParams.get(key)).toBe(get.searchParams.get(key));
    }
    expect(head.searchParams.get('X-Goog-Signature')).not.toBe(get.searchParams.get('X-Goog-Signature'));
    expect(head.searchParams.get('X-Goog-Date')).toBe('20260102T030405Z');
    expect(head.searchParams.get('X-Goog-Credential')).toBe(
      'berth-test@berth-test.iam.gserviceaccount.com/20260102/auto/storage/goog4_request',
    );
  });
});
