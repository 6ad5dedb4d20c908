import { prefixFromNumber, type Role, type UserProfile } from '@emdad/domain';
import type { Queryable } from './db/index.ts';
import { LOCK_KEYS } from './db/migrations.ts';
import { ApiError } from './errors.ts';

export interface StoredUser extends UserProfile {
  passwordHash: string;
  disabled: boolean;
}

const USER_COLUMNS =
  'id, username, password_hash, role, display_name_fa, display_name_en, branch_id, region_ids, team_id, disabled_at';

function toUser(row: Record<string, unknown>): StoredUser {
  return {
    id: String(row.id),
    username: String(row.username),
    passwordHash: String(row.password_hash),
    role: row.role as Role,
    displayName: { fa: String(row.display_name_fa), en: String(row.display_name_en) },
    branchId: row.branch_id == null ? null : String(row.branch_id),
    regionIds: Array.isArray(row.region_ids) ? (row.region_ids as string[]) : [],
    teamId: row.team_id == null ? null : String(row.team_id),
    disabled: row.disabled_at != null,
  };
}

export function toProfile(user: StoredUser): UserProfile {
  return {
    id: user.id,
    username: user.username,
    displayName: user.displayName,
    role: user.role,
    branchId: user.branchId,
    regionIds: user.regionIds,
    teamId: user.teamId,
  };
}

export async function findUserByUsername(db: Queryable, username: string): Promise<StoredUser | null> {
  const rows = await db.query(`SELECT ${USER_COLUMNS} FROM users WHERE lower(username) = lower($1)`, [
    username,
  ]);
  return rows[0] ? toUser(rows[0]) : null;
}

export async function findUserById(db: Queryable, id: string): Promise<StoredUser | null> {
  const rows = await db.query(`SELECT ${USER_COLUMNS} FROM users WHERE id = $1`, [id]);
  return rows[0] ? toUser(rows[0]) : null;
}

export interface InstallRecord {
  id: string;
  trackingPrefix: string;
  revoked: boolean;
}

/**
 * Enrols an install on first sight and hands it the next tracking prefix (prefixes are never reused,
 * so tracking codes minted offline on different installs can never collide); later sign-ins from the
 * same install keep their prefix.
 */
export async function enrolInstall(
  db: Queryable,
  input: { installId: string; userId: string; label?: string | undefined; now: number },
): Promise<InstallRecord> {
  await db.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEYS.installs]);
  const existing = await db.query<{ id: string; tracking_prefix: string; revoked_at: unknown }>(
    'SELECT id, tracking_prefix, revoked_at FROM installs WHERE id = $1',
    [input.installId],
  );
  const found = existing[0];
  if (found) {
    if (found.revoked_at != null)
      throw new ApiError(
        403,
        'install_revoked',
        'This install has been revoked; an administrator must enrol it again.',
      );
    await db.query(
      'UPDATE installs SET user_id = $2, last_seen_at = $3, label = COALESCE($4, label) WHERE id = $1',
      [input.installId, input.userId, input.now, input.label ?? null],
    );
    return { id: found.id, trackingPrefix: found.tracking_prefix, revoked: false };
  }
  const next = await db.query<{ n: number }>('SELECT COALESCE(MAX(prefix_number), 0) + 1 AS n FROM installs');
  const number = Number(next[0]?.n ?? 1);
  const trackingPrefix = prefixFromNumber(number);
  await db.query(
    'INSERT INTO installs (id, user_id, label, prefix_number, tracking_prefix, created_at, last_seen_at) VALUES ($1, $2, $3, $4, $5, $6, $6)',
    [input.installId, input.userId, input.label ?? null, number, trackingPrefix, input.now],
  );
  return { id: input.installId, trackingPrefix, revoked: false };
}

export async function findInstall(db: Queryable, installId: string): Promise<InstallRecord | null> {
  const rows = await db.query<{ id: string; tracking_prefix: string; revoked_at: unknown }>(
    'SELECT id, tracking_prefix, revoked_at FROM installs WHERE id = $1',
    [installId],
  );
  const row = rows[0];
  return row ? { id: row.id, trackingPrefix: row.tracking_prefix, revoked: row.revoked_at != null } : null;
}
