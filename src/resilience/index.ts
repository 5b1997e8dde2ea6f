export {
  withDeadline,
  remainingMs,
  currentDeadline,
  deadlineSignal,
  resolveBudget,
  abortError,
  DEFAULT_DEADLINE_FLOOR_MS,
  type WithDeadlineOptions,
  type DeadlineInfo,
  type Budget,
} from './deadline.js';
export { withTimeout, type WithTimeoutOptions } from './timeout.js';
export {
  createCircuitBreaker,
  CircuitBreaker,
  type CircuitBreakerOptions,
  type CircuitBreakerStats,
  type CircuitState,
} from './circuit-breaker.js';
export { listCircuitBreakers, type RegisteredCircuitBreaker } from './circuit-registry.js';
export type { LatencySummary } from './latency-window.js';
export type { Disposer } from './listeners.js';
export type { ExecuteOptions, ResiliencePolicy } from './policy.js';
export { createTimeout, type TimeoutPolicy, type TimeoutPolicyOptions } from './timeout.js';
export { createBulkhead, Bulkhead, type BulkheadOptions, type BulkheadStats } from './bulkhead.js';
export { retry, isRetryableError, type RetryOptions } from './retry.js';
export { createRetryBudget, RetryBudget, type RetryBudgetOptions, type RetryBudgetStats } from './retry-budget.js';
export { compose } from './compose.js';
