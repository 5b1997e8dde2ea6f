// The auth issue's JWT bad-input table, sent as `Authorization: Bearer …` through
// both adapters with the real access-token verifier: every case is a 401 with a
// token error code, never a 5xx, and the token is never echoed.
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccessTokenVerifier, type AccessTokenVerifier } from '../../src/index.js';
import { authenticate, errorHandler, type TokenVerifierLike } from '../../src/express.js';
import { supaguard } from '../../src/fastify.js';
import { ISSUER, SECRET, T0, badTokenCases, type BadTokenKeys } from '../helpers/bad-tokens.js';
import { makeKey, signToken, startJwksServer, userClaims, type JwksServer } from '../helpers/jwt.js';

const keys = {} as BadTokenKeys;
// HTTP strips whitespace around a header value (RFC 9110 OWS) and refuses a newline
// in it, so these two verifier-level cases cannot reach an adapter as such.
const NOT_SENDABLE = new Set(['leading whitespace', 'trailing newline']);
const cases = badTokenCases(keys).filter((c) => !NOT_SENDABLE.has(c.name));
// "Bearer " with an empty token arrives as "Bearer" (trailing OWS stripped): malformed header.
const CODE_OVER_HTTP: Record<string, string> = { 'empty string': 'E_TOKEN_MALFORMED' };

let sideServer: JwksServer;
let jwksOnly: AccessTokenVerifier;
let withSecret: AccessTokenVerifier;
let useSecret = false;
// The table has cases for a verifier with and without the legacy JWT secret.
const verifier: TokenVerifierLike = { verify: (token, options) => (useSecret ? withSecret : jwksOnly).verify(token, options) };

let expressServer: Server;
let expressBase = '';
let fastify: FastifyInstance;
let fastifyBase = '';

beforeAll(async () => {
  const [es, rs, attacker] = await Promise.all([makeKey('ES256'), makeKey('RS256'), makeKey('ES256')]);
  sideServer = await startJwksServer([]);
  Object.assign(keys, { es, rs, attacker, sideUrl: sideServer.url });
  const base = { jwks: { keys: [es.publicJwk, rs.publicJwk] }, issuer: ISSUER, now: () => T0 * 1000 };
  jwksOnly = createAccessTokenVerifier(base);
  withSecret = createAccessTokenVerifier({ ...base, jwtSecret: SECRET });

  const app = express();
  app.get('/me', authenticate({ verifier }), (req, res) => void res.json({ userId: req.auth?.userId }));
  app.use(errorHandler());
  expressServer = app.listen(0, '127.0.0.1');
  await once(expressServer, 'listening');
  expressBase = `http://127.0.0.1:${(expressServer.address() as AddressInfo).port}`;

  fastify = Fastify();
  await fastify.register(supaguard, { verifier });
  fastify.get('/me', async (req) => ({ userId: req.auth?.userId }));
  fastifyBase = await fastify.listen({ port: 0, host: '127.0.0.1' });
});

afterAll(async () => {
  await new Promise((r) => expressServer?.close(r));
  await fastify?.close();
  await sideServer?.stop();
});

type Sent = { status: number; text: string };
const transports: Record<string, (authorization: string | undefined) => Promise<Sent>> = {
  'Express (listening)': async (authorization) => {
    const res = await fetch(`${expressBase}/me`, { headers: authorization === undefined ? {} : { authorization } });
    return { status: res.status, text: await res.text() };
  },
  'Fastify (inject)': async (authorization) => {
    const res = await fastify.inject({ url: '/me', headers: authorization === undefined ? {} : { authorization } });
    return { status: res.statusCode, text: res.body };
  },
  'Fastify (listening)': async (authorization) => {
    const res = await fetch(`${fastifyBase}/me`, { headers: authorization === undefined ? {} : { authorization } });
    return { status: res.status, text: await res.text() };
  },
};

describe.each(Object.keys(transports))('bad tokens through %s', (transport) => {
  const send = transports[transport] as (authorization: string | undefined) => Promise<Sent>;

  it('a valid token passes (control)', async () => {
    useSecret = false;
    const claims = userClaims(ISSUER, {}, T0);
    const r = await send(`Bearer ${await signToken(keys.es, claims)}`);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.text)).toEqual({ userId: claims.sub });
  });

  it.each(cases)('$name → 401', async ({ name, token, code, secret }) => {
    useSecret = secret === true;
    const value = await token();
    const r = await send(value === undefined ? undefined : `Bearer ${value}`);
    if (name === 'a 100 KB token' && !transport.includes('inject')) {
      // Node's HTTP parser refuses headers over 16 KiB before any middleware runs.
      expect(r.status).toBe(431);
      return;
    }
    expect(r.status).toBe(401);
    expect(JSON.parse(r.text)).toMatchObject({ status: 401, code: CODE_OVER_HTTP[name] ?? code });
    if (value && value.length > 20) expect(r.text).not.toContain(value);
  });
});

it('never fetched a jku / x5u URL', () => {
  expect(sideServer.otherRequests).toBe(0);
});
