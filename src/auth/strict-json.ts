/**
 * A strict JSON reader for untrusted token segments. `JSON.parse` silently keeps
 * the last of two duplicate keys and happily builds 10,000-deep arrays; a token
 * whose header or payload can be read two ways by two parsers is a classic
 * confusion attack, so this reader refuses what `JSON.parse` would forgive.
 *
 * @module
 */

/** Limits applied by {@link parseStrictJson}. */
export interface StrictJsonLimits {
  /** Deepest allowed nesting of objects and arrays. @default 16 */
  maxDepth?: number;
}

/** Why {@link parseStrictJson} refused a text. */
export class StrictJsonError extends Error {
  override readonly name = 'StrictJsonError';
}

const DEFAULT_MAX_DEPTH = 16;

/**
 * Parses `text` as JSON, refusing duplicate object keys (after unescaping),
 * `__proto__` keys, nesting deeper than `maxDepth`, and anything `JSON.parse`
 * refuses. The grammar is checked by a scanner first; the values are then built
 * by `JSON.parse`, so numbers and strings are read exactly as the platform does.
 *
 * @param text - The JSON text.
 * @param limits - See {@link StrictJsonLimits}.
 * @returns The parsed value.
 * @throws {@link StrictJsonError} when the text is not acceptable.
 * @example
 * ```ts
 * parseStrictJson('{"a":1}');        // { a: 1 }
 * parseStrictJson('{"a":1,"a":2}');  // throws StrictJsonError (duplicate key)
 * ```
 */
export function parseStrictJson(text: string, limits?: StrictJsonLimits): unknown {
  const scanner = new Scanner(text, limits?.maxDepth ?? DEFAULT_MAX_DEPTH);
  scanner.skipWhitespace();
  scanner.value(0);
  scanner.skipWhitespace();
  if (scanner.pos !== text.length) throw new StrictJsonError('trailing characters');
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new StrictJsonError('not JSON', { cause });
  }
}

class Scanner {
  pos = 0;
  constructor(
    private readonly text: string,
    private readonly maxDepth: number,
  ) {}

  skipWhitespace(): void {
    const t = this.text;
    while (this.pos < t.length) {
      const c = t.charCodeAt(this.pos);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return;
      this.pos++;
    }
  }

  value(depth: number): void {
    const c = this.text.charCodeAt(this.pos);
    if (c === 0x7b /* { */) return this.object(depth + 1);
    if (c === 0x5b /* [ */) return this.array(depth + 1);
    if (c === 0x22 /* " */) {
      this.string();
      return;
    }
    this.literal();
  }

  private object(depth: number): void {
    if (depth > this.maxDepth) throw new StrictJsonError('nested too deeply');
    this.pos++;
    this.skipWhitespace();
    if (this.text.charCodeAt(this.pos) === 0x7d /* } */) {
      this.pos++;
      return;
    }
    const seen = new Set<string>();
    for (;;) {
      this.skipWhitespace();
      if (this.text.charCodeAt(this.pos) !== 0x22) throw new StrictJsonError('object key expected');
      const key = this.string();
      if (key === '__proto__') throw new StrictJsonError('__proto__ key');
      if (seen.has(key)) throw new StrictJsonError('duplicate key');
      seen.add(key);
      this.skipWhitespace();
      if (this.text.charCodeAt(this.pos) !== 0x3a /* : */) throw new StrictJsonError('":" expected');
      this.pos++;
      this.skipWhitespace();
      this.value(depth);
      this.skipWhitespace();
      const next = this.text.charCodeAt(this.pos++);
      if (next === 0x7d) return;
      if (next !== 0x2c /* , */) throw new StrictJsonError('"," or "}" expected');
    }
  }

  private array(depth: number): void {
    if (depth > this.maxDepth) throw new StrictJsonError('nested too deeply');
    this.pos++;
    this.skipWhitespace();
    if (this.text.charCodeAt(this.pos) === 0x5d /* ] */) {
      this.pos++;
      return;
    }
    for (;;) {
      this.skipWhitespace();
      this.value(depth);
      this.skipWhitespace();
      const next = this.text.charCodeAt(this.pos++);
      if (next === 0x5d) return;
      if (next !== 0x2c) throw new StrictJsonError('"," or "]" expected');
    }
  }

  /**
   * Skips a string literal and returns its raw or decoded text. Escapes and
   * control characters are validated by the final `JSON.parse`; the scanner only
   * needs the boundaries (and decoded keys, to compare them).
   */
  private string(): string {
    const t = this.text;
    const start = this.pos + 1;
    let quote = t.indexOf('"', start);
    for (;;) {
      if (quote < 0) throw new StrictJsonError('unterminated string');
      let backslashes = 0;
      while (t.charCodeAt(quote - 1 - backslashes) === 0x5c) backslashes++;
      if (backslashes % 2 === 0) break;
      quote = t.indexOf('"', quote + 1);
    }
    this.pos = quote + 1;
    const raw = t.slice(start, quote);
    if (!raw.includes('\\')) return raw;
    try {
      return JSON.parse(t.slice(start - 1, quote + 1)) as string;
    } catch (cause) {
      throw new StrictJsonError('bad string', { cause });
    }
  }

  /** Numbers, true, false, null: the exact grammar is left to JSON.parse. */
  private literal(): void {
    const t = this.text;
    const start = this.pos;
    while (this.pos < t.length) {
      const c = t.charCodeAt(this.pos);
      const isNumberOrWord = (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7a) || c === 0x2d || c === 0x2b || c === 0x2e || c === 0x45;
      if (!isNumberOrWord) break;
      this.pos++;
    }
    if (this.pos === start) throw new StrictJsonError('value expected');
  }
}
