import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect } from 'node:net';

/** Redis used by integration tests. */
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
/** Postgres used by integration tests. */
export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const HOW_TO_START = {
  redis: `redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no`,
  postgres: `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`,
};

function reachable(url: string, defaultPort: number): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname.replace(/^\[|\]$/g, ''), port: Number(port || defaultPort) });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Resolves true when the service answers. Under `CI=true` a missing service is a
 * failure (this throws); elsewhere it prints one loud line saying what to start,
 * and the caller skips its suite with `describe.skipIf(!available)`.
 */
export async function requireService(kind: 'redis' | 'postgres'): Promise<boolean> {
  const url = kind === 'redis' ? REDIS_URL : DATABASE_URL;
  const ok = await reachable(url, kind === 'redis' ? 6379 : 5432);
  if (ok) return true;
  const message = `${kind} is not reachable at ${url.replace(/\/\/[^@]*@/, '//')}; start it with: ${HOW_TO_START[kind]}`;
  if (process.env.CI === 'true') throw new Error(`CI=true and ${message}`);
  console.warn(`\n⚠️  SKIPPING ${kind} integration tests: ${message}\n`);
  return false;
}

/** A free TCP port on loopback. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** A private redis-server for fault tests, killed by PID. */
export interface RedisProcess {
  readonly port: number;
  readonly url: string;
  readonly pid: number | undefined;
  /** SIGKILL the server and wait for it to exit. */
  kill(): Promise<void>;
  /** Start it again on the same port. */
  restart(): Promise<void>;
  /** Stop it for good (idempotent). */
  stop(): Promise<void>;
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/**
 * Starts its own `redis-server` on a free loopback port (nothing persisted).
 * The caller must `stop()` it in `afterAll`.
 */
export async function startRedisServer(): Promise<RedisProcess> {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;

  const start = async (): Promise<void> => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    });
    await waitFor(() => reachable(url, port), 5_000, `redis-server on ${port}`);
  };
  const kill = async (): Promise<void> => {
    const current = child;
    if (!current || current.exitCode !== null || current.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => current.once('exit', () => resolve()));
    current.kill('SIGKILL');
    await exited;
  };
  await start();
  return {
    port,
    url,
    get pid() {
      return child?.pid;
    },
    kill,
    restart: start,
    stop: kill,
  };
}
