import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisCluster, type RedisClusterProcess } from '../helpers/redis-cluster.js';

// The cluster helper itself: three masters that really shard, and sharded pub/sub.
describe('a private 3-master Redis Cluster on loopback', () => {
  let cluster: RedisClusterProcess;
  let client: Cluster;

  beforeAll(async () => {
    cluster = await startRedisCluster();
    client = new Cluster([...cluster.nodes], { shardedSubscribers: false });
  });

  afterAll(async () => {
    client?.disconnect();
    const pids = cluster?.pids ?? [];
    await cluster?.stop();
    // stop() killed every node by PID.
    for (const pid of pids) expect(() => process.kill(pid ?? -1, 0)).toThrow();
  });

  it('spreads keys over all three masters, and a hash tag pins them to one slot', async () => {
    const keys = Array.from({ length: 30 }, (_, i) => `k${i}`);
    await Promise.all(keys.map((k) => client.set(k, k)));
    const owners = new Set<number>();
    for (const node of client.nodes('master')) {
      if ((await node.dbsize()) > 0) owners.add(node.options.port ?? 0);
    }
    expect(owners.size).toBe(3);
    expect(cluster.pids.every((pid) => pid !== undefined)).toBe(true);
    await client.mset('{authz}:a', '1', '{authz}:b', '2');
    expect(await client.mget('{authz}:a', '{authz}:b')).toEqual(['1', '2']);
  });

  it('delivers sharded pub/sub (SSUBSCRIBE / SPUBLISH)', async () => {
    const subscriber = new Cluster([...cluster.nodes], { shardedSubscribers: true });
    try {
      const received = new Promise<string>((resolve) => subscriber.on('smessage', (_channel: string, message: string) => resolve(message)));
      await subscriber.ssubscribe('supaguard:bus');
      await client.spublish('supaguard:bus', 'hello');
      expect(await received).toBe('hello');
    } finally {
      subscriber.disconnect();
    }
  });

});
