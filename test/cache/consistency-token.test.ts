import { describe, expect, it } from 'vitest';
import { compareVersions, createVersionClock, decodeConsistencyToken, encodeConsistencyToken, isVersion } from '../../src/index.js';

describe('consistency tokens and versions', () => {
  it('round-trips versions of any size', () => {
    for (const v of ['0', '1', '42', '1732550400000001', '18446744073709551615', '99999999999999999999999999']) {
      expect(decodeConsistencyToken(encodeConsistencyToken(v))).toBe(v);
    }
    expect(decodeConsistencyToken(encodeConsistencyToken(12n))).toBe('12');
    expect(decodeConsistencyToken(encodeConsistencyToken(7))).toBe('7');
  });

  it('rejects what is not a token or version with E_INVALID_ID', () => {
    for (const bad of ['', 'sgv1.', 'sgv1.-1', 'sgv1.A', 'v2.1', 'sgv1.' + 'z'.repeat(60), 42 as unknown as string]) {
      expect(() => decodeConsistencyToken(bad)).toThrow(expect.objectContaining({ code: 'E_INVALID_ID' }));
    }
    for (const bad of ['-1', '01', 'x', 1.5, -3]) {
      expect(() => encodeConsistencyToken(bad as string)).toThrow(expect.objectContaining({ code: 'E_INVALID_ID' }));
    }
  });

  it('compares versions numerically without bigint', () => {
    expect(compareVersions('9', '10')).toBeLessThan(0);
    expect(compareVersions('10', '9')).toBeGreaterThan(0);
    expect(compareVersions('123', '123')).toBe(0);
    expect(isVersion('007')).toBe(false);
  });

  it('the clock is strictly increasing and moves past observed versions', () => {
    let wall = 1_000;
    const clock = createVersionClock(() => wall);
    const a = clock.now();
    const b = clock.now();
    expect(compareVersions(b, a)).toBeGreaterThan(0);
    clock.observe('5000000');
    expect(compareVersions(clock.now(), '5000000')).toBeGreaterThan(0);
    wall = 999; // the wall clock going backwards never makes versions go back
    expect(compareVersions(clock.now(), '5000001')).toBeGreaterThan(0);
  });
});
