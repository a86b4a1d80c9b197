import { expect } from 'vitest';
import { group, type SuiteGroup } from '../context.ts';
import { collect, expectBytes, expectCode, text } from '../helpers.ts';

export const abortTests: SuiteGroup = group('abort', 'abort', [
  [
    'pre-aborted',
    'every method rejects with ABORTED for an already-aborted signal and changes nothing',
    async ({ driver, path }) => {
      await driver.putContent(path('file'), text('content'));
      const controller = new AbortController();
      controller.abort(new Error('test abort'));
      const signal = controller.signal;
      await expectCode(driver.getContent(path('file'), { signal }), 'ABORTED', 'getContent');
      await expectCode(driver.putContent(path('new'), text('x'), { signal }), 'ABORTED', 'putContent');
      await expectCode(
        driver.putContent(path('file'), text('x'), { signal }),
        'ABORTED',
        'putContent (overwrite)',
      );
      await expectCode(driver.reader(path('file'), { signal }), 'ABORTED', 'reader');
      await expectCode(driver.writer(path('new'), { signal }), 'ABORTED', 'writer');
      await expectCode(driver.writer(path('file'), { signal, append: true }), 'ABORTED', 'writer (append)');
      await expectCode(driver.stat(path('file'), { signal }), 'ABORTED', 'stat');
      await expectCode(driver.list(path(), { signal }), 'ABORTED', 'list');
      await expectCode(driver.move(path('file'), path('moved'), { signal }), 'ABORTED', 'move');
      await expectCode(driver.delete(path('file'), { signal }), 'ABORTED', 'delete');
      await expectCode(driver.redirectURL(path('file'), { signal }), 'ABORTED', 'redirectURL');
      await expectCode(collect(driver.walk(path(), { signal })), 'ABORTED', 'walk');
      expectBytes(await driver.getContent(path('file')), text('content'), 'the file after the aborted calls');
      expect(await driver.list(path())).toEqual([path('file')]);
      await driver.delete(path('file'));
    },
  ],
]);
