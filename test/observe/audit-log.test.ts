import { describe, expect, it } from 'vitest';
import { ConfigurationError, channels, createAuditLog, subscribe, withDeadline, type AuditDropEvent, type AuditRecord, type AuditSink } from '../../src/index.js';

/** A sink that records batches and can be told to fail or hang. */
class RecordingSink implements AuditSink {
  batches: AuditRecord[][] = [];
  failing = false;
  hang = false;
  calls = 0;
  async write(batch: readonly AuditRecord[]): Promise<void> {
    this.calls++;
    if (this.hang) return new Promise(() => undefined);
    if (this.failing) throw Object.assign(new Error('connection refused'), { code: 'ECONNREFUSED' });
    this.batches.push([...batch]);
  }
  get entries(): AuditRecord[] {
    return this.batches.flat();
  }
}

const waitUntil = async (check: () => boolean, ms = 5_000): Promise<void> => {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('createAuditLog', () => {
  it('log() is synchronous and writes full batches in the background', async () => {
    const sink = new RecordingSink();
    const audit = createAuditLog({ sink, batchSize: 10, flushMs: 60_000 });
    for (let i = 0; i < 25; i++) expect(audit.log({ action: 'read', resourceId: String(i) })).toBeUndefined();
    expect(sink.calls).toBe(0); // nothing happened on the caller's stack
    await waitUntil(() => sink.entries.length === 20);
    expect(sink.batches.map((b) => b.length)).toEqual([10, 10]);
    expect(audit.stats()).toMatchObject({ buffered: 5, written: 20, batches: 2, dropped: 0 });
    await audit.close();
    expect(sink.entries.map((e) => e.resourceId)).toEqual(Array.from({ length: 25 }, (_, i) => String(i)));
  });

  it('writes a partial batch after flushMs and stamps `at`', async () => {
    const sink = new RecordingSink();
    const audit = createAuditLog({ sink, batchSize: 100, flushMs: 30 });
    const before = Date.now();
    audit.log({ action: 'a' });
    audit.log({ action: 'b', at: 42 });
    await waitUntil(() => sink.entries.length === 2);
    expect(sink.entries[0]?.at).toBeGreaterThanOrEqual(before);
    expect(sink.entries[1]?.at).toBe(42);
    await audit.close();
  });

  it('keeps entries while the sink fails, retries, and loses nothing once it recovers', async () => {
    const sink = new RecordingSink();
    const audit = createAuditLog({ sink, batchSize: 5, flushMs: 10, maxBuffer: 100, retryDelayMs: 5, maxRetryDelayMs: 20, maxAttempts: 1_000 });
    const errors: boolean[] = [];
    const off = audit.onError((_err, { willRetry }) => errors.push(willRetry));
    sink.failing = true;
    for (let i = 0; i < 50; i++) audit.log({ action: 'x', resourceId: String(i) });
    await waitUntil(() => errors.length >= 3);
    expect(audit.stats()).toMatchObject({ buffered: 50, written: 0, dropped: 0, lastError: 'ECONNREFUSED' });
    sink.failing = false;
    await waitUntil(() => sink.entries.length === 50);
    expect(sink.entries.map((e) => e.resourceId)).toEqual(Array.from({ length: 50 }, (_, i) => String(i)));
    expect(errors.every(Boolean)).toBe(true);
    off();
    await audit.close();
    expect(audit.stats().dropped).toBe(0);
  });

  it('drops and counts entries past maxBuffer, never throwing', async () => {
    const sink = new RecordingSink();
    sink.failing = true;
    const audit = createAuditLog({ sink, batchSize: 10, flushMs: 10, maxBuffer: 30, retryDelayMs: 5, maxAttempts: 1_000 });
    const drops: AuditDropEvent[] = [];
    const dispose = subscribe(channels.auditDrop, (e) => drops.push(e));
    for (let i = 0; i < 100; i++) audit.log({ action: 'x', resourceId: String(i) });
    dispose();
    expect(audit.stats()).toMatchObject({ buffered: 30, dropped: 70 });
    expect(drops).toHaveLength(70);
    expect(drops[0]).toEqual({ count: 1, reason: 'queue-full' });
    sink.failing = false;
    await audit.close();
    expect(sink.entries.map((e) => e.resourceId)).toEqual(Array.from({ length: 30 }, (_, i) => String(i)));
    expect(audit.stats()).toMatchObject({ written: 30, dropped: 70, buffered: 0 });
  });

  it('gives a batch up after maxAttempts and counts it as dropped', async () => {
    const sink = new RecordingSink();
    sink.failing = true;
    const audit = createAuditLog({ sink, batchSize: 4, flushMs: 10, retryDelayMs: 1, maxAttempts: 3 });
    const seen: Array<[number, boolean]> = [];
    audit.onError((_e, info) => seen.push([info.attempt, info.willRetry]));
    for (let i = 0; i < 4; i++) audit.log({ action: 'x' });
    await waitUntil(() => audit.stats().dropped === 4);
    expect(seen).toEqual([
      [1, true],
      [2, true],
      [3, false],
    ]);
    expect(audit.stats()).toMatchObject({ buffered: 0, written: 0, failedWrites: 3 });
    await audit.close();
  });

  it('bounds a hanging sink write by writeTimeoutMs', async () => {
    const sink = new RecordingSink();
    sink.hang = true;
    const audit = createAuditLog({ sink, batchSize: 1, flushMs: 10, writeTimeoutMs: 20, retryDelayMs: 1, maxAttempts: 2 });
    audit.log({ action: 'x' });
    await waitUntil(() => audit.stats().dropped === 1);
    expect(audit.stats().lastError).toBe('E_TIMEOUT');
    await audit.close();
  });

  it("a request's deadline does not bound the background write", async () => {
    const sink = new RecordingSink();
    let resolveSlow: (() => void) | undefined;
    const slowSink: AuditSink = {
      write: (batch) =>
        new Promise<void>((resolve) => {
          resolveSlow = () => {
            sink.batches.push([...batch]);
            resolve();
          };
        }),
    };
    const audit = createAuditLog({ sink: slowSink, batchSize: 1, flushMs: 10, writeTimeoutMs: 5_000, maxAttempts: 1 });
    await withDeadline(5, async () => audit.log({ action: 'in-request' }));
    await new Promise((r) => setTimeout(r, 40)); // well past the 5 ms request deadline
    resolveSlow?.();
    await audit.close();
    expect(audit.stats()).toMatchObject({ written: 1, dropped: 0, failedWrites: 0 });
  });

  it('after close(), log() drops and counts', async () => {
    const sink = new RecordingSink();
    const audit = createAuditLog({ sink, batchSize: 2, flushMs: 1_000 });
    audit.log({ action: 'kept' });
    await audit.close();
    audit.log({ action: 'late' });
    expect(sink.entries.map((e) => e.action)).toEqual(['kept']);
    expect(audit.stats()).toMatchObject({ closed: true, dropped: 1 });
    await audit.close(); // idempotent
  });

  it('rejects invalid configuration with ConfigurationError', () => {
    expect(() => createAuditLog({} as never)).toThrow(ConfigurationError);
    expect(() => createAuditLog({ sink: new RecordingSink(), batchSize: 0 })).toThrow(/batchSize/);
    expect(() => createAuditLog({ sink: new RecordingSink(), batchSize: 10, maxBuffer: 5 })).toThrow(/maxBuffer/);
  });
});
