import type { InvalidationScope, InvalidationTarget } from '../../src/postgres.js';

/**
 * A minimal cache for listener tests: entries indexed by user, resource and tags,
 * with every invalidate / clear call recorded.
 */
export class RecordingCache implements InvalidationTarget {
  readonly entries = new Map<string, { userId: string; resourceId: string; tags: string[] }>();
  readonly calls: InvalidationScope[] = [];
  clears = 0;

  set(userId: string, resourceId: string, tags: string[] = []): void {
    this.entries.set(`${userId}:${resourceId}`, { userId, resourceId, tags });
  }

  has(userId: string, resourceId: string): boolean {
    return this.entries.has(`${userId}:${resourceId}`);
  }

  invalidate(scope: InvalidationScope): void {
    this.calls.push(scope);
    for (const [key, e] of this.entries) {
      if (('userId' in scope && e.userId === scope.userId) || ('resourceId' in scope && e.resourceId === scope.resourceId) || ('tag' in scope && e.tags.includes(scope.tag))) {
        this.entries.delete(key);
      }
    }
  }

  clear(): void {
    this.clears += 1;
    this.entries.clear();
  }
}

/** Polls `check` every 5 ms until it is true; fails after `timeoutMs`. */
export async function eventually(check: () => boolean, timeoutMs = 5_000, what = 'condition'): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
