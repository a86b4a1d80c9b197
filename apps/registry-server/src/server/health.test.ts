import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInMemoryDriver, pathNotFound, StorageDriverError } from '@berth/storage-driver';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLogger, createMemorySink } from '../log/logger.ts';
import {
  fileCheck,
  HealthMonitor,
  healthResponse,
  httpCheck,
  type PeriodicCheck,
  storageDriverCheck,
  tcpCheck,
  unavailableResponse,
} from './health.ts';

const quietLogger = () => createLogger({ sink: createMemorySink() });

function scripted(results: (Error | undefined)[], threshold = 1): PeriodicCheck & { calls: number } {
  const check = {
    name: 'scripted',
    intervalMs: 10,
    threshold,
    calls: 0,
    async run(): Promise<void> {
      const result = results[Math.min(check.calls, results.length - 1)];
      check.calls += 1;
      if (result) throw result;
    },
  };
  return check;
}

describe('HealthMonitor', () => {
  it('fails after threshold consecutive failures and recovers on success', async () => {
    const check = scripted([new Error('down'), new Error('down'), new Error('still down'), undefined], 2);
    const monitor = new HealthMonitor([check], quietLogger());
    await monitor.runOnce();
    expect(monitor.healthy).toBe(true);
    await monitor.runOnce();
    expect(monitor.healthy).toBe(false);
    expect(monitor.status()).toEqual({ scripted: 'down' });
    await monitor.runOnce();
    expect(monitor.status()).toEqual({ scripted: 'still down' });
    await monitor.runOnce();
    expect(monitor.healthy).toBe(true);
    expect(monitor.status()).toEqual({});
  });

  it('runs periodically once started, and stops', async () => {
    const check = scripted([undefined]);
    const monitor = new HealthMonitor([check], quietLogger());
    monitor.start();
    await vi.waitFor(() => expect(check.calls).toBeGreaterThanOrEqual(3));
    monitor.stop();
    const calls = check.calls;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(check.calls).toBeLessThanOrEqual(calls + 1);
  });

  it('answers /debug/health like registry:2', async () => {
    const monitor = new HealthMonitor([scripted([new Error('disk gone')])], quietLogger());
    const ok = healthResponse(monitor);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({});
    await monitor.runOnce();
    const failing = healthResponse(monitor);
    expect(failing.status).toBe(503);
    expect(await failing.json()).toEqual({ scripted: 'disk gone' });
    const gated = unavailableResponse();
    expect(gated.status).toBe(503);
    expect(await gated.json()).toEqual({
      errors: [
        {
          code: 'UNAVAILABLE',
          message: 'service unavailable',
          detail: 'health check failed: please see /debug/health',
        },
      ],
    });
  });
});

describe('storageDriverCheck', () => {
  it('is named after the driver and passes on an empty store (PATH_NOT_FOUND is healthy)', async () => {
    const check = storageDriverCheck('inmemory', createInMemoryDriver(), {
      intervalMs: 10_000,
      threshold: 1,
    });
    expect(check.name).toBe('storagedriver_inmemory');
    await expect(check.run(new AbortController().signal)).resolves.toBeUndefined();
  });

  it('treats PATH_NOT_FOUND as healthy and anything else as a failure', async () => {
    const driver = createInMemoryDriver();
    const notFound = { ...driver, stat: async () => Promise.reject(pathNotFound('/')) };
    await expect(
      storageDriverCheck('x', notFound, { intervalMs: 1, threshold: 1 }).run(new AbortController().signal),
    ).resolves.toBeUndefined();
    const broken = {
      ...driver,
      stat: async () => Promise.reject(new StorageDriverError('DRIVER_ERROR', 'connection refused')),
    };
    await expect(
      storageDriverCheck('x', broken, { intervalMs: 1, threshold: 1 }).run(new AbortController().signal),
    ).rejects.toThrow('connection refused');
  });
});

describe("registry:2's configured checks", () => {
  const timing = { intervalMs: 1000, threshold: 1 };
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-health-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('health.file fails while the file exists, under the file name', async () => {
    const file = join(dir, 'drain');
    const monitor = new HealthMonitor([fileCheck({ file, ...timing })], quietLogger());
    await monitor.runOnce();
    expect(monitor.healthy).toBe(true);
    await writeFile(file, '');
    await monitor.runOnce();
    expect(monitor.status()).toEqual({ [file]: 'file exists' });
    await rm(file);
    await monitor.runOnce();
    expect(monitor.healthy).toBe(true);
  });

  it('health.http HEADs the URI with its headers and wants the configured status', async () => {
    let status = 204;
    const seen: { method?: string; header?: string }[] = [];
    const server = createServer((req, res) => {
      seen.push({ method: req.method, header: req.headers['x-check'] as string | undefined });
      res.writeHead(status).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const uri = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ready`;
    try {
      const check = httpCheck({
        uri,
        headers: { 'X-Check': ['berth'] },
        statusCode: 204,
        timeoutMs: 1000,
        ...timing,
      });
      const monitor = new HealthMonitor([check], quietLogger());
      await monitor.runOnce();
      expect(monitor.healthy).toBe(true);
      expect(seen).toEqual([{ method: 'HEAD', header: 'berth' }]);
      status = 500;
      await monitor.runOnce();
      expect(monitor.status()).toEqual({ [uri]: `HEAD ${uri} answered 500, expected 204` });
    } finally {
      server.close();
    }
    const monitor = new HealthMonitor(
      [httpCheck({ uri, headers: {}, statusCode: 200, timeoutMs: 1000, ...timing })],
      quietLogger(),
    );
    await monitor.runOnce();
    expect(monitor.status()[uri]).toMatch(/^HEAD .* failed: ECONNREFUSED/);
  });

  it('health.tcp wants a connection to open', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const addr = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    const monitor = new HealthMonitor([tcpCheck({ addr, timeoutMs: 1000, ...timing })], quietLogger());
    await monitor.runOnce();
    expect(monitor.healthy).toBe(true);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await monitor.runOnce();
    expect(monitor.status()).toEqual({ [addr]: `connection to ${addr} failed: ECONNREFUSED` });
  });
});
