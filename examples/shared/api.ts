// The example API's data access, shared by the Express and Fastify apps.
import { InvalidIdentifierError, isUuid } from 'supaguard';
import { teamTag } from './authorization.js';
import type { ExampleContext } from './context.js';

/** A project as the API returns it. */
export interface Project {
  id: string;
  teamId: string;
  name: string;
  isPublic: boolean;
}

const toProject = (r: { id: string; team_id: string; name: string; is_public: boolean }): Project => ({ id: r.id, teamId: r.team_id, name: r.name, isPublic: r.is_public });

/** GET /projects/:id (authorization already checked). */
export async function getProject(ctx: ExampleContext, id: string): Promise<Project | undefined> {
  const rows = await ctx.db.query<{ id: string; team_id: string; name: string; is_public: boolean }>('SELECT id, team_id, name, is_public FROM projects WHERE id = $1', [id]);
  return rows[0] && toProject(rows[0]);
}

/** POST /teams/:id/projects. Bad input is answered 400 through the adapters' error mapping. */
export async function createProject(ctx: ExampleContext, teamId: string, body: unknown): Promise<Project> {
  const { name, isPublic } = (body ?? {}) as { name?: unknown; isPublic?: unknown };
  if (typeof name !== 'string' || name.length === 0 || name.length > 200) throw new InvalidIdentifierError('name');
  const rows = await ctx.db.query<{ id: string; team_id: string; name: string; is_public: boolean }>(
    'INSERT INTO projects (id, team_id, name, is_public) VALUES (gen_random_uuid(), $1, $2, $3) RETURNING id, team_id, name, is_public',
    [teamId, name, isPublic === true],
  );
  return toProject(rows[0] as { id: string; team_id: string; name: string; is_public: boolean });
}

/** PUT /teams/:id/members/:userId — add or change a member, then invalidate the team's decisions everywhere. */
export async function putMember(ctx: ExampleContext, teamId: string, userId: string, body: unknown): Promise<{ teamId: string; userId: string; role: string }> {
  if (!isUuid(userId)) throw new InvalidIdentifierError('userId');
  const role = (body as { role?: unknown } | undefined)?.role ?? 'member';
  if (role !== 'admin' && role !== 'member') throw new InvalidIdentifierError('role');
  await ctx.db.query(
    'INSERT INTO team_members (team_id, user_id, role) VALUES ($1, $2, $3) ON CONFLICT (team_id, user_id) DO UPDATE SET role = excluded.role',
    [teamId, userId, role],
  );
  await ctx.authorization.invalidate({ tag: teamTag(teamId) });
  return { teamId, userId, role };
}

/** DELETE /teams/:id/members/:userId — remove a member, then invalidate the team's decisions everywhere. */
export async function deleteMember(ctx: ExampleContext, teamId: string, userId: string): Promise<void> {
  if (!isUuid(userId)) throw new InvalidIdentifierError('userId');
  await ctx.db.query('DELETE FROM team_members WHERE team_id = $1 AND user_id = $2', [teamId, userId]);
  await ctx.authorization.invalidate({ tag: teamTag(teamId) });
}

/** GET /metrics — supaguard's Prometheus metrics (text exposition format). */
export async function metrics(ctx: ExampleContext): Promise<{ contentType: string; body: string }> {
  return { contentType: ctx.metricsRegistry.contentType, body: await ctx.metricsRegistry.metrics() };
}

/** GET /stats — JSON counters of the cache and the audit log. */
export function stats(ctx: ExampleContext): Record<string, unknown> {
  const cache = ctx.authorization.stats();
  return {
    database: ctx.db.kind,
    cache: { hits: cache.hits, misses: cache.misses, hitRatio: cache.hitRatio, layers: cache.layers, loaderCalls: cache.loader.calls, staleServed: cache.staleServed },
    audit: ctx.auditLog.stats(),
  };
}
