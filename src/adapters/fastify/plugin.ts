import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { ConfigurationError } from '../../errors.js';
import { toProblem } from '../problem.js';
import { createRateLimiter, rateLimitedError, rateLimitHeaders, type RateLimiter } from '../rate-limiter.js';
import { authenticateRequest, authorizeRequest, checkDeadlineMs, checkRequest, DEFAULT_REQUEST_DEADLINE_MS, isPending, RequestGuard } from '../request-guard.js';
import type { FastifyRateLimitOptions, SupaguardFastify, SupaguardPluginOptions, SupaguardRouteConfig } from './options.js';

const GUARD = Symbol.for('supaguard.fastify.guard');
type GuardedRequest = FastifyRequest & { [GUARD]: RequestGuard | null };

const defaultKey = (request: FastifyRequest): string => (request.auth ? `user:${request.auth.userId}` : `ip:${request.ip}`);

interface BoundLimiter {
  limiter: RateLimiter;
  key: (request: FastifyRequest) => string;
}

// A step that may answer synchronously, as a promise (a synchronous throw becomes a rejection).
function settled<T>(step: () => T | Promise<T>): Promise<T> {
  return new Promise<T>((resolve) => resolve(step()));
}

function guardOf(request: FastifyRequest, deadlineMs: number): RequestGuard {
  const r = request as GuardedRequest;
  return (r[GUARD] ??= new RequestGuard(deadlineMs));
}

