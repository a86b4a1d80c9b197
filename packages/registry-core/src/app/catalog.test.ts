import { describe, expect, it } from 'vitest';
import { type App, expectError, json, pushBlob, pushOciImage, setup } from '../test-support/http.ts';

const REPOS = ['a/b', 'a/c', 'b', 'lib/alpine', 'lib/busybox', 'z'];

async function withRepos(options: Parameters<typeof setup>[0] = {}): Promise<App> {
  const { app } = setup(options);
  for (const name of REPOS) await pushOciImage(app, name, 'latest', { layers: 1 });
  return app;
}

async function catalog(app: App, query = '') {
  const res = await app.request(`/v2/_catalog${query}`);
  expect(res.status, await res.clone().text()).toBe(200);
  return { res, body: await json<{ repositories: string[] }>(res), link: res.headers.get('link') };
}

describe('GET /v2/_catalog', () => {
  it('lists repositories in lexical order', async () => {
    const app = await withRepos();
    const { res, body, link } = await catalog(app);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(body.repositories).toEqual(REPOS);
    expect(link).toBeNull();
  });

  it('pages with n and a Link (last URL-encoded) until every repository was seen', async () => {
    const app = await withRepos();
    const first = await catalog(app, '?n=2');
    expect(first.body.repositories).toEqual(['a/b', 'a/c']);
    expect(first.link).toBe('</v2/_catalog?last=a%2Fc&n=2>; rel="next"');
    const seen = [...first.body.repositories];
    let link = first.link;
    while (link !== null) {
      const next = await catalog(app, /<\/v2\/_catalog(\?[^>]+)>/.exec(link)![1]);
      seen.push(...next.body.repositories);
      link = next.link;
    }
    expect(seen).toEqual(REPOS);
  });

  it('defaults to 100 per page', async () => {
    const { app } = setup();
    for (let i = 0; i < 101; i++)
      await pushOciImage(app, `r${String(i).padStart(3, '0')}`, 'v1', { layers: 0 });
    const { body, link } = await catalog(app);
    expect(body.repositories).toHaveLength(100);
    expect(link).toBe('</v2/_catalog?last=r099&n=100>; rel="next"');
  });

  it('n=0 → empty, no Link; ?last= continues after a name', async () => {
    const app = await withRepos();
    const zero = await catalog(app, '?n=0');
    expect(zero.body.repositories).toEqual([]);
    expect(zero.link).toBeNull();
    expect((await catalog(app, '?last=lib/alpine')).body.repositories).toEqual(['lib/busybox', 'z']);
  });

  it('n above catalog.maxentries → 400 PAGINATION_NUMBER_INVALID (registry:2; not clamped)', async () => {
    const app = await withRepos({ app: { catalogMaxEntries: 3 } });
    await expectError(await app.request('/v2/_catalog?n=4'), 400, 'PAGINATION_NUMBER_INVALID');
    const { body } = await catalog(app, '?n=3');
    expect(body.repositories).toEqual(REPOS.slice(0, 3));
    // The default page is capped by maxentries too.
    expect((await catalog(app)).body.repositories).toEqual(REPOS.slice(0, 3));
  });

  it.each(['-1', 'x', '1.0'])('n=%s → 400 PAGINATION_NUMBER_INVALID', async (n) => {
    const { app } = setup();
    await expectError(await app.request(`/v2/_catalog?n=${n}`), 400, 'PAGINATION_NUMBER_INVALID');
  });

  it('a repository with blobs but no manifest is not listed (registry:2 lists repositories with _manifests)', async () => {
    const { app } = setup();
    await pushBlob(app, 'only/blobs', 'x');
    expect((await catalog(app)).body).toEqual({ repositories: [] });
  });

  it('an empty registry → []', async () => {
    const { app } = setup();
    expect((await catalog(app)).body).toEqual({ repositories: [] });
  });
});
