/**
 * Every error supaguard throws. Each class has a stable `code` you can branch
 * on and an HTTP `status` the framework adapters use. Guards check a brand and
 * the code rather than `instanceof`, so they keep working when two copies of
 * the package (ESM and CJS builds, duplicate installs) meet in one process.
 *
 * Messages never contain a token, key or secret.
 *
 * @module
 */

const BRAND = Symbol.for('supaguard.error');

/** Every stable error code supaguard uses. */
export type SupaguardErrorCode =
  | 'E_CONFIG'
  | 'E_DB'
  | 'E_DB_TIMEOUT'
  | 'E_TIMEOUT'
  | 'E_DEADLINE'
  | 'E_ABORTED'
  | 'E_CIRCUIT_OPEN'
  | 'E_BULKHEAD_FULL'
  | AuthErrorCode
  | 'E_INVALID_ID'
  | 'E_FORBIDDEN'
  | 'E_LOADER'
  | 'E_RATE_LIMITED';

/** Codes of the {@link AuthError} family (all 401 except `E_JWKS_UNAVAILABLE`, 503). */
export type AuthErrorCode =
  | 'E_TOKEN_MISSING'
  | 'E_TOKEN_MALFORMED'
  | 'E_TOKEN_EXPIRED'
  | 'E_TOKEN_NOT_YET_VALID'
  | 'E_TOKEN_SIGNATURE'
  | 'E_TOKEN_ALGORITHM'
  | 'E_TOKEN_ISSUER'
  | 'E_TOKEN_AUDIENCE'
  | 'E_TOKEN_CLAIMS'
  | 'E_JWKS_UNAVAILABLE';

/** Options shared by every supaguard error constructor. */
export interface SupaguardErrorOptions {
  /** The underlying error, kept for debugging; never shown in adapter responses. */
  cause?: unknown;
}

/**
 * Base class of every supaguard error.
 *
 * @example
 * ```ts
 * try { await runQuery(...) } catch (err) {
 *   if (isSupaguardError(err)) console.log(err.code, err.status);
 * }
 * ```
 */
export class SupaguardError extends Error {
  /** Stable machine-readable code, e.g. `E_DB_TIMEOUT`. */
  readonly code: SupaguardErrorCode;
  /** HTTP status the adapters answer with. */
  readonly status: number;
  /** @internal brand read by the guards; survives duplicate package copies. */
  readonly [BRAND] = true;

  constructor(code: SupaguardErrorCode, status: number, message: string, options?: SupaguardErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = status;
  }
}

/**
 * True when `err` is any supaguard error, from this or another copy of the package.
 *
 * @example
 * ```ts
 * if (isSupaguardError(err)) reply.code(err.status);
 * ```
 */
export function isSupaguardError(err: unknown): err is SupaguardError {
  return typeof err === 'object' && err !== null && (err as Record<symbol, unknown>)[BRAND] === true;
}

function hasCode<T extends SupaguardError>(err: unknown, ...codes: SupaguardErrorCode[]): err is T {
  return isSupaguardError(err) && codes.includes(err.code);
}

/**
 * A configuration value is missing or invalid. `field` names it; the message never echoes a secret.
 *
 * @example
 * ```ts
 * throw new ConfigurationError('url', 'must be an http(s) URL');
 * ```
 */
export class ConfigurationError extends SupaguardError {
  /** The option that is wrong, e.g. `url` or `options.auth`. */
  readonly field: string;
  constructor(field: string, problem: string, options?: SupaguardErrorOptions) {
    super('E_CONFIG', 500, `Invalid supaguard configuration: ${field} ${problem}`, options);
    this.field = field;
  }
}
/** Guard for {@link ConfigurationError}. @example `if (isConfigurationError(err)) console.error(err.field)` */
export const isConfigurationError = (err: unknown): err is ConfigurationError => hasCode(err, 'E_CONFIG');

/** Details of a timed-out operation. */
export interface TimeoutDetails {
  /** Name of the operation that ran out of time. */
  operation: string;
  /** Milliseconds that had passed when it was abandoned. */
  elapsedMs: number;
  /** The limit that applied (own timeout or remaining deadline, whichever was smaller). */
  timeoutMs: number;
}

/**
 * A database query did not finish in time and its HTTP request was aborted.
 *
 * @example
 * ```ts
 * if (isDatabaseTimeoutError(err)) log.warn({ op: err.operation, ms: err.elapsedMs });
 * ```
 */
