import type { Request, RequestHandler } from 'express';
import type { AuditLogLike, AuthorizationCheckerLike } from '../contracts.js';
import { ConfigurationError } from '../../errors.js';
import { authorizeRequest, isPending } from '../request-guard.js';
import { guardOf, settle } from './request-state.js';

/** Options for {@link authorize}. */
export interface AuthorizeOptions {
  /** Answers the check, e.g. `createAuthorizationCache(...)`. */
  authorization: AuthorizationCheckerLike;
  /** The resource id of this request, e.g. `(req) => req.params.id`; anything but a non-empty string is answered 400 `E_INVALID_ID`. */
  resource: (req: Request) => unknown;
  /** The action checked, e.g. `project.read`. */
  action: string;
  /** Where allow / deny decisions are recorded (not awaited). */
  auditLog?: AuditLogLike;
}

/**
 * Express middleware: asks the authorization cache whether `req.auth.userId` may
 * do `action` on `resource(req)`; a deny fails with `E_FORBIDDEN` (403). Must come
 * after {@link authenticate}. The same check twice in one request (for example a
 * route-level and a router-level `authorize`) is answered once.
 *
 * @param options - See {@link AuthorizeOptions}.
 * @throws {@link ConfigurationError} when `authorization`, `resource` or `action` is missing.
 * @example
 * ```ts
 * app.get('/projects/:id', authorize({ authorization: authz, resource: (req) => req.params.id, action: 'project.read' }), handler);
 * ```
 */
export function authorize(options: AuthorizeOptions): RequestHandler {
  if (typeof options?.authorization?.check !== 'function') throw new ConfigurationError('authorization', 'must have a check(query) method');
  if (typeof options.resource !== 'function') throw new ConfigurationError('resource', 'must be a function of the request');
  if (typeof options.action !== 'string' || options.action === '') throw new ConfigurationError('action', 'must be a non-empty string');
  const { authorization, resource, action, auditLog } = options;
  return function supaguardAuthorize(req, _res, next) {
    let work: void | Promise<void>;
    try {
      work = authorizeRequest(guardOf(req), authorization, { resourceId: resource(req), action }, auditLog);
    } catch (err) {
      next(err);
      return;
    }
    // An answer from L1 is synchronous: no promise, no timer.
    if (isPending(work)) settle(work, next);
    else next();
  };
}
