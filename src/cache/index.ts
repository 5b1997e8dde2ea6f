export type { CacheEntry, CacheLayer, CacheLayerKind, CacheLayerStats, PeekHint, InvalidationBus, InvalidationHandlers, InvalidationMessage } from './types.js';
export {
  createLayeredCache,
  type LayeredCache,
  type LayeredCacheOptions,
  type LoaderResult,
  type LoaderBreakerOptions,
  type ReadItem,
  type ReadOptions,
  type InvalidateTarget,
} from './layered-cache.js';
export {
  createAuthorizationCache,
  type AuthorizationCache,
  type AuthorizationCacheOptions,
  type AuthorizationRequest,
  type AuthorizationInvalidation,
  type AuthorizationLoaderResult,
  type CheckOptions,
  type Decision,
  type WarmEntry,
  type WarmSource,
} from './authorization-cache.js';
export type { CacheEventMap, CacheEventName, CacheStats, LayerStatsSnapshot } from './cache-events.js';
export type { FailureBreakerOptions } from './failure-breaker.js';
export { encodeConsistencyToken, decodeConsistencyToken, type ConsistencyToken } from './consistency-token.js';
export { compareVersions, isVersion, createVersionClock, type VersionClock } from './version.js';
export {
  isUuid,
  escapeKeyPart,
  authorizationKey,
  userScope,
  resourceScope,
  tagScope,
  stampKey,
  type IdentifierValidator,
  type IdentifierField,
} from './keys.js';
export { memoryLayer, MemoryLayer, type MemoryLayerOptions } from '../layers/memory.js';
