// A second registry process, for the tests in src/resume.test.ts. Run as
//   node --conditions=@berth/source test/child-writer.ts <driver options JSON> <path> <mode> [arg]
// mode `write-close`: writes <arg> bytes of the test pattern in 64 KiB chunks, closes, exits.
// mode `write-forever`: writes the pattern in 64 KiB chunks until killed, appending
//   `written <size>` to the file <arg> after each write so the parent knows how far it got.
// mode `append-commit`: resumes the pending write and appends pattern bytes up to <arg> bytes
//   in total, then commits.
// mode `append-close`: the same, but closes instead of committing.
import { closeSync, openSync, writeSync } from 'node:fs';
import { createGcsDriver, type GcsDriverOptions } from '../src/index.ts';
import { patternBytes } from '../src/test-support/pattern.ts';

const [json, path, mode, arg] = process.argv.slice(2);
if (json === undefined || path === undefined || mode === undefined) {
  throw new Error('usage: child-writer.ts <driver options JSON> <path> <mode> [arg]');
}
const CHUNK = 64 * 1024;
const driver = await createGcsDriver(JSON.parse(json) as GcsDriverOptions);

if (mode === 'write-close') {
  const total = Number(arg ?? 0);
  const writer = await driver.writer(path);
  for (let offset = 0; offset < total; offset += CHUNK) {
    await writer.write(patternBytes(offset, Math.min(CHUNK, total - offset)));
  }
  await writer.close();
  process.stdout.write(`closed ${writer.size}\n`);
} else if (mode === 'write-forever') {
  if (arg === undefined) throw new Error('write-forever needs a progress file');
  const progress = openSync(arg, 'a');
  const writer = await driver.writer(path);
  try {
    for (let offset = 0; ; offset += CHUNK) {
      await writer.write(patternBytes(offset, CHUNK));
      writeSync(progress, `written ${writer.size}\n`);
    }
  } finally {
    closeSync(progress);
  }
} else if (mode === 'append-commit' || mode === 'append-close') {
  const total = Number(arg ?? 0);
  const writer = await driver.writer(path, { append: true });
  const start = writer.size;
  for (let offset = start; offset < total; offset += CHUNK) {
    await writer.write(patternBytes(offset, Math.min(CHUNK, total - offset)));
  }
  if (mode === 'append-commit') await writer.commit();
  else await writer.close();
  process.stdout.write(`${mode === 'append-commit' ? 'committed' : 'closed'} ${start} ${writer.size}\n`);
} else {
  throw new Error(`unknown mode ${mode}`);
}
