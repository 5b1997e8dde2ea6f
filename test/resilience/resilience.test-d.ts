import { describe, expectTypeOf, it } from 'vitest';
import {
  compose,
  createBulkhead,
  createCircuitBreaker,
  createTimeout,
  retry,
  withDeadline,
  withTimeout,
  type CircuitBreaker,
  type ResiliencePolicy,
} from '../../src/index.js';

describe('resilience public types', () => {
  it('a breaker keeps the argument and result types of its fn', () => {
    const breaker = createCircuitBreaker(async (_signal: AbortSignal, id: string, n: number) => ({ id, n }), { name: 't' });
    expectTypeOf(breaker).toEqualTypeOf<CircuitBreaker<[id: string, n: number], { id: string; n: number }>>();
    expectTypeOf(breaker.fire('a', 1)).toEqualTypeOf<Promise<{ id: string; n: number }>>();
    // @ts-expect-error wrong argument type
    void breaker.fire(1, 1);
    // @ts-expect-error the fallback must answer with the result type
    createCircuitBreaker(async () => 1, { name: 't', fallback: () => 'x' });
  });

  it('execute and compose infer the result of the work', () => {
    const unbound = createCircuitBreaker({ name: 'u' });
    expectTypeOf(unbound.execute(async () => 42)).toEqualTypeOf<Promise<number>>();
    const policy = compose(createBulkhead({ concurrency: 1 }), unbound, createTimeout({ ms: 10 }));
    expectTypeOf(policy).toEqualTypeOf<ResiliencePolicy>();
    expectTypeOf(policy.execute((signal) => signal.aborted)).toEqualTypeOf<Promise<boolean>>();
  });

  it('withTimeout, withDeadline and retry return what fn returns', () => {
    expectTypeOf(withTimeout(async () => 'x', { ms: 10 })).toEqualTypeOf<Promise<string>>();
    expectTypeOf(withDeadline(10, () => 1)).toEqualTypeOf<Promise<number>>();
    expectTypeOf(retry(async (_s, attempt) => attempt, { idempotent: true })).toEqualTypeOf<Promise<number>>();
    // @ts-expect-error the fallback must answer with the same type
    void withTimeout(async () => 'x', { ms: 10, fallback: () => 1 });
    // @ts-expect-error retry requires idempotent: true
    void retry(async () => 1, { attempts: 3 });
  });
});
