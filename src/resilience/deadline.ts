import { ConfigurationError, DeadlineExceededError } from '../errors.js';
import { abortErrorFromReason, checkScope, currentScope, DeadlineScope } from './deadline-scope.js';

/**
 * Below this many milliseconds of remaining budget, supaguard wrappers refuse to
 * start work that cannot finish and fail with `DeadlineExceededError` at once.
 *
 * @example
 * ```ts
 * if (remainingMs() < DEFAULT_DEADLINE_FLOOR_MS) return cachedAnswer;
 * ```
 */
export const DEFAULT_DEADLINE_FLOOR_MS = 1;

/** Options for {@link withDeadline}. @example `withDeadline(50, fn, { signal: req.signal, operation: 'GET /me' })` */
export interface WithDeadlineOptions {
  /** A caller's signal; when it aborts, the deadline's signal aborts too. */
  signal?: AbortSignal | undefined;
  /** Name used in errors. @default "deadline" */
  operation?: string | undefined;
  /** Refuse to start when less than this is left. @default 1 */
  floorMs?: number | undefined;
}

/**
 * Converts an abort reason into the error a supaguard wrapper throws: supaguard
 * errors (a parent's `DeadlineExceededError`) pass through, anything else becomes
 * an {@link AbortedError} carrying the reason as `cause`.
 *
 * @example
 * ```ts
 * if (signal.aborted) throw abortError(signal, 'loadProfile');
 * ```
 */
export function abortError(signal: AbortSignal, operation: string): Error {
  return abortErrorFromReason(signal.reason, operation);
}

/**
 * Runs `fn` under a deadline `ms` from now, or the enclosing deadline if that is
 * sooner (a child deadline is never later than its parent's). Everything supaguard
 * runs inside — `withTimeout`, breakers, `runQuery`, cache layers, key fetches —
 * shortens its own timeout to the remaining budget.
 *
 * `fn` receives a signal that aborts when the deadline passes, when the enclosing
 * deadline aborts, when `options.signal` aborts, or when `fn` fails. The returned promise settles
 * no later than the deadline, with {@link DeadlineExceededError}, even if `fn`
 * ignores its signal.
 *
 * The deadline's `AbortSignal` is created only when somebody can observe it: `fn`
 * declares a parameter, or code inside reads {@link deadlineSignal},
 * `currentDeadline().signal` or `resolveBudget(…).signal` (creating one costs ~4 µs
 * on Node 20). A signal first read after the deadline passed is already aborted with
 * `DeadlineExceededError`. A `fn` written `() => …` receives a shared signal that
 * never aborts; one that reads its signal through rest parameters or `arguments`, or
 * gives it a default value, must declare it as a plain first parameter. The timer is
 * one entry on supaguard's shared, unref'd deadline timer; a nested deadline that
 * ends with its parent's needs none (the parent's abort reaches it).
 *
 * @param ms - Budget in milliseconds (finite, ≥ 0).
 * @param fn - The work; receives the deadline's `AbortSignal` (when it declares a parameter).
 * @throws {@link DeadlineExceededError} when the budget runs out (or is below the floor at the start).
 * @throws {@link AbortedError} when `options.signal` aborts with a non-supaguard reason.
 * @throws {@link ConfigurationError} when `ms` is not a finite number ≥ 0 (or `floorMs` is negative).
 * @example
 * ```ts
 * app.get('/projects/:id', (req, res, next) =>
 *   withDeadline(50, async (signal) => {
 *     const claims = await verifier.verify(token, { signal });
 *     const decision = await authz.check({ userId: claims.sub, resourceId: req.params.id, action: 'read' }, { signal });
 *     res.json(decision);
 *   }).catch(next));
 * ```
 */
