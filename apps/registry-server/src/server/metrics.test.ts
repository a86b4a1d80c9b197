import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isConfigError } from '../config/errors.ts';
import { parseConfig } from '../config/load.ts';
import { createMemorySink } from '../log/logger.ts';
import { send } from '../test-support/http.ts';
import { OCI_MANIFEST, pushTestImage } from '../test-support/image.ts';
import { createServerMetrics, handlerOf, MAX_REPOSITORY_LABELS, repositoryOf } from './metrics.ts';
import { type RunningServer, startServer } from './start.ts';

const CONFIG = [
  'version: 0.1',
  'storage:',
  '  inmemory:',
  '  cache:',
  '    blobdescriptor: inmemory',
  'http:',
  '  addr: 127.0.0.1:0',
  '  secret: test-secret',
  '  debug:',
  '    addr: 127.0.0.1:0',
  '    prometheus:',
  '      enabled: true',
  '',
].join('\n');

const running: RunningServer[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((server) => server.close({ drainTimeoutMs: 0 })));
});

async function start(yaml: string): Promise<RunningServer> {
  const { config, warnings } = await parseConfig(yaml, { env: {} });
  const server = await startServer(config, { logSink: createMemorySink(), warnings });
  running.push(server);
  return server;
}

/** `name{labels} value` lines of an exposition, as a map from `name{labels}` to the value. */
function samples(text: string): Map<string, number> {
  const map = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    map.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return map;
}

describe('handlerOf', () => {
  it("names registry:2's routes, uploads before blobs, and nothing else", () => {
    expect(handlerOf('/v2/')).toBe('base');
    expect(handlerOf('/v2')).toBe('base');
    expect(handlerOf('/v2/_catalog')).toBe('catalog');
    expect(handlerOf('/v2/a/b/tags/list')).toBe('tags');
    expect(handlerOf('/v2/a/manifests/v1')).toBe('manifest');
    expect(handlerOf('/v2/a/blobs/uploads/')).toBe('blob_upload');
    expect(handlerOf('/v2/a/b/blobs/uploads/0f3a-uuid')).toBe('blob_upload_chunk');
    expect(handlerOf(`/v2/a/blobs/sha256:${'0'.repeat(64)}`)).toBe('blob');
    expect(handlerOf(`/v2/a/referrers/sha256:${'0'.repeat(64)}`)).toBe('referrers');
    expect(handlerOf('/')).toBeUndefined();
    expect(handlerOf('/debug/health')).toBeUndefined();
    expect(handlerOf('/auth/token')).toBeUndefined();
  });
});

describe('berth_repository_bytes_total', () => {
  it('gives the first 200 repositories a label of their own and counts the rest as _other', async () => {
    const metrics = createServerMetrics({ version: '0.0.0', processMetrics: false });
    for (let i = 0; i < MAX_REPOSITORY_LABELS + 5; i++) {
      metrics.requestStarted('blob');
      metrics.requestEnded({
        handler: 'blob',
        method: 'GET',
        status: 200,
        requestBytes: 0,
        receivedBytes: 100,
        responseBytes: 10,
        repository: `team/repo-${i}`,
        seconds: 0.001,
      });
    }
    const pulls = [...samples((await metrics.scrape()).body)].filter(([key]) =>
      key.startsWith('berth_repository_bytes_total{direction="pull"'),
    );
    expect(pulls).toHaveLength(MAX_REPOSITORY_LABELS + 1);
    expect(pulls.find(([key]) => key.includes('repository="_other"'))?.[1]).toBe(50);
    expect(repositoryOf('/v2/team/app/blobs/uploads/x')).toBe('team/app');
    expect(repositoryOf('/v2/_catalog')).toBeUndefined();
  });
});

