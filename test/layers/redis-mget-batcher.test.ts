import { describe, expect, it } from 'vitest';
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
      batcher.read(['a', 'stamp:*', 'miss-1'], Infinity),
      batcher.read(['b', 'stamp:*', 'a'], Infinity),
      batcher.read(['stamp:*'], Infinity),
    ]);
    expect(sent).toEqual([['a', 'stamp:*', 'miss-1', 'b']]);
    expect(results.map(text)).toEqual([['a', 'stamp:*', null], ['b', 'stamp:*', 'a'], ['stamp:*']]);
  });

  it('times out a stalled batch at timeoutMs with one watchdog timer, and later batches get their own full limit', async () => {
    const batcher = new MgetBatcher(() => new Promise(() => undefined), 60);
    const started = performance.now();
    const first = batcher.read(['a'], Infinity).catch((e: unknown) => ({ e, at: performance.now() - started }));
    await new Promise((r) => setTimeout(r, 30));
    const second = batcher.read(['b'], Infinity).catch((e: unknown) => ({ e, at: performance.now() - started }));
    type Failure = { e: { code: string }; at: number };
    const [a, b] = (await Promise.all([first, second])) as [Failure, Failure];
    expect(a.e.code).toBe('E_TIMEOUT');
    expect(b.e.code).toBe('E_TIMEOUT');
    expect(a.at).toBeGreaterThanOrEqual(55);
    expect(b.at).toBeGreaterThanOrEqual(85); // 30 ms later start + its own 60 ms
    expect(b.at).toBeLessThan(1_000);
  });

  it('a caller’s request deadline ends its wait (E_DEADLINE) without failing the others in the batch', async () => {
    let release: (raws: Array<Buffer | null>) => void = () => undefined;
    const batcher = new MgetBatcher((keys) => new Promise((resolve) => (release = () => resolve(reply(keys)))), 5_000);
    const started = performance.now();
    const bounded = batcher.read(['a'], performance.now() + 30).catch((e: unknown) => e);
    const patient = batcher.read(['b'], Infinity);
    const err = (await bounded) as { code: string };
    expect(err.code).toBe('E_DEADLINE');
    expect(performance.now() - started).toBeGreaterThanOrEqual(25);
    expect(performance.now() - started).toBeLessThan(2_000);
    release([]);
    expect(text(await patient)).toEqual(['b']);
  });

  it('fails waiting and queued reads at once when the connection is lost', async () => {
    const batcher = new MgetBatcher(() => new Promise(() => undefined), 5_000);
    const inFlight = batcher.read(['a'], Infinity);
    await Promise.resolve();
    await Promise.resolve();
    const queued = batcher.read(['b'], Infinity);
    batcher.failAll(new Error('Redis connection closed'));
    await expect(inFlight).rejects.toThrow('Redis connection closed');
    await expect(queued).rejects.toThrow('Redis connection closed');
  });

  it('readThen settles like read().then(onValue, onError): each caller’s continuation decides its own outcome', async () => {
    const batcher = new MgetBatcher(async (keys) => reply(keys), 1_000);
    const [value, thrown, plain] = await Promise.allSettled([
      batcher.readThen(['a', 'miss'], Infinity, (raws) => text(raws).join('|'), () => 'onError must not run'),
      batcher.readThen(['b'], Infinity, () => {
        throw new Error('continuation failed');
      }, () => 'onError must not run'),
      batcher.readThen(['c'], Infinity, undefined, undefined),
    ]);
    expect(value).toEqual({ status: 'fulfilled', value: 'a|' });
    expect(thrown).toMatchObject({ status: 'rejected', reason: { message: 'continuation failed' } });
    expect(plain.status === 'fulfilled' && text(plain.value as Array<Buffer | null>)).toEqual(['c']);

    const failing = new MgetBatcher(() => Promise.reject(new Error('down')), 1_000);
    const recovered = await failing.readThen(['a'], Infinity, () => 'onValue must not run', (err) => `recovered from ${(err as Error).message}`);
    expect(recovered).toBe('recovered from down');
    await expect(failing.readThen(['a'], Infinity, undefined, (err) => Promise.reject(err))).rejects.toThrow('down');
  });
});
