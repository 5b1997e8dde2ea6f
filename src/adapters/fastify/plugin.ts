import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { ConfigurationError } from '../../errors.js';
import { toProblem } from '../problem.js';
import { createRateLimiter, rateLimitedError, rateLimitHeaders, type RateLimiter } from '../rate-limiter.js';
import { authenticateRequest, authorizeRequest, checkDeadlineMs, checkRequest, DEFAULT_REQUEST_DEADLINE_MS, RequestGuard } from '../request-guard.js';
import type { FastifyRateLimitOptions, SupaguardFastify, SupaguardPluginOptions, SupaguardRouteConfig } from './options.js';

const GUARD = Symbol.for('supaguard.fastify.guard');
type GuardedRequest = FastifyRequest & { [GUARD]: RequestGuard | null };

const defaultKey = (request: FastifyRequest): string => (request.auth ? `user:${request.auth.userId}` : `ip:${request.ip}`);

interface BoundLimiter {
  limiter: RateLimiter;
  key: (request: FastifyRequest) => string;
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
    check: (request, query) => checkRequest(guardOf(request, deadlineMs), requireAuthorization(), query, auditLog),
    authorize: (request, query) => authorizeRequest(guardOf(request, deadlineMs), requireAuthorization(), query, auditLog),
    withDeadline: (request, fn) => guardOf(request, deadlineMs).run('handler', fn),
  };

  if (!fastify.hasRequestDecorator('auth')) fastify.decorateRequest('auth', null);
  if (!fastify.hasRequestDecorator(GUARD as unknown as string)) fastify.decorateRequest(GUARD as unknown as string, null);
  if (!fastify.hasDecorator('supaguard')) fastify.decorate('supaguard', decorator);

  fastify.addHook('onRequest', async function supaguardOnRequest(request: FastifyRequest, reply: FastifyReply) {
    const route = request.routeOptions.config?.supaguard;
    const guard = guardOf(request, route?.deadlineMs ?? deadlineMs);
    const limited = limiterFor(request, route);
    const authorize = route?.authorize;
    if (route?.public && limited === undefined) return;
    // One deadline scope for all of this request's supaguard work.
    await guard.run('onRequest', async (signal) => {
      guard.scopeSignal = signal;
      if (!route?.public) {
        request.auth = await authenticateRequest(guard, request.headers, { verifier, cookie, optional: route?.optional ?? options.optional });
      }
      if (limited !== undefined) {
        const id = limited.key(request);
        const result = await limited.limiter.consume(id);
        reply.headers(rateLimitHeaders(result, limited.limiter.durationMs));
        if (!result.allowed) throw rateLimitedError(result);
      }
      if (authorize !== undefined && !route?.public) {
        await authorizeRequest(guard, requireAuthorization(), { resourceId: authorize.resource(request), action: authorize.action }, auditLog);
      }
    });
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
