/**
 * Builds the Berth server's OCI image without Docker (`buildImage`), and unpacks image layers
 * into a root filesystem safely (`extractImage`), for tests that run the server from it.
 */
export { APP_DIR, APP_MAIN, CONFIG_PATH } from './app.ts';
export {
  type BuildImageOptions,
  type BuiltImage,
  type BuiltLayer,
  buildImage,
  defaultConfigFile,
  type ImageConfig,
  type LayerName,
  mib,
  repoRoot,
} from './build.ts';
export { type Descriptor, MediaType, REF_NAME } from './oci.ts';
export {
  type ExtractedImage,
  type ExtractOptions,
  extractImage,
  extractLayer,
  safeComponents,
} from './rootfs.ts';
export { DATA_DIR, SYSTEM_PACKAGES, USER } from './system.ts';
