import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createClient } from '@supabase/supabase-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAccessTokenVerifier, type SessionRevalidationClient } from '../../src/index.js';
import { LazyWebSocket } from '../../src/supabase.js';
import { makeKey, signToken, userClaims, type TestKey } from '../helpers/jwt.js';

// A real supabase-js client against a loopback stand-in for GoTrue's /auth/v1/user.
const revoked = new Set<string>();
let down = false;
let userCalls = 0;
const server = createServer((req, res) => {
  if (req.url !== '/auth/v1/user') return void res.writeHead(404).end();
  userCalls++;
  const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
  if (down) return void res.writeHead(503, { 'content-type': 'application/json' }).end('{"message":"unavailable"}');
  if (revoked.has(token)) {
    return void res.writeHead(403, { 'content-type': 'application/json' }).end('{"code":"session_not_found","message":"Session from session_id claim in JWT does not exist"}');
  }
  const { sub } = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { sub: string };
  res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: sub, aud: 'authenticated', role: 'authenticated' }));
});

let url: string;
let es: TestKey;
beforeAll(async () => {
  es = await makeKey('ES256');
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('revalidate with a real supabase-js client', () => {
  it('accepts a live session, rejects a revoked one, fails closed when the auth server answers 503', async () => {
    const client: SessionRevalidationClient = createClient(url, 'anon-key', {
      auth: { persistSession: false, autoRefreshToken: false },
      // Node 20 has no native WebSocket; realtime is never used here.
      realtime: { transport: LazyWebSocket as never },
    });
    const verifier = createAccessTokenVerifier({ jwks: { keys: [es.publicJwk] }, supabaseUrl: url, revalidate: { client, everyMs: 60_000, timeoutMs: 2_000 } });
    try {
      const live = await signToken(es, userClaims(`${url}/auth/v1`));
      await expect(verifier.verify(live)).resolves.toMatchObject({ iss: `${url}/auth/v1` });
      const gone = await signToken(es, userClaims(`${url}/auth/v1`));
      revoked.add(gone);
      await expect(verifier.verify(gone)).rejects.toMatchObject({ code: 'E_TOKEN_EXPIRED', status: 401 });
      down = true;
      await expect(verifier.verify(await signToken(es, userClaims(`${url}/auth/v1`)))).rejects.toMatchObject({ code: 'E_JWKS_UNAVAILABLE', status: 503 });
      expect(userCalls).toBe(3);
      // The live session was confirmed less than everyMs ago: no call, even during the outage.
      await expect(verifier.verify(live)).resolves.toBeDefined();
      expect(userCalls).toBe(3);
    } finally {
      verifier.dispose();
      down = false;
    }
  });
});
