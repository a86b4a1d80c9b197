/**
 * Basic authentication against an htpasswd file (bcrypt only) for Berth, as registry:2's
 * `auth.htpasswd`: bcrypt in worker threads, successful logins cached, failures throttled per
 * user and client address, the file reloaded when it changes.
 */
export { BcryptPool, type BcryptPoolOptions, defaultPoolSize } from './bcrypt-pool.ts';
export {
  createHtpasswdAccessController,
  type HtpasswdAccessController,
  type HtpasswdAccessControllerOptions,
} from './controller.ts';
export { HtpasswdError, type HtpasswdErrorCode, isHtpasswdError } from './errors.ts';
export { htpasswdLine } from './hash.ts';
export {
  dummyHash,
  type Htpasswd,
  type HtpasswdEvent,
  type HtpasswdOptions,
  openHtpasswd,
} from './htpasswd.ts';
export { type HtpasswdEntry, type ParsedHtpasswd, parseHtpasswd, typicalCost } from './parse.ts';
export { FailureThrottle, type ThrottleAdmission, type ThrottleOptions } from './throttle.ts';
export { VerifiedCache, type VerifiedCacheOptions } from './verified-cache.ts';
