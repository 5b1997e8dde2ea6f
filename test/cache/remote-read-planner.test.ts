import { describe, expect, it } from 'vitest';
import { GLOBAL_SCOPE, stampKey, tagScope } from '../../src/cache/keys.js';
import { getManyThen, RemoteReadPlanner } from '../../src/cache/remote-read-planner.js';
import { StampRegistry } from '../../src/cache/stamp-registry.js';
import type { CacheEntry } from '../../src/cache/types.js';
import { createVersionClock } from '../../src/cache/version.js';
import { memoryLayer } from '../../src/index.js';

const entry = <V>(value: V, version: string, tags: string[] = []): CacheEntry<V> => ({ value, createdAt: 0, expiresAt: Date.now() + 60_000, staleUntil: Date.now() + 60_000, version, tags });

describe('RemoteReadPlanner', () => {
  const setup = () => {
    const stamps = new StampRegistry(60_000);
    const clock = createVersionClock();
    return { stamps, clock, planner: new RemoteReadPlanner<unknown>(stamps, clock) };
  };

  it('asks for the entries first, then the global stamp and each scope’s stamp once', () => {
    const { planner } = setup();
    const plan = planner.plan([
      { key: 'a', scopes: ['u:{1}', 'r:x'] },
      { key: 'b', scopes: ['u:{1}', 'r:y'] },
    ]);
    expect(plan.n).toBe(2);
    expect(plan.keys).toEqual(['a', 'b', stampKey(GLOBAL_SCOPE), stampKey('u:{1}'), stampKey('r:x'), stampKey('r:y')]);
    expect(plan.scopeList).toEqual([GLOBAL_SCOPE, 'u:{1}', 'r:x', 'r:y']);
  });

  it('plans one item exactly as a batch of one', () => {
    const { planner } = setup();
    const item = { key: 'k', scopes: ['u:{1}', 'r:x', 'u:{1}'] };
    const one = planner.planOne(item);
    const batch = planner.plan([item]);
    expect(one.keys).toEqual(batch.keys);
    expect(one.scopeList).toEqual(batch.scopeList);
  });

  it('records the stamps read with the entries, and fetches the stamps of tags only known after the read', async () => {
    const { planner, stamps, clock } = setup();
    const old = clock.now();
    const invalidatedAt = clock.now();
    const layer = memoryLayer<unknown>();
    await layer.set(stampKey(tagScope('team')), entry(invalidatedAt, invalidatedAt), 60_000);
    const plan = planner.plan([{ key: 'k', scopes: ['u:{1}'] }]);
    const tagged = entry({ allowed: true }, old, [tagScope('team')]);
    // The multi-get answered: the entry, no global stamp, a user stamp newer than the entry.
    const entries = await planner.entries(layer, plan, [tagged, undefined, entry(invalidatedAt, invalidatedAt)]);
    expect(entries).toEqual([tagged]);
    expect(stamps.allows(old, 'k', ['u:{1}'])).toBe(false);
    expect(stamps.allows(old, 'k', [tagScope('team')])).toBe(false);
    expect(stamps.allows(clock.now(), 'k', ['u:{1}', tagScope('team')])).toBe(true);
  });

  it('getManyThen falls back to getMany().then() for layers without their own continuation', async () => {
    const layer = memoryLayer<number>();
    await layer.set('x', entry(7, '1'), 60_000);
    await expect(getManyThen(layer, ['x', 'y'], (got) => got.map((e) => e?.value), () => [] as Array<number | undefined>)).resolves.toEqual([7, undefined]);
  });
});
