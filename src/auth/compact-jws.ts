import { TokenMalformedError } from '../errors.js';
import { parseStrictJson, StrictJsonError } from './strict-json.js';

/** The protected header of a compact JWS, after the hard checks. */
export interface JwsHeader {
  /** The algorithm, exactly as sent (the allowlist is checked by the caller). */
  readonly alg: string;
  /** Key id, when present: a string of 1–256 characters. */
  readonly kid: string | undefined;
  readonly [name: string]: unknown;
}

/** A compact JWS split and decoded, signature not yet verified. */
export interface ParsedCompactJws {
  readonly header: JwsHeader;
  /** The payload parsed as strict JSON; its shape is checked after the signature. */
  readonly payload: unknown;
  /** The decoded signature (empty when the segment is empty). */
  readonly signature: Uint8Array;
  /** The signed bytes: the ASCII text `<header>.<payload>`. */
  readonly signingInput: Uint8Array;
}

/** Limits for {@link parseCompactJws}. */
export interface CompactJwsLimits {
  /** Longest accepted token in characters. @default 8192 */
  maxLength?: number;
  /** Longest accepted `kid`. @default 256 */
  maxKidLength?: number;
  /** Deepest JSON nesting in header or payload. @default 16 */
  maxDepth?: number;
}

const BASE64URL = /^[A-Za-z0-9_-]+$/;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Applies the hard limits to an untrusted token before any JOSE library sees
 * it: a length cap, exactly three non-empty-header segments, canonical unpadded
 * base64url, valid UTF-8, strict JSON (no duplicate or `__proto__` keys, bounded
 * depth), a string `alg`, a short string `kid`, and no `crit` / `b64` extensions
 * (supaguard supports none, so a token that needs one is refused outright).
 * `jwk`, `jku`, `x5u` and `x5c` headers are ignored: keys only come from the
 * configured sources.
 *
 * @param token - The raw bearer token.
 * @param limits - See {@link CompactJwsLimits}.
 * @throws {@link TokenMalformedError} for anything that is not a well-formed compact JWS.
 * @example
 * ```ts
 * const { header, payload } = parseCompactJws(token);
 * ```
 */
export function parseCompactJws(token: string, limits?: CompactJwsLimits): ParsedCompactJws {
  const maxLength = limits?.maxLength ?? 8192;
  if (token.length > maxLength) throw new TokenMalformedError(`The access token is longer than ${maxLength} characters`);
  const first = token.indexOf('.');
  const second = first < 0 ? -1 : token.indexOf('.', first + 1);
  if (second < 0 || token.indexOf('.', second + 1) >= 0) {
    throw new TokenMalformedError(
      token.startsWith('sb_') ? 'An API key is not an access token' : 'The access token must have exactly 3 segments',
    );
  }
  const headerText = decodeSegment(token.slice(0, first), 'header');
  const payloadText = decodeSegment(token.slice(first + 1, second), 'payload');
  const signatureSegment = token.slice(second + 1);
  // An empty signature is well-formed but can never verify: it is reported as a
  // signature failure after the algorithm check, not as malformed.
  const signature = signatureSegment === '' ? new Uint8Array(0) : decodeBase64url(signatureSegment, 'signature');

  const header = parseJson(headerText, 'header', limits?.maxDepth);
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new TokenMalformedError('The access token header must be a JSON object');
  }
  const fields = header as Record<string, unknown>;
  if (typeof fields.alg !== 'string') throw new TokenMalformedError('The access token header has no "alg"');
  if (fields.kid !== undefined) {
    const maxKid = limits?.maxKidLength ?? 256;
    if (typeof fields.kid !== 'string' || fields.kid.length === 0 || fields.kid.length > maxKid) {
      throw new TokenMalformedError('The access token "kid" must be a short non-empty string');
    }
  }
  if (fields.crit !== undefined || fields.b64 !== undefined) {
    throw new TokenMalformedError('The access token uses unsupported JWS extensions ("crit" / "b64")');
  }
  const payload = parseJson(payloadText, 'payload', limits?.maxDepth);
  // Every character before the second dot is base64url or '.', so latin1 is the exact ASCII encoding.
  return { header: fields as JwsHeader, payload, signature, signingInput: Buffer.from(token.slice(0, second), 'latin1') };
}

function decodeBase64url(segment: string, part: string): Buffer {
  if (!BASE64URL.test(segment)) throw new TokenMalformedError(`The access token ${part} is not unpadded base64url`);
  const bytes = Buffer.from(segment, 'base64url');
  // Non-canonical encodings (stray trailing bits, length ≡ 1 mod 4) decode
  // "successfully" in Node; two encodings of one value are refused.
  if (bytes.toString('base64url') !== segment) throw new TokenMalformedError(`The access token ${part} is not canonical base64url`);
  return bytes;
}

function decodeSegment(segment: string, part: string): string {
  if (segment === '') throw new TokenMalformedError(`The access token ${part} is empty`);
  try {
    return utf8.decode(decodeBase64url(segment, part));
  } catch (err) {
    if (err instanceof TokenMalformedError) throw err;
    throw new TokenMalformedError(`The access token ${part} is not valid UTF-8`);
  }
}

function parseJson(text: string, part: string, maxDepth: number | undefined): unknown {
  try {
    return parseStrictJson(text, maxDepth === undefined ? undefined : { maxDepth });
  } catch (err) {
    if (err instanceof StrictJsonError) throw new TokenMalformedError(`The access token ${part} is not strict JSON (${err.message})`);
    throw err;
  }
}
