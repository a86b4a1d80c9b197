/**
 * End-to-end test harness for Berth: start registry:2 (Debian's `docker-registry`) and Berth on
 * 127.0.0.1 and stop them by PID, drive them with skopeo, and build OCI image layouts on disk.
 */
export {
  AZURITE_ACCOUNT_KEY,
  AZURITE_ACCOUNT_NAME,
  type AzuriteOptions,
  type AzuriteServer,
  azuriteBlobEntryPoint,
  startAzurite,
} from './azurite.ts';
export {
  type CommandOptions,
  type CommandResult,
  runChecked,
  runCommand,
} from './command.ts';
export {
  firebaseToolsDir,
  GCS_EMULATOR_PROJECT,
  type GcsEmulatorOptions,
  type GcsEmulatorServer,
  startGcsEmulator,
} from './gcs-emulator.ts';
export {
  type ArtifactSpec,
  type Descriptor,
  digestFile,
  emptyDescriptor,
  type ImageSpec,
  type IndexSpec,
  type LayerSpec,
  MediaType,
  type OciLayout,
  type OciLayoutSpec,
  type Platform,
  pseudoRandomBytes,
  type ReachableBlob,
  reachableBlobs,
  Tap,
  type WrittenIndex,
  type WrittenManifest,
  writeOciLayout,
} from './oci-layout.ts';
export {
  freePort,
  OutputTail,
  type ProcessServerSpec,
  type RunningServer,
  startProcessServer,
  type WaitForHttpOptions,
  waitForHttp,
} from './process.ts';
export { type RadosgwOptions, type RunningRadosgw, radosgwMissingTools, startRadosgw } from './radosgw.ts';
export {
  REDIS_TOOLS,
  type RedisAuthOptions,
  type RedisClusterOptions,
  type RedisCommandOptions,
  type RedisOptions,
  type RedisReply,
  RedisReplyError,
  type RedisSentinelOptions,
  type RunningRedis,
  type RunningRedisCluster,
  type RunningRedisSentinel,
  redisCommand,
  redisMissingTools,
  startRedis,
  startRedisCluster,
  startRedisSentinel,
} from './redis.ts';
export {
  endToEndHeaders,
  type RoundRobinProxy,
  type RoundRobinProxyOptions,
  startRoundRobinProxy,
} from './round-robin-proxy.ts';
export {
  berthCliEntryPoint,
  berthEntryPoint,
  type ConfigFileServerOptions,
  type FilesystemServerOptions,
  filesystemConfigYaml,
  runBerthCli,
  type ServerOptions,
  startBerth,
  startRegistry2,
} from './servers.ts';
export { type SkopeoOptions, type SkopeoResult, skopeo } from './skopeo.ts';
export { e2eSkipReason, which } from './tools.ts';
