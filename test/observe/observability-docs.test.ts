import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { channels, tracing } from '../../src/observe/channels.js';
import { METRICS } from '../../src/observe/metric-catalog.js';

const doc = readFileSync(new URL('../../docs/observability.md', import.meta.url), 'utf8');

describe('docs/observability.md', () => {
  it.each(Object.values(METRICS))('lists $name with its type and labels', (metric) => {
    const row = doc.split('\n').find((line) => line.startsWith(`| \`supaguard_${metric.name}\` |`));
    expect(row, `no row for ${metric.name}`).toBeDefined();
    const cells = row?.split(' | ') ?? [];
    expect(cells[1]).toBe(`\`supaguard.${metric.otelName}\``);
    expect(cells[2]).toBe(metric.type);
    for (const label of metric.labels) expect(cells[3]).toContain(`\`${label}\``);
  });

  it('names every channel and tracing channel', () => {
    for (const channel of Object.values(channels)) {
      const [, component, event] = channel.name.split(':');
      expect(doc.includes(`\`${channel.name}\``) || doc.includes(`\`supaguard:${component}:`) && doc.includes(`:${event}\``), channel.name).toBe(true);
    }
    for (const name of Object.keys(tracing)) expect(doc).toContain(`\`supaguard:${name}\``);
  });

  it('has a sample alert rule', () => {
    expect(doc).toMatch(/```yaml\ngroups:/);
  });
});
