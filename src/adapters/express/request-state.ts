import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ProblemResponse } from '../problem.js';
import { DEFAULT_REQUEST_DEADLINE_MS, RequestGuard } from '../request-guard.js';

// Kept beside the request, not on it: Express gives every request object a hidden
// class of its own (it swaps the prototype), so each property added to `req`
// copies that class — about 2 µs a property under load, against ~0.1 µs here.
const guards = new WeakMap<IncomingMessage, RequestGuard>();

/** The request's {@link RequestGuard}, created with `deadlineMs` on first use. @internal */
export function guardOf(req: IncomingMessage, deadlineMs: number = DEFAULT_REQUEST_DEADLINE_MS): RequestGuard {
  let guard = guards.get(req);
  if (guard === undefined) {
    guard = new RequestGuard(deadlineMs);
    guards.set(req, guard);
  }
  return guard;
}

/** The request's guard if a supaguard middleware already ran. @internal */
export function existingGuard(req: IncomingMessage): RequestGuard | undefined {
  return guards.get(req);
}

/** Sends a problem response with Node's own API, so it behaves the same on Express 4 and 5. @internal */
export function writeProblem(res: ServerResponse, problem: ProblemResponse): void {
  res.statusCode = problem.status;
  for (const [name, value] of Object.entries(problem.headers)) res.setHeader(name, value);
  res.end(JSON.stringify(problem.body));
}

/** Runs `step` and calls `next()` or `next(err)`; never returns a promise to Express 4, which would ignore its rejection. @internal */
export function settle(step: Promise<unknown>, next: (err?: unknown) => void): void {
  step.then(
    () => next(),
    (err: unknown) => next(err),
  );
}
