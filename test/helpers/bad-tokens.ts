// The JWT bad-input table of the auth issue, shared by the verifier's own test and
// the adapter tests that send every case through Express and Fastify.
import { randomUUID } from 'node:crypto';
import type { AuthErrorCode } from '../../src/index.js';
import { b64url, signRaw, signToken, userClaims, type TestKey } from './jwt.js';

/** Keys the cases sign with; filled in by the test's `beforeAll` (the cases read them lazily). */
export interface BadTokenKeys {
  es: TestKey;
  rs: TestKey;
  attacker: TestKey;
  /** Base URL of a server that counts requests: jku / x5u must never be fetched. */
  sideUrl: string;
}

export const T0 = 1_900_000_000; // fixed clock, seconds
export const ISSUER = 'https://abcdefghijklmnopqrst.supabase.co/auth/v1';
export const SECRET = new TextEncoder().encode('super-secret-jwt-token-with-at-least-32-characters-long');

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** A 64-byte signature has 4 unused trailing bits; setting one gives a second, non-canonical spelling. */
const flipLowBit = (segment: string): string => segment.slice(0, -1) + ALPHABET[ALPHABET.indexOf(segment.slice(-1)) ^ 1];

/** Raw (r || s) ECDSA signature → ASN.1 DER, the form JOSE forbids. */
function toDer(raw: Buffer): Buffer {
  const int = (b: Buffer): Buffer => {
    let v = b;
    while (v.length > 1 && v[0] === 0) v = v.subarray(1);
    if ((v[0] as number) & 0x80) v = Buffer.concat([Buffer.from([0]), v]);
    return Buffer.concat([Buffer.from([0x02, v.length]), v]);
  };
  const body = Buffer.concat([int(raw.subarray(0, 32)), int(raw.subarray(32))]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}

/** One bad input and the code it must be rejected with. */
export interface BadTokenCase {
  name: string;
  token: () => string | Promise<string> | undefined;
  code: AuthErrorCode;
  /** Run against the verifier that also has the legacy JWT secret. */
  secret?: boolean;
}

/** Every bad-input case with the code the verifier must answer. */
export function badTokenCases(k: BadTokenKeys): BadTokenCase[] {
  const claims = (overrides: Record<string, unknown> = {}): Record<string, unknown> => userClaims(ISSUER, overrides, T0);
  const header = (extra: Record<string, unknown> = {}): string => JSON.stringify({ alg: 'ES256', kid: k.es.kid, typ: 'JWT', ...extra });
  const es256 = (payload: unknown, extra?: Record<string, unknown>): Promise<string> => signToken(k.es, payload, extra);
  const rawEs256 = (payloadText: string): Promise<string> => signRaw(header(), payloadText, k.es);
  const unsigned = (h: Record<string, unknown>, sig = 'c2ln'): string => `${b64url(JSON.stringify(h))}.${b64url(JSON.stringify(claims()))}.${sig}`;
  const withSignature = (token: string, signature: Uint8Array | string): string =>
    `${token.slice(0, token.lastIndexOf('.'))}.${typeof signature === 'string' ? signature : b64url(signature)}`;

  return [
    // algorithm
    ...['none', 'None', 'NONE'].map((alg): BadTokenCase => ({ name: `alg ${alg}`, token: () => unsigned({ alg, typ: 'JWT' }, ''), code: 'E_TOKEN_ALGORITHM' })),
    { name: 'HS256 signed with the public key (PEM), no secret configured', token: () => signRaw(header({ alg: 'HS256' }), JSON.stringify(claims()), { alg: 'HS256', secret: new TextEncoder().encode(k.es.publicPem) }), code: 'E_TOKEN_ALGORITHM' },
    { name: 'HS256 signed with the public key (JWK), no secret configured', token: () => signRaw(header({ alg: 'HS256' }), JSON.stringify(claims()), { alg: 'HS256', secret: new TextEncoder().encode(JSON.stringify(k.es.publicJwk)) }), code: 'E_TOKEN_ALGORITHM' },
    { name: 'HS256 signed with the public key (PEM), secret configured', secret: true, token: () => signRaw(header({ alg: 'HS256' }), JSON.stringify(claims()), { alg: 'HS256', secret: new TextEncoder().encode(k.es.publicPem) }), code: 'E_TOKEN_SIGNATURE' },
    { name: 'HS256 signed with the public key (JWK), secret configured', secret: true, token: () => signRaw(header({ alg: 'HS256' }), JSON.stringify(claims()), { alg: 'HS256', secret: new TextEncoder().encode(JSON.stringify(k.es.publicJwk)) }), code: 'E_TOKEN_SIGNATURE' },
    ...['PS256', 'ES384', 'ES512', 'EdDSA', 'HS512', 'RS512', ''].map((alg): BadTokenCase => ({ name: `alg "${alg}" outside the allowlist`, token: () => unsigned({ alg, kid: k.es.kid }), code: 'E_TOKEN_ALGORITHM' })),
    { name: 'alg not a string', token: () => unsigned({ alg: ['ES256'], kid: k.es.kid }), code: 'E_TOKEN_MALFORMED' },
    // kid
    { name: 'kid unknown', token: () => es256(claims(), { kid: 'no-such-kid' }), code: 'E_TOKEN_SIGNATURE' },
    { name: 'kid very long', token: () => es256(claims(), { kid: 'k'.repeat(5000) }), code: 'E_TOKEN_MALFORMED' },
    { name: 'kid not a string', token: () => es256(claims(), { kid: 12345 }), code: 'E_TOKEN_MALFORMED' },
    { name: 'kid an object', token: () => es256(claims(), { kid: { $ne: null } }), code: 'E_TOKEN_MALFORMED' },
    { name: 'kid path-like', token: () => es256(claims(), { kid: '../../../../etc/passwd' }), code: 'E_TOKEN_SIGNATURE' },
    // embedded / remote key headers are ignored, never fetched
    { name: 'jwk header with the attacker key', token: () => signToken(k.attacker, claims(), { kid: k.es.kid, jwk: k.attacker.publicJwk }), code: 'E_TOKEN_SIGNATURE' },
    { name: 'jku header', token: () => signToken(k.attacker, claims(), { kid: k.es.kid, jku: `${k.sideUrl}/jku` }), code: 'E_TOKEN_SIGNATURE' },
    { name: 'x5u header', token: () => signToken(k.attacker, claims(), { kid: k.es.kid, x5u: `${k.sideUrl}/x5u` }), code: 'E_TOKEN_SIGNATURE' },
    { name: 'x5c header', token: () => signToken(k.attacker, claims(), { kid: k.es.kid, x5c: [b64url('not a cert')] }), code: 'E_TOKEN_SIGNATURE' },
    // JWS extensions
    { name: 'crit with unknown entries', token: () => es256(claims(), { crit: ['urn:example:unknown'], 'urn:example:unknown': 1 }), code: 'E_TOKEN_MALFORMED' },
    { name: 'b64: false', token: () => es256(claims(), { b64: false, crit: ['b64'] }), code: 'E_TOKEN_MALFORMED' },
    // time claims
    { name: 'expired', token: () => es256(claims({ exp: T0 - 10 })), code: 'E_TOKEN_EXPIRED' },
    { name: 'exp equal to now', token: () => es256(claims({ exp: T0 })), code: 'E_TOKEN_EXPIRED' },
    { name: 'missing exp', token: () => es256(claims({ exp: undefined })), code: 'E_TOKEN_CLAIMS' },
    { name: 'exp as a string', token: () => es256(claims({ exp: String(T0 + 3600) })), code: 'E_TOKEN_CLAIMS' },
    { name: 'exp of 1e309', token: () => rawEs256(JSON.stringify(claims()).replace(/"exp":\d+/, '"exp":1e309')), code: 'E_TOKEN_CLAIMS' },
    { name: 'future nbf', token: () => es256(claims({ nbf: T0 + 600 })), code: 'E_TOKEN_NOT_YET_VALID' },
    { name: 'future iat', token: () => es256(claims({ iat: T0 + 600 })), code: 'E_TOKEN_NOT_YET_VALID' },
    // issuer, audience, subject, role
    { name: 'foreign iss', token: () => es256(claims({ iss: 'https://evil.example/auth/v1' })), code: 'E_TOKEN_ISSUER' },
    { name: 'wrong aud', token: () => es256(claims({ aud: 'anon' })), code: 'E_TOKEN_AUDIENCE' },
    { name: 'array iss', token: () => es256(claims({ iss: [ISSUER] })), code: 'E_TOKEN_CLAIMS' },
    { name: 'array sub', token: () => es256(claims({ sub: [randomUUID()] })), code: 'E_TOKEN_CLAIMS' },
    { name: 'sub not a UUID', token: () => es256(claims({ sub: 'admin' })), code: 'E_TOKEN_CLAIMS' },
    { name: 'role service_role', token: () => es256(claims({ role: 'service_role' })), code: 'E_TOKEN_CLAIMS' },
    { name: 'role anon', token: () => es256(claims({ role: 'anon' })), code: 'E_TOKEN_CLAIMS' },
    { name: 'payload an array', token: () => rawEs256(JSON.stringify([claims()])), code: 'E_TOKEN_CLAIMS' },
    { name: 'payload a number', token: () => rawEs256('42'), code: 'E_TOKEN_CLAIMS' },
    // structure
    { name: '2 segments', token: async () => (await es256(claims())).split('.').slice(0, 2).join('.'), code: 'E_TOKEN_MALFORMED' },
    { name: '4 segments', token: async () => `${await es256(claims())}.AAAA`, code: 'E_TOKEN_MALFORMED' },
    { name: '5 segments (JWE)', token: () => `${b64url('{"alg":"RSA-OAEP","enc":"A256GCM"}')}.AAAA.AAAA.AAAA.AAAA`, code: 'E_TOKEN_MALFORMED' },
    { name: 'empty segments', token: () => '..', code: 'E_TOKEN_MALFORMED' },
    { name: 'empty payload segment', token: async () => { const [h, , s] = (await es256(claims())).split('.'); return `${h}..${s}`; }, code: 'E_TOKEN_MALFORMED' },
    { name: '= padding', token: async () => { const [h, p, s] = (await es256(claims())).split('.'); return `${h}=.${p}.${s}`; }, code: 'E_TOKEN_MALFORMED' },
    { name: '+ in a segment', token: async () => (await es256(claims())).replace(/-/g, '+').replace(/^([^.]*)/, '$1+'), code: 'E_TOKEN_MALFORMED' },
    { name: '/ in a segment', token: async () => { const [h, p, s] = (await es256(claims())).split('.'); return `${h}.${p}/.${s}`; }, code: 'E_TOKEN_MALFORMED' },
    { name: 'non-canonical base64url (stray bits)', token: async () => { const [h, p, s] = (await es256(claims())).split('.'); return `${h}.${p}.${flipLowBit(s as string)}`; }, code: 'E_TOKEN_MALFORMED' },
    { name: 'leading whitespace', token: async () => ` ${await es256(claims())}`, code: 'E_TOKEN_MALFORMED' },
    { name: 'trailing newline', token: async () => `${await es256(claims())}\n`, code: 'E_TOKEN_MALFORMED' },
    { name: 'whitespace inside', token: async () => { const [h, p, s] = (await es256(claims())).split('.'); return `${h}. ${p}.${s}`; }, code: 'E_TOKEN_MALFORMED' },
    { name: 'invalid UTF-8 payload', token: async () => { const t = await es256(claims()); return `${t.split('.')[0]}.${b64url(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]))}.${t.split('.')[2]}`; }, code: 'E_TOKEN_MALFORMED' },
    { name: 'non-JSON payload', token: () => rawEs256('not json at all'), code: 'E_TOKEN_MALFORMED' },
    { name: 'non-JSON header', token: () => `${b64url('{alg:ES256}')}.${b64url('{}')}.c2ln`, code: 'E_TOKEN_MALFORMED' },
    { name: 'header an array', token: () => `${b64url('["ES256"]')}.${b64url('{}')}.c2ln`, code: 'E_TOKEN_MALFORMED' },
    { name: 'duplicate keys in the payload', token: () => rawEs256(JSON.stringify(claims()).replace(/^\{/, `{"sub":"${randomUUID()}",`)), code: 'E_TOKEN_MALFORMED' },
    { name: 'duplicate keys, one escaped', token: () => rawEs256(JSON.stringify(claims()).replace(/^\{/, `{"\\u0073ub":"${randomUUID()}",`)), code: 'E_TOKEN_MALFORMED' },
    { name: 'duplicate alg in the header', token: () => signRaw(`{"alg":"none","alg":"ES256","kid":"${k.es.kid}"}`, JSON.stringify(claims()), k.es), code: 'E_TOKEN_MALFORMED' },
    { name: '__proto__ key', token: () => rawEs256(JSON.stringify(claims()).replace(/^\{/, '{"__proto__":{"role":"service_role"},')), code: 'E_TOKEN_MALFORMED' },
    { name: 'a 100 KB token', token: () => es256(claims({ pad: 'x'.repeat(100_000) })), code: 'E_TOKEN_MALFORMED' },
    { name: 'deeply nested JSON', token: () => rawEs256(JSON.stringify(claims()).replace(/^\{/, `{"deep":${'['.repeat(500)}${']'.repeat(500)},`)), code: 'E_TOKEN_MALFORMED' },
    // signatures
    { name: 'empty signature', token: async () => withSignature(await es256(claims()), ''), code: 'E_TOKEN_SIGNATURE' },
    { name: 'wrong-length ECDSA signature', token: async () => withSignature(await es256(claims()), new Uint8Array(63)), code: 'E_TOKEN_SIGNATURE' },
    { name: 'DER-encoded ECDSA signature', token: async () => { const t = await es256(claims()); return withSignature(t, toDer(Buffer.from(t.split('.')[2] as string, 'base64url'))); }, code: 'E_TOKEN_SIGNATURE' },
    { name: 'zeroed ECDSA signature', token: async () => withSignature(await es256(claims()), new Uint8Array(64)), code: 'E_TOKEN_SIGNATURE' },
    { name: 'wrong-length RSA signature', token: async () => withSignature(await signToken(k.rs, claims()), new Uint8Array(100)), code: 'E_TOKEN_SIGNATURE' },
    { name: 'payload altered after signing', token: async () => { const [h, , s] = (await es256(claims())).split('.'); return `${h}.${b64url(JSON.stringify(claims({ role: 'authenticated' })))}.${s}`; }, code: 'E_TOKEN_SIGNATURE' },
    { name: 'RS256 token signed by the ES key id', token: () => signRaw(header({ alg: 'RS256' }), JSON.stringify(claims()), k.rs), code: 'E_TOKEN_SIGNATURE' },
    // API keys and empties
    { name: 'sb_secret_ key as a bearer token', token: () => `sb_secret_${'a'.repeat(32)}`, code: 'E_TOKEN_MALFORMED' },
    { name: 'sb_publishable_ key as a bearer token', token: () => `sb_publishable_${'a'.repeat(32)}`, code: 'E_TOKEN_MALFORMED' },
    { name: 'empty string', token: () => '', code: 'E_TOKEN_MISSING' },
    { name: 'undefined', token: () => undefined, code: 'E_TOKEN_MISSING' },
  ];
}
