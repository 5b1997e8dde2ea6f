import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DATABASE_URL } from './services.js';

const FIXTURE = fileURLToPath(new URL('../integration/fixtures/cache-process.ts', import.meta.url));

interface Reply {
  type: 'reply';
  id: number;
  allowed?: boolean | null;
  error?: string;
}

/** A cache + listener in a child process (see `test/integration/fixtures/cache-process.ts`). */
export interface CacheProcess {
  readonly child: ChildProcess;
  check(userId: string, resourceId: string, token?: string): Promise<boolean>;
  peek(userId: string, resourceId: string): Promise<boolean | null>;
  /** Called with the user ids of every notification the child's listener applied, as it reports them. */
  onInvalidated(handler: (userIds: string[]) => void): () => void;
  /** Stops the child's listener (its cache stays). */
  stopListener(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Forks one cache process (tsx loader) and waits for it to be ready (its listener
 * connected when `listen` is true). Kill it by `close()`; a stuck child is killed by PID.
 */
export async function startCacheProcess(options: { schema: string; channel: string; listen: boolean }): Promise<CacheProcess> {
  const child = fork(FIXTURE, [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, DATABASE_URL, SG_SCHEMA: options.schema, SG_CHANNEL: options.channel, SG_LISTEN: options.listen ? '1' : '0' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let nextId = 0;
  const pending = new Map<number, (reply: Reply) => void>();
  const invalidationHandlers = new Set<(userIds: string[]) => void>();
  child.on('message', (raw) => {
    const message = raw as { type: string; id?: number; userIds?: string[] };
    if (message.type === 'reply') pending.get(message.id as number)?.(message as Reply);
    if (message.type === 'invalidated') for (const handler of invalidationHandlers) handler(message.userIds ?? []);
  });
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('cache process did not start')), 20_000);
    child.once('exit', (code) => reject(new Error(`cache process exited with ${code}`)));
    child.on('message', (raw) => {
      if ((raw as { type: string }).type === 'ready') {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  const call = (request: Record<string, unknown>): Promise<Reply> =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, (reply) => {
        pending.delete(id);
        if (reply.error !== undefined) reject(new Error(reply.error));
        else resolve(reply);
      });
      child.send({ ...request, id });
    });
  return {
    child,
    check: async (userId, resourceId, token) => (await call({ type: 'check', userId, resourceId, token })).allowed === true,
    peek: async (userId, resourceId) => (await call({ type: 'peek', userId, resourceId })).allowed ?? null,
    stopListener: async () => void (await call({ type: 'stop-listener' })),
    onInvalidated(handler) {
      invalidationHandlers.add(handler);
      return () => void invalidationHandlers.delete(handler);
    },
    async close() {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      try {
        await call({ type: 'close' }).catch(() => child.kill('SIGKILL'));
        await exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
