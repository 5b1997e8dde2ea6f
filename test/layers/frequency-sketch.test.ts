import { describe, expect, it } from 'vitest';
import { FrequencySketch } from '../../src/layers/frequency-sketch.js';

describe('FrequencySketch', () => {
  it('never under-counts a key before aging, up to the 4-bit ceiling', () => {
    const sketch = new FrequencySketch(1_000, 42);
    const keys = Array.from({ length: 2_000 }, (_, i) => `authz:user-${i}:res-${i % 37}:read`);
    const counts = new Map<string, number>();
    // 1,000 keys seen 1–9 times each, interleaved: 5,000 increments, below the aging period of 10,000.
    for (let round = 0; round < 9; round++) {
      for (const [i, key] of keys.slice(0, 1_000).entries()) {
        if (i % 9 < round) continue;
        sketch.increment(sketch.hash(key));
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
    }
    expect([...counts.values()].reduce((a, b) => a + b, 0)).toBeLessThan(sketch.sampleSize);
    for (const [key, count] of counts) expect(sketch.frequency(sketch.hash(key))).toBeGreaterThanOrEqual(count);
    // Collisions over-count, but only a little at this load: most never-seen keys still read 0.
    const unseen = keys.slice(1_000).filter((key) => sketch.frequency(sketch.hash(key)) === 0).length;
    expect(unseen).toBeGreaterThan(900);
  });

  it('saturates at 15', () => {
    const sketch = new FrequencySketch(100);
    const h = sketch.hash('hot');
    for (let i = 0; i < 40; i++) sketch.increment(h);
    expect(sketch.frequency(h)).toBe(15);
  });

  it('halves every count when aging, by itself after sampleSize increments', () => {
    const sketch = new FrequencySketch(10, 7);
    const hot = sketch.hash('hot');
    for (let i = 0; i < 12; i++) sketch.increment(hot);
    expect(sketch.frequency(hot)).toBe(12);
    sketch.age();
    expect(sketch.frequency(hot)).toBe(6);
    // Within sampleSize increments of other keys, the sketch ages by itself: hot's estimate halves (collisions
    // only ever raise it, so a drop is an aging).
    let previous = sketch.frequency(hot);
    let agedAfter = -1;
    for (let i = 0; i < sketch.sampleSize; i++) {
      sketch.increment(sketch.hash(`k${i}`));
      const now = sketch.frequency(hot);
      if (now < previous) {
        agedAfter = i;
        expect(now).toBeLessThanOrEqual(Math.ceil(previous / 2));
        break;
      }
      previous = now;
    }
    expect(agedAfter).toBeGreaterThanOrEqual(0);
  });

  it('forgets every count on clear', () => {
    const sketch = new FrequencySketch(100);
    const h = sketch.hash('k');
    sketch.increment(h);
    sketch.clear();
    expect(sketch.frequency(h)).toBe(0);
  });

  it('keeps a fixed table of about 8 bytes per entry of capacity, whatever it counts', () => {
    const sketch = new FrequencySketch(50_000);
    expect(sketch.byteLength).toBe(524_288); // 2^16 entries × 8 bytes: 50,000 rounded up to a power of two
    const bytes = sketch.byteLength;
    for (let i = 0; i < 200_000; i++) sketch.increment(sketch.hash(`key-${i}`));
    expect(sketch.byteLength).toBe(bytes);
    expect(new FrequencySketch(1).byteLength).toBe(32); // the 64-counter floor (16 counters for one entry would be 8 bytes)
  });

  it('hashes with a per-sketch seed', () => {
    const a = new FrequencySketch(100, 1);
    const b = new FrequencySketch(100, 2);
    expect(a.hash('authz:x')).toBe(a.hash('authz:x'));
    expect(a.hash('authz:x')).not.toBe(b.hash('authz:x'));
  });

  it('rejects a bad capacity with E_CONFIG', () => {
    expect(() => new FrequencySketch(0)).toThrow(expect.objectContaining({ code: 'E_CONFIG' }));
    expect(() => new FrequencySketch(1.5)).toThrow(expect.objectContaining({ code: 'E_CONFIG' }));
  });
});
