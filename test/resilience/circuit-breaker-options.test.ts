import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../src/errors.js';
import { resolveOptions, type CircuitBreakerOptions } from '../../src/resilience/circuit-breaker-options.js';

function fieldOf(options: unknown): string | undefined {
  try {
    resolveOptions(options as CircuitBreakerOptions<[], never>);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigurationError);
    return (err as ConfigurationError).field;
  }
  return undefined;
}

describe('resolveOptions', () => {
  it('applies the defaults', () => {
    expect(resolveOptions({ name: 'redis' })).toEqual({
      name: 'redis',
      timeoutMs: 5_000,
      resetTimeoutMs: 10_000,
      halfOpenTrials: 1,
      windowMs: 10_000,
      buckets: 10,
      errorThresholdPercentage: 50,
      volumeThreshold: 5,
      latencySamples: 256,
    });
  });

  it('keeps valid values, Infinity as the own timeout and 0 % as the threshold', () => {
    expect(
      resolveOptions({ name: 'jwks', timeoutMs: Infinity, resetTimeoutMs: 500, halfOpenTrials: 3, rollingWindowMs: 2_000, rollingBuckets: 4, errorThresholdPercentage: 0, latencySamples: 8 }),
    ).toEqual({ name: 'jwks', timeoutMs: Infinity, resetTimeoutMs: 500, halfOpenTrials: 3, windowMs: 2_000, buckets: 4, errorThresholdPercentage: 0, volumeThreshold: 5, latencySamples: 8 });
  });

  it.each([
    [null, 'options'],
    ['redis', 'options'],
    [{}, 'name'],
    [{ name: '' }, 'name'],
    [{ name: 'x', timeoutMs: 0 }, 'timeoutMs'],
    [{ name: 'x', resetTimeoutMs: -1 }, 'resetTimeoutMs'],
    [{ name: 'x', halfOpenTrials: 1.5 }, 'halfOpenTrials'],
    [{ name: 'x', rollingWindowMs: Number.NaN }, 'rollingWindowMs'],
    [{ name: 'x', rollingBuckets: 0 }, 'rollingBuckets'],
    [{ name: 'x', errorThresholdPercentage: 101 }, 'errorThresholdPercentage'],
    [{ name: 'x', resetTimeoutMs: Infinity }, 'resetTimeoutMs'],
    [{ name: 'x', rollingWindowMs: Infinity }, 'resetTimeoutMs'],
    [{ name: 'x', latencySamples: 0 }, 'latencySamples'],
  ])('rejects %o, naming %s', (options, field) => {
    expect(fieldOf(options)).toBe(field);
  });

  it('reports the first invalid option, in the order the breaker checks them', () => {
    expect(fieldOf({ name: '', timeoutMs: 0 })).toBe('name');
    expect(fieldOf({ name: 'x', latencySamples: 0, timeoutMs: 0 })).toBe('timeoutMs');
    expect(fieldOf({ name: 'x', latencySamples: 0, errorThresholdPercentage: -1 })).toBe('errorThresholdPercentage');
  });

  it('validates volumeThreshold with the others: an integer >= 0, 5 by default', () => {
    expect(fieldOf({ name: 'x', volumeThreshold: -1 })).toBe('volumeThreshold');
    expect(fieldOf({ name: 'x', volumeThreshold: 2.5 })).toBe('volumeThreshold');
    expect(resolveOptions({ name: 'x' }).volumeThreshold).toBe(5);
    expect(resolveOptions({ name: 'x', volumeThreshold: 0 }).volumeThreshold).toBe(0);
  });
});
