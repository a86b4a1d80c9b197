/**
 * `proxy.exec`: upstream credentials from a docker-credential-helper
 * (`docker-credential-<name> get`, the upstream's URL on stdin, `{"Username","Secret"}` out).
 */
import { execFile } from 'node:child_process';
import { UpstreamError } from './errors.ts';
import type { UpstreamCredentials } from './upstream.ts';

/** Options of {@link credentialHelper}. */
export interface CredentialHelperOptions {
  /** `proxy.exec.command`: the helper's executable (e.g. `docker-credential-ecr-login`). */
  readonly command: string;
  /** The upstream's URL, written to the helper's stdin. */
  readonly serverURL: string;
  /**
   * `proxy.exec.lifetime`: how long an answer is reused before the helper runs again.
   * `undefined` or `0`: for the process's lifetime, as registry:2 does without a lifetime.
   */
  readonly lifetimeMs?: number;
  /** How long the helper may run. @default 30000 */
  readonly timeoutMs?: number;
}

/**
 * A credentials source for `createUpstream({ credentials })` that runs the helper when it
 * has no fresh answer (concurrent callers share one run). A failing helper is an
 * `UPSTREAM_UNAUTHORIZED` error naming the command and its exit, never its output (which may
 * hold a secret).
 */
export function credentialHelper(options: CredentialHelperOptions): () => Promise<UpstreamCredentials> {
  let cached: { value: UpstreamCredentials; until: number } | undefined;
  let pending: Promise<UpstreamCredentials> | undefined;
  const lifetime = options.lifetimeMs ?? 0;

  const run = (): Promise<UpstreamCredentials> =>
    new Promise((resolve, reject) => {
      const child = execFile(
        options.command,
        ['get'],
        { timeout: options.timeoutMs ?? 30_000, maxBuffer: 1024 * 1024, encoding: 'utf8' },
        (error, stdout) => {
          if (error !== null) {
            reject(
              new UpstreamError(
                'UPSTREAM_UNAUTHORIZED',
                `credential helper ${options.command} failed (${(error as { code?: unknown }).code ?? error.message})`,
              ),
            );
            return;
          }
          let answer: { Username?: unknown; Secret?: unknown };
          try {
            answer = JSON.parse(stdout) as typeof answer;
          } catch {
            reject(
              new UpstreamError(
                'UPSTREAM_UNAUTHORIZED',
                `credential helper ${options.command} printed no JSON`,
              ),
            );
            return;
          }
          if (typeof answer.Username !== 'string' || typeof answer.Secret !== 'string') {
            reject(
              new UpstreamError(
                'UPSTREAM_UNAUTHORIZED',
                `credential helper ${options.command} gave no Username and Secret`,
              ),
            );
            return;
          }
          resolve({ username: answer.Username, password: answer.Secret });
        },
      );
      child.stdin?.end(options.serverURL);
    });

  return () => {
    if (cached !== undefined && (lifetime <= 0 || Date.now() < cached.until))
      return Promise.resolve(cached.value);
    pending ??= run()
      .then((value) => {
        cached = { value, until: Date.now() + lifetime };
        return value;
      })
      .finally(() => {
        pending = undefined;
      });
    return pending;
  };
}
