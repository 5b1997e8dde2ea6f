import { isSupaguardError, type SupaguardErrorCode } from '../errors.js';

/**
 * The HTTP status for every supaguard error code — the one table both adapters use.
 * (`E_ABORTED` is 499, "client closed request", which is only ever logged: the client has gone.)
 */
export const HTTP_STATUS_BY_CODE: Readonly<Record<SupaguardErrorCode, number>> = Object.freeze({
  E_CONFIG: 500,
  E_DB: 502,
  E_DB_TIMEOUT: 504,
  E_TIMEOUT: 504,
  E_DEADLINE: 504,
  E_ABORTED: 499,
  E_CIRCUIT_OPEN: 503,
  E_BULKHEAD_FULL: 503,
  E_TOKEN_MISSING: 401,
  E_TOKEN_MALFORMED: 401,
  E_TOKEN_EXPIRED: 401,
  E_TOKEN_NOT_YET_VALID: 401,
  E_TOKEN_SIGNATURE: 401,
  E_TOKEN_ALGORITHM: 401,
  E_TOKEN_ISSUER: 401,
  E_TOKEN_AUDIENCE: 401,
  E_TOKEN_CLAIMS: 401,
  E_JWKS_UNAVAILABLE: 503,
  E_INVALID_ID: 400,
  E_FORBIDDEN: 403,
  E_LOADER: 503,
  E_RATE_LIMITED: 429,
});

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  429: 'Too Many Requests',
  499: 'Client Closed Request',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** An RFC 9457 problem document as the adapters send it. */
export interface ProblemBody {
  type: 'about:blank';
  title: string;
  status: number;
  /** The supaguard error code, e.g. `E_TOKEN_EXPIRED`. */
  code: string;
  /** The error's message for 4xx answers (redacted); omitted for 5xx, whose causes stay in your logs. */
  detail?: string;
}

/** Status, headers and body of a problem response. */
export interface ProblemResponse {
  status: number;
  headers: Record<string, string>;
  body: ProblemBody;
}

/** Media type of problem bodies. */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

// Defence in depth: supaguard messages never contain credentials, but a custom
// verifier or loader might; anything shaped like a JWT or a Supabase key is cut.
const CREDENTIAL = /eyJ[\w-]*\.[\w-]*\.?[\w-]*|sb_(?:secret|publishable)_[\w-]+|Bearer\s+\S+/g;

function seconds(ms: unknown): string {
  return String(Math.max(1, Math.ceil((typeof ms === 'number' && Number.isFinite(ms) ? ms : 1_000) / 1_000)));
}

/**
 * Maps a supaguard error to its problem response; `undefined` for any other
 * error (the adapters pass those on to the framework). Never includes a stack,
 * a cause, a token or a key.
 *
 * @example
 * ```ts
 * const problem = toProblem(err);
 * if (problem) reply.code(problem.status).headers(problem.headers).send(problem.body);
 * ```
 */
export function toProblem(err: unknown): ProblemResponse | undefined {
  if (!isSupaguardError(err)) return undefined;
  const code = err.code;
  const status = HTTP_STATUS_BY_CODE[code] ?? (Number.isInteger(err.status) ? err.status : 500);
  const headers: Record<string, string> = { 'content-type': PROBLEM_CONTENT_TYPE, 'cache-control': 'no-store' };
  if (status === 401) headers['www-authenticate'] = code === 'E_TOKEN_MISSING' ? 'Bearer' : 'Bearer error="invalid_token"';
  if (code === 'E_RATE_LIMITED' || code === 'E_CIRCUIT_OPEN') headers['retry-after'] = seconds((err as { retryAfterMs?: unknown }).retryAfterMs);
  const body: ProblemBody = { type: 'about:blank', title: TITLES[status] ?? 'Error', status, code };
  if (status < 500) body.detail = String(err.message).replace(CREDENTIAL, '[redacted]');
  return { status, headers, body };
}
