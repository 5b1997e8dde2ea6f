import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { createAccessTokenVerifier, isAuthError, type AccessTokenVerifier } from '../../src/index.js';
import { makeKey, signRaw, signToken, userClaims } from '../helpers/jwt.js';

const T0 = 1_900_000_000;
const ISSUER = 'https://abcdefghijklmnopqrst.supabase.co/auth/v1';
const SECRET = 'super-secret-jwt-token-with-at-least-32-characters-long';

let verifier: AccessTokenVerifier;
let valid: string[];

/** Resolves to 'claims' or 'auth-error'; anything else (another error type, a hang) fails the property. */
async function outcome(token: string): Promise<'claims' | 'auth-error'> {
  try {
    await verifier.verify(token);
    return 'claims';
  } catch (err) {
    if (!isAuthError(err)) throw new Error(`verify threw a non-AuthError: ${String(err)}`);
    return 'auth-error';
  }
}

beforeAll(async () => {
  const [es, rs] = await Promise.all([makeKey('ES256'), makeKey('RS256')]);
  verifier = createAccessTokenVerifier({ jwks: { keys: [es.publicJwk, rs.publicJwk] }, jwtSecret: SECRET, issuer: ISSUER, now: () => T0 * 1000 });
  valid = [
    await signToken(es, userClaims(ISSUER, {}, T0)),
    await signToken(rs, userClaims(ISSUER, {}, T0)),
    await signRaw('{"alg":"HS256","typ":"JWT"}', JSON.stringify(userClaims(ISSUER, {}, T0)), { alg: 'HS256', secret: new TextEncoder().encode(SECRET) }),
  ];
});

const tokenAlphabet = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ \n\u0000é');

describe('access-token verifier fuzz', () => {
  it('random strings only ever produce an AuthError', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 300 }), fc.string({ unit: tokenAlphabet, maxLength: 400 }), fc.anything().map((v) => v as string)),
        async (input) => {
          expect(await outcome(input)).toBe('auth-error');
        },
      ),
      { numRuns: 1_500 },
    );
  });

  it('random JSON in correctly encoded segments only ever produces an AuthError', async () => {
    const segment = fc.jsonValue({ maxDepth: 4 }).map((v) => Buffer.from(JSON.stringify(v) ?? 'null').toString('base64url'));
    const header = fc.record({ alg: fc.constantFrom('ES256', 'RS256', 'HS256', 'none', 'PS256'), kid: fc.option(fc.string(), { nil: undefined }) })
      .map((h) => Buffer.from(JSON.stringify(h)).toString('base64url'));
    await fc.assert(
      fc.asyncProperty(fc.oneof(segment, header), segment, fc.uint8Array({ maxLength: 300 }), async (h, p, sig) => {
        expect(await outcome(`${h}.${p}.${Buffer.from(sig).toString('base64url')}`)).toBe('auth-error');
      }),
      { numRuns: 800 },
    );
  });

  it('mutated valid tokens: claims only for the unmodified token', async () => {
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), ch: tokenAlphabet }),
      fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), ch: tokenAlphabet }),
      fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), ch: fc.constant('') }),
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(), ch: fc.constant('') }),
      fc.record({ kind: fc.constant('swap-segments' as const), at: fc.nat(2), ch: fc.constant('') }),
    );
    await fc.assert(
      fc.asyncProperty(fc.nat(2), fc.array(mutation, { minLength: 1, maxLength: 3 }), async (which, mutations) => {
        const original = valid[which] as string;
        let token = original;
        for (const { kind, at, ch } of mutations) {
          const i = at % (token.length + 1);
          if (kind === 'replace') token = token.slice(0, i) + ch + token.slice(i + 1);
          else if (kind === 'insert') token = token.slice(0, i) + ch + token.slice(i);
          else if (kind === 'delete') token = token.slice(0, i) + token.slice(i + 1);
          else if (kind === 'truncate') token = token.slice(0, i);
          else {
            const parts = token.split('.');
            const j = at % parts.length;
            const k = (j + 1) % parts.length;
            [parts[j], parts[k]] = [parts[k] as string, parts[j] as string];
            token = parts.join('.');
          }
        }
        expect(await outcome(token)).toBe(token === original ? 'claims' : 'auth-error');
      }),
      { numRuns: 1_500 },
    );
  });
});
