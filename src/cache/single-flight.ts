/**
 * Deduplicates concurrent work per key inside one process: while a load for a
 * key is in flight, later callers join it instead of starting their own.
 *
 * @module
 */

/** An in-flight load and the version its read started at. */
export interface Flight<T> {
  readonly promise: Promise<T>;
  readonly version: string;
}

/**
 * Per-key registry of in-flight promises. A flight is removed when it settles.
 *
 * @example
 * ```ts
 * const flights = new SingleFlight<Decision>();
 * const flight = flights.get(key) ?? flights.start(key, version, () => load(key));
 * await flight.promise;
 * ```
 */
export class SingleFlight<T> {
  private readonly flights = new Map<string, Flight<T>>();

  /** The flight for `key`, if one is running. */
  get(key: string): Flight<T> | undefined {
    return this.flights.get(key);
  }

  /** Registers `promise` as the flight for `key`, replacing (not cancelling) an older one. */
  track(key: string, version: string, promise: Promise<T>): Flight<T> {
    const flight: Flight<T> = { promise, version };
    this.flights.set(key, flight);
    const done = (): void => {
      if (this.flights.get(key) === flight) this.flights.delete(key);
    };
    promise.then(done, done);
    return flight;
  }

  /** Forgets the flight for `key` so the next caller starts a new one (after an invalidation). */
  forget(key: string): void {
    this.flights.delete(key);
  }

  /** Forgets every flight. */
  forgetAll(): void {
    this.flights.clear();
  }

  /** Number of flights in progress. */
  get size(): number {
    return this.flights.size;
  }
}
