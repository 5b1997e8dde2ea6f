import { IncomingMessage, type ServerResponse } from 'node:http';
import type { AuthInfo } from '../contracts.js';
import type { ProblemResponse } from '../problem.js';
import { DEFAULT_REQUEST_DEADLINE_MS, RequestGuard } from '../request-guard.js';

// Where the request's state lives depends on the engine, because the cheaper place differs
// (Express 5, 100 connections, server pinned to one core, CPU time per request, 8 paired rounds):
// - V8 13+ (Node 24): in one symbol-keyed property of `req` (invisible to `Object.keys`,
//   `for…in` and JSON): 70.8 against 74.8 µs with a WeakMap (70.3 against 72.6 in a second
//   run), whose young keys V8 records in the ephemeron remembered set for every scavenge.
// - Older V8 (Node 20, 22): beside the request in a WeakMap: 177.1 against 181.9 µs with the
//   property. There Express's requests do not share hidden classes, so each property added
//   to `req` copies the request's class.
const GUARD_ON_REQUEST = Number((process.versions.v8 ?? '0').split('.')[0]) >= 13;
const GUARD = Symbol('supaguard.express.guard');
type Guarded = IncomingMessage & { [GUARD]?: RequestGuard };
const guards = new WeakMap<IncomingMessage, RequestGuard>();
// Values a handler wrote to `req.auth` itself; `authenticate` writes only the guard.
const written = new WeakMap<object, AuthInfo | null | undefined>();
let anyWritten = false;
const patched = new WeakSet<object>();
let lastProto: object | undefined;

/**
 * Makes `req.auth` read the caller `authenticate` stored on the request's guard.
 * Under Express, `auth` is an accessor on Express's shared request prototype
 * (`express.request`, the object Express documents for extending every request),
 * so nothing is added to `req` itself; a request without that prototype (plain
 * `node:http`) gets an own property.
 * @internal
 */
export function exposeAuth(req: IncomingMessage, guard: RequestGuard): void {
  const proto = Object.getPrototypeOf(req) as object | null;
  if (proto !== lastProto) {
    const base = requestBase(proto);
    if (base === undefined || !(patched.has(base) || patch(base))) {
      Object.defineProperty(req, 'auth', { value: guard.auth, writable: true, enumerable: true, configurable: true });
      return;
    }
    lastProto = proto as object;
  }
  // A value a handler wrote earlier in this request gives way to the verified caller: one written
  // through the accessor, or one written as an own property before the accessor was installed.
  if (anyWritten) written.delete(req);
  if (Object.prototype.hasOwnProperty.call(req, 'auth')) delete (req as { auth?: unknown }).auth;
}

/** The prototype just above `IncomingMessage.prototype` in a request's chain (Express's `express.request`), if any. */
function requestBase(proto: object | null): object | undefined {
  if (proto === IncomingMessage.prototype || proto === null) return undefined;
  for (let next = Object.getPrototypeOf(proto) as object | null; next !== null; next = Object.getPrototypeOf(next) as object | null) {
    if (next === IncomingMessage.prototype) return proto;
    proto = next;
  }
  return undefined;
}

/** Installs the `auth` accessor on `base` unless something else already defines `auth` there. */
function patch(base: object): boolean {
  if (Object.prototype.hasOwnProperty.call(base, 'auth')) return false;
  Object.defineProperty(base, 'auth', {
    configurable: true,
    enumerable: true,
    get(this: IncomingMessage): AuthInfo | null | undefined {
      return anyWritten && written.has(this) ? written.get(this) : existingGuard(this)?.auth;
    },
    set(this: IncomingMessage, value: AuthInfo | null | undefined) {
      anyWritten = true;
      written.set(this, value);
    },
  });
  patched.add(base);
  return true;
}

/** The request's {@link RequestGuard}, created with `deadlineMs` on first use. @internal */
export function guardOf(req: IncomingMessage, deadlineMs: number = DEFAULT_REQUEST_DEADLINE_MS): RequestGuard {
  if (GUARD_ON_REQUEST) return ((req as Guarded)[GUARD] ??= new RequestGuard(deadlineMs));
  let guard = guards.get(req);
  if (guard === undefined) {
    guard = new RequestGuard(deadlineMs);
    guards.set(req, guard);
  }
  return guard;
}

/** The request's guard if a supaguard middleware already ran. @internal */
export function existingGuard(req: IncomingMessage): RequestGuard | undefined {
  return GUARD_ON_REQUEST ? (req as Guarded)[GUARD] : guards.get(req);
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
