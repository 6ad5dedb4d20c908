/**
 * Login throttling per username: every consecutive failure makes the next answer slower, and
 * LOCK_AFTER_FAILURES consecutive failures lock the account for LOCK_DURATION_MS. A success resets.
 * (The login route is also rate-limited per IP address by @fastify/rate-limit.)
 */
import type { Queryable } from '../db/index.ts';
import { toNumber } from '../db/index.ts';

export const LOCK_AFTER_FAILURES = 5;
export const LOCK_DURATION_MS = 15 * 60_000;
const BASE_DELAY_MS = 250;

/** Delay before answering the n-th consecutive failure: 250 ms doubling, capped. */
export function failureDelayMs(failures: number, capMs: number): number {
  if (failures <= 0) return 0;
  return Math.min(capMs, BASE_DELAY_MS * 2 ** (failures - 1));
}

export interface ThrottleState {
  failures: number;
  lockedUntil: number | null;
}

export async function readThrottle(db: Queryable, username: string): Promise<ThrottleState> {
  const rows = await db.query<{ failures: number; locked_until: unknown }>(
    'SELECT failures, locked_until FROM login_throttle WHERE username = $1',
    [username],
  );
  const row = rows[0];
  return {
    failures: row ? Number(row.failures) : 0,
    lockedUntil: row?.locked_until == null ? null : toNumber(row.locked_until),
  };
}

/** Records one failure atomically; returns the state after it (locked when the limit is reached). */
export async function recordFailure(db: Queryable, username: string, now: number): Promise<ThrottleState> {
  const rows = await db.query<{ failures: number; locked_until: unknown }>(
    `INSERT INTO login_throttle (username, failures, last_failure_at, locked_until)
     VALUES ($1, 1, $2, NULL)
     ON CONFLICT (username) DO UPDATE SET
       failures = CASE WHEN login_throttle.locked_until IS NOT NULL AND login_throttle.locked_until <= $2 THEN 1 ELSE login_throttle.failures + 1 END,
       last_failure_at = $2,
       locked_until = CASE WHEN login_throttle.locked_until IS NOT NULL AND login_throttle.locked_until <= $2 THEN NULL ELSE login_throttle.locked_until END
     RETURNING failures, locked_until`,
    [username, now],
  );
  const failures = Number(rows[0]?.failures ?? 1);
  if (failures >= LOCK_AFTER_FAILURES) {
    const lockedUntil = now + LOCK_DURATION_MS;
    await db.query('UPDATE login_throttle SET locked_until = $2 WHERE username = $1', [
      username,
      lockedUntil,
    ]);
    return { failures, lockedUntil };
  }
  return { failures, lockedUntil: null };
}

export async function resetThrottle(db: Queryable, username: string): Promise<void> {
  await db.query('DELETE FROM login_throttle WHERE username = $1', [username]);
}
