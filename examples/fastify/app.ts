import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { supaguard } from 'supaguard/fastify';
import { createProject, deleteMember, getProject, metrics, putMember, stats } from '../shared/api.js';
import { ACTIONS } from '../shared/authorization.js';
import type { ExampleContext } from '../shared/context.js';

const param = (name: string) => (req: FastifyRequest) => (req.params as Record<string, string>)[name];
const isPublic = { config: { supaguard: { public: true } } };
const teamAdmin = { config: { supaguard: { authorize: { resource: param('id'), action: ACTIONS.adminTeam } } } };

/** The example API on Fastify 5. */
export async function buildFastifyApp(ctx: ExampleContext): Promise<FastifyInstance> {
  const app = Fastify();
  await app.register(supaguard, {
    verifier: ctx.verifier,
    authorization: ctx.authorization,
    auditLog: ctx.auditLog,
    redis: ctx.redis,
    subscribers: ctx.subscriber ? [ctx.subscriber] : [],
    deadlineMs: 2_000,
  });

  app.get('/healthz', isPublic, async () => ({ ok: true, database: ctx.db.kind }));
  app.get('/metrics', isPublic, async (_req, reply) => {
    const { contentType, body } = await metrics(ctx);
    return reply.type(contentType).send(body);
  });
  app.get('/stats', isPublic, async () => stats(ctx));
  // DEVELOPMENT ONLY: tokens from the Supabase Auth stand-in.
  app.post('/dev/token', isPublic, async (req) => ({ access_token: await ctx.devIssuer.issue(String((req.body as { userId?: unknown })?.userId)) }));

  app.get('/projects/:id', { config: { supaguard: { authorize: { resource: param('id'), action: ACTIONS.readProject } } } }, async (req, reply) => {
    const project = await getProject(ctx, param('id')(req) as string);
    return project ?? reply.code(404).send({ error: 'not found' });
  });
  app.post(
    '/teams/:id/projects',
    { config: { supaguard: { ...teamAdmin.config.supaguard, rateLimit: { points: 30, durationMs: 60_000 } } } },
    async (req, reply) => reply.code(201).send(await createProject(ctx, param('id')(req) as string, req.body)),
  );
  app.put('/teams/:id/members/:userId', teamAdmin, async (req) => putMember(ctx, param('id')(req) as string, param('userId')(req) as string, req.body));
  app.delete('/teams/:id/members/:userId', teamAdmin, async (req, reply) => {
    await deleteMember(ctx, param('id')(req) as string, param('userId')(req) as string);
    return reply.code(204).send();
  });
  return app;
}
