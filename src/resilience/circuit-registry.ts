import type { CircuitBreaker } from './circuit-breaker.js';

/** The view of a breaker the registry lists: name, state, stats, listeners and `dispose`. @example `for (const b of listCircuitBreakers()) gauge.set({ name: b.name }, b.state === 'open' ? 1 : 0)` */
export type RegisteredCircuitBreaker = Pick<
  CircuitBreaker,
  'name' | 'state' | 'stats' | 'dispose' | 'onOpen' | 'onHalfOpen' | 'onClose' | 'onTimeout' | 'onReject' | 'onFailure' | 'onSuccess' | 'onFallback'
>;

// One registry per process, shared by the ESM and CJS builds and duplicate
// installs, so a metrics exporter sees every breaker.
const REGISTRY_KEY = Symbol.for('supaguard.circuitBreakers');
const globalRegistry = globalThis as unknown as Record<symbol, Set<RegisteredCircuitBreaker> | undefined>;
const registry: Set<RegisteredCircuitBreaker> = (globalRegistry[REGISTRY_KEY] ??= new Set());

/** @internal Called by the breaker constructor. */
export function registerCircuitBreaker(breaker: RegisteredCircuitBreaker): void {
  registry.add(breaker);
}

/** @internal Called by `dispose()`. */
export function unregisterCircuitBreaker(breaker: RegisteredCircuitBreaker): void {
  registry.delete(breaker);
}

/**
 * Every live (not yet disposed) circuit breaker, in creation order — for
 * metrics exporters and health endpoints. Names need not be unique.
 *
 * @example
 * ```ts
 * app.get('/health/breakers', (_req, res) => res.json(listCircuitBreakers().map((b) => b.stats())));
 * ```
 */
export function listCircuitBreakers(): ReadonlyArray<RegisteredCircuitBreaker> {
  return [...registry];
}
