import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthorizationCache, memoryLayer, type AuthorizationCache, type AuthorizationRequest, type Decision } from '../../src/index.js';
import { redisInvalidationBus, redisLayer, type RedisInvalidationBus } from '../../src/redis.js';
import { REDIS_URL, requireService } from '../helpers/services.js';

const available = await requireService('redis');
const channel = `sg-test:${randomUUID()}`;
const filePrefix = `sg-test:${randomUUID()}:`;

const USERS: string[] = [randomUUID(), randomUUID(), randomUUID()];
const RESOURCES: string[] = [randomUUID(), randomUUID(), randomUUID()];
const TEAM_OF = (resourceIndex: number): string => (resourceIndex < 2 ? 'team-x' : 'team-y');
const pair = (u: number, r: number): string => `${u}/${r}`;
const request = (u: number, r: number): AuthorizationRequest => ({ userId: USERS[u] as string, resourceId: RESOURCES[r] as string, action: 'read' });

/** The reference model: the database's truth. Every write goes with an invalidation, so reads must match it. */
interface Model {
  db: Map<string, boolean>;
}
interface Real {
  db: Map<string, boolean>;
  caches: [AuthorizationCache, AuthorizationCache];
  received: [number, number];
}
type Cmd = fc.AsyncCommand<Model, Real>;

/** Waits until the other instance has received the message the last operation published. */
async function propagated(real: Real, from: number, before: number): Promise<void> {
  const other = 1 - from;
  const until = Date.now() + 5_000;
  while ((real.received[other] ?? 0) <= before) {
    if (Date.now() > until) throw new Error('invalidation did not propagate');
    await new Promise((r) => setTimeout(r, 1));
  }
}

const write = (m: Model, r: Real, u: number, res: number, allowed: boolean): void => {
  m.db.set(pair(u, res), allowed);
  r.db.set(pair(u, res), allowed);
};

class Check implements Cmd {
  constructor(readonly inst: number, readonly u: number, readonly r: number) {}
  check = (): boolean => true;
  async run(m: Model, real: Real): Promise<void> {
    const decision = await real.caches[this.inst as 0 | 1].check(request(this.u, this.r));
    expect(decision.allowed).toBe(m.db.get(pair(this.u, this.r)) ?? false);
  }
  toString = (): string => `check(${this.inst}, u${this.u}, r${this.r})`;
}

class WriteAndInvalidate implements Cmd {
  constructor(readonly inst: number, readonly u: number, readonly r: number, readonly allowed: boolean, readonly by: 'key' | 'userId' | 'resourceId' | 'tag') {}
  check = (): boolean => true;
  async run(m: Model, real: Real): Promise<void> {
    write(m, real, this.u, this.r, this.allowed);
    const req = request(this.u, this.r);
    const target = this.by === 'key' ? { key: req } : this.by === 'tag' ? { tag: TEAM_OF(this.r) } : { [this.by]: req[this.by] };
    const before = real.received[1 - this.inst] as number;
    await real.caches[this.inst as 0 | 1].invalidate(target);
    await propagated(real, this.inst, before);
  }
  toString = (): string => `write(${this.inst}, u${this.u}, r${this.r}, ${this.allowed}) + invalidate(${this.by})`;
}

class SetDecision implements Cmd {
  constructor(readonly inst: number, readonly u: number, readonly r: number, readonly allowed: boolean) {}
  check = (): boolean => true;
  async run(m: Model, real: Real): Promise<void> {
    write(m, real, this.u, this.r, this.allowed);
    const before = real.received[1 - this.inst] as number;
    await real.caches[this.inst as 0 | 1].set(request(this.u, this.r), { allowed: this.allowed, tags: [TEAM_OF(this.r)] });
    await propagated(real, this.inst, before);
  }
  toString = (): string => `set(${this.inst}, u${this.u}, r${this.r}, ${this.allowed})`;
}

class Clear implements Cmd {
  constructor(readonly inst: number) {}
  check = (): boolean => true;
  async run(_m: Model, real: Real): Promise<void> {
    const before = real.received[1 - this.inst] as number;
    await real.caches[this.inst as 0 | 1].clear();
    await propagated(real, this.inst, before);
  }
  toString = (): string => `clear(${this.inst})`;
}

describe.skipIf(!available)('model-based: two instances on real Redis vs a reference model', () => {
  const connections: Redis[] = [];
  const buses: RedisInvalidationBus[] = [];
  beforeAll(async () => {
    for (let i = 0; i < 2; i++) {
      const publisher = new Redis(REDIS_URL);
      const subscriber = new Redis(REDIS_URL);
      connections.push(publisher, subscriber);
      const bus = redisInvalidationBus({ publisher, subscriber, channel });
      buses.push(bus);
      await bus.ready();
    }
  });
  afterAll(async () => {
    for (const bus of buses) await bus.close();
    await redisLayer({ client: connections[0] as Redis, prefix: filePrefix }).clear();
    for (const c of connections) c.disconnect();
  });

  it('no check returns a decision invalidated before it began, once the invalidation has propagated', async () => {
    const inst = fc.integer({ min: 0, max: 1 });
    const idx = fc.integer({ min: 0, max: 2 });
    const commands = [
      fc.tuple(inst, idx, idx).map(([i, u, r]) => new Check(i, u, r)),
      fc.tuple(inst, idx, idx).map(([i, u, r]) => new Check(i, u, r)),
      fc.tuple(inst, idx, idx, fc.boolean(), fc.constantFrom('key' as const, 'userId' as const, 'resourceId' as const, 'tag' as const)).map(
        ([i, u, r, a, by]) => new WriteAndInvalidate(i, u, r, a, by),
      ),
      fc.tuple(inst, idx, idx, fc.boolean()).map(([i, u, r, a]) => new SetDecision(i, u, r, a)),
      inst.map((i) => new Clear(i)),
    ];
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 30 }), async (cmds) => {
        const db = new Map<string, boolean>();
        const prefix = `${filePrefix}${randomUUID()}:`;
        const received: [number, number] = [0, 0];
        const loader = async (rs: readonly AuthorizationRequest[]): Promise<Decision[]> =>
          rs.map((r) => {
            const u = USERS.indexOf(r.userId);
            const res = RESOURCES.indexOf(r.resourceId);
            return { allowed: db.get(pair(u, res)) ?? false, tags: [TEAM_OF(res)] };
          });
        const make = (i: number): AuthorizationCache =>
          createAuthorizationCache({
            layers: [memoryLayer<Decision>({ max: 100 }), redisLayer<Decision>({ client: connections[i * 2] as Redis, prefix, timeoutMs: 2_000 })],
            loader,
            bus: buses[i] as RedisInvalidationBus,
            ttlMs: 60_000,
          });
        const caches: [AuthorizationCache, AuthorizationCache] = [make(0), make(1)];
        caches.forEach((cache, i) => cache.on('invalidate', (e) => void (e.source === 'bus' && received[i as 0 | 1]++)));
        try {
          await fc.asyncModelRun(() => ({ model: { db: new Map() }, real: { db, caches, received } }), cmds);
        } finally {
          for (const cache of caches) await cache.close();
        }
      }),
      { numRuns: 25 },
    );
  });
});
