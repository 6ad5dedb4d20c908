/**
 * Per-tracking-code lockout of the public tracking page: after `maxFailures` wrong phone digits
 * within `windowMs`, the code is locked for `lockMs`, whatever is sent. Failures are counted for
 * every code with a valid check character, whether a case has it or not, so the lock behaves the
 * same for both and tells an attacker nothing. State lives in PostgreSQL (migration 7), shared by
 * every server instance; the clock is the server's injected one.
 */
import type { Queryable } from '../db/index.ts';
import { toNumber } from '../db/index.ts';

export interface LockoutPolicy {
  maxFailures: number;
  windowMs: number;
  lockMs: number;
}

export const DEFAULT_LOCKOUT: LockoutPolicy = {
  maxFailures: 5,
  windowMs: 15 * 60_000,
  lockMs: 30 * 60_000,
};

/** When the code's lock ends, or null when it is not locked at `now`. */
export async function lockedUntil(db: Queryable, code: string, now: number): Promise<number | null> {
  const rows = await db.query<{ locked_until: unknown }>(
    'SELECT locked_until FROM public_tracking_throttle WHERE code = $1',
    [code],
  );
  const until = rows[0]?.locked_until;
  if (until == null) return null;
  const ms = toNumber(until);
  return ms > now ? ms : null;
}

/** Counts one wrong try; answers when the code is now locked until (null when not locked). */
export async function recordFailure(
  db: Queryable,
  code: string,
  now: number,
  policy: LockoutPolicy,
): Promise<number | null> {
  // One statement: concurrent wrong tries on one code are counted exactly (the row lock of the upsert).
  const fresh = 't.window_started_at <= $2::bigint - $3::bigint';
  const rows = await db.query<{ locked_until: unknown }>(
    `INSERT INTO public_tracking_throttle AS t (code, failures, window_started_at, locked_until)
     VALUES ($1, 1, $2::bigint, CASE WHEN 1 >= $4::int THEN $2::bigint + $5::bigint ELSE NULL END)
     ON CONFLICT (code) DO UPDATE SET
       failures = CASE WHEN ${fresh} THEN 1 ELSE t.failures + 1 END,
       window_started_at = CASE WHEN ${fresh} THEN $2::bigint ELSE t.window_started_at END,
       locked_until = CASE WHEN (CASE WHEN ${fresh} THEN 1 ELSE t.failures + 1 END) >= $4::int
         THEN $2::bigint + $5::bigint ELSE t.locked_until END
     RETURNING locked_until`,
    [code, now, policy.windowMs, policy.maxFailures, policy.lockMs],
  );
  // Rows of windows long gone carry nothing: keep the table small.
  await db.query(
    'DELETE FROM public_tracking_throttle WHERE window_started_at < $1::bigint AND COALESCE(locked_until, 0) < $2::bigint',
    [now - Math.max(policy.windowMs, policy.lockMs) * 4, now],
  );
  const until = rows[0]?.locked_until;
  return until != null && toNumber(until) > now ? toNumber(until) : null;
}

/** A right answer clears the code's wrong tries (but never an active lock, checked before). */
export async function clearFailures(db: Queryable, code: string, now: number): Promise<void> {
  await db.query(
    'DELETE FROM public_tracking_throttle WHERE code = $1 AND COALESCE(locked_until, 0) <= $2::bigint',
    [code, now],
  );
}
