import type { ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import { DeadlineExceededError, isSupaguardError } from '../../errors.js';
import { remainingMs, withDeadline } from '../../resilience/deadline.js';
import { toProblem } from '../problem.js';
import { checkDeadlineMs } from '../request-guard.js';
import { guardOf, writeProblem } from './request-state.js';

// A handler that ignored the deadline may still try to answer; after the 504
// those writes are dropped instead of throwing ERR_HTTP_HEADERS_SENT out of a
// timer callback, which would crash the process.
function ignoreLateWrites(res: ServerResponse): void {
  const self = (): ServerResponse => res;
  Object.assign(res, { setHeader: self, appendHeader: self, writeHead: self, removeHeader: () => undefined, write: () => true, end: self });
}

/**
 * Express middleware: gives the rest of the request a budget of `ms`. Every
 * supaguard call below it (token verification, authorization, Redis, database
 * wrappers) is bounded by what is left, and code in your handlers can read it
 * with `remainingMs()` / `deadlineSignal()`. If the budget runs out before a
 * response was sent, the request is answered with `E_DEADLINE` (504) and later writes of
 * the handler are ignored.
 * Put it first, before body parsers.
 *
 * @param ms - The request's budget in milliseconds.
 * @throws {@link ConfigurationError} when `ms` is not a positive number.
 * @example
 * ```ts
 * app.use(deadline(2_000));
 * app.use(authenticate({ verifier }));
 * ```
 */
export function deadline(ms: number): RequestHandler {
  checkDeadlineMs('ms', ms);
  return function supaguardDeadline(req, res, next) {
    const guard = guardOf(req, ms);
    let done!: () => void;
    const finished = new Promise<void>((resolve) => (done = resolve));
    res.once('finish', done).once('close', done);
    withDeadline(
      ms,
      (signal) => {
        guard.scopeSignal = signal;
        guard.deadlineAt = performance.now() + remainingMs();
        next();
        return finished;
      },
      { operation: 'request' },
    )
      .catch((err: unknown) => {
        if (res.headersSent || res.writableEnded) return;
        guard.timedOut = true;
        const problem = toProblem(isSupaguardError(err) ? err : new DeadlineExceededError('request', 0));
        if (problem) writeProblem(res, problem);
        ignoreLateWrites(res);
      })
      .finally(() => {
        res.off('finish', done).off('close', done);
      });
  };
}
