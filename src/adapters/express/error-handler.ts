import type { ErrorRequestHandler } from 'express';
import { toProblem } from '../problem.js';
import { existingGuard, writeProblem } from './request-state.js';

/**
 * Express error middleware: answers every supaguard error with its status from
 * the shared code table and an `application/problem+json` body (`type`, `title`,
 * `status`, `code`, and `detail` for 4xx). Bodies never contain stacks, causes,
 * tokens or keys. Other errors go on to the next error handler. Register it last.
 *
 * @example
 * ```ts
 * app.use(errorHandler());
 * // 401 {"type":"about:blank","title":"Unauthorized","status":401,"code":"E_TOKEN_EXPIRED","detail":"The access token has expired"}
 * ```
 */
export function errorHandler(): ErrorRequestHandler {
  // Express recognises error middleware by its four parameters.
  return function supaguardErrorHandler(err, req, res, next) {
    if (res.headersSent) {
      // The deadline already answered 504; the handler's late write is expected.
      if (existingGuard(req)?.timedOut) return;
      return next(err);
    }
    const problem = toProblem(err);
    if (problem === undefined) return next(err);
    writeProblem(res, problem);
  };
}
