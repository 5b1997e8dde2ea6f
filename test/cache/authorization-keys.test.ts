import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AuthorizationKeys } from '../../src/cache/authorization-keys.js';
import { authorizationKey, isUuid, resourceScope, userScope } from '../../src/index.js';

describe('AuthorizationKeys (remembered key composition)', () => {
  it('gives authorizationKey() and the scope strings, on first and repeated use, for UUIDs and custom ids', () => {
    const uuids = new AuthorizationKeys(isUuid);
    const custom = new AuthorizationKeys((id) => id.length < 20);
    for (let i = 0; i < 3; i++) {
      const u = randomUUID();
      const r = randomUUID();
      for (let round = 0; round < 2; round++) {
        for (const action of ['read', 'write', 'a b']) {
          expect(uuids.keyOf({ userId: u, resourceId: r, action })).toBe(authorizationKey(u, r, action));
          expect(uuids.scopesOf({ userId: u, resourceId: r, action })).toEqual([userScope(u), resourceScope(r)]);
        }
      }
    }
    for (const [u, r] of [['u:1', 'r{1}'], ['u', '1:r'], ['u%', 'r}']] as const) {
      for (let round = 0; round < 2; round++) {
        expect(custom.keyOf({ userId: u, resourceId: r, action: 'x:y' })).toBe(authorizationKey(u, r, 'x:y'));
        expect(custom.scopesOf({ userId: u, resourceId: r, action: 'x:y' })).toEqual([userScope(u), resourceScope(r)]);
      }
    }
  });

  it('never answers from the memo for a request that differs in any part (MRU and per-pair lists)', () => {
    const keys = new AuthorizationKeys(isUuid);
    const u = randomUUID();
    const [r1, r2] = [randomUUID(), randomUUID()];
    const actions = Array.from({ length: 20 }, (_, i) => `action-${i}`);
    for (let round = 0; round < 3; round++) {
      for (const r of [r1, r2]) for (const action of actions) expect(keys.keyOf({ userId: u, resourceId: r, action })).toBe(authorizationKey(u, r, action));
    }
    // Equal strings that are different objects hit the memo and still give the right key.
    const copy = (s: string): string => s.split('').join('');
    expect(keys.keyOf({ userId: copy(u), resourceId: copy(r1), action: copy('action-3') })).toBe(authorizationKey(u, r1, 'action-3'));
  });

  it('still validates every request the memo has not seen, and bad values never enter it', () => {
    const keys = new AuthorizationKeys(isUuid);
    const u = randomUUID();
    const r = randomUUID();
    keys.keyOf({ userId: u, resourceId: r, action: 'read' });
    expect(() => keys.keyOf({ userId: u, resourceId: 'nope', action: 'read' })).toThrow(expect.objectContaining({ code: 'E_INVALID_ID', field: 'resourceId' }));
    expect(() => keys.keyOf({ userId: u, resourceId: r, action: '' })).toThrow(expect.objectContaining({ field: 'action' }));
    expect(() => keys.keyOf({ userId: 42 as unknown as string, resourceId: r, action: 'read' })).toThrow(expect.objectContaining({ field: 'userId' }));
    expect(() => keys.keyOf(null as never)).toThrow(expect.objectContaining({ code: 'E_INVALID_ID' }));
    expect(() => keys.keyOf({ userId: u, resourceId: r, action: 'read' })).not.toThrow();
  });

  it('is bounded: past 50,000 keys it starts over and keeps answering correctly', () => {
    const keys = new AuthorizationKeys(isUuid);
    const u = randomUUID();
    const first = randomUUID();
    expect(keys.keyOf({ userId: u, resourceId: first, action: 'read' })).toBe(authorizationKey(u, first, 'read'));
    for (let i = 0; i < 50_010; i++) keys.keyOf({ userId: u, resourceId: randomUUID(), action: 'read' });
    expect((keys as unknown as { size: number }).size).toBeLessThanOrEqual(50_000);
    expect(keys.keyOf({ userId: u, resourceId: first, action: 'read' })).toBe(authorizationKey(u, first, 'read'));
  });
});

describe('check() on an L1 hit', () => {
  it('answers the current entry: a replaced or invalidated entry is never answered from the remembered promise', async () => {
    const { createAuthorizationCache, memoryLayer } = await import('../../src/index.js');
    let allowed = true;
    const cache = createAuthorizationCache({ layers: [memoryLayer({ max: 10 })], loader: async (rs) => rs.map(() => ({ allowed })), ttlMs: 60_000 });
    const r = { userId: randomUUID(), resourceId: randomUUID(), action: 'read' };
    expect(await cache.check(r)).toEqual({ allowed: true });
    const first = cache.check(r);
    expect(cache.check(r)).toBe(first); // the same settled promise for the same entry
    await cache.set(r, { allowed: false, reason: 'revoked' });
    expect(await cache.check(r)).toEqual({ allowed: false, reason: 'revoked' });
    allowed = true;
    await cache.invalidate({ userId: r.userId });
    expect(await cache.check(r)).toEqual({ allowed: true });
    await cache.close();
  });
});
