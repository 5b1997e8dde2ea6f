import { randomUUID } from 'node:crypto';
import type { AuthorizationRequest, CacheEntry, CacheLayer, Decision, InvalidationBus, InvalidationHandlers, InvalidationMessage } from '../../src/index.js';
import { MemoryLayer } from '../../src/index.js';

/** A loader whose answers and failures the test controls, counting calls. */
export function controllableLoader(decide: (request: AuthorizationRequest) => Decision = () => ({ allowed: true })) {
  const state = {
    calls: 0,
    requests: [] as AuthorizationRequest[][],
    fail: undefined as Error | undefined,
    delayMs: 0,
    hang: false,
    decide,
  };
  const loader = async (requests: readonly AuthorizationRequest[], { signal }: { signal: AbortSignal }): Promise<Decision[]> => {
    state.calls++;
    state.requests.push([...requests]);
    // Answers are read at the start, like a database snapshot taken when the query begins.
    const answers = requests.map((r) => state.decide(r));
    if (state.hang) {
      await new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true }));
    }
    if (state.delayMs > 0) await new Promise((r) => setTimeout(r, state.delayMs));
    if (state.fail) throw state.fail;
    return answers;
  };
  return { loader, state };
}

/** A memory store shared by several caches, standing in for Redis in unit tests. */
export class SharedRemoteLayer<V> implements CacheLayer<V> {
  readonly name = 'shared';
  readonly kind = 'remote' as const;
  readonly store = new MemoryLayer<V>({ max: 100_000 });
  get = (key: string): Promise<CacheEntry<V> | undefined> => this.store.get(key);
  getMany = (keys: readonly string[]): Promise<Array<CacheEntry<V> | undefined>> => this.store.getMany(keys);
  set = (key: string, entry: CacheEntry<V>, ttlMs: number): Promise<void> => this.store.set(key, entry, ttlMs);
  delete = (key: string): Promise<void> => this.store.delete(key);
  deleteMany = (keys: readonly string[]): Promise<void> => this.store.deleteMany(keys);
  clear = (prefix?: string): Promise<void> => this.store.clear(prefix);
}

/** An in-process bus connecting caches in one test. */
export class LocalBus implements InvalidationBus {
  readonly handlers = new Set<InvalidationHandlers>();
  readonly published: InvalidationMessage[] = [];
  async publish(message: InvalidationMessage): Promise<void> {
    this.published.push(message);
    for (const h of this.handlers) h.onMessage(message);
  }
  subscribe(handlers: InvalidationHandlers): () => void {
    this.handlers.add(handlers);
    return () => this.handlers.delete(handlers);
  }
  reconnect(): void {
    for (const h of this.handlers) h.onReconnect();
  }
}

export const req = (userId: string = randomUUID(), resourceId: string = randomUUID(), action = 'read'): AuthorizationRequest => ({ userId, resourceId, action });
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
