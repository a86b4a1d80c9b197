import { describe, expect, it } from 'vitest';
import { type App, expectError, json, pushManifest, pushOciImage, setup } from '../test-support/http.ts';

const TAGS = ['a', 'B', 'b', 'latest', 'v1', 'v1.0', 'v2', 'z_'];
const SORTED = [...TAGS].sort();

async function tagged(options: Parameters<typeof setup>[0] = {}): Promise<App> {
  const { app } = setup(options);
  const image = await pushOciImage(app, 'lib/app', TAGS[0]!);
  for (const tag of TAGS.slice(1))
    await pushManifest(app, 'lib/app', tag, image.bytes, image.manifest.mediaType as string);
  return app;
}

async function list(app: App, query = '') {
  const res = await app.request(`/v2/lib/app/tags/list${query}`);
  expect(res.status, await res.clone().text()).toBe(200);
  return { res, body: await json<{ name: string; tags: string[] }>(res), link: res.headers.get('link') };
}

describe('GET /v2/<name>/tags/list', () => {
  it('lists every tag in lexical (byte) order, with the name, as JSON', async () => {
    const app = await tagged();
    const { res, body, link } = await list(app);
    expect(res.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(body).toEqual({ name: 'lib/app', tags: SORTED });
    expect(link).toBeNull();
  });

  it('?n= returns the first n and a Link to the rest; following it walks every tag once', async () => {
    const app = await tagged();
    const seen: string[] = [];
    let query = '?n=3';
    for (let pages = 0; pages < 10; pages++) {
      const { body, link } = await list(app, query);
      expect(body.tags.length).toBeLessThanOrEqual(3);
      seen.push(...body.tags);
      if (link === null) break;
      const match = /^<(\/v2\/lib\/app\/tags\/list\?last=[^&>]+&n=3)>; rel="next"$/.exec(link);
      expect(match, link).not.toBeNull();
      query = match![1]!.slice('/v2/lib/app/tags/list'.length);
    }
    expect(seen).toEqual(SORTED);
  });

  it('no Link when the page ends exactly at the last tag', async () => {
    const app = await tagged();
    const { body, link } = await list(app, `?n=${TAGS.length}`);
    expect(body.tags).toEqual(SORTED);
    expect(link).toBeNull();
  });

  it('?last= alone returns every tag after it (not including it), even when last is not a tag', async () => {
    const app = await tagged();
    expect((await list(app, '?last=latest')).body.tags).toEqual(SORTED.filter((t) => t > 'latest'));
    expect((await list(app, '?last=m')).body.tags).toEqual(SORTED.filter((t) => t > 'm'));
    expect((await list(app, '?last=zzz')).body.tags).toEqual([]);
  });

  it('n=0 → an empty list without Link', async () => {
    const app = await tagged();
    const { body, link } = await list(app, '?n=0');
    expect(body).toEqual({ name: 'lib/app', tags: [] });
    expect(link).toBeNull();
  });

  it('n above tags.maxtags is clamped', async () => {
    const app = await tagged({ app: { tagsMaxTags: 2 } });
    const { body, link } = await list(app, '?n=100');
    expect(body.tags).toEqual(SORTED.slice(0, 2));
    expect(link).toBe(`</v2/lib/app/tags/list?last=${SORTED[1]}&n=2>; rel="next"`);
  });

  it.each(['-1', 'abc', '1.5', '1e3', ' 2'])('n=%s → 400 PAGINATION_NUMBER_INVALID', async (n) => {
    const app = await tagged();
    await expectError(
      await app.request(`/v2/lib/app/tags/list?n=${encodeURIComponent(n)}`),
      400,
      'PAGINATION_NUMBER_INVALID',
    );
  });

  it('an unknown repository → 404 NAME_UNKNOWN', async () => {
    const { app } = setup();
    await expectError(await app.request('/v2/lib/nothing/tags/list'), 404, 'NAME_UNKNOWN');
  });

  it('Link carries the prefix', async () => {
    const { driver } = setup();
    await tagged({ driver });
    const { app } = setup({ driver, app: { prefix: '/reg' } });
    const res = await app.request('/reg/v2/lib/app/tags/list?n=1');
    expect(res.headers.get('link')).toBe(`</reg/v2/lib/app/tags/list?last=${SORTED[0]}&n=1>; rel="next"`);
  });
});