export class DatabaseTimeoutError extends SupaguardError implements TimeoutDetails {
  readonly operation: string;
  readonly elapsedMs: number;
  readonly timeoutMs: number;
  constructor(details: TimeoutDetails, options?: SupaguardErrorOptions) {
    super('E_DB_TIMEOUT', 504, `Database operation "${details.operation}" timed out after ${details.elapsedMs} ms (limit ${details.timeoutMs} ms)`, options);
    this.operation = details.operation;
    this.elapsedMs = details.elapsedMs;
    this.timeoutMs = details.timeoutMs;
  }
}
/** Guard for {@link DatabaseTimeoutError}. @example `if (isDatabaseTimeoutError(err)) retryLater()` */
export const isDatabaseTimeoutError = (err: unknown): err is DatabaseTimeoutError => hasCode(err, 'E_DB_TIMEOUT');

/** Fields of a PostgREST / Postgres error. */
export interface DatabaseErrorDetails {
  operation: string;
  /** PostgREST or Postgres error code, e.g. `PGRST116` or `23505`. */
  dbCode?: string | undefined;
  details?: string | null | undefined;
  hint?: string | null | undefined;
  /** HTTP status of the upstream response, when there was one. */
  httpStatus?: number | undefined;
}

/**
 * The database answered with an error (a PostgREST `{ error }`, a failed query).
 *
 * @example
 * ```ts
 * if (isDatabaseError(err) && err.dbCode === '23505') return conflict();
 * ```
 */
export class DatabaseError extends SupaguardError {
  readonly operation: string;
  readonly dbCode: string | undefined;
  readonly details: string | null | undefined;
  readonly hint: string | null | undefined;
  readonly httpStatus: number | undefined;
  constructor(message: string, details: DatabaseErrorDetails, options?: SupaguardErrorOptions) {
    super('E_DB', 502, `Database operation "${details.operation}" failed: ${message}`, options);
    this.operation = details.operation;
    this.dbCode = details.dbCode;
    this.details = details.details;
    this.hint = details.hint;
    this.httpStatus = details.httpStatus;
  }
}
/** Guard for {@link DatabaseError}. @example `if (isDatabaseError(err)) console.log(err.dbCode)` */
export const isDatabaseError = (err: unknown): err is DatabaseError => hasCode(err, 'E_DB');

/**
 * An operation wrapped by `withTimeout` ran past its own timeout.
 *
 * @example
 * ```ts
 * if (isTimeoutError(err)) console.log(err.operation, err.elapsedMs);
 * ```
 */
export class TimeoutError extends SupaguardError implements TimeoutDetails {
  readonly operation: string;
  readonly elapsedMs: number;
  readonly timeoutMs: number;
  constructor(details: TimeoutDetails, options?: SupaguardErrorOptions) {
    super('E_TIMEOUT', 504, `Operation "${details.operation}" timed out after ${details.elapsedMs} ms (limit ${details.timeoutMs} ms)`, options);
    this.operation = details.operation;
    this.elapsedMs = details.elapsedMs;
    this.timeoutMs = details.timeoutMs;
  }
}
/** Guard for {@link TimeoutError}. @example `if (isTimeoutError(err)) metrics.timeouts++` */
export const isTimeoutError = (err: unknown): err is TimeoutError => hasCode(err, 'E_TIMEOUT');

/**
 * The request's deadline budget ran out, or was too small to start the operation.
 *
 * @example
 * ```ts
 * if (isDeadlineExceededError(err)) reply.code(504);
 * ```
 */
export class DeadlineExceededError extends SupaguardError {
  readonly operation: string;
  /** Milliseconds left in the budget when the operation gave up (0 or a little more). */
  readonly remainingMs: number;
  constructor(operation: string, remainingMs: number, options?: SupaguardErrorOptions) {
    super('E_DEADLINE', 504, `Deadline exceeded before "${operation}" could finish (${Math.max(0, Math.round(remainingMs))} ms left)`, options);
    this.operation = operation;
    this.remainingMs = remainingMs;
  }
}
/** Guard for {@link DeadlineExceededError}. @example `if (isDeadlineExceededError(err)) return gatewayTimeout()` */
export const isDeadlineExceededError = (err: unknown): err is DeadlineExceededError => hasCode(err, 'E_DEADLINE');

/**
 * The caller aborted the operation through its `AbortSignal`.
 *
 * @example
 * ```ts
 * if (isAbortedError(err)) return; // the client went away
 * ```
 */