const supaguardPlugin: FastifyPluginAsync<SupaguardPluginOptions> = async (fastify: FastifyInstance, options: SupaguardPluginOptions) => {
  const { verifier, authorization, auditLog, redis, cookie } = options;
  if (typeof verifier?.verify !== 'function') throw new ConfigurationError('verifier', 'must have a verify(token) method');
  const deadlineMs = checkDeadlineMs('deadlineMs', options.deadlineMs ?? DEFAULT_REQUEST_DEADLINE_MS);

  const makeLimiter = (config: FastifyRateLimitOptions, prefix: string): BoundLimiter => ({
    limiter: createRateLimiter({ ...config, redis, prefix: config.prefix ?? prefix }),
    key: config.key ?? defaultKey,
  });
  const globalLimiter = options.rateLimit ? makeLimiter(options.rateLimit, 'supaguard:rl:') : undefined;
  // Route configs are stable objects, so each route's limiter is built once.
  const routeLimiters = new WeakMap<SupaguardRouteConfig, BoundLimiter | undefined>();
  const limiterFor = (request: FastifyRequest, route: SupaguardRouteConfig | undefined): BoundLimiter | undefined => {
    if (route?.rateLimit === undefined) return globalLimiter;
    if (route.rateLimit === false) return undefined;
    if (!routeLimiters.has(route)) {
      routeLimiters.set(route, makeLimiter(route.rateLimit, `supaguard:rl:${request.routeOptions.method}:${request.routeOptions.url}:`));
    }
    return routeLimiters.get(route);
  };

  const requireAuthorization = (): NonNullable<typeof authorization> => {
    if (authorization === undefined) throw new ConfigurationError('authorization', 'is required for authorize / check');
    return authorization;
  };

  const decorator: SupaguardFastify = {
    verifier,
    authorization,
    auditLog,
    check: (request, query) => settled(() => checkRequest(guardOf(request, deadlineMs), requireAuthorization(), query, auditLog)),
    authorize: (request, query) => settled(() => authorizeRequest(guardOf(request, deadlineMs), requireAuthorization(), query, auditLog)),
    withDeadline: (request, fn) => guardOf(request, deadlineMs).runScoped('handler', fn),
  };

  if (!fastify.hasRequestDecorator('auth')) fastify.decorateRequest('auth', null);
  if (!fastify.hasRequestDecorator(GUARD as unknown as string)) fastify.decorateRequest(GUARD as unknown as string, null);
  if (!fastify.hasDecorator('supaguard')) fastify.decorate('supaguard', decorator);

  // The steps of one request, each answered synchronously when a cache can: a
  // cached token and an L1 decision cost no promise, no timer and no deadline scope.
  const authorizeStep = (request: FastifyRequest, guard: RequestGuard, route: SupaguardRouteConfig | undefined): void | Promise<void> => {
    const authorize = route?.authorize;
    if (authorize === undefined || route?.public) return;
    return authorizeRequest(guard, requireAuthorization(), { resourceId: authorize.resource(request), action: authorize.action }, auditLog);
  };
  const afterAuthentication = (request: FastifyRequest, reply: FastifyReply, guard: RequestGuard, route: SupaguardRouteConfig | undefined): void | Promise<void> => {
    const limited = limiterFor(request, route);
    if (limited === undefined) return authorizeStep(request, guard, route);
    const id = limited.key(request);
    // Bounded by the request's deadline too, not only by the limiter's redisTimeoutMs.
    return guard.run('rateLimit', () => limited.limiter.consume(id)).then((result) => {
      reply.headers(rateLimitHeaders(result, limited.limiter.durationMs));
      if (!result.allowed) throw rateLimitedError(result);
      return authorizeStep(request, guard, route);
    });
  };
  const guardRequest = (request: FastifyRequest, reply: FastifyReply, guard: RequestGuard, route: SupaguardRouteConfig | undefined): void | Promise<void> => {
    if (route?.public) return afterAuthentication(request, reply, guard, route);
    const auth = authenticateRequest(guard, request.headers, { verifier, cookie, optional: route?.optional ?? options.optional });
    if (!isPending(auth)) {
      request.auth = auth;
      return afterAuthentication(request, reply, guard, route);
    }
    return auth.then((verified) => {
      request.auth = verified;
      return afterAuthentication(request, reply, guard, route);
    });
  };

  // Callback style: a request answered from the caches completes without a promise.
  fastify.addHook('onRequest', function supaguardOnRequest(request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) {
    const route = request.routeOptions.config?.supaguard;
    if (route?.public && limiterFor(request, route) === undefined) {
      done();
      return;
    }
    let pending: void | Promise<void>;
    try {
      pending = guardRequest(request, reply, guardOf(request, route?.deadlineMs ?? deadlineMs), route);
    } catch (err) {
      done(err as Error);
      return;
    }
    if (pending === undefined) done();
    else pending.then(() => done(), done);
  });

  if (options.errorHandler !== false) {
    fastify.setErrorHandler(function supaguardErrorHandler(error, _request, reply) {
      const problem = toProblem(error);
      // Not ours: the default handler (the parent of this root-level one) answers it.
      if (problem === undefined) throw error;
      return reply.code(problem.status).headers(problem.headers).send(JSON.stringify(problem.body));
    });
  }

  fastify.addHook('onClose', async function supaguardOnClose() {
    const results = await Promise.allSettled([
      ...(options.subscribers ?? []).map((s) => s.quit()),
      Promise.resolve().then(() => authorization?.close?.()),
      Promise.resolve().then(() => auditLog?.close?.()),
    ]);
    for (const r of results) if (r.status === 'rejected') fastify.log.warn({ code: (r.reason as { code?: unknown })?.code }, 'supaguard: a resource failed to close');
  });
};

/**
 * The supaguard Fastify 5 plugin (wrapped with `fastify-plugin`, name `supaguard`):
 * authenticates every request in `onRequest` (unless the route is `public`),
 * applies rate limits and route-level authorization from
 * `config: { supaguard: { … } }`, answers supaguard errors as problem+json, and on
 * `fastify.close()` quits the given Redis subscribers, closes the authorization
 * cache and flushes the audit log. Decorates `request.auth` and `fastify.supaguard`.
 *
 * @throws {@link ConfigurationError} (at registration) when `verifier` is missing or `deadlineMs` invalid.
 * @example
 * ```ts
 * await app.register(supaguard, { verifier, authorization: authz, redis, rateLimit: { points: 100, durationMs: 60_000 } });
 * app.get('/projects/:id', {
 *   config: { supaguard: { authorize: { resource: (req) => (req.params as { id: string }).id, action: 'project.read' } } },
 * }, async (req) => loadProject((req.params as { id: string }).id));
 * app.get('/healthz', { config: { supaguard: { public: true } } }, async () => ({ ok: true }));
 * ```
 */
export const supaguard = fp(supaguardPlugin, { fastify: '5.x', name: 'supaguard' });
