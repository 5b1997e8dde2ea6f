/**
 * Test helpers for the auth module: jose-generated keys, a signer that can
 * produce deliberately broken tokens, and a JWKS server on loopback.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { exportJWK, exportSPKI, generateKeyPair, type JWK } from 'jose';

export interface TestKey {
  kid: string;
  alg: 'ES256' | 'RS256';
  privateKey: CryptoKeyLike;
  publicJwk: JWK;
  publicPem: string;
}
type CryptoKeyLike = Awaited<ReturnType<typeof generateKeyPair>>['privateKey'];

export async function makeKey(alg: 'ES256' | 'RS256', kid: string = `${alg.toLowerCase()}-${randomUUID().slice(0, 8)}`): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(publicKey);
  return { kid, alg, privateKey, publicJwk: { ...jwk, kid, alg, use: 'sig' }, publicPem: await exportSPKI(publicKey) };
}

export const b64url = (data: string | Uint8Array): string => Buffer.from(data).toString('base64url');

export const nowSec = (): number => Math.floor(Date.now() / 1000);

export function userClaims(issuer: string, overrides: Record<string, unknown> = {}, at: number = nowSec()): Record<string, unknown> {
  return {
    iss: issuer,
    sub: randomUUID(),
    aud: 'authenticated',
    exp: at + 3600,
    iat: at,
    role: 'authenticated',
    aal: 'aal1',
    session_id: randomUUID(),
    email: 'user@example.com',
    app_metadata: { provider: 'email' },
    ...overrides,
  };
}

/** Signs raw header/payload text with a private key (ES256/RS256) or an HMAC secret (HS256). */
export async function signRaw(headerText: string, payloadText: string, key: { alg: string; privateKey?: CryptoKeyLike; secret?: Uint8Array }): Promise<string> {
  const input = `${b64url(headerText)}.${b64url(payloadText)}`;
  const data = new TextEncoder().encode(input);
  let signature: ArrayBuffer;
  if (key.alg === 'HS256') {
    const hmac = await crypto.subtle.importKey('raw', key.secret as Uint8Array, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    signature = await crypto.subtle.sign('HMAC', hmac, data);
  } else if (key.alg === 'ES256') {
    signature = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, key.privateKey as CryptoKeyLike, data);
  } else {
    signature = await crypto.subtle.sign('RSASSA-PKCS1-v1_5', key.privateKey as CryptoKeyLike, data);
  }
  return `${input}.${b64url(new Uint8Array(signature))}`;
}

/** Signs claims with a test key (header `{ alg, kid, typ }` plus `extraHeader`). */
export function signToken(key: TestKey, claims: unknown, extraHeader: Record<string, unknown> = {}): Promise<string> {
  return signRaw(JSON.stringify({ alg: key.alg, kid: key.kid, typ: 'JWT', ...extraHeader }), JSON.stringify(claims), key);
}

export interface JwksServer {
  /** Base URL, usable as `supabaseUrl`. */
  url: string;
  issuer: string;
  /** Keys served (mutable). */
  keys: JWK[];
  /** Delay before each answer, ms. */
  delayMs: number;
  /** Answer 503 when true. */
  failing: boolean;
  /** JWKS requests received. */
  requests: number;
  /** Requests to any other path. */
  otherRequests: number;
  stop(): Promise<void>;
}

export async function startJwksServer(keys: JWK[]): Promise<JwksServer> {
  const sockets = new Set<Socket>();
  const state: JwksServer = {
    url: '',
    issuer: '',
    keys,
    delayMs: 0,
    failing: false,
    requests: 0,
    otherRequests: 0,
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server: Server = createServer((req, res) => {
    if (req.url !== '/auth/v1/.well-known/jwks.json') {
      state.otherRequests++;
      res.writeHead(404).end();
      return;
    }
    state.requests++;
    const answer = (): void => {
      if (state.failing) res.writeHead(503).end('down');
      else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: state.keys }));
    };
    if (state.delayMs > 0) setTimeout(answer, state.delayMs).unref();
    else answer();
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  state.url = `http://127.0.0.1:${port}`;
  state.issuer = `${state.url}/auth/v1`;
  return state;
}
