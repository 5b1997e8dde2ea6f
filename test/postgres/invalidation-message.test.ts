import { describe, expect, it } from 'vitest';
import { isDatabaseError } from '../../src/errors.js';
import { parseInvalidationPayload } from '../../src/postgres/invalidation-message.js';

describe('parseInvalidationPayload', () => {
  it('turns ids into user, resource and tag scopes', () => {
    expect(parseInvalidationPayload('{"v":1,"u":["u1"],"r":["r1","r2"],"t":["team:1"]}')).toEqual({
      kind: 'scopes',
      scopes: [{ userId: 'u1' }, { resourceId: 'r1' }, { resourceId: 'r2' }, { tag: 'team:1' }],
      fallback: undefined,
    });
  });

  it('marks the tag fallback and decodes clear messages', () => {
    expect(parseInvalidationPayload('{"f": "tags", "t": ["team:1"], "v": 1}')).toMatchObject({ kind: 'scopes', fallback: 'tags' });
    expect(parseInvalidationPayload('{"v":1,"all":true,"f":"clear"}')).toEqual({ kind: 'clear', fallback: 'clear' });
    expect(parseInvalidationPayload('{"v":1,"all":true}')).toEqual({ kind: 'clear', fallback: undefined });
  });

  it.each([
    ['not JSON', '{'],
    ['an array', '[1]'],
    ['an unknown version', '{"v":2,"u":["a"]}'],
    ['ids that are not strings', '{"v":1,"u":[1]}'],
    ['no ids at all', '{"v":1}'],
    ['no payload', undefined],
    ['an oversize payload', `{"v":1,"u":["${'x'.repeat(8_000)}"]}`],
  ])('rejects %s with a typed error', (_what, payload) => {
    let caught: unknown;
    try {
      parseInvalidationPayload(payload);
    } catch (err) {
      caught = err;
    }
    expect(isDatabaseError(caught)).toBe(true);
    expect((caught as { operation: string }).operation).toBe('postgres.notification');
  });
});
