/**
 * Administration (admin role only): the audit log, enrolled installs and their revocation, and
 * changes to a user's scope (region, branch, team).
 */
import { API_ROUTES, parseTrackingCode } from '@emdad/domain';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { fieldDiff, queryAudit, recordAudit } from '../audit.ts';
import type { TokenService } from '../auth/tokens.ts';
import { requireCaller, type Caller } from '../auth/session.ts';
import type { Db, Queryable } from '../db/index.ts';
import { toNumber } from '../db/index.ts';
import { ApiError } from '../errors.ts';
import { recordScopeChange } from '../replication/scope-changes.ts';
import { resolveScope } from '../replication/scope.ts';
import type { ChangeHub } from '../replication/stream.ts';
import { findUserById, toProfile } from '../users.ts';

export interface AdminRouteOptions {
  db: Db;
  tokens: TokenService;
  hub: ChangeHub;
  now: () => number;
}

async function requireAdmin(request: FastifyRequest, db: Db, tokens: TokenService): Promise<Caller> {
  const caller = await requireCaller(request, db, tokens);
  if (caller.user.role !== 'admin')
    throw new ApiError(403, 'forbidden', 'Only an administrator may use this.');
  return caller;
}

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success)
    throw new ApiError(
      400,
      'validation_failed',
      `Invalid ${what}: ${parsed.error.issues[0]?.message ?? 'invalid'}.`,
    );
  return parsed.data;
}

const auditQuerySchema = z.object({
  userId: z.string().max(64).optional(),
  installId: z.string().max(64).optional(),
  collection: z.string().max(64).optional(),
  docId: z.string().max(64).optional(),
  action: z.enum(['create', 'update', 'delete', 'refused']).optional(),
  /** Time window, ms since epoch: from ≤ at < to. */
  from: z.coerce.number().int().min(0).optional(),
  to: z.coerce.number().int().min(0).optional(),
  before: z.coerce.number().int().min(1).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});

const idParams = z.object({ id: z.string().min(1).max(64) });

const scopeBodySchema = z
  .object({
    regionIds: z.array(z.string().min(1).max(64)).max(50).optional(),
    branchId: z.string().min(1).max(64).nullable().optional(),
    teamId: z.string().min(1).max(64).nullable().optional(),
  })
  .refine((b) => b.regionIds !== undefined || b.branchId !== undefined || b.teamId !== undefined, {
    message: 'send at least one of regionIds, branchId, teamId',
  });

export interface InstallSummary {
  id: string;
  userId: string;
  username: string;
  label: string | null;
  trackingPrefix: string;
  createdAt: number;
  lastSeenAt: number;
  revokedAt: number | null;
  /** The last write from this install the server accepted, or null. */
  lastAcceptedWriteAt: number | null;
}

function toSummary(row: Record<string, unknown>): InstallSummary {
  return {
    id: String(row.id),
    userId: String(row.user_id),
    username: String(row.username),
    label: row.label == null ? null : String(row.label),
    trackingPrefix: String(row.tracking_prefix),
    createdAt: toNumber(row.created_at),
    lastSeenAt: toNumber(row.last_seen_at),
    revokedAt: row.revoked_at == null ? null : toNumber(row.revoked_at),
    lastAcceptedWriteAt: row.last_write_at == null ? null : toNumber(row.last_write_at),
  };
}

const INSTALL_SELECT = `SELECT i.id, i.user_id, u.username, i.label, i.tracking_prefix, i.created_at, i.last_seen_at, i.revoked_at,
  (SELECT max(a.at) FROM audit_log a WHERE a.install_id = i.id AND a.action <> 'refused') AS last_write_at
  FROM installs i JOIN users u ON u.id = i.user_id`;

/**
 * What the server can say about an install's unsynced work when it is revoked. It never sees a
 * device's local database, so it can only report what its own records imply: writes it refused
 * (still pending on the device unless the user corrected them), and the highest tracking-code
 * sequence it received from the install's prefix (any case with a higher sequence was created
 * offline and never arrived).
 */
async function unsyncedReport(db: Queryable, installId: string, prefix: string) {
  const refused = await db.query(
    `SELECT a.collection, a.doc_id, a.code, a.message, a.at FROM audit_log a
     WHERE a.install_id = $1 AND a.action = 'refused'
       AND NOT EXISTS (SELECT 1 FROM audit_log b WHERE b.install_id = a.install_id AND b.collection = a.collection
                       AND b.doc_id = a.doc_id AND b.action <> 'refused' AND b.id > a.id)
     ORDER BY a.id LIMIT 500`,
    [installId],
  );
  const codes = await db.query<{ tracking_code: string }>(
    'SELECT tracking_code FROM cases WHERE tracking_code LIKE $1',
    [`${prefix}-%`],
  );
  let highest: { jalaliYear: number; sequence: number; trackingCode: string } | null = null;
  for (const { tracking_code } of codes) {
    const parsed = parseTrackingCode(tracking_code);
    if (!parsed.ok) continue;
    if (
      !highest ||
      parsed.jalaliYear > highest.jalaliYear ||
      (parsed.jalaliYear === highest.jalaliYear && parsed.sequence > highest.sequence)
    )
      highest = { jalaliYear: parsed.jalaliYear, sequence: parsed.sequence, trackingCode: parsed.code };
  }
  return {
    refusedWritesNotResolved: refused.map((r) => ({
      collection: String(r.collection),
      docId: String(r.doc_id),
      code: String(r.code),
      message: String(r.message),
      at: toNumber(r.at),
    })),
    casesReceived: codes.length,
    highestTrackingCodeReceived: highest,
    unknowable:
      'The server cannot see what is stored only on the device: records created or edited offline and never pushed are unknown to it. ' +
      (highest
        ? `Any case from this install with a tracking code after ${highest.trackingCode} (prefix ${prefix}) was created offline and never reached the server.`
        : `No case from this install (prefix ${prefix}) ever reached the server; any it created exists only on the device.`),
  };
}

