import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startGcsEmulator } from '@berth/test-servers';
import { describe, expect, it, vi } from 'vitest';
import { berthConfigYaml } from './servers.ts';
import {
  azureStorageYaml,
  DEFAULT_GCS_CHUNK_SIZE,
  fsStorageYaml,
  gcsStorageYaml,
  RADOSGW_MULTIPART_COPY_THRESHOLD,
  redactStorageYaml,
  s3StorageYaml,
  startStorage,
  storageMissing,
} from './storage.ts';

const s3 = {
  endpoint: 'http://127.0.0.1:7480',
  region: 'us-east-1',
  accessKey: 'AK',
  secretKey: 'SK',
  bucket: 'b',
};

describe('storage sections of Berth config.yml', () => {
  it('fs', () => {
    expect(fsStorageYaml('/tmp/x/data')).toBe(
      [
        'storage:',
        '  filesystem:',
        '    rootdirectory: "/tmp/x/data"',
        '  redirect:',
        '    disable: false',
      ].join('\n'),
    );
  });

  it('s3: registry:2 keys, the radosgw copy threshold, redirects on unless disabled', () => {
    const yaml = s3StorageYaml(s3);
    expect(yaml).toContain('  s3:\n    accesskey: "AK"\n    secretkey: "SK"\n    region: "us-east-1"');
    expect(yaml).toContain('    regionendpoint: "http://127.0.0.1:7480"\n    bucket: "b"');
    expect(yaml).toContain(`    multipartcopythresholdsize: ${RADOSGW_MULTIPART_COPY_THRESHOLD}`);
    expect(yaml).toMatch(/ {2}redirect:\n {4}disable: false$/);
    expect(s3StorageYaml(s3, false)).toMatch(/ {2}redirect:\n {4}disable: true$/);
  });

  it('azure', () => {
    const yaml = azureStorageYaml(
      {
        serviceUrl: 'http://127.0.0.1:10000/devstoreaccount1',
        accountName: 'a',
        accountKey: 'k',
        container: 'c',
      },
      false,
    );
    expect(yaml).toBe(
      [
        'storage:',
        '  azure:',
        '    accountname: "a"',
        '    accountkey: "k"',
        '    container: "c"',
        '    serviceurl: "http://127.0.0.1:10000/devstoreaccount1"',
        '  redirect:',
        '    disable: true',
      ].join('\n'),
    );
  });

  it('gcs: the emulator endpoint, a key file that signs redirects, the chunk size', () => {
    const yaml = gcsStorageYaml({
      endpoint: 'http://127.0.0.1:9199',
      bucket: 'b',
      keyfile: '/tmp/k.json',
      chunkSize: DEFAULT_GCS_CHUNK_SIZE,
    });
    expect(yaml).toContain('    endpoint: "http://127.0.0.1:9199"');
    expect(yaml).toContain('    keyfile: "/tmp/k.json"');
    expect(yaml).toContain('    chunksize: 1073741824');
    expect(yaml).toMatch(/disable: false$/);
  });

  it('redactStorageYaml hides keys and secrets only', () => {
    const redacted = redactStorageYaml(s3StorageYaml(s3));
    expect(redacted).toContain('accesskey: "<redacted>"');
    expect(redacted).toContain('secretkey: "<redacted>"');
    expect(redacted).not.toMatch(/"AK"|"SK"/);
    expect(redacted).toContain('bucket: "b"');
  });

  it('berthConfigYaml: the storage section replaces fs, http.secret is fixed (replicas share uploads)', () => {
    const withS3 = berthConfigYaml('/unused', 5000, s3StorageYaml(s3));
    expect(withS3).not.toContain('filesystem');
    expect(withS3).toContain('storage:\n  s3:');
    expect(withS3).toContain('http:\n  addr: "127.0.0.1:5000"\n  secret: berth-bench-secret');
    expect(withS3.match(/^storage:/gm)).toHaveLength(1);
    expect(berthConfigYaml('/d', 5000)).toContain('storage:\n  filesystem:\n    rootdirectory: "/d"');
  });

  it('storageMissing: fs needs nothing', () => {
    expect(storageMissing('fs')).toBeUndefined();
  });
});

describe('a storage server that is not installed', () => {
  it('storageMissing names the Debian packages for s3', () => {
    vi.stubEnv('PATH', '/nonexistent');
    try {
      expect(storageMissing('s3')).toMatch(
        /^--storage s3 needs Ceph radosgw, but ceph-mon, .* are not on PATH \(apt-get install -y --no-install-recommends radosgw ceph-mon ceph-osd\)$/,
      );
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('pnpm bench --storage s3 exits with 2 and that message, before starting anything', () => {
    const cli = fileURLToPath(new URL('./cli.ts', import.meta.url));
    const result = spawnSync(process.execPath, ['--conditions=@berth/source', cli, '--storage', 's3'], {
      env: { ...process.env, PATH: '/nonexistent' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(result.status, result.stderr).toBe(2);
    expect(result.stderr).toContain('pnpm bench: --storage s3 needs Ceph radosgw');
  });
});

describe.skipIf(storageMissing('gcs') !== undefined)('the GCS emulator of --storage gcs', () => {
  /** A multipart upload (what the driver's uploads are) of `size` bytes; the HTTP status. */
  async function upload(endpoint: string, bucket: string, size: number): Promise<number> {
    const boundary = 'berth-bench-boundary';
    const body = Buffer.concat([
      Buffer.from(
        `--${boundary}\r\nContent-Type: application/json\r\n\r\n{"name":"big"}\r\n` +
          `--${boundary}\r\nContent-Type: application/octet-stream\r\n\r\n`,
      ),
      Buffer.alloc(size, 7),
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    const response = await fetch(
      `${endpoint}/upload/storage/v1/b/${encodeURIComponent(bucket)}/o?uploadType=multipart`,
      {
        method: 'POST',
        headers: { 'content-type': `multipart/related; boundary=${boundary}` },
        body,
      },
    );
    await response.body?.cancel();
    return response.status;
  }

  const size = 140_000_000;

  it("takes one upload above the emulator's own 130 MB limit", async () => {
    const storage = await startStorage('gcs', { gcsChunkSize: 256 * 1024 * 1024 });
    try {
      const endpoint = /endpoint: "([^"]+)"/.exec(storage.yaml)![1]!;
      const bucket = /bucket: "([^"]+)"/.exec(storage.yaml)![1]!;
      expect(await upload(endpoint, bucket, size)).toBe(200);
    } finally {
      await storage.stop();
    }
  }, 60_000);

  it('(the unmodified emulator refuses it with 413)', async () => {
    const emulator = await startGcsEmulator({ bucket: 'plain' });
    try {
      expect(await upload(emulator.endpoint, 'plain', size)).toBe(413);
    } finally {
      await emulator.stop();
    }
  }, 60_000);
});
