import type { RequestHandler } from 'express';
import type { TokenVerifierLike } from '../contracts.js';
import { ConfigurationError } from '../../errors.js';
import { authenticateRequest, checkDeadlineMs, DEFAULT_REQUEST_DEADLINE_MS, isPending } from '../request-guard.js';
import { exposeAuth, guardOf, settle } from './request-state.js';

/** Options for {@link authenticate}. */
export interface AuthenticateOptions {
  /** Verifies the token, e.g. `createAccessTokenVerifier({ supabaseUrl })`. */
  verifier: TokenVerifierLike;
  /** Also accept the token from this cookie when there is no `Authorization` header. */
  cookie?: string;
  /** Let requests without a token through with `req.auth = null`; a bad token is still rejected. @default false */
  optional?: boolean;
  /** Budget of the request when no `deadline()` middleware ran before. @default 10000 */
  deadlineMs?: number;
}

/**
 * Express middleware: verifies the `Authorization: Bearer` token (or the
 * configured cookie) and sets `req.auth` (`{ userId, claims, token }`). A missing
 * token fails with `E_TOKEN_MISSING` (401, `WWW-Authenticate: Bearer`) unless
 * `optional`; every verifier failure is passed to `next(err)` for
 * {@link errorHandler} to answer.
 *
 * @param options - See {@link AuthenticateOptions}.
 * @throws {@link ConfigurationError} when `verifier` is missing.
 * @example
 * ```ts
 * app.use(deadline(2_000), authenticate({ verifier }));
 * app.get('/me', (req, res) => res.json({ id: req.auth?.userId }));
 * app.use(errorHandler());
 * ```
 */
export function authenticate(options: AuthenticateOptions): RequestHandler {
  if (typeof options?.verifier?.verify !== 'function') throw new ConfigurationError('verifier', 'must have a verify(token) method');
  const deadlineMs = checkDeadlineMs('deadlineMs', options.deadlineMs ?? DEFAULT_REQUEST_DEADLINE_MS);
  const step = { verifier: options.verifier, cookie: options.cookie, optional: options.optional };
  return function supaguardAuthenticate(req, _res, next) {
    const guard = guardOf(req, deadlineMs);
    let auth: ReturnType<typeof authenticateRequest>;
    try {
      auth = authenticateRequest(guard, req.headers, step);
    } catch (err) {
      next(err);
      return;
    }
    // A token the verifier has cached is answered synchronously: no promise, no timer.
    if (!isPending(auth)) {
      exposeAuth(req, guard);
      next();
      return;
    }
    settle(
      auth.then(() => exposeAuth(req, guard)),
      next,
    );
  };
}
