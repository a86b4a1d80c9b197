// Run as a separate Node process by resumable-hasher.test.ts:
//
//   node continue-hash.ts <state-file> <data-file>
//
// Loads a resumable hash state through this package's public API, hashes the data file's bytes,
// and prints JSON: the byte count before and after, the new saved state (base64) and the digest.
import { readFileSync } from 'node:fs';
import { loadResumableHasher } from '../index.ts';

const [stateFile, dataFile] = process.argv.slice(2);
if (stateFile === undefined || dataFile === undefined) {
  throw new Error('usage: continue-hash.ts <state-file> <data-file>');
}
const hasher = await loadResumableHasher(readFileSync(stateFile));
const sizeBefore = hasher.size;
hasher.update(readFileSync(dataFile));
const state = Buffer.from(hasher.save()).toString('base64');
process.stdout.write(
  JSON.stringify({
    algorithm: hasher.algorithm,
    sizeBefore,
    size: hasher.size,
    state,
    digest: hasher.digest(),
  }),
);