export function withDeadline<T>(
  ms: number,
  fn: (signal: AbortSignal) => Promise<T> | T,
  options?: WithDeadlineOptions,
): Promise<T> {
  if (typeof ms !== 'number' || !(ms >= 0) || ms === Infinity) {
    return Promise.reject(new ConfigurationError('ms', 'must be a finite number of milliseconds >= 0'));
  }
  const operation = options?.operation ?? 'deadline';
  const floor = options?.floorMs ?? DEFAULT_DEADLINE_FLOOR_MS;
  if (typeof floor !== 'number' || !(floor >= 0)) return Promise.reject(new ConfigurationError('floorMs', 'must be a number of milliseconds >= 0'));
  const parent = currentScope();
  const now = performance.now();
  let deadlineAt = now + ms;
  // Own timer for the own deadline; when the enclosing deadline ends first, its abort
  // reaches this scope through the subscription (no second timer) — unless it already
  // settled (this runs after it, detached), then its time left is this timer.
  let timerMs: number | undefined = ms;
  if (parent !== undefined && parent.deadlineAt <= deadlineAt) {
    deadlineAt = parent.deadlineAt;
    timerMs = parent.settled ? deadlineAt - now : undefined;
  }
  const callerSignal = options?.signal;

  if (parent?.aborted) return Promise.reject(abortErrorFromReason(parent.reason, operation));
  if (callerSignal?.aborted) return Promise.reject(abortError(callerSignal, operation));
  if (deadlineAt - now < floor) return Promise.reject(new DeadlineExceededError(operation, deadlineAt - now));
  return new DeadlineScope(deadlineAt, operation, parent, callerSignal).start(fn, timerMs, now);
}

/**
 * Milliseconds left in the ambient deadline, or `Infinity` outside `withDeadline`.
 *
 * @example
 * ```ts
 * const ms = Math.min(5_000, remainingMs());
 * ```
 */
export function remainingMs(): number {
  const scope = currentScope();
  return scope === undefined ? Infinity : Math.max(0, scope.deadlineAt - performance.now());
}

/** What {@link currentDeadline} reports. @example `const { remainingMs } = currentDeadline() ?? { remainingMs: Infinity }` */
export interface DeadlineInfo {
  /** Wall-clock time (ms since the epoch) at which the budget ends. */
  readonly at: number;
  /** Milliseconds left, never negative. */
  readonly remainingMs: number;
  /** Aborts when the deadline passes or an enclosing signal aborts (created on first read). */
  readonly signal: AbortSignal;
}

/**
 * The ambient deadline, or `undefined` outside `withDeadline`.
 *
 * @example
 * ```ts
 * const d = currentDeadline();
 * if (d) res.setHeader('x-budget-ms', String(Math.round(d.remainingMs)));
 * ```
 */
export function currentDeadline(): DeadlineInfo | undefined {
  const scope = currentScope();
  if (scope === undefined) return undefined;
  const left = Math.max(0, scope.deadlineAt - performance.now());
  return {
    at: Date.now() + left,
    remainingMs: left,
    // Created on first read: most callers only want the time.
    get signal() {
      return scope.signal;
    },
  };
}

/**
 * The ambient deadline's signal, or `undefined` outside `withDeadline`. Created on
 * the first read (already aborted, with `DeadlineExceededError`, if the deadline has passed).
 *
 * @example
 * ```ts
 * await fetch(url, { signal: deadlineSignal() });
 * ```
 */
export function deadlineSignal(): AbortSignal | undefined {
  return currentScope()?.signal;
}

/** The time limit an operation gets, as computed by {@link resolveBudget}. @example `const { ms, deadlineBound } = resolveBudget(5_000, 'redis.get')` */
export interface Budget {
  /** `min(own timeout, remaining deadline)` in ms. */
  readonly ms: number;
  /** True when the remaining deadline, not the operation's own timeout, is the limit. */
  readonly deadlineBound: boolean;
  /** The ambient deadline's signal, if any (created on first read: read it only if you hand it on). */
  readonly signal: AbortSignal | undefined;
}

/**
 * Computes how long an operation may run: `min(ownMs, remaining deadline)`.
 * Used by every supaguard wrapper; exported for custom layers and wrappers.
 *
 * @param ownMs - The operation's own timeout (`Infinity` for none).
 * @param operation - Name used in the error.
 * @param floorMs - Minimum useful budget. @default 1
 * @throws {@link DeadlineExceededError} when less than `floorMs` is left, or the deadline already aborted.
 * @example
 * ```ts
 * const { ms } = resolveBudget(50, 'redis.get');
 * ```
 */
export function resolveBudget(ownMs: number, operation: string, floorMs: number = DEFAULT_DEADLINE_FLOOR_MS): Budget {
  const scope = currentScope();
  if (scope === undefined) return { ms: ownMs, deadlineBound: false, signal: undefined };
  const left = checkScope(scope, operation, floorMs);
  const deadlineBound = left < ownMs;
  return {
    ms: deadlineBound ? left : ownMs,
    deadlineBound,
    // Created on first read (an AbortSignal costs ~4 µs on Node 20): many callers only need `ms`.
    get signal() {
      return scope.signal;
    },
  };
}
