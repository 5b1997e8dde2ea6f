import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseStrictJson, StrictJsonError } from '../../src/auth/strict-json.js';

describe('parseStrictJson', () => {
  it('parses what JSON.parse parses when there is nothing to refuse', () => {
    for (const text of ['{}', '[]', ' {"a":[1,2,{"b":null}],"c":"x\\"y","d":"\\\\","e":-1.5e3,"f":true} ', '"s"', '42', '{"a\\\\":1,"a":2}']) {
      expect(parseStrictJson(text)).toEqual(JSON.parse(text));
    }
  });

  it.each([
    ['duplicate key', '{"a":1,"a":2}'],
    ['duplicate key after unescaping', '{"sub":1,"\\u0073ub":2}'],
    ['nested duplicate', '{"a":{"b":1,"b":1}}'],
    ['__proto__', '{"__proto__":{}}'],
    ['escaped __proto__', '{"\\u005f_proto__":{}}'],
    ['too deep', `${'['.repeat(17)}${']'.repeat(17)}`],
    ['trailing characters', '{} x'],
    ['two values', '{}{}'],
    ['unterminated string', '{"a":"b}'],
    ['control character in a string', '{"a":"\u0001"}'],
    ['bad escape', '{"a\\x":1}'],
    ['trailing comma', '{"a":1,}'],
    ['single quotes', "{'a':1}"],
    ['NaN', '{"a":NaN}'],
    ['empty', ''],
  ])('refuses %s', (_name, text) => {
    expect(() => parseStrictJson(text)).toThrow(StrictJsonError);
  });

  it('agrees with JSON.parse on random JSON (which never has duplicate keys)', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), (value) => {
        const text = JSON.stringify(value);
        const keysOk = !text.includes('"__proto__"');
        if (keysOk) expect(parseStrictJson(text, { maxDepth: 64 })).toEqual(JSON.parse(text));
      }),
      { numRuns: 500 },
    );
  });
});
