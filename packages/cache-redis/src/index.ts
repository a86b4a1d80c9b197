export {
  createRedisBlobDescriptorCache,
  DEFAULT_HEALTH_TIMEOUT_MS,
  DEFAULT_MAX_PENDING_CLEARS,
  DEFAULT_PROBE_INTERVAL_MS,
  type RedisBlobDescriptorCache,
  type RedisBlobDescriptorCacheClientOptions,
  type RedisBlobDescriptorCacheCommonOptions,
  type RedisBlobDescriptorCacheConnectionOptions,
  type RedisBlobDescriptorCacheOptions,
  type RedisBlobDescriptorCacheStats,
  type RedisOutageEvent,
  type RedisRecoveredEvent,
} from './cache.ts';
export {
  CHANGE_CHANNEL,
  createRedisChangeFeed,
  type RedisChangeFeed,
  type RedisChangeFeedOptions,
} from './changes.ts';
export {
  createRedisClient,
  DEFAULT_COMMAND_TIMEOUT_MS,
  DEFAULT_DIAL_TIMEOUT_MS,
  parseRedisAddress,
  type RedisClientPlan,
  type RedisConnectionOptions,
  type RedisPoolOptions,
  type RedisTlsOptions,
  redisClientOptions,
} from './client.ts';
export {
  isRedisCacheError,
  RedisCacheError,
  type RedisCacheErrorCode,
  type RedisCacheErrorOptions,
} from './errors.ts';
export { FIELD_DIGEST, FIELD_MEDIA_TYPE, FIELD_SIZE, type KeyLayout, keyLayout } from './keys.ts';
