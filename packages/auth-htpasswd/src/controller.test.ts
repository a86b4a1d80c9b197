import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createAccessPolicy } from '@berth/registry-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHtpasswdAccessController, type HtpasswdAccessController } from './controller.ts';
import { line, tempDir } from './test-support/files.ts';

const b64 = (text: string): string => Buffer.from(text).toString('base64');
const request = (authorization?: string) => ({
  method: 'GET',
  url: 'http://localhost/v2/',
  header: (name: string) => (name.toLowerCase() === 'authorization' ? authorization : undefined),
  remoteAddress: '127.0.0.1',
});

describe('createHtpasswdAccessController', () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let controller: HtpasswdAccessController;

  beforeAll(async () => {
    dir = await tempDir();
    const path = join(dir.path, 'htpasswd');
    await writeFile(path, `${line('alice', 'secret')}\n`);
    controller = await createHtpasswdAccessController({
      realm: 'Berth',
      path,
      pool: { size: 1 },
      policy: createAccessPolicy({
        rules: [
          { repositories: ['public/*'], anonymous: true, actions: ['pull'] },
          { repositories: ['**'], users: ['alice'], actions: ['*'] },
        ],
      }),
    });
  });
  afterAll(async () => {
    await controller.close();
    await dir.remove();
  });

  it('authenticates against the file and applies the rules', async () => {
    const pull = { type: 'repository', name: 'x', action: 'pull' };
    expect(await controller.authorize(request(`Basic ${b64('alice:secret')}`), [pull])).toEqual({
      outcome: 'grant',
      user: 'alice',
    });
    expect(await controller.authorize(request(`Basic ${b64('alice:wrong')}`), [pull])).toEqual({
      outcome: 'challenge',
      challenge: { scheme: 'Basic', realm: 'Berth' },
    });
    expect(await controller.authorize(request(), [{ ...pull, name: 'public/x' }])).toEqual({
      outcome: 'grant',
      user: undefined,
    });
    expect(controller.htpasswd.users).toBe(1);
  });
});
