import {
  ConfigurationError,
  DatabaseError,
  DatabaseTimeoutError,
  DeadlineExceededError,
  isSupaguardError,
} from '../errors.js';
import { traceCall, tracing } from '../observe/channels.js';
import { abortError, resolveBudget } from '../resilience/deadline.js';

/** The shape of a PostgREST error as supabase-js returns it. */
export interface PostgrestErrorLike {
  /** Human-readable summary. */
  message: string;
  /** PostgREST (`PGRST116`) or Postgres (`23505`) error code. */
  code?: string;
  /** Extra context, often the offending value or row. */
  details?: string | null;
  /** Actionable advice from the database, when it has one. */
  hint?: string | null;
}

/**
 * Anything `runQuery` can run: a supabase-js / postgrest-js query builder.
 * `abortSignal` is optional in the type only because postgrest-js types
 * `.single()` and `.throwOnError()` as the base builder; every builder supabase-js
 * creates has it at runtime, and `runQuery` refuses one that does not.
 */
export interface QueryBuilderLike<T = unknown> extends PromiseLike<QueryResponseLike<T>> {
  /** Makes the builder's HTTP request abort when `signal` aborts. */
  abortSignal?(signal: AbortSignal): unknown;
}

/** The response a query builder resolves to. */
export interface QueryResponseLike<T = unknown> {
  /** The rows (or value) on success. */
  data: T;
  /** The PostgREST error, or `null` on success. */
  error: PostgrestErrorLike | null;
  /** HTTP status of the response (0 when the request itself failed). */
  status?: number;
}

/** Options for {@link runQuery}. */
export interface RunQueryOptions {
  /** Own timeout in ms (`Infinity` for none); the ambient deadline shortens it. @default 5000 */
  timeoutMs?: number | undefined;
  /** Aborts the HTTP request when it aborts. */
  signal?: AbortSignal | undefined;
  /** Name carried by errors and metrics, e.g. `projects.byId`. @default "query" */
  operation?: string | undefined;
}

/** Default own timeout of {@link runQuery}. */
export const DEFAULT_QUERY_TIMEOUT_MS = 5_000;

// setTimeout fires at once for delays above 2^31 - 1 ms; longer limits are capped.
const MAX_TIMER_MS = 2 ** 31 - 1;

function isPostgrestErrorLike(value: unknown): value is PostgrestErrorLike {
  return typeof value === 'object' && value !== null && typeof (value as PostgrestErrorLike).message === 'string' && 'code' in value;
}

function toDatabaseError(e: PostgrestErrorLike, operation: string, status: number | undefined, cause?: unknown): DatabaseError {
  return new DatabaseError(
    e.message,
    { operation, dbCode: e.code || undefined, details: e.details, hint: e.hint, httpStatus: status || undefined },
    cause === undefined ? undefined : { cause },
  );
}

/** The success branch of a postgrest-js response union. */
export interface QuerySuccessLike<T = unknown> {
  /** The rows (or value). */
  data: T;
  /** Always `null` on success. */
  error: null;
}

/**
 * The `data` type `runQuery` resolves to for a builder of type `B`: the data of
 * the response's success branch (errors are thrown), or its `data` when the
 * response type is not a union.
 */
export type DataOf<B> =
  B extends PromiseLike<infer R>
    ? [R extends QuerySuccessLike<infer D> ? D : never] extends [never]
      ? R extends QueryResponseLike<infer D>
        ? D
        : never
      : R extends QuerySuccessLike<infer D>
        ? D
        : never
    : never;

/**
 * Runs a supabase-js query builder with a timeout that really aborts the HTTP
 * request (through the builder's `abortSignal`), inside the ambient deadline.
 * Resolves to the response's `data`.
 *
 * @param build - A query builder, or a function receiving the abort signal and returning one.
 * @throws {@link index.DatabaseTimeoutError | DatabaseTimeoutError} when `timeoutMs` passes (the request is aborted).
 * @throws {@link index.DeadlineExceededError | DeadlineExceededError} when the ambient deadline is the limit that passed, or is already spent.
 * @throws {@link index.AbortedError | AbortedError} when `options.signal` aborts.
 * @throws {@link index.DatabaseError | DatabaseError} for a PostgREST `{ error }` (with its `dbCode`, `details`, `hint`) or a failed request.
 * @example
 * ```ts
 * const project = await runQuery(supabase.from('projects').select('*').eq('id', id).single(), {
 *   timeoutMs: 200,
 *   operation: 'projects.byId',
 * });
 * ```
 */
export function runQuery<B extends QueryBuilderLike<any>>(build: B | ((signal: AbortSignal) => B), options: RunQueryOptions = {}): Promise<DataOf<B>> {
  // Traced on `supaguard:query` (spans and latency for the OpenTelemetry and Prometheus exporters).
  return traceCall(tracing.query, { operation: options?.operation ?? 'query' }, () => runBoundedQuery(build, options));
}

async function runBoundedQuery<B extends QueryBuilderLike<any>>(build: B | ((signal: AbortSignal) => B), options: RunQueryOptions): Promise<DataOf<B>> {
  const operation = options.operation ?? 'query';
  const ownMs = options.timeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
  if (typeof ownMs !== 'number' || !(ownMs > 0)) throw new ConfigurationError('timeoutMs', 'must be a positive number of milliseconds');
  const callerSignal = options.signal;
  if (callerSignal?.aborted) throw abortError(callerSignal, operation);
  const budget = resolveBudget(ownMs, operation);

  const started = performance.now();
  const controller = new AbortController();
  const signal = controller.signal;
  const timer = Number.isFinite(budget.ms)
    ? setTimeout(() => {
        const elapsedMs = Math.round(performance.now() - started);
        controller.abort(
          budget.deadlineBound
            ? new DeadlineExceededError(operation, 0)
            : new DatabaseTimeoutError({ operation, elapsedMs, timeoutMs: Math.round(budget.ms) }),
        );
      }, Math.min(budget.ms, MAX_TIMER_MS))
    : undefined;
  timer?.unref();
  const onUpstreamAbort = (event: Event): void => controller.abort((event.target as AbortSignal).reason);
  callerSignal?.addEventListener('abort', onUpstreamAbort, { once: true });
  budget.signal?.addEventListener('abort', onUpstreamAbort, { once: true });

  let rejectOnAbort: ((err: Error) => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    rejectOnAbort = reject;
  });
  const onAbort = (): void => rejectOnAbort?.(abortError(signal, operation));
  signal.addEventListener('abort', onAbort, { once: true });

  try {
    const builder = typeof build === 'function' ? build(signal) : build;
    if (typeof builder?.abortSignal !== 'function') {
      throw new ConfigurationError('build', 'must be a supabase-js query builder (it has no abortSignal())');
    }
    builder.abortSignal(signal);
    const pending = Promise.resolve(builder);
    pending.catch(() => undefined);
    const response = await Promise.race([pending, aborted]);
    if (signal.aborted) throw abortError(signal, operation);
    if (response.error) throw toDatabaseError(response.error, operation, response.status);
    return response.data as DataOf<B>;
  } catch (err) {
    if (signal.aborted) throw abortError(signal, operation);
    if (isSupaguardError(err)) throw err;
    // A builder with `.throwOnError()` rejects with a PostgrestError: keep its fields.
    if (isPostgrestErrorLike(err)) throw toDatabaseError(err, operation, undefined, err);
    throw new DatabaseError(err instanceof Error ? err.message : 'query failed', { operation }, { cause: err });
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
    callerSignal?.removeEventListener('abort', onUpstreamAbort);
    budget.signal?.removeEventListener('abort', onUpstreamAbort);
  }
}
