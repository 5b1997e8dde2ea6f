// What the load scripts share: the bench issuer, signed tokens, the resource they ask for,
// medians, and the optional pinning of servers and autocannon to separate CPUs.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpus } from 'node:os';
import { SignJWT, exportJWK, generateKeyPair, type JWK } from 'jose';

/** The `iss` of every bench token. */
export const ISSUER = 'https://bench.supabase.co/auth/v1';
/** The project every bench request asks for (`GET /projects/:id`). */
export const RESOURCE = '5e5e5e5e-0000-4000-8000-000000000001';

/** The median of `values` (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** `count` ES256 access tokens of distinct users (2 h), and the public JWK that verifies them. */
export async function mintBenchTokens(count: number): Promise<{ jwk: JWK; tokens: string[] }> {
  const { privateKey, publicKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'bench', alg: 'ES256', use: 'sig' };
  const tokens = await Promise.all(
    Array.from({ length: count }, () =>
      new SignJWT({ role: 'authenticated' }).setProtectedHeader({ alg: 'ES256', kid: 'bench' }).setSubject(randomUUID()).setIssuer(ISSUER).setAudience('authenticated').setIssuedAt().setExpirationTime('2h').sign(privateKey),
    ),
  );
  return { jwk, tokens };
}

/**
 * With LOAD_PIN=1 and `taskset` available: CPUs for the servers (the last one) and for autocannon
 * (the others), and this process already moved to the latter. `undefined` otherwise.
 */
export function pinToCpus(): { server: string; client: string } | undefined {
  const n = cpus().length;
  if (process.env.LOAD_PIN !== '1' || n < 2) return undefined;
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  const pin = { server: String(n - 1), client: n === 2 ? '0' : `0-${n - 2}` };
  execFileSync('taskset', ['-a', '-p', '-c', pin.client, String(process.pid)], { stdio: 'ignore' });
  console.log(`servers pinned to CPU ${pin.server}, autocannon to CPU ${pin.client}`);
  return pin;
}