export class AbortedError extends SupaguardError {
  readonly operation: string;
  constructor(operation: string, options?: SupaguardErrorOptions) {
    super('E_ABORTED', 499, `Operation "${operation}" was aborted by the caller`, options);
    this.operation = operation;
  }
}
/** Guard for {@link AbortedError}. @example `if (isAbortedError(err)) return` */
export const isAbortedError = (err: unknown): err is AbortedError => hasCode(err, 'E_ABORTED');

/**
 * A circuit breaker is open and rejected the call without running it.
 *
 * @example
 * ```ts
 * if (isCircuitOpenError(err)) reply.header('retry-after', Math.ceil(err.retryAfterMs / 1000));
 * ```
 */
export class CircuitOpenError extends SupaguardError {
  /** Name of the breaker. */
  readonly breaker: string;
  /** Milliseconds until the breaker lets a trial call through. */
  readonly retryAfterMs: number;
  constructor(breaker: string, retryAfterMs: number, options?: SupaguardErrorOptions) {
    super('E_CIRCUIT_OPEN', 503, `Circuit "${breaker}" is open`, options);
    this.breaker = breaker;
    this.retryAfterMs = retryAfterMs;
  }
}
/** Guard for {@link CircuitOpenError}. @example `if (isCircuitOpenError(err)) useFallback()` */
export const isCircuitOpenError = (err: unknown): err is CircuitOpenError => hasCode(err, 'E_CIRCUIT_OPEN');

/** Why a bulkhead refused a call. */
export type BulkheadRejectReason = 'queue-full' | 'queue-timeout' | 'deadline';

/**
 * A bulkhead had no free slot and no room (or time) left in its queue.
 *
 * @example
 * ```ts
 * if (isBulkheadRejectedError(err)) reply.code(503);
 * ```
 */
export class BulkheadRejectedError extends SupaguardError {
  readonly reason: BulkheadRejectReason;
  constructor(reason: BulkheadRejectReason, options?: SupaguardErrorOptions) {
    super('E_BULKHEAD_FULL', 503, `Bulkhead rejected the call (${reason})`, options);
    this.reason = reason;
  }
}
/** Guard for {@link BulkheadRejectedError}. @example `if (isBulkheadRejectedError(err)) shed()` */
export const isBulkheadRejectedError = (err: unknown): err is BulkheadRejectedError => hasCode(err, 'E_BULKHEAD_FULL');

const AUTH_CODES: AuthErrorCode[] = [
  'E_TOKEN_MISSING',
  'E_TOKEN_MALFORMED',
  'E_TOKEN_EXPIRED',
  'E_TOKEN_NOT_YET_VALID',
  'E_TOKEN_SIGNATURE',
  'E_TOKEN_ALGORITHM',
  'E_TOKEN_ISSUER',
  'E_TOKEN_AUDIENCE',
  'E_TOKEN_CLAIMS',
  'E_JWKS_UNAVAILABLE',
];

/**
 * Base of every authentication failure. `status` is 401, or 503 for `E_JWKS_UNAVAILABLE`.
 *
 * @example
 * ```ts
 * if (isAuthError(err)) reply.code(err.status).header('www-authenticate', 'Bearer');
 * ```
 */
export class AuthError extends SupaguardError {
  declare readonly code: AuthErrorCode;
  constructor(code: AuthErrorCode, message: string, options?: SupaguardErrorOptions) {
    super(code, code === 'E_JWKS_UNAVAILABLE' ? 503 : 401, message, options);
  }
}
/** Guard for the whole {@link AuthError} family. @example `if (isAuthError(err)) console.log(err.code)` */
export const isAuthError = (err: unknown): err is AuthError => hasCode(err, ...AUTH_CODES);

function authError(code: Exclude<AuthErrorCode, 'E_TOKEN_MISSING'>, defaultMessage: string) {
  return class extends AuthError {
    constructor(message: string = defaultMessage, options?: SupaguardErrorOptions) {
      super(code, message, options);
    }
  };
}

