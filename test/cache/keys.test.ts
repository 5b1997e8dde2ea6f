import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { authorizationKey, createAuthorizationCache, escapeKeyPart, isUuid, memoryLayer, resourceScope, tagScope, userScope } from '../../src/index.js';
import { controllableLoader, req } from './fixtures.js';

describe('key safety', () => {
  it('accepts UUIDs and rejects anything else by default (E_INVALID_ID, 400, value not echoed)', async () => {
    const { loader, state } = controllableLoader();
    const cache = createAuthorizationCache({ layers: [memoryLayer({ max: 10 })], loader, ttlMs: 1_000 });
    const bad = ['', 'x', '../etc', 'authz:{a}:b', '3f0c1f9e-8c8a-4c1e-9a59-0c6f1d2b7e1', '3f0c1f9e-8c8a-4c1e-9a59-0c6f1d2b7e11 ', 42, null];
    for (const userId of bad) {
      const err = (await cache.check({ ...req(), userId: userId as string }).catch((e: unknown) => e)) as Error & { code: string; status: number; field: string };
      expect(err).toMatchObject({ code: 'E_INVALID_ID', status: 400, field: 'userId' });
      if (typeof userId === 'string' && userId.length > 3) expect(err.message).not.toContain(userId);
    }
    await expect(cache.check({ ...req(), resourceId: 'nope' })).rejects.toMatchObject({ field: 'resourceId' });
    await expect(cache.check({ ...req(), action: '' })).rejects.toMatchObject({ field: 'action' });
    await expect(cache.checkMany([req(), { ...req(), userId: 'bad' }])).rejects.toMatchObject({ code: 'E_INVALID_ID' });
    expect(() => cache.peek({ ...req(), userId: 'bad' })).toThrow(expect.objectContaining({ code: 'E_INVALID_ID' }));
    expect(state.calls).toBe(0);
    expect(isUuid('3F0C1F9E-8C8A-4C1E-9A59-0C6F1D2B7E11')).toBe(true);
  });

  it('takes a custom validator, and a throwing validator is an E_INVALID_ID error', async () => {
    const { loader } = controllableLoader();
    const cache = createAuthorizationCache({ layers: [memoryLayer({ max: 10 })], loader, ttlMs: 1_000, validateId: (id) => /^[a-z0-9:{}%]+$/.test(id) });
    expect(await cache.check({ userId: 'u:1', resourceId: 'r{1}', action: 'read' })).toEqual({ allowed: true });
    // The memoised fast path composes exactly what authorizationKey() does, on first and repeated use.
    for (let i = 0; i < 2; i++) expect(cache.keyOf({ userId: 'u:1', resourceId: 'r{1}', action: 'a b' })).toBe(authorizationKey('u:1', 'r{1}', 'a b'));
    await expect(cache.check({ userId: 'UPPER', resourceId: 'r', action: 'read' })).rejects.toMatchObject({ code: 'E_INVALID_ID' });
    const throwing = createAuthorizationCache({ layers: [], loader, ttlMs: 1_000, validateId: () => { throw new Error('boom'); } });
    await expect(throwing.check(req())).rejects.toMatchObject({ code: 'E_INVALID_ID' });
  });

  it('escapes delimiters so ids cannot forge another key', () => {
    expect(escapeKeyPart('a:b{c}%d e')).toBe('a%3Ab%7Bc%7D%25d%20e');
    expect(authorizationKey('a:b', 'c', 'read')).not.toBe(authorizationKey('a', 'b:c', 'read'));
    expect(authorizationKey('u', 'r', 'read')).toBe('authz:{u}:r:read');
    expect(userScope('u}x')).toBe('u:{u%7Dx}');
    expect(resourceScope('r:1')).toBe('r:r%3A1');
    expect(tagScope('team 1')).toBe('t:team%201');
  });

  it('key composition is injective (property)', () => {
    const part = fc.string({ unit: fc.constantFrom('a', ':', '{', '}', '%', '3', 'A', ' ', '7'), maxLength: 6 });
    fc.assert(
      fc.property(fc.tuple(part, part, part), fc.tuple(part, part, part), (x, y) => {
        const same = x[0] === y[0] && x[1] === y[1] && x[2] === y[2];
        return same === (authorizationKey(...x) === authorizationKey(...y));
      }),
      { numRuns: 2_000 },
    );
  });

  it('a user’s entries share the user stamp’s hash tag (one Redis Cluster slot)', () => {
    const key = authorizationKey('u1', 'r1', 'read');
    const tag = (s: string): string | undefined => /\{([^}]+)\}/.exec(s)?.[1];
    expect(tag(key)).toBe('u1');
    expect(tag(`stamp:${userScope('u1')}`)).toBe('u1');
  });
});
