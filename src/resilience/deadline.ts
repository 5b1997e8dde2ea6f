import { AsyncLocalStorage } from 'node:async_hooks';
import { AbortedError, ConfigurationError, DeadlineExceededError, isSupaguardError } from '../errors.js';

/** The deadline scope held in AsyncLocalStorage for the code running inside `withDeadline`. */
interface DeadlineScope {
  /** Absolute deadline on the `performance.now()` clock. */
  readonly deadlineAt: number;
  /** Aborts when the deadline passes or any enclosing signal aborts. */
  readonly signal: AbortSignal;
}

/**
 * Below this many milliseconds of remaining budget, supaguard wrappers refuse to
 * start work that cannot finish and fail with `DeadlineExceededError` at once.
 */
export const DEFAULT_DEADLINE_FLOOR_MS = 1;

// One store per process, shared by the ESM and CJS builds and duplicate installs,
// so a deadline set through one copy is honoured by the other.
const STORE_KEY = Symbol.for('supaguard.deadline');
const globalStore = globalThis as unknown as Record<symbol, AsyncLocalStorage<DeadlineScope> | undefined>;
const storage: AsyncLocalStorage<DeadlineScope> = (globalStore[STORE_KEY] ??= new AsyncLocalStorage<DeadlineScope>());

/** Options for {@link withDeadline}. */
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
  const reason: unknown = signal.reason;
  if (isSupaguardError(reason)) return reason;
  return new AbortedError(operation, { cause: reason });
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
 * @param ms - Budget in milliseconds (finite, ≥ 0).
 * @param fn - The work; receives the deadline's `AbortSignal`.
 * @throws {@link DeadlineExceededError} when the budget runs out (or is below the floor at the start).
 * @throws {@link AbortedError} when `options.signal` aborts with a non-supaguard reason.
 * @throws {@link ConfigurationError} when `ms` is not a finite number ≥ 0.
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
export async function withDeadline<T>(
  ms: number,
  fn: (signal: AbortSignal) => Promise<T> | T,
  options?: WithDeadlineOptions,
): Promise<T> {
  if (typeof ms !== 'number' || !(ms >= 0) || ms === Infinity) {
    throw new ConfigurationError('ms', 'must be a finite number of milliseconds >= 0');
  }
  const operation = options?.operation ?? 'deadline';
  const floor = options?.floorMs ?? DEFAULT_DEADLINE_FLOOR_MS;
  const parent = storage.getStore();
  const now = performance.now();
  const deadlineAt = parent === undefined ? now + ms : Math.min(now + ms, parent.deadlineAt);
  const callerSignal = options?.signal;

  if (parent?.signal.aborted) throw abortError(parent.signal, operation);
  if (callerSignal?.aborted) throw abortError(callerSignal, operation);
  if (deadlineAt - now < floor) throw new DeadlineExceededError(operation, deadlineAt - now);

  const controller = new AbortController();
  const signal = controller.signal;
  let rejectRace: ((err: Error) => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    rejectRace = reject;
  });
  // Every abort goes through here, so the race settles without a listener on our own signal.
  const abort = (reason: unknown): void => {
    if (signal.aborted) return;
    controller.abort(reason);
    rejectRace?.(abortError(signal, operation));
  };
  const onParentAbort = (): void => abort(parent?.signal.reason);
  const onCallerAbort = (): void => abort(callerSignal?.reason);
  parent?.signal.addEventListener('abort', onParentAbort, { once: true });
  callerSignal?.addEventListener('abort', onCallerAbort, { once: true });
  const timer = setTimeout(() => abort(new DeadlineExceededError(operation, 0)), deadlineAt - now);
  // A pending deadline must never keep the process alive by itself.
  timer.unref();

  try {
    const work = storage.run({ deadlineAt, signal }, () => Promise.resolve().then(() => fn(signal)));
    // If fn ignores its signal, the race still settles at the deadline; its late
    // rejection is observed here so it never becomes an unhandled rejection.
    work.catch(() => undefined);
    return await Promise.race([work, aborted]);
  } catch (err) {
    // On failure, whatever fn left running under this deadline is cancelled too
    // (Go's `defer cancel()`); on success the signal stays live for late body reads.
    if (!signal.aborted) controller.abort(err);
    throw err;
  } finally {
    clearTimeout(timer);
    parent?.signal.removeEventListener('abort', onParentAbort);
    callerSignal?.removeEventListener('abort', onCallerAbort);
  }
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
  const scope = storage.getStore();
  return scope === undefined ? Infinity : Math.max(0, scope.deadlineAt - performance.now());
}

/** What {@link currentDeadline} reports. */
export interface DeadlineInfo {
  /** Wall-clock time (ms since the epoch) at which the budget ends. */
  readonly at: number;
  /** Milliseconds left, never negative. */
  readonly remainingMs: number;
  /** Aborts when the deadline passes or an enclosing signal aborts. */
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
  const scope = storage.getStore();
  if (scope === undefined) return undefined;
  const left = Math.max(0, scope.deadlineAt - performance.now());
  return { at: Date.now() + left, remainingMs: left, signal: scope.signal };
}

/**
 * The ambient deadline's signal, or `undefined` outside `withDeadline`.
 *
 * @example
 * ```ts
 * await fetch(url, { signal: deadlineSignal() });
 * ```
 */
export function deadlineSignal(): AbortSignal | undefined {
  return storage.getStore()?.signal;
}

/** The time limit an operation gets, as computed by {@link resolveBudget}. */
export interface Budget {
  /** `min(own timeout, remaining deadline)` in ms. */
  readonly ms: number;
  /** True when the remaining deadline, not the operation's own timeout, is the limit. */
  readonly deadlineBound: boolean;
  /** The ambient deadline's signal, if any. */
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
  const scope = storage.getStore();
  if (scope === undefined) return { ms: ownMs, deadlineBound: false, signal: undefined };
  if (scope.signal.aborted) throw abortError(scope.signal, operation);
  const left = scope.deadlineAt - performance.now();
  if (left < floorMs) throw new DeadlineExceededError(operation, left);
  return left < ownMs ? { ms: left, deadlineBound: true, signal: scope.signal } : { ms: ownMs, deadlineBound: false, signal: scope.signal };
}
