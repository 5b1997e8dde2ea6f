import { describe, expect, it } from 'vitest';
import {
  createAuthorizationCache,
  encodeConsistencyToken,
  memoryLayer,
  stampKey,
  userScope,
  type AuthorizationCacheOptions,
  type Decision,
} from '../../src/index.js';
import { controllableLoader, LocalBus, req, SharedRemoteLayer, sleep } from './fixtures.js';

function pair(overrides: Partial<AuthorizationCacheOptions> = {}) {
  const shared = new SharedRemoteLayer<Decision>();
  const bus = new LocalBus();
  const { loader, state } = controllableLoader((r) => ({ allowed: true, tags: r.action === 'team-read' ? ['team-1'] : [] }));
  const make = () => createAuthorizationCache({ layers: [memoryLayer({ max: 1_000 }), shared], loader, bus, ttlMs: 60_000, ...overrides });
  return { a: make(), b: make(), shared, bus, state };
}

describe('invalidation by key, user, resource and tag', () => {
  it('invalidate({ userId }) drops that user only, in both instances, without touching other keys in L2', async () => {
    const { a, b, shared, state } = pair();
    const alice = req();
    const alice2 = req(alice.userId);
    const bob = req();
    await a.checkMany([alice, alice2, bob]);
    await b.checkMany([alice, alice2, bob]);
    expect(state.calls).toBe(1);
    await a.invalidate({ userId: alice.userId });
    // The L2 entries are still there (no scan); a stamp makes them invalid.
    expect(await shared.get(a.keyOf(alice))).toBeDefined();
    expect((await shared.get(stampKey(userScope(alice.userId))))?.value).toMatch(/^\d+$/);
    expect(a.peek(alice)).toBeUndefined();
    expect(b.peek(alice2)).toBeUndefined();
    expect(b.peek(bob)).toEqual({ allowed: true, tags: [] });
    await b.checkMany([alice, alice2, bob]);
    expect(state.calls).toBe(2);
    expect(state.requests[1]?.map((r) => r.resourceId)).toEqual([alice.resourceId, alice2.resourceId]);
  });

  it('a new instance that missed the bus still honours the stamp stored in L2', async () => {
    const { a, shared, state } = pair();
    const r = req();
    await a.check(r);
    await a.invalidate({ resourceId: r.resourceId });
    const { loader } = controllableLoader();
    const late = createAuthorizationCache({ layers: [memoryLayer({ max: 10 }), shared], loader, ttlMs: 60_000 });
    await late.check(r);
    expect(late.stats().layers[1]?.hits).toBe(0);
    expect(state.calls).toBe(1);
  });

  it('invalidate({ tag }) drops every decision carrying the tag, checked by a second stamp read', async () => {
    const { a, b, state } = pair();
    const tagged = req(undefined, undefined, 'team-read');
    const plain = req();
    await a.checkMany([tagged, plain]);
    await b.invalidate({ tag: 'team-1' });
    expect(a.peek(tagged)).toBeUndefined();
    expect(a.peek(plain)).toBeDefined();
    const { loader } = controllableLoader();
    await a.check(tagged);
    expect(state.calls).toBe(2);
    void loader;
  });

  it('invalidate({ key }) removes one decision everywhere', async () => {
    const { a, b, shared, bus } = pair();
    const r = req();
    await a.check(r);
    await b.check(r);
    await b.invalidate({ key: r });
    expect(await shared.get(a.keyOf(r))).toBeUndefined();
    expect(a.peek(r)).toBeUndefined();
    expect(bus.published.at(-1)).toMatchObject({ origin: b.id, keys: [a.keyOf(r)] });
    expect(JSON.stringify(bus.published.at(-1))).not.toContain('allowed');
  });

  it('clear() invalidates everything with one stamp', async () => {
    const { a, b, state } = pair();
    const rs = [req(), req(), req()];
    await a.checkMany(rs);
    await a.clear();
    expect(rs.every((r) => b.peek(r) === undefined)).toBe(true);
    await b.checkMany(rs);
    expect(state.calls).toBe(2);
  });

  it('set() writes a decision and drops the other instance’s L1 copy', async () => {
    const { a, b } = pair();
    const r = req();
    await a.check(r);
    await b.check(r);
    await a.set(r, { allowed: false, reason: 'revoked' });
    expect(b.peek(r)).toBeUndefined();
    expect(await b.check(r)).toEqual({ allowed: false, reason: 'revoked' });
  });

  it('a load that started before an invalidation is neither joined nor written', async () => {
    let allowed = true;
    const { a, state } = pair();
    state.decide = () => ({ allowed });
    state.delayMs = 40;
    const r = req();
    const early = a.check(r);
    await sleep(5);
    allowed = false;
    await a.invalidate({ userId: r.userId });
    const late = a.check(r);
    expect(await early).toEqual({ allowed: true });
    expect(await late).toEqual({ allowed: false });
    expect(await a.check(r)).toEqual({ allowed: false });
    expect(state.calls).toBe(2);
  });

  it('a bus reconnect flushes L1', async () => {
    const { a, bus } = pair();
    const r = req();
    await a.check(r);
    const events: string[] = [];
    a.on('invalidate', (e) => events.push(e.source));
    bus.reconnect();
    expect(a.peek(r)).toBeUndefined();
    expect(events).toEqual(['reconnect']);
  });

  it('validates identifiers before invalidating', async () => {
    const { a } = pair();
    await expect(a.invalidate({ userId: 'not-a-uuid' })).rejects.toMatchObject({ code: 'E_INVALID_ID', field: 'userId' });
    await expect(a.invalidate({ tag: '' })).rejects.toMatchObject({ code: 'E_INVALID_ID', field: 'tag' });
    await expect(a.invalidate({ key: 'other:key' })).rejects.toMatchObject({ code: 'E_INVALID_ID', field: 'key' });
  });
});

