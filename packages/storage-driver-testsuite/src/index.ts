export type {
  StorageDriverCapabilities,
  StorageDriverSuiteOptions,
} from './options.ts';
export { describeStorageDriver, STORAGE_DRIVER_SUITE_TESTS } from './suite.ts';
