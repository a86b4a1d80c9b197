// A second registry process, for the cross-process tests in src/s3-driver.test.ts. Run as
//   node --conditions=@berth/source test/child-writer.ts <options JSON> <path> <mode> <bytes>
// mode `write-close`: a fresh write of <bytes> bytes of the test pattern in 64 KiB chunks, then
//   close; prints `closed <size>`.
// mode `append-commit`: resumes the pending write, appends pattern bytes up to <bytes> in total,
//   commits; prints `committed <start> <size>`.
import { createS3Driver, type S3DriverOptions } from '../src/index.ts';
import { patternBytes } from '../src/test-support/pattern.ts';

const [optionsJson, path, mode, bytesArg] = process.argv.slice(2);
if (optionsJson === undefined || path === undefined || mode === undefined || bytesArg === undefined) {
  throw new Error('usage: child-writer.ts <options JSON> <path> <mode> <bytes>');
}
const total = Number(bytesArg);
const CHUNK = 64 * 1024;
const driver = await createS3Driver(JSON.parse(optionsJson) as S3DriverOptions);

if (mode === 'write-close') {
  const writer = await driver.writer(path);
  for (let offset = 0; offset < total; offset += CHUNK) {
    await writer.write(patternBytes(offset, Math.min(CHUNK, total - offset)));
  }
  await writer.close();
  process.stdout.write(`closed ${writer.size}\n`);
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