describe('Prometheus metrics on the debug listener', () => {
  it("counts pushes and pulls under registry:2's names and labels, with storage timings and process metrics", async () => {
    const server = await start(CONFIG);
    const image = await pushTestImage(server.url, 'team/app', 'v1');
    expect(
      (await send(`${server.url}/v2/team/app/manifests/v1`, { headers: { accept: OCI_MANIFEST } })).status,
    ).toBe(200);
    expect((await send(`${server.url}/v2/team/app/blobs/${image.layerDigest}`)).status).toBe(200);
    expect(
      (await send(`${server.url}/v2/team/app/blobs/${image.layerDigest}`, { method: 'HEAD' })).status,
    ).toBe(200);
    expect((await send(`${server.url}/v2/team/app/manifests/nope`)).status).toBe(404);
    expect((await send(`${server.url}/v2/team/app/tags/list`)).status).toBe(200);
    expect((await send(`${server.url}/v2/`)).status).toBe(200);

    const scraped = await send(`http://${server.debugAddress}/metrics`);
    expect(scraped.status).toBe(200);
    expect(scraped.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    const metrics = samples(scraped.body);
    const value = (key: string) => metrics.get(key);

    expect(value('registry_http_requests_total{handler="blob_upload",code="202",method="post"}')).toBe(2);
    expect(value('registry_http_requests_total{handler="blob_upload_chunk",code="201",method="put"}')).toBe(
      2,
    );
    expect(value('registry_http_requests_total{handler="manifest",code="201",method="put"}')).toBe(1);
    expect(value('registry_http_requests_total{handler="manifest",code="200",method="get"}')).toBe(1);
    expect(value('registry_http_requests_total{handler="manifest",code="404",method="get"}')).toBe(1);
    expect(value('registry_http_requests_total{handler="blob",code="200",method="get"}')).toBe(1);
    expect(value('registry_http_requests_total{handler="blob",code="200",method="head"}')).toBe(1);
    expect(value('registry_http_requests_total{handler="tags",code="200",method="get"}')).toBe(1);
    expect(value('registry_http_requests_total{handler="base",code="200",method="get"}')).toBe(1);
    expect(value('registry_http_in_flight_requests{handler="manifest"}')).toBe(0);
    expect(value('registry_http_request_duration_seconds_count{handler="manifest",method="get"}')).toBe(2);
    expect(
      value('registry_http_request_duration_seconds_bucket{handler="manifest",method="put",le="60"}'),
    ).toBe(1);
    // Request sizes are the Content-Length: both blob PUTs carried their whole blob.
    expect(value('registry_http_request_size_bytes_sum{handler="blob_upload_chunk"}')).toBe(
      image.layer.length + image.config.length,
    );
    // The layer's GET body, and nothing for the HEAD.
    expect(value('registry_http_response_size_bytes_sum{handler="blob"}')).toBe(image.layer.length);
    expect(value('registry_http_response_size_bytes_bucket{handler="blob",le="2147483648"}')).toBe(2);
    expect(
      value('registry_storage_action_seconds_count{driver="inmemory",action="PutContent"}'),
    ).toBeGreaterThan(0);
    expect(
      value('registry_storage_action_seconds_count{driver="inmemory",action="Writer"}'),
    ).toBeGreaterThanOrEqual(2);
    expect(value('registry_storage_action_seconds_count{driver="inmemory",action="Stat"}')).toBeGreaterThan(
      0,
    );
    // The blob descriptor cache: the blob GET and HEAD looked the layer up.
    expect(value('registry_storage_cache_requests_total')).toBeGreaterThanOrEqual(2);
    expect(value('registry_storage_cache_hits_total')).toBeGreaterThanOrEqual(1);
    expect(value('registry_storage_cache_errors_total')).toBe(0);
    // Pulled: the manifest and the layer bodies; pushed: the three bodies (each with a Content-Length).
    expect(value('berth_repository_bytes_total{direction="pull",repository="team/app"}')).toBe(
      image.manifest.length + image.layer.length,
    );
    expect(
      value('berth_repository_bytes_total{direction="push",repository="team/app"}'),
    ).toBeGreaterThanOrEqual(image.manifest.length + image.layer.length + image.config.length);
    expect(value('process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(value('nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
    expect(value('nodejs_eventloop_lag_seconds')).toBeGreaterThan(0);
    expect([...metrics.keys()].find((key) => key.startsWith('berth_build_info{version="'))).toMatch(
      /^berth_build_info\{version="\d+\.\d+\.\d+[^"]*"\}$/,
    );
    // The main port does not serve the metrics.
    expect((await send(`${server.url}/metrics`)).status).toBe(404);
  });

  it('exports the pull-through cache counters: misses, then hits, and the bytes pulled', async () => {
    const upstream = await start(
      'version: 0.1\nstorage: inmemory\nhttp:\n  addr: 127.0.0.1:0\n  secret: s\n',
    );
    const image = await pushTestImage(upstream.url, 'team/app', 'v1');
    const spool = await mkdtemp(join(tmpdir(), 'berth-metrics-spool-'));
    try {
      const mirror = await start(
        `${CONFIG}proxy:\n  remoteurl: ${upstream.url}\nberth:\n  proxy:\n    spooldirectory: ${JSON.stringify(spool)}\n`,
      );
      for (let i = 0; i < 2; i++) {
        const manifest = await send(`${mirror.url}/v2/team/app/manifests/v1`, {
          headers: { accept: OCI_MANIFEST },
        });
        expect(manifest.status).toBe(200);
        expect((await send(`${mirror.url}/v2/team/app/blobs/${image.layerDigest}`)).status).toBe(200);
        await mirror.mirror?.settled();
      }
      const metrics = samples((await send(`http://${mirror.debugAddress}/metrics`)).body);
      expect(metrics.get('registry_proxy_misses_total{type="manifest"}')).toBe(1);
      expect(metrics.get('registry_proxy_hits_total{type="manifest"}')).toBeGreaterThanOrEqual(1);
      expect(metrics.get('registry_proxy_misses_total{type="blob"}')).toBe(1);
      expect(metrics.get('registry_proxy_hits_total{type="blob"}')).toBe(1);
      expect(metrics.get('registry_proxy_requests_total{type="blob"}')).toBe(2);
      expect(metrics.get('registry_proxy_pulled_bytes_total{type="blob"}')).toBe(image.layer.length);
      expect(metrics.get('registry_proxy_pulled_bytes_total{type="manifest"}')).toBe(image.manifest.length);
    } finally {
      await rm(spool, { recursive: true, force: true });
    }
  });

  it('serves them at http.debug.prometheus.path, and not at all unless enabled', async () => {
    const custom = await start(
      CONFIG.replace('      enabled: true', '      enabled: true\n      path: /internal/metrics'),
    );
    expect((await send(`${custom.url}/v2/`)).status).toBe(200);
    expect((await send(`http://${custom.debugAddress}/internal/metrics`)).body).toContain(
      'registry_http_requests_total',
    );
    expect((await send(`http://${custom.debugAddress}/metrics`)).status).toBe(404);
    const off = await start(CONFIG.replace('      enabled: true', '      enabled: false'));
    expect((await send(`http://${off.debugAddress}/metrics`)).status).toBe(404);
    expect((await send(`http://${off.debugAddress}/debug/health`)).status).toBe(200);
  });

  it('config: enabled without http.debug.addr is a warning; a path that is not a path is an error', async () => {
    const noDebug = await parseConfig(
      'version: 0.1\nstorage: inmemory\nhttp:\n  debug:\n    prometheus:\n      enabled: true\n',
      { env: {} },
    );
    expect(noDebug.config?.http.metrics.enabled).toBe(false);
    expect(noDebug.warnings.join('\n')).toContain(
      'http.debug.prometheus.enabled: metrics are served on the debug listener',
    );
    const badPath = await parseConfig(
      CONFIG.replace('      enabled: true', '      enabled: true\n      path: metrics'),
      {
        env: {},
      },
    ).then(
      () => [],
      (error: unknown) => (isConfigError(error) ? error.issues : [String(error)]),
    );
    expect(badPath.join('\n')).toContain('http.debug.prometheus.path: must be a path starting with /');
  });
});
