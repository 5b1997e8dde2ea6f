import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ProblemResponse } from '../problem.js';
import { DEFAULT_REQUEST_DEADLINE_MS, RequestGuard } from '../request-guard.js';

const GUARD = Symbol.for('supaguard.express.guard');
type WithGuard = IncomingMessage & { [GUARD]?: RequestGuard };

/** The request's {@link RequestGuard}, created with `deadlineMs` on first use. @internal */
export function guardOf(req: IncomingMessage, deadlineMs: number = DEFAULT_REQUEST_DEADLINE_MS): RequestGuard {
  return ((req as WithGuard)[GUARD] ??= new RequestGuard(deadlineMs));
}

/** The request's guard if a supaguard middleware already ran. @internal */
export function existingGuard(req: IncomingMessage): RequestGuard | undefined {
  return (req as WithGuard)[GUARD];
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
