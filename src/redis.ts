/**
 * `supaguard/redis` — the Redis layer (L2) and the Redis invalidation bus for
 * the authorization cache. Bring your own ioredis `Redis` or `Cluster` client
 * (`ioredis` is an optional peer dependency).
 *
 * @module
 */
export { redisLayer, RedisLayer, type RedisLayerOptions } from './layers/redis-layer.js';
export { redisInvalidationBus, RedisInvalidationBus, type RedisInvalidationBusOptions } from './layers/redis-bus.js';
export { jsonEntrySerializer, type EntrySerializer } from './layers/redis-serializer.js';
export { keySlot } from './layers/redis-slots.js';
