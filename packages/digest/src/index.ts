export { ALGORITHMS, type Algorithm, isAlgorithm } from './algorithm.ts';
export { digestOf } from './digest-of.ts';
export { digestStream, type StreamDigest } from './digest-stream.ts';
export { createDigester, type Digester } from './digester.ts';
export { DigestError, type DigestErrorCode, type DigestErrorOptions, isDigestError } from './errors.ts';
export { HASH_STATE_FORMAT_VERSION } from './hash-state.ts';
export { type Digest, isDigest, type ParsedDigest, parseDigest } from './parse-digest.ts';
export {
  createResumableHasher,
  loadResumableHasher,
  type ResumableHasher,
  type ResumableHasherExpectation,
} from './resumable-hasher.ts';
export { verify } from './verify.ts';
export { createVerifyingStream } from './verifying-stream.ts';
