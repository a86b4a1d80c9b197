// A second registry process, for the resume tests in src/resume.test.ts. Run as
//   node --conditions=@berth/source test/child-writer.ts <rootdirectory> <path> <mode> <bytes>
// mode `write-close`: writes <bytes> bytes of the test pattern in 64 KiB chunks, closes, exits.
// mode `write-forever`: writes the pattern in 64 KiB chunks until killed, appending
//   `written <size>` to the file <bytes> after each write so the parent knows how far it got.
//   (A file, written synchronously, rather than stdout: a write to a pipe is asynchronous in
//   Node.js on POSIX, and what is still queued when the process is killed is lost.)
// mode `append-commit`: resumes the pending write and appends pattern bytes up to <bytes>
//   total, then commits.
import { closeSync, openSync, writeSync } from 'node:fs';
import { createFilesystemDriver } from '../src/index.ts';
import { patternBytes } from '../src/test-support/pattern.ts';

const [rootdirectory, path, mode, bytesArg] = process.argv.slice(2);
if (rootdirectory === undefined || path === undefined || mode === undefined) {
  throw new Error('usage: child-writer.ts <rootdirectory> <path> <mode> [bytes]');
}
const total = mode === 'write-forever' ? 0 : Number(bytesArg ?? 0);
const CHUNK = 64 * 1024;
const driver = createFilesystemDriver({ rootdirectory });

if (mode === 'write-close') {
  const writer = await driver.writer(path);
  for (let offset = 0; offset < total; offset += CHUNK) {
    await writer.write(patternBytes(offset, Math.min(CHUNK, total - offset)));
  }
  await writer.close();
  process.stdout.write(`closed ${writer.size}\n`);
} else if (mode === 'write-forever') {
  if (bytesArg === undefined) throw new Error('write-forever needs a progress file');
  const progress = openSync(bytesArg, 'a');
  const writer = await driver.writer(path);
  try {
    for (let offset = 0; ; offset += CHUNK) {
      await writer.write(patternBytes(offset, CHUNK));
      writeSync(progress, `written ${writer.size}\n`);
    }
  } finally {
    closeSync(progress);
  }
} else if (mode === 'append-commit') {
  const writer = await driver.writer(path, { append: true });
  const start = writer.size;
  for (let offset = start; offset < total; offset += CHUNK) {
    await writer.write(patternBytes(offset, Math.min(CHUNK, total - offset)));
  }
  await writer.commit();
  process.stdout.write(`committed ${start} ${writer.size}\n`);
} else {
  throw new Error(`unknown mode ${mode}`);
}
