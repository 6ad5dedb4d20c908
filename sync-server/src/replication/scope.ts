/**
 * Who may read which document, as SQL conditions (one source of truth for pull, stream, push and
 * GET /api/cases/:id; the stream and push run the same conditions against the rows they touch).
 *
 * - technician: cases assigned to them or created by them; equipment and merchants of their regions;
 *   published articles and their own drafts; their missions (assignee or creator), expenses, diagnostics, notifications;
 *   the timeline, surveys and diagnostics of the cases they see.
 * - branch staff: their branch's cases (and those they created), merchants and equipment; timeline
 *   and surveys of those cases; their notifications.
 * - supervisor: the teams they supervise (fixtures/data/teams.json): cases held by one of the teams
 *   (the case's `teamId`, set by routing and escalation), in the teams' regions or handled by a
 *   member, the members' missions, expenses and diagnostics, the teams' regions' merchants and
 *   equipment; every article version (drafts and retired ones included).
 * - admin: everything.
 * Reference data is readable by everyone signed in.
 */
import type { CollectionName } from '@emdad/domain/model/index';
import type { Role, UserProfile } from '@emdad/domain';
import type { Queryable } from '../db/index.ts';

export type ScopeUser = Pick<UserProfile, 'id' | 'role' | 'branchId' | 'regionIds' | 'teamId'>;

/** A user's scope, resolved once per request (or per stream delivery). */
export interface Scope {
  userId: string;
  role: Role;
  branchId: string | null;
  regionIds: string[];
  /** Supervisor: the teams they supervise, their members, and the regions the teams cover. */
  teamIds: string[];
  teamMemberIds: string[];
  teamRegionIds: string[];
}

export async function resolveScope(db: Queryable, user: ScopeUser): Promise<Scope> {
  const scope: Scope = {
    userId: user.id,
    role: user.role,
    branchId: user.branchId,
    regionIds: [...user.regionIds],
    teamIds: [],
    teamMemberIds: [],
    teamRegionIds: [],
  };
  if (user.role === 'supervisor') {
    const teams = await db.query<{ id: string; region_ids: unknown }>(
      'SELECT id, region_ids FROM teams WHERE supervisor_id = $1 ORDER BY id',
      [user.id],
    );
    scope.teamIds = teams.map((t) => t.id);
    scope.teamRegionIds = [
      ...new Set(teams.flatMap((t) => (Array.isArray(t.region_ids) ? (t.region_ids as string[]) : []))),
    ];
    if (scope.teamIds.length > 0) {
      const members = await db.query<{ id: string }>('SELECT id FROM users WHERE team_id = ANY($1::text[])', [
        scope.teamIds,
      ]);
      scope.teamMemberIds = members.map((m) => m.id);
    }
  }
  return scope;
}

/** Collects positional parameters while a condition is built. */
export class SqlParams {
  readonly values: unknown[];
  constructor(initial: unknown[] = []) {
    this.values = [...initial];
  }
  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }
  addArray(values: readonly string[]): string {
    return `${this.add([...values])}::text[]`;
  }
}

/** Condition over the `cases` table (optionally qualified with an alias, e.g. `c.`). */
export function caseScopeSql(scope: Scope, p: SqlParams, alias = ''): string {
  const col = (name: string) => `${alias}${name}`;
  switch (scope.role) {
    case 'admin':
      return 'TRUE';
    case 'supervisor': {
      const members = p.addArray(scope.teamMemberIds);
      return `(${col('branch_id')} IN (SELECT b.id FROM branches b WHERE b.region_id = ANY(${p.addArray(scope.teamRegionIds)}))
        OR ${col('team_id')} = ANY(${p.addArray(scope.teamIds)})
        OR ${col('created_by')} = ANY(${members}) OR ${col('assignee_id')} = ANY(${members}) OR ${col('created_by')} = ${p.add(scope.userId)})`;
    }
    case 'technician': {
      const me = p.add(scope.userId);
      return `(${col('created_by')} = ${me} OR ${col('assignee_id')} = ${me})`;
    }
    case 'branch_staff': {
      const me = p.add(scope.userId);
      return scope.branchId
        ? `(${col('created_by')} = ${me} OR ${col('branch_id')} = ${p.add(scope.branchId)})`
        : `${col('created_by')} = ${me}`;
    }
    default:
      return 'FALSE';
  }
}

/** Condition over the `documents` table (alias `d.`) for one collection. */
export function documentScopeSql(
  collection: Exclude<CollectionName, 'cases'>,
  scope: Scope,
  p: SqlParams,
): string {
  if (collection === 'reference') return 'TRUE';
  if (scope.role === 'admin') return 'TRUE';
  const visibleCase = () => `d.case_id IN (SELECT c.id FROM cases c WHERE ${caseScopeSql(scope, p, 'c.')})`;
  const regionsOfRole = () =>
    scope.role === 'supervisor'
      ? `d.region_id = ANY(${p.addArray(scope.teamRegionIds)})`
      : scope.role === 'technician'
        ? `d.region_id = ANY(${p.addArray(scope.regionIds)})`
        : scope.role === 'branch_staff' && scope.branchId
          ? `d.branch_id = ${p.add(scope.branchId)}`
          : 'FALSE';
  const mineOrTeam = () =>
    scope.role === 'supervisor'
      ? `(d.owner_id = ANY(${p.addArray(scope.teamMemberIds)}) OR d.owner_id = ${p.add(scope.userId)})`
      : `d.owner_id = ${p.add(scope.userId)}`;
  switch (collection) {
    case 'case_events':
    case 'surveys':
      return visibleCase();
    case 'diagnostics':
      return scope.role === 'branch_staff' ? visibleCase() : `(${mineOrTeam()} OR ${visibleCase()})`;
    case 'equipment':
    case 'merchants':
      return regionsOfRole();
    case 'kb_articles':
      // Reviewers read every version; others the published ones and their own (drafts, in review).
      return scope.role === 'supervisor' ? 'TRUE' : `(d.published OR d.owner_id = ${p.add(scope.userId)})`;
    case 'missions':
      if (scope.role === 'branch_staff') return 'FALSE';
      return `(${mineOrTeam()} OR d.creator_id = ${p.add(scope.userId)})`;
    case 'expenses':
      return scope.role === 'branch_staff' ? 'FALSE' : mineOrTeam();
    case 'notifications':
      return `d.owner_id = ${p.add(scope.userId)}`;
    default:
      return 'FALSE';
  }
}

/** The scope a user had, as stored in `scope_changes.previous` (enough to rebuild the conditions). */
export function scopeSnapshot(scope: Scope): Scope {
  return { ...scope };
}
