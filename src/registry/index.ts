/**
 * A general OCI registry client: references, auth, blobs, manifests, tags, referrers, an
 * OCI-layout store, and copies between targets. Nothing here knows about any artifact format.
 */
export { RegistryError, isRegistryError, manifestTooLarge, type RegistryErrorCode } from './errors.js';
export { Reference, parseReference, parseRepository, DOCKER_HUB, DOCKER_HUB_API_HOST, type ParseReferenceOptions } from './reference.js';
export { isDigest, assertDigest, digestOf, verifyBytes, VerifyStream } from './digest.js';
export {
  MediaType,
  Annotation,
  EMPTY_DESCRIPTOR,
  EMPTY_JSON,
  MANIFEST_ACCEPT,
  MANIFEST_TYPES,
  INDEX_TYPES,
  IMAGE_MANIFEST_TYPES,
  MAX_MANIFEST_BYTES,
  isManifestType,
  isIndexType,
} from './media-types.js';
export type {
  Descriptor,
  Platform,
  ImageManifest,
  ImageIndex,
  Manifest,
  Target,
  TransferProgress,
  ProgressCallback,
  PushOptions,
  FetchOptions,
} from './target.js';
export {
  buildManifest,
  buildIndex,
  parseManifest,
  manifestChildren,
  artifactTypeOf,
  referrersTag,
  isIndex,
  manifestDescriptor,
  type ArtifactManifestInput,
} from './manifest.js';
export { formatHttpEvent, httpLogger, plainHttpFor, Transport, type HttpEvent, type TransportOptions } from './transport.js';
export { RegistryClient, ClientPool, parseWwwAuthenticate, mergeScopes, repositoryScope, type ClientOptions, type Challenge } from './auth.js';
export {
  credentialChain,
  findCredential,
  saveCredential,
  removeCredential,
  defaultAuthFile,
  credentialFromConfigFile,
  credentialFromHelper,
  credentialFromKeychain,
  type Credential,
  type CredentialOptions,
  type CredentialProvider,
  type CredentialSource,
  type SavedCredential,
} from './credentials.js';
export { login, logout, registryHost, type LoginOptions } from './login.js';
export { RemoteRepository, type RemoteOptions } from './remote.js';
export { OciLayout, type BadBlob, type LayoutReport } from './layout.js';
export { parsePlatform, hostPlatform, formatPlatform, selectPlatform, type PlatformSpec } from './platform.js';
export { referrersNewestFirst } from './referrers.js';
export { copyWithReferrers, type ExtendedCopyOptions, type ExtendedCopyResult } from './extended-copy.js';
export { copy, copyGraph, type CopyOptions, type CopyEvent, type CopyEventType } from './copy.js';
export { fetchBytes, fetchManifest, pushManifest, pushBytes, pushFile, describeFile, fetchToFile } from './content.js';
export { pushFiles, pushBlobs, pushManifestBytes, UNKNOWN_ARTIFACT, type FileToPush, type BlobToPush, type PushFilesOptions, type PushedArtifact } from './push-files.js';
export { writeArtifactFiles, UNPACK_ANNOTATION, type WriteFilesOptions, type WrittenFiles } from './write-files.js';
export { pullThrough, restoreGraph, brokenInCache, type PullThroughOptions, type PulledThrough } from './pull-through.js';
export { listTagged, referrersOf, referrerTree, MAX_REFERRER_NODES, type TaggedManifest, type ReferrerInfo, type ReferrerNode } from './listing.js';
export { artifactSummary, type ArtifactSummary, type FileSummary } from './summary.js';
export { withImageRoot, unpackImage, DEFAULT_IMAGE_LIMITS, type ImageRoot, type ImageRootOptions, type ImageConfig } from './image-root.js';
export { isBlobMounter, isGraphRepairer, type BlobMounter, type GraphRepairer } from './target.js';
