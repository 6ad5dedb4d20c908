import type { FastifyRequest } from 'fastify';
import { ApiError } from '../errors.ts';
import type { Queryable } from '../db/index.ts';
import { findInstall, findUserById, type StoredUser } from '../users.ts';
import type { AccessClaims, TokenService } from './tokens.ts';

export interface Caller {
  user: StoredUser;
  claims: AccessClaims;
  install: { id: string; trackingPrefix: string };
}

/** Reads `Authorization: Bearer <access token>` and resolves the signed-in user and install. */
export async function requireCaller(
  request: FastifyRequest,
  db: Queryable,
  tokens: TokenService,
): Promise<Caller> {
  const header = request.headers.authorization;
  const match = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  if (!match?.[1])
    throw new ApiError(
      401,
      'unauthenticated',
      'Sign in first: send the access token as "Authorization: Bearer <token>".',
    );
  const claims = await tokens.verifyAccessToken(match[1]);
  const user = await findUserById(db, claims.sub);
  if (!user || user.disabled)
    throw new ApiError(401, 'unauthenticated', 'This account no longer exists or has been disabled.');
  const install = await findInstall(db, claims.install);
  if (!install) throw new ApiError(401, 'unauthenticated', 'This install is not enrolled; sign in again.');
  // Checked on every request, so a revocation stops an access token at once, not when it expires.
  if (install.revoked)
    throw new ApiError(
      401,
      'install_revoked',
      'This install was revoked by an administrator and can no longer sync; ask an administrator to enrol it again.',
    );
  return { user, claims, install: { id: install.id, trackingPrefix: install.trackingPrefix } };
}
