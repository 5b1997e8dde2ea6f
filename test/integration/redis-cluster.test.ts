import { randomUUID } from 'node:crypto';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthorizationCache, memoryLayer, type AuthorizationCache, type Decision } from '../../src/index.js';
import { redisInvalidationBus, redisLayer, type RedisInvalidationBus } from '../../src/redis.js';
import { runLayerConformance } from '../../src/testing.js';
import { startRedisCluster, type RedisClusterProcess } from '../helpers/redis-cluster.js';
import { eventually } from '../helpers/recording-cache.js';
import { REDIS_URL, requireService } from '../helpers/services.js';

const singleRedis = await requireService('redis');

// The layer contract and the bus on a private 3-master Redis Cluster (started
// here, stopped by PID after): the same code paths as on a single Redis, with
// keys spread over slots and pub/sub crossing nodes.
let cluster: RedisClusterProcess | undefined;
const clients: Cluster[] = [];
const singleClients: Redis[] = [];
const connect = (): Cluster => {
  if (!cluster) throw new Error('cluster not started');
  const client = new Cluster([...cluster.nodes], { enableOfflineQueue: true });
  clients.push(client);
  return client;
};

beforeAll(async () => {
  cluster = await startRedisCluster();
  const client = connect();
  await client.ping();
}, 60_000);

afterAll(async () => {
  for (const c of [...clients, ...singleClients]) c.disconnect();
  const pids = cluster?.pids ?? [];
  await cluster?.stop();
  // stop() killed every node by PID.
  for (const pid of pids) expect(() => process.kill(pid ?? -1, 0)).toThrow();
});

describe('the private Cluster', () => {
  it('spreads keys over all three masters, and a hash tag pins keys to one slot', async () => {
    const client = clients[0] as Cluster;
    const prefix = `sg-cluster:${randomUUID()}:`;
    await Promise.all(Array.from({ length: 30 }, (_, i) => client.set(`${prefix}${i}`, '1')));
    const owners = new Set<number>();
    for (const node of client.nodes('master')) if ((await node.dbsize()) > 0) owners.add(node.options.port ?? 0);
    expect(owners.size).toBe(3);
    await client.mset(`{${prefix}}:a`, '1', `{${prefix}}:b`, '2');
    expect(await client.mget(`{${prefix}}:a`, `{${prefix}}:b`)).toEqual(['1', '2']);
  });

  it('supports sharded pub/sub (SSUBSCRIBE / SPUBLISH, Redis 7)', async () => {
    const subscriber = new Cluster([...(cluster?.nodes ?? [])], { shardedSubscribers: true });
    try {
      const received = new Promise<string>((resolve) => subscriber.on('smessage', (_channel: string, message: string) => resolve(message)));
      await subscriber.ssubscribe('sg-sharded');
      await (clients[0] as Cluster).spublish('sg-sharded', 'hello');
      expect(await received).toBe('hello');
    } finally {
      subscriber.disconnect();
    }
  });
});

describe('redisLayer on a 3-master Redis Cluster', () => {
  runLayerConformance('redisLayer (Cluster)', () => redisLayer({ client: clients[0] as Cluster, prefix: `sg-cluster:${randomUUID()}:`, timeoutMs: 2_000 }));

  it('a multi-get over keys in many slots answers in key order', async () => {
    const layer = redisLayer<number>({ client: clients[0] as Cluster, prefix: `sg-cluster:${randomUUID()}:`, timeoutMs: 2_000 });
    const keys = Array.from({ length: 50 }, (_, i) => `k-${i}`);
    const now = Date.now();
    await Promise.all(keys.map((k, i) => layer.set(k, { value: i, createdAt: now, expiresAt: now + 60_000, staleUntil: now + 60_000, version: '1', tags: [] }, 60_000)));
    const got = await layer.getMany(keys);
    expect(got.map((e) => e?.value)).toEqual(keys.map((_, i) => i));
  });
});

/** The bus tests, run on the Cluster and on a single Redis. */
function twoCachesOverBus(name: string, open: () => Redis | Cluster, skip = false): void {
  describe.skipIf(skip)(name, () => {
    const caches: AuthorizationCache[] = [];
    const buses: RedisInvalidationBus[] = [];
    let loads = 0;

    beforeAll(async () => {
      const prefix = `sg-cluster:${randomUUID()}:`;
      const channel = `sg-bus:${randomUUID()}`;
      for (let i = 0; i < 2; i += 1) {
        const client = open();
        const bus = redisInvalidationBus({ publisher: client, subscriber: open(), channel, timeoutMs: 2_000 });
        await bus.ready();
        buses.push(bus);
        caches.push(
          createAuthorizationCache({
            layers: [memoryLayer<Decision>({ max: 1_000 }), redisLayer<Decision>({ client, prefix, timeoutMs: 2_000 })],
            loader: async (requests) => {
              loads += 1;
              return requests.map(() => ({ allowed: true, tags: ['team:1'] }));
            },
            bus,
            ttlMs: 60_000,
          }),
        );
      }
    });

    afterAll(async () => {
      for (const c of caches) await c.close();
      for (const b of buses) await b.close();
    });

    it('an invalidation in one instance drops the other instance\'s L1 entry', async () => {
      const [a, b] = caches as [AuthorizationCache, AuthorizationCache];
      const request = { userId: randomUUID(), resourceId: randomUUID(), action: 'read' };
      await a.check(request);
      await b.check(request); // from L2
      expect(loads).toBe(1);
      expect(b.peek(request)).toEqual({ allowed: true, tags: ['team:1'] });

      await a.invalidate({ userId: request.userId });
      await eventually(() => b.peek(request) === undefined, 5_000, 'the bus message on the other instance');
      await b.check(request);
      expect(loads).toBe(2);
    });

    it('tag invalidation and clear reach the other instance too', async () => {
      const [a, b] = caches as [AuthorizationCache, AuthorizationCache];
      const r1 = { userId: randomUUID(), resourceId: randomUUID(), action: 'read' };
      const r2 = { userId: randomUUID(), resourceId: randomUUID(), action: 'read' };
      await b.checkMany([r1, r2]);
      await a.invalidate({ tag: 'team:1' });
      await eventually(() => b.peek(r1) === undefined && b.peek(r2) === undefined, 5_000, 'the tag invalidation');
      await b.checkMany([r1, r2]);
      expect(b.peek(r1)).toBeDefined();
      await a.clear();
      await eventually(() => b.peek(r1) === undefined, 5_000, 'the clear');
    });
  });
}

twoCachesOverBus('two caches, Redis Cluster L2 and the bus over the Cluster', connect);
twoCachesOverBus(
  'two caches, single Redis L2 and the bus (the same tests)',
  () => {
    const client = new Redis(REDIS_URL);
    singleClients.push(client);
    return client;
  },
  !singleRedis,
);
