import type { AuthorizationRequest, Decision } from 'supaguard';
import type { Database } from './database.js';

/** The actions of the example API. */
export const ACTIONS = {
  /** Read a project: public → anyone signed in; private → members of the owning team. */
  readProject: 'project.read',
  /** Administer a team (create projects, change members): team admins. */
  adminTeam: 'team.admin',
} as const;

/** Invalidation tag of everything decided from a team's membership. */
export const teamTag = (teamId: string): string => `team:${teamId}`;

// One query answers a whole batch of checks, in request order.
const BATCH_SQL = `
SELECT r.ord,
       CASE r.action
         WHEN 'project.read' THEN coalesce(p.is_public OR pm.user_id IS NOT NULL, false)
         WHEN 'team.admin'   THEN coalesce(tm.role = 'admin', false)
         ELSE false
       END AS allowed,
       coalesce(p.team_id, t.id) AS team_id,
       (p.id IS NULL AND t.id IS NULL) AS missing
FROM unnest($1::uuid[], $2::uuid[], $3::text[]) WITH ORDINALITY AS r(user_id, resource_id, action, ord)
LEFT JOIN projects p      ON r.action = 'project.read' AND p.id = r.resource_id
LEFT JOIN team_members pm ON pm.team_id = p.team_id AND pm.user_id = r.user_id
LEFT JOIN teams t         ON r.action = 'team.admin' AND t.id = r.resource_id
LEFT JOIN team_members tm ON tm.team_id = t.id AND tm.user_id = r.user_id
ORDER BY r.ord`;

interface Row {
  allowed: boolean;
  team_id: string | null;
  missing: boolean;
}

/** The AuthorizationCache loader (L3): one SQL query for all misses of a batch. */
export function authorizationLoader(db: Database): (requests: readonly AuthorizationRequest[]) => Promise<Decision[]> {
  return async (requests) => {
    const rows = await db.query<Row>(BATCH_SQL, [requests.map((r) => r.userId), requests.map((r) => r.resourceId), requests.map((r) => r.action)]);
    return rows.map((row): Decision => {
      const tags = row.team_id ? [teamTag(row.team_id)] : [];
      if (row.allowed) return { allowed: true, tags };
      return { allowed: false, reason: row.missing ? 'not found' : 'not a member', tags };
    });
  };
}