describe('consistency tokens (atLeastAsFresh)', () => {
  it('never answers from an entry older than the token', async () => {
    let allowed = true;
    const { loader, state } = controllableLoader(() => ({ allowed }));
    const cache = createAuthorizationCache({ layers: [memoryLayer({ max: 10 })], loader, ttlMs: 60_000 });
    const r = req();
    await cache.check(r);
    const cached = cache.stats().misses;
    allowed = false;
    const token = encodeConsistencyToken(BigInt(Date.now()) * 1000n + 999_999n);
    expect(cache.peek(r, { atLeastAsFresh: token })).toBeUndefined();
    expect(await cache.check(r, { atLeastAsFresh: token })).toEqual({ allowed: false });
    expect(cache.stats().misses).toBe(cached + 1);
    // The reloaded entry is at least as fresh as the token, so it answers from now on.
    expect(await cache.check(r, { atLeastAsFresh: token })).toEqual({ allowed: false });
    expect(state.calls).toBe(2);
  });

  it('an old token is satisfied by the cached entry', async () => {
    const { loader, state } = controllableLoader();
    const cache = createAuthorizationCache({ layers: [memoryLayer({ max: 10 })], loader, ttlMs: 60_000 });
    const r = req();
    await cache.check(r);
    await cache.check(r, { atLeastAsFresh: encodeConsistencyToken(1n) });
    expect(state.calls).toBe(1);
  });

  it('uses the version a loader reports for its entries', async () => {
    const cache = createAuthorizationCache({
      layers: [memoryLayer({ max: 10 })],
      loader: async (rs) => ({ decisions: rs.map(() => ({ allowed: true })), version: '9000000000000000000' }),
      ttlMs: 60_000,
    });
    const r = req();
    await cache.check(r);
    expect(cache.peek(r, { atLeastAsFresh: encodeConsistencyToken('9000000000000000000') })).toEqual({ allowed: true });
    expect(cache.peek(r, { atLeastAsFresh: encodeConsistencyToken('9000000000000000001') })).toBeUndefined();
  });

  it('a malformed token is an E_INVALID_ID error', async () => {
    const { loader } = controllableLoader();
    const cache = createAuthorizationCache({ layers: [memoryLayer({ max: 10 })], loader, ttlMs: 60_000 });
    await expect(cache.check(req(), { atLeastAsFresh: 'nope' })).rejects.toMatchObject({ code: 'E_INVALID_ID', status: 400 });
  });
});
