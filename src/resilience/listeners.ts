/** Removes the listener it was returned for; calling it twice is harmless. @example `const off: Disposer = breaker.onOpen(alert); off();` */
export type Disposer = () => void;

/**
 * A minimal typed listener list: `add` returns a disposer, `emit` calls every
 * listener and keeps going when one throws (the throw becomes a process warning,
 * never a failed call).
 *
 * @example
 * ```ts
 * const opened = new Listeners<[name: string]>();
 * const dispose = opened.add((name) => console.log(`${name} opened`));
 * opened.emit('redis');
 * dispose();
 * ```
 */
export class Listeners<A extends unknown[]> {
  private readonly set = new Set<(...args: A) => void>();

  /** Registers `listener`; returns its disposer. */
  add(listener: (...args: A) => void): Disposer {
    // Wrap so the same function registered twice is called twice and disposed separately.
    const entry = (...args: A): void => listener(...args);
    this.set.add(entry);
    return () => {
      this.set.delete(entry);
    };
  }

  /** Number of registered listeners. */
  get size(): number {
    return this.set.size;
  }

  /** Calls every listener with `args`. */
  emit(...args: A): void {
    if (this.set.size === 0) return;
    for (const listener of this.set) {
      try {
        listener(...args);
      } catch (err) {
        process.emitWarning(err instanceof Error ? err : String(err), { code: 'SUPAGUARD_LISTENER_THREW' });
      }
    }
  }

  /** Removes every listener. */
  clear(): void {
    this.set.clear();
  }
}
