import { exportJWK, generateKeyPair } from 'jose';
import { describe, expect, it } from 'vitest';
import { importKeySet, JwksKeyStore } from '../../src/auth/jwks-key-store.js';
import { makeKey } from '../helpers/jwt.js';

describe('importKeySet', () => {
  it('keeps EC P-256 and RSA verification keys, skips everything else', async () => {
    const [es, rs] = await Promise.all([makeKey('ES256', 'es'), makeKey('RS256', 'rs')]);
    const p384 = await exportJWK((await generateKeyPair('ES384', { extractable: true })).publicKey);
    const keys = await importKeySet({
      keys: [
        es.publicJwk,
        rs.publicJwk,
        { ...es.publicJwk, kid: 'enc', use: 'enc' },
        { ...es.publicJwk, kid: 'ops', key_ops: ['encrypt'] },
        { ...es.publicJwk, kid: 'wrong-alg', alg: 'RS256' },
        { ...p384, kid: 'p384' },
        { kty: 'oct', k: 'c2VjcmV0', kid: 'oct' },
        { kty: 'EC', crv: 'P-256', x: 'AAAA', y: 'AAAA', kid: 'broken' },
      ],
    });
    expect([...keys.keys()].sort()).toEqual(['es', 'rs']);
    expect(keys.get('es')?.alg).toBe('ES256');
    expect(keys.get('rs')?.alg).toBe('RS256');
  });

  it('gives a kid-less key a stable fingerprint id, and refuses a document without keys', async () => {
    const es = await makeKey('ES256');
    const { kid: _kid, ...withoutKid } = es.publicJwk;
    const [a, b] = await Promise.all([importKeySet({ keys: [withoutKid] }), importKeySet({ keys: [withoutKid] })]);
    expect([...a.keys()]).toEqual([...b.keys()]);
    expect([...a.keys()][0]).toMatch(/^[A-Za-z0-9+/]{43}=$/);
    await expect(importKeySet({} as never)).rejects.toMatchObject({ code: 'E_JWKS_UNAVAILABLE' });
  });
});

describe('JwksKeyStore with an inline set', () => {
  it('resolves by kid and algorithm, and by algorithm when the token has no kid', async () => {
    const [es, rs] = await Promise.all([makeKey('ES256', 'es'), makeKey('RS256', 'rs')]);
    const store = new JwksKeyStore({
      jwks: { keys: [es.publicJwk, rs.publicJwk] },
      timeoutMs: 1_000,
      cooldownMs: 30_000,
      maxAgeMs: 600_000,
      refreshAfterMs: 300_000,
      retryAfterFailureMs: 2_000,
      now: Date.now,
    });
    expect((await store.resolve('ES256', 'es')).map((k) => k.id)).toEqual(['es']);
    expect(await store.resolve('RS256', 'es')).toEqual([]);
    expect(await store.resolve('ES256', 'nope')).toEqual([]);
    expect((await store.resolve('RS256', undefined)).map((k) => k.id)).toEqual(['rs']);
    expect(store.has('es')).toBe(true);
    expect(store.fetchCount).toBe(0);
  });
});
