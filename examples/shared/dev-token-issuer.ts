// ──────────────────────────────────────────────────────────────────────────────
// DEVELOPMENT ONLY — a stand-in for Supabase Auth. It generates an ES256 key pair
// at start, serves its JWKS on loopback and signs tokens shaped like Supabase's
// for any user id you ask for. Never run it in production: in production the
// tokens come from Supabase Auth and the verifier reads its JWKS.
// ──────────────────────────────────────────────────────────────────────────────
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';

/** The running stand-in issuer. */
export interface DevTokenIssuer {
  /** `http://127.0.0.1:<port>/auth/v1`, the `iss` of its tokens. */
  readonly issuer: string;
  /** Where its JWKS is served. */
  readonly jwksUrl: string;
  /** A Supabase-shaped access token for `userId`. */
  issue(userId: string, options?: { expiresInSec?: number; email?: string }): Promise<string>;
  close(): Promise<void>;
}

/** Starts the development token issuer on a free loopback port. */
export async function startDevTokenIssuer(): Promise<DevTokenIssuer> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const kid = `dev-${randomUUID().slice(0, 8)}`;
  const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' }] });
  const server: Server = createServer((req, res) => {
    if (req.url === '/auth/v1/.well-known/jwks.json') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=600' }).end(jwks);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const issuer = `${base}/auth/v1`;
  return {
    issuer,
    jwksUrl: `${issuer}/.well-known/jwks.json`,
    issue: (userId, options) =>
      new SignJWT({ role: 'authenticated', aal: 'aal1', session_id: randomUUID(), ...(options?.email ? { email: options.email } : {}) })
        .setProtectedHeader({ alg: 'ES256', kid, typ: 'JWT' })
        .setSubject(userId)
        .setIssuer(issuer)
        .setAudience('authenticated')
        .setIssuedAt()
        .setExpirationTime(Math.floor(Date.now() / 1000) + (options?.expiresInSec ?? 3600))
        .sign(privateKey),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
