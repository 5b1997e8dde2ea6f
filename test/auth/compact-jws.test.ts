import { describe, expect, it } from 'vitest';
import { parseCompactJws } from '../../src/auth/compact-jws.js';
import { b64url } from '../helpers/jwt.js';

describe('parseCompactJws', () => {
  it('returns the header, payload, signature bytes and signing input', () => {
    const input = `${b64url('{"alg":"ES256","kid":"k"}')}.${b64url('{"sub":"x"}')}`;
    const parsed = parseCompactJws(`${input}.${b64url(new Uint8Array([1, 2, 3]))}`);
    expect(parsed.header).toMatchObject({ alg: 'ES256', kid: 'k' });
    expect(parsed.payload).toEqual({ sub: 'x' });
    expect([...parsed.signature]).toEqual([1, 2, 3]);
    expect(Buffer.from(parsed.signingInput).toString()).toBe(input);
  });

  it('says when an API key was sent instead of a token, without echoing it', () => {
    expect(() => parseCompactJws('sb_secret_abcdefghijklmnop')).toThrow(/^An API key is not an access token$/);
  });

  it('applies the length cap before anything else', () => {
    expect(() => parseCompactJws('a'.repeat(20), { maxLength: 10 })).toThrow(expect.objectContaining({ code: 'E_TOKEN_MALFORMED' }));
  });
});