export function registerAdminRoutes(app: FastifyInstance, options: AdminRouteOptions): void {
  const { db, tokens, hub, now } = options;

  app.get(API_ROUTES.adminAudit, async (request) => {
    await requireAdmin(request, db, tokens);
    const query = parse(auditQuerySchema, request.query, 'audit query');
    return await queryAudit(db, query);
  });

  app.get(API_ROUTES.adminInstalls, async (request) => {
    await requireAdmin(request, db, tokens);
    const rows = await db.query(`${INSTALL_SELECT} ORDER BY i.created_at, i.id`);
    return { installs: rows.map(toSummary) };
  });

  app.post(API_ROUTES.adminRevokeInstall, async (request) => {
    const caller = await requireAdmin(request, db, tokens);
    const { id } = parse(idParams, request.params, 'install id');
    if (id === caller.install.id)
      throw new ApiError(
        400,
        'bad_request',
        'You cannot revoke the install you are using; sign in on another one first.',
      );
    const at = now();
    const install = await db.transaction(async (tx) => {
      const rows = await tx.query(`${INSTALL_SELECT} WHERE i.id = $1 FOR UPDATE OF i`, [id]);
      const row = rows[0];
      if (!row) throw new ApiError(404, 'not_found', `No install ${id} is enrolled.`);
      if (row.revoked_at == null) {
        await tx.query('UPDATE installs SET revoked_at = $2 WHERE id = $1', [id, at]);
        await recordAudit(tx, {
          at,
          actor: { userId: caller.user.id, installId: caller.install.id },
          collection: 'installs',
          docId: id,
          action: 'update',
          changes: { revokedAt: [null, at] },
        });
        await tx.query(
          'UPDATE refresh_tokens SET revoked_at = $2 WHERE install_id = $1 AND revoked_at IS NULL',
          [id, at],
        );
      }
      return toSummary({ ...row, revoked_at: row.revoked_at ?? at });
    });
    // Live streams of the install, on every instance, are closed now.
    await hub.announce({ kind: 'revoke', installId: id });
    return { install, unsynced: await unsyncedReport(db, id, install.trackingPrefix) };
  });

  app.post(API_ROUTES.adminUserScope, async (request) => {
    const caller = await requireAdmin(request, db, tokens);
    const { id } = parse(idParams, request.params, 'user id');
    const body = parse(scopeBodySchema, request.body, 'scope change');
    const updated = await db.transaction(async (tx) => {
      const user = await findUserById(tx, id);
      if (!user) throw new ApiError(404, 'not_found', `No user ${id} exists.`);
      const previous = await resolveScope(tx, user);
      // A team change also changes what the old and the new team's supervisors see.
      const affected = new Map<string, Awaited<ReturnType<typeof resolveScope>>>();
      if (body.teamId !== undefined && body.teamId !== user.teamId) {
        const supervisors = await tx.query<{ supervisor_id: string }>(
          'SELECT DISTINCT supervisor_id FROM teams WHERE id = ANY($1::text[]) AND supervisor_id IS NOT NULL',
          [[user.teamId, body.teamId].filter((t): t is string => t != null)],
        );
        for (const { supervisor_id } of supervisors) {
          const supervisor = await findUserById(tx, supervisor_id);
          if (supervisor && supervisor.id !== id)
            affected.set(supervisor.id, await resolveScope(tx, supervisor));
        }
      }
      if (body.branchId) {
        const branch = await tx.query('SELECT 1 FROM branches WHERE id = $1', [body.branchId]);
        if (branch.length === 0)
          throw new ApiError(400, 'validation_failed', `The branch ${body.branchId} does not exist.`);
      }
      if (body.regionIds?.length) {
        const known = await tx.query<{ id: string }>('SELECT id FROM regions WHERE id = ANY($1::text[])', [
          body.regionIds,
        ]);
        const missing = body.regionIds.filter((r) => !known.some((k) => k.id === r));
        if (missing.length > 0)
          throw new ApiError(400, 'validation_failed', `Unknown regions: ${missing.join(', ')}.`);
      }
      await tx.query(
        `UPDATE users SET region_ids = COALESCE($2::jsonb, region_ids),
           branch_id = CASE WHEN $3::boolean THEN $4 ELSE branch_id END,
           team_id = CASE WHEN $5::boolean THEN $6 ELSE team_id END
         WHERE id = $1`,
        [
          id,
          body.regionIds ? JSON.stringify(body.regionIds) : null,
          body.branchId !== undefined,
          body.branchId ?? null,
          body.teamId !== undefined,
          body.teamId ?? null,
        ],
      );
      await recordScopeChange(tx, id, previous, now());
      const after = (await findUserById(tx, id))!;
      await recordAudit(tx, {
        at: now(),
        actor: { userId: caller.user.id, installId: caller.install.id },
        collection: 'users',
        docId: id,
        action: 'update',
        changes: fieldDiff(
          { regionIds: user.regionIds, branchId: user.branchId, teamId: user.teamId },
          { regionIds: after.regionIds, branchId: after.branchId, teamId: after.teamId },
        ),
      });
      for (const [supervisorId, before] of affected) await recordScopeChange(tx, supervisorId, before, now());
      return { user: (await findUserById(tx, id))!, affected: [...affected.keys()] };
    });
    for (const userId of [id, ...updated.affected]) await hub.announce({ kind: 'scope', userId });
    return { user: toProfile(updated.user), alsoChanged: updated.affected };
  });
}
