import { expect } from 'vitest';
import { group, type SuiteGroup } from '../context.ts';
import { expectBytes, randomBytesFor } from '../helpers.ts';

export const redirectTests: SuiteGroup = group('redirect', 'redirectURL', [
  [
    'url',
    'returns undefined without the redirect capability, else a URL serving GET and HEAD',
    async ({ driver, path, capabilities }) => {
      const content = randomBytesFor(12_345, 71);
      await driver.putContent(path('blob'), content);
      const url = await driver.redirectURL(path('blob'));
      if (!capabilities.redirect) {
        expect(url, 'redirectURL without capabilities.redirect').toBeUndefined();
        expect(await driver.redirectURL(path('blob'), { method: 'HEAD' })).toBeUndefined();
      } else {
        expect(typeof url, 'redirectURL with capabilities.redirect').toBe('string');
        expect(() => new URL(url as string)).not.toThrow();
        const get = await fetch(url as string);
        expect(get.status).toBe(200);
        expectBytes(new Uint8Array(await get.arrayBuffer()), content, 'GET body');

        const headURL = await driver.redirectURL(path('blob'), { method: 'HEAD', expiresIn: 60 });
        expect(typeof headURL).toBe('string');
        const head = await fetch(headURL as string, { method: 'HEAD' });
        expect(head.status).toBe(200);
        expect(head.headers.get('content-length')).toBe(String(content.byteLength));
      }
      await driver.delete(path('blob'));
    },
  ],
]);
