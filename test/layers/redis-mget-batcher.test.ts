import { describe, expect, it } from 'vitest';
import { withDeadline } from '../../src/index.js';
import { MgetBatcher } from '../../src/layers/redis-mget-batcher.js';

const reply = (keys: readonly string[]): Array<Buffer | null> => keys.map((k) => (k.startsWith('miss') ? null : Buffer.from(k)));
const text = (raws: Array<Buffer | null>): Array<string | null> => raws.map((b) => (b === null ? null : b.toString()));

describe('MgetBatcher', () => {
  it('sends one MGET per tick with each key once, and gives each caller its own keys in order', async () => {
    const sent: string[][] = [];
    const batcher = new MgetBatcher(async (keys) => {
      sent.push([...keys]);
      return reply(keys);
    }, 1_000);
    const results = await Promise.all([
      batcher.read(['a', 'stamp:*', 'miss-1'], undefined),
      batcher.read(['b', 'stamp:*', 'a'], undefined),
      batcher.read(['stamp:*'], undefined),
    ]);
    expect(sent).toEqual([['a', 'stamp:*', 'miss-1', 'b']]);
    expect(results.map(text)).toEqual([['a', 'stamp:*', null], ['b', 'stamp:*', 'a'], ['stamp:*']]);
  });

  it('times out a stalled batch at timeoutMs with one watchdog timer, and later batches get their own full limit', async () => {
    const batcher = new MgetBatcher(() => new Promise(() => undefined), 60);
    const started = performance.now();
    const first = batcher.read(['a'], undefined).catch((e: unknown) => ({ e, at: performance.now() - started }));
    await new Promise((r) => setTimeout(r, 30));
    const second = batcher.read(['b'], undefined).catch((e: unknown) => ({ e, at: performance.now() - started }));
    const [a, b] = (await Promise.all([first, second])) as Array<{ e: { code: string }; at: number }>;
    expect(a.e.code).toBe('E_TIMEOUT');
    expect(b.e.code).toBe('E_TIMEOUT');
    expect(a.at).toBeGreaterThanOrEqual(55);
    expect(b.at).toBeGreaterThanOrEqual(85); // 30 ms later start + its own 60 ms
    expect(b.at).toBeLessThan(1_000);
  });

  it('a caller’s request deadline ends its wait without failing the others in the batch', async () => {
    let release: (raws: Array<Buffer | null>) => void = () => undefined;
    const batcher = new MgetBatcher((keys) => new Promise((resolve) => (release = () => resolve(reply(keys)))), 5_000);
    const bounded = withDeadline(30, (signal) => batcher.read(['a'], signal)).catch((e: unknown) => e);
    const patient = batcher.read(['b'], undefined);
    const err = (await bounded) as { code: string };
    expect(err.code).toBe('E_DEADLINE');
    release([]);
    expect(text(await patient)).toEqual(['b']);
  });

  it('fails waiting and queued reads at once when the connection is lost', async () => {
    const batcher = new MgetBatcher(() => new Promise(() => undefined), 5_000);
    const inFlight = batcher.read(['a'], undefined);
    await Promise.resolve();
    await Promise.resolve();
    const queued = batcher.read(['b'], undefined);
    batcher.failAll(new Error('Redis connection closed'));
    await expect(inFlight).rejects.toThrow('Redis connection closed');
    await expect(queued).rejects.toThrow('Redis connection closed');
  });
});
