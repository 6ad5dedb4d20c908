import { API_ROUTES, loginRequestSchema, refreshRequestSchema, type AuthSession } from '@emdad/domain';
import type { FastifyInstance } from 'fastify';
import type { Db } from '../db/index.ts';
import { ApiError } from '../errors.ts';
import { dummyPasswordHash, verifyPassword } from '../auth/passwords.ts';
import { failureDelayMs, readThrottle, recordFailure, resetThrottle } from '../auth/throttle.ts';
import { findRefreshToken, issueRefreshToken, revokeFamily, type TokenService } from '../auth/tokens.ts';
import {
  enrolInstall,
  findInstall,
  findUserById,
  findUserByUsername,
  toProfile,
  type StoredUser,
} from '../users.ts';

export interface AuthRouteOptions {
  db: Db;
  tokens: TokenService;
  now: () => number;
  loginDelayCapMs: number;
  loginRateLimitPerMinute: number;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function parse<T>(
  schema: {
    safeParse(
      v: unknown,
    ):
      | { success: true; data: T }
      | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } };
  },
  body: unknown,
): T {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  throw new ApiError(
    400,
    'validation_failed',
    `Invalid request body: ${issue ? `${issue.path.map(String).join('.') || 'body'} ${issue.message}` : 'invalid'}.`,
  );
}

function lockedError(lockedUntil: number, now: number): ApiError {
  const minutes = Math.max(1, Math.ceil((lockedUntil - now) / 60_000));
  return new ApiError(
    423,
    'account_locked',
    `Too many failed sign-ins: this account is locked for ${minutes} more minute(s).`,
    {
      lockedUntil: new Date(lockedUntil).toISOString(),
    },
  );
}

export function registerAuthRoutes(app: FastifyInstance, options: AuthRouteOptions): void {
  const { db, tokens, now } = options;

  async function session(
    user: StoredUser,
    install: { id: string; trackingPrefix: string },
    refreshToken: string,
  ): Promise<AuthSession> {
    const access = await tokens.signAccessToken({ sub: user.id, role: user.role, install: install.id });
    return {
      accessToken: access.token,
      accessTokenExpiresAt: new Date(access.expiresAt).toISOString(),
      refreshToken,
      user: toProfile(user),
      install,
    };
  }

  app.post(
    API_ROUTES.login,
    { config: { rateLimit: { max: options.loginRateLimitPerMinute, timeWindow: 60_000 } } },
    async (request) => {
      const body = parse(loginRequestSchema, request.body);
      const throttleKey = body.username.toLowerCase();
      const before = await readThrottle(db, throttleKey);
      if (before.lockedUntil !== null && before.lockedUntil > now())
        throw lockedError(before.lockedUntil, now());

      const user = await findUserByUsername(db, body.username);
      // Unknown or disabled accounts cost the same argon2 work as real ones (no user enumeration by timing).
      const passwordOk =
        user && !user.disabled
          ? await verifyPassword(user.passwordHash, body.password)
          : (await verifyPassword(await dummyPasswordHash(), body.password), false);
      if (!user || !passwordOk) {
        const after = await recordFailure(db, throttleKey, now());
        await sleep(failureDelayMs(after.failures, options.loginDelayCapMs));
        if (after.lockedUntil !== null) throw lockedError(after.lockedUntil, now());
        throw new ApiError(401, 'invalid_credentials', 'The username or password is wrong.');
      }
      await resetThrottle(db, throttleKey);
      const { install, refresh } = await db.transaction(async (tx) => {
        const enrolled = await enrolInstall(tx, {
          installId: body.installId,
          userId: user.id,
          label: body.installLabel,
          now: now(),
        });
        const issued = await issueRefreshToken(tx, { userId: user.id, installId: enrolled.id, now: now() });
        return { install: enrolled, refresh: issued };
      });
      return await session(user, { id: install.id, trackingPrefix: install.trackingPrefix }, refresh.token);
    },
  );

  app.post(
    API_ROUTES.refresh,
    { config: { rateLimit: { max: options.loginRateLimitPerMinute * 4, timeWindow: 60_000 } } },
    async (request) => {
      const body = parse(refreshRequestSchema, request.body);
      const outcome = await db.transaction(async (tx) => {
        const stored = await findRefreshToken(tx, body.refreshToken);
        if (stored && (await findInstall(tx, stored.installId))?.revoked) return { kind: 'revoked' as const };
        if (!stored || stored.revokedAt !== null) return { kind: 'invalid' as const };
        if (stored.rotatedAt !== null) {
          // Reuse of a rotated token: someone holds a copy. Revoke the whole family (committed with this transaction).
          await revokeFamily(tx, stored.familyId, now());
          return { kind: 'reused' as const };
        }
        if (stored.expiresAt <= now()) return { kind: 'expired' as const };
        const user = await findUserById(tx, stored.userId);
        const install = await findInstall(tx, stored.installId);
        if (!user || user.disabled || !install || install.revoked) return { kind: 'invalid' as const };
        await tx.query('UPDATE refresh_tokens SET rotated_at = $2 WHERE id = $1', [stored.id, now()]);
        const next = await issueRefreshToken(tx, {
          userId: user.id,
          installId: install.id,
          familyId: stored.familyId,
          now: now(),
        });
        return { kind: 'ok' as const, user, install, token: next.token };
      });
      switch (outcome.kind) {
        case 'invalid':
          throw new ApiError(401, 'unauthenticated', 'This refresh token is not valid; sign in again.');
        case 'reused':
          throw new ApiError(
            401,
            'unauthenticated',
            'This refresh token was already used; every session from it has been ended for safety. Sign in again.',
          );
        case 'expired':
          throw new ApiError(401, 'token_expired', 'The session has expired; sign in again.');
        case 'revoked':
          throw new ApiError(
            401,
            'install_revoked',
            'This install was revoked by an administrator; its sessions have ended. Ask an administrator to enrol it again.',
          );
        case 'ok':
          return await session(
            outcome.user,
            { id: outcome.install.id, trackingPrefix: outcome.install.trackingPrefix },
            outcome.token,
          );
      }
    },
  );

  app.post(API_ROUTES.logout, async (request) => {
    const body = parse(refreshRequestSchema, request.body);
    await db.transaction(async (tx) => {
      const stored = await findRefreshToken(tx, body.refreshToken);
      if (stored) await revokeFamily(tx, stored.familyId, now());
    });
    return { ok: true };
  });
}