/** No token was presented. @example `throw new TokenMissingError()` */
export class TokenMissingError extends AuthError {
  constructor(message = 'No access token was presented', options?: SupaguardErrorOptions) {
    super('E_TOKEN_MISSING', message, options);
  }
}
/** The token is not a well-formed compact JWS. @example `throw new TokenMalformedError('3 segments expected')` */
export class TokenMalformedError extends authError('E_TOKEN_MALFORMED', 'The access token is malformed') {}
/** The token's `exp` has passed. @example `throw new TokenExpiredError()` */
export class TokenExpiredError extends authError('E_TOKEN_EXPIRED', 'The access token has expired') {}
/** `nbf` or `iat` lies in the future. @example `throw new TokenNotYetValidError()` */
export class TokenNotYetValidError extends authError('E_TOKEN_NOT_YET_VALID', 'The access token is not yet valid') {}
/** The signature does not verify, or no key matches. @example `throw new TokenSignatureError()` */
export class TokenSignatureError extends authError('E_TOKEN_SIGNATURE', 'The access token signature is invalid') {}
/** The `alg` is not allowed for the configured key sources. @example `throw new TokenAlgorithmError()` */
export class TokenAlgorithmError extends authError('E_TOKEN_ALGORITHM', 'The access token algorithm is not allowed') {}
/** The `iss` claim is not the expected issuer. @example `throw new TokenIssuerError()` */
export class TokenIssuerError extends authError('E_TOKEN_ISSUER', 'The access token issuer is not accepted') {}
/** The `aud` claim does not contain the expected audience. @example `throw new TokenAudienceError()` */
export class TokenAudienceError extends authError('E_TOKEN_AUDIENCE', 'The access token audience is not accepted') {}
/** A required claim is missing or has the wrong shape (e.g. `sub` not a UUID). @example `throw new TokenClaimsError('sub must be a UUID')` */
export class TokenClaimsError extends authError('E_TOKEN_CLAIMS', 'The access token claims are invalid') {}
/** Signing keys could not be fetched and no usable cached keys remain. @example `throw new JwksUnavailableError()` */
export class JwksUnavailableError extends authError('E_JWKS_UNAVAILABLE', 'The signing keys are unavailable') {}

/**
 * An identifier (user, resource, …) failed validation; status 400.
 *
 * @example
 * ```ts
 * if (isInvalidIdentifierError(err)) reply.code(400);
 * ```
 */
export class InvalidIdentifierError extends SupaguardError {
  /** Which identifier was rejected, e.g. `userId`. The value itself is not echoed. */
  readonly field: string;
  constructor(field: string, options?: SupaguardErrorOptions) {
    super('E_INVALID_ID', 400, `Invalid identifier: ${field}`, options);
    this.field = field;
  }
}
/** Guard for {@link InvalidIdentifierError}. @example `if (isInvalidIdentifierError(err)) badRequest()` */
export const isInvalidIdentifierError = (err: unknown): err is InvalidIdentifierError => hasCode(err, 'E_INVALID_ID');

/**
 * The authorization decision was a deny; status 403.
 *
 * @example
 * ```ts
 * if (!decision.allowed) throw new ForbiddenError(decision.reason);
 * ```
 */
export class ForbiddenError extends SupaguardError {
  readonly reason: string | undefined;
  constructor(reason?: string, options?: SupaguardErrorOptions) {
    super('E_FORBIDDEN', 403, reason ? `Forbidden: ${reason}` : 'Forbidden', options);
    this.reason = reason;
  }
}
/** Guard for {@link ForbiddenError}. @example `if (isForbiddenError(err)) reply.code(403)` */
export const isForbiddenError = (err: unknown): err is ForbiddenError => hasCode(err, 'E_FORBIDDEN');

/**
 * The authorization loader failed and no entry within grace could be served.
 *
 * @example
 * ```ts
 * if (isLoaderError(err)) reply.code(503);
 * ```
 */
export class LoaderError extends SupaguardError {
  constructor(message: string, options?: SupaguardErrorOptions) {
    super('E_LOADER', 503, message, options);
  }
}
/** Guard for {@link LoaderError}. @example `if (isLoaderError(err)) serveDegraded()` */
export const isLoaderError = (err: unknown): err is LoaderError => hasCode(err, 'E_LOADER');

/**
 * A rate limit was exceeded; status 429.
 *
 * @example
 * ```ts
 * if (isRateLimitedError(err)) reply.header('retry-after', Math.ceil(err.retryAfterMs / 1000));
 * ```
 */
export class RateLimitedError extends SupaguardError {
  readonly retryAfterMs: number;
  readonly limit: number;
  constructor(limit: number, retryAfterMs: number, options?: SupaguardErrorOptions) {
    super('E_RATE_LIMITED', 429, 'Too many requests', options);
    this.limit = limit;
    this.retryAfterMs = retryAfterMs;
  }
}
/** Guard for {@link RateLimitedError}. @example `if (isRateLimitedError(err)) reply.code(429)` */
export const isRateLimitedError = (err: unknown): err is RateLimitedError => hasCode(err, 'E_RATE_LIMITED');
