import { output } from './exec.ts';

/** What the image records about the source it was built from. */
export interface SourceInfo {
  /** The commit (`git rev-parse HEAD`), or `undefined` outside a git checkout. */
  revision: string | undefined;
  /** `git describe --tags --always --dirty`, or `undefined` outside a git checkout. */
  describe: string | undefined;
  /** Whether tracked files differ from the commit (the image holds the working tree, not the commit). */
  dirty: boolean;
  /**
   * Seconds since the epoch used as every file's mtime and the image's `created`:
   * `SOURCE_DATE_EPOCH` when set (the reproducible-builds convention), else the commit time.
   */
  epoch: number;
  epochFrom: 'SOURCE_DATE_EPOCH' | 'commit time';
}

export async function sourceInfo(root: string, env: NodeJS.ProcessEnv = process.env): Promise<SourceInfo> {
  const git = (args: string[]): Promise<string | undefined> =>
    output('git', ['-C', root, ...args]).catch(() => undefined);
  const [revision, describe, commitTime] = await Promise.all([
    git(['rev-parse', 'HEAD']),
    git(['describe', '--tags', '--always', '--dirty']),
    git(['log', '-1', '--format=%ct', 'HEAD']),
  ]);
  const fromEnv = env.SOURCE_DATE_EPOCH;
  let epoch: number;
  let epochFrom: SourceInfo['epochFrom'];
  if (fromEnv !== undefined && fromEnv !== '') {
    if (!/^\d+$/.test(fromEnv))
      throw new Error(`SOURCE_DATE_EPOCH must be whole seconds since 1970, got ${fromEnv}`);
    epoch = Number(fromEnv);
    epochFrom = 'SOURCE_DATE_EPOCH';
  } else if (commitTime !== undefined && /^\d+$/.test(commitTime)) {
    epoch = Number(commitTime);
    epochFrom = 'commit time';
  } else {
    throw new Error(
      'not a git checkout: set SOURCE_DATE_EPOCH (seconds since 1970) for the image timestamps',
    );
  }
  return { revision, describe, dirty: describe?.endsWith('-dirty') ?? false, epoch, epochFrom };
}
