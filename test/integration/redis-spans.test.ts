/**
 * Spans around real Redis commands: a redisLayer on the shared Redis (random key
 * prefix), with supaguard/otel exporting to an in-memory span exporter.
 */
import { randomUUID } from 'node:crypto';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerOpenTelemetry } from '../../src/otel.js';
import { redisLayer } from '../../src/redis.js';
import { REDIS_URL, requireService } from '../helpers/services.js';

const available = await requireService('redis');

describe.skipIf(!available)('supaguard/otel spans around Redis commands (real Redis)', () => {
  let client: Redis;
  const prefix = `sg-test:spans:${randomUUID()}:`;

  beforeAll(async () => {
    client = new Redis(REDIS_URL);
    await client.ping();
  });
  afterAll(async () => {
    await client.unlink(`${prefix}k1`);
    client.disconnect();
  });

  it('each command of the layer is a client span named after the command', async () => {
    const exporter = new InMemorySpanExporter();
    const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const otel = registerOpenTelemetry({ tracerProvider, metrics: false });
    const layer = redisLayer<string>({ client, prefix, timeoutMs: 2_000 });
    try {
      await layer.set('k1', { value: 'v', createdAt: 0, expiresAt: Date.now() + 60_000, staleUntil: Date.now() + 60_000, version: '1', tags: [] }, 60_000);
      expect((await layer.get('k1'))?.value).toBe('v');
      await layer.getMany(['k1', 'k2']);
    } finally {
      otel.dispose();
      layer.close();
    }
    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => s.name)).toEqual(['redis set', 'redis get', 'redis mget']);
    for (const span of spans) expect(span.attributes).toMatchObject({ 'db.system': 'redis', 'supaguard.call': 'redis' });
    // Key names (which may carry user ids) are never span attributes.
    expect(JSON.stringify(spans.map((s) => s.attributes))).not.toContain(prefix);
    await tracerProvider.shutdown();
  });
});
