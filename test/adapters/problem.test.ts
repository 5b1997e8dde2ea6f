import { describe, expect, it } from 'vitest';
import { SupaguardError, TokenMalformedError } from '../../src/index.js';
import { HTTP_STATUS_BY_CODE, toProblem } from '../../src/express.js';
import * as fastifyEntry from '../../src/fastify.js';
import { errorForEveryCode } from './fixtures.js';

describe('HTTP_STATUS_BY_CODE / toProblem', () => {
  const errors = errorForEveryCode();

  it('covers every code, agrees with each error class’s own status, and is shared by both adapters', () => {
    expect(Object.keys(HTTP_STATUS_BY_CODE).sort()).toEqual(Object.keys(errors).sort());
    for (const [code, err] of Object.entries(errors)) expect([code, HTTP_STATUS_BY_CODE[code as keyof typeof errors]]).toEqual([code, err.status]);
    expect(fastifyEntry.HTTP_STATUS_BY_CODE).toBe(HTTP_STATUS_BY_CODE);
  });

  it('matches the statuses the issue lists', () => {
    expect(HTTP_STATUS_BY_CODE).toMatchObject({
      E_INVALID_ID: 400,
      E_TOKEN_EXPIRED: 401,
      E_FORBIDDEN: 403,
      E_RATE_LIMITED: 429,
      E_CIRCUIT_OPEN: 503,
      E_JWKS_UNAVAILABLE: 503,
      E_BULKHEAD_FULL: 503,
      E_DB_TIMEOUT: 504,
      E_DEADLINE: 504,
    });
  });

  it('returns undefined for errors that are not supaguard errors', () => {
    expect(toProblem(new Error('x'))).toBeUndefined();
    expect(toProblem('E_FORBIDDEN')).toBeUndefined();
    expect(toProblem(null)).toBeUndefined();
  });

  it('redacts anything shaped like a JWT, a Supabase key or a bearer credential from details', () => {
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig_nature-x';
    const p = toProblem(new TokenMalformedError(`bad ${jwt} sb_secret_abcDEF123 Bearer abc.def`));
    expect(p?.body.detail).toBe('bad [redacted] [redacted] [redacted]');
  });

  it('falls back to the error’s own status for a code this copy does not know (newer package copy)', () => {
    const future = new SupaguardError('E_SOMETHING_NEW' as never, 418, 'teapot');
    expect(toProblem(future)?.status).toBe(418);
  });

  it('sets WWW-Authenticate, Retry-After and no-store where they belong', () => {
    expect(toProblem(errors.E_TOKEN_MISSING)?.headers['www-authenticate']).toBe('Bearer');
    expect(toProblem(errors.E_TOKEN_SIGNATURE)?.headers['www-authenticate']).toBe('Bearer error="invalid_token"');
    expect(toProblem(errors.E_JWKS_UNAVAILABLE)?.headers['www-authenticate']).toBeUndefined();
    expect(toProblem(errors.E_RATE_LIMITED)?.headers['retry-after']).toBe('2');
    expect(toProblem(errors.E_CIRCUIT_OPEN)?.headers['retry-after']).toBe('3');
    expect(toProblem(errors.E_FORBIDDEN)?.headers['cache-control']).toBe('no-store');
  });
});
