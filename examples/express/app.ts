import express, { type Express, type Request } from 'express';
import { authenticate, authorize, deadline, errorHandler, rateLimit } from 'supaguard/express';
import { createProject, deleteMember, getProject, metrics, putMember, stats } from '../shared/api.js';
import { ACTIONS } from '../shared/authorization.js';
import type { ExampleContext } from '../shared/context.js';

const param = (name: string) => (req: Request) => req.params[name] as string;

/** The example API on Express 5 (the same middleware works on Express 4). */
export function buildExpressApp(ctx: ExampleContext): Express {
  const app = express();
  const teamAdmin = authorize({ authorization: ctx.authorization, resource: param('id'), action: ACTIONS.adminTeam, auditLog: ctx.auditLog });

  app.use(deadline(2_000));
  app.use(express.json());
  app.get('/healthz', (_req, res) => void res.json({ ok: true, database: ctx.db.kind }));
  app.get('/metrics', async (_req, res) => {
    const { contentType, body } = await metrics(ctx);
    res.type(contentType).send(body);
  });
  app.get('/stats', (_req, res) => void res.json(stats(ctx)));
  // DEVELOPMENT ONLY: tokens from the Supabase Auth stand-in.
  app.post('/dev/token', async (req, res) => void res.json({ access_token: await ctx.devIssuer.issue(String(req.body?.userId)) }));

  app.use(authenticate({ verifier: ctx.verifier }));
  app.get('/projects/:id', authorize({ authorization: ctx.authorization, resource: param('id'), action: ACTIONS.readProject, auditLog: ctx.auditLog }), async (req, res) => {
    const project = await getProject(ctx, param('id')(req));
    if (project) res.json(project);
    else res.status(404).json({ error: 'not found' });
  });
  app.post('/teams/:id/projects', teamAdmin, rateLimit({ redis: ctx.redis, points: 30, durationMs: 60_000 }), async (req, res) => {
    res.status(201).json(await createProject(ctx, param('id')(req), req.body));
  });
  app.put('/teams/:id/members/:userId', teamAdmin, async (req, res) => void res.json(await putMember(ctx, param('id')(req), param('userId')(req), req.body)));
  app.delete('/teams/:id/members/:userId', teamAdmin, async (req, res) => {
    await deleteMember(ctx, param('id')(req), param('userId')(req));
    res.status(204).end();
  });
  app.use(errorHandler());
  return app;
}
