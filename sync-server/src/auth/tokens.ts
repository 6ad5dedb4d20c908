/**
 * Access tokens: short-lived EdDSA (Ed25519) JWTs signed by a key pair generated at first start and
 * stored in the database, so every instance sharing it verifies every other's tokens.
 * Refresh tokens: random, stored only as a SHA-256 hash, rotated on every use; presenting a token
 * that was already rotated revokes its whole family (RFC 9700 §4.14.2, refresh token rotation).
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import {
  SignJWT,
  errors as joseErrors,
  exportJWK,
  generateKeyPair,
  importJWK,
  jwtVerify,
  type JWK,
} from 'jose';
import type { Role } from '@emdad/domain';
import type { Db, Queryable } from '../db/index.ts';
import { toNumber } from '../db/index.ts';
import { LOCK_KEYS } from '../db/migrations.ts';
import { ApiError } from '../errors.ts';

const ISSUER = 'emdad-sync-server';
const AUDIENCE = 'emdad-field';
export const REFRESH_TOKEN_TTL_MS = 30 * 24 * 60 * 60_000;

export interface AccessClaims {
  sub: string;
  role: Role;
  install: string;
  exp: number;
}

export interface TokenService {
  signAccessToken(claims: {
    sub: string;
    role: Role;
    install: string;
  }): Promise<{ token: string; expiresAt: number }>;
  /** Throws ApiError 401 `token_expired` or `unauthenticated`. */
  verifyAccessToken(token: string): Promise<AccessClaims>;
}

type KeyLike = Awaited<ReturnType<typeof importJWK>>;

async function loadOrCreateKeys(
  db: Db,
  now: number,
): Promise<{ privateKey: KeyLike; publicKey: KeyLike; kid: string }> {
  const row = await db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEYS.signingKeys]);
    const existing = await tx.query<{ id: string; private_jwk: JWK; public_jwk: JWK }>(
      'SELECT id, private_jwk, public_jwk FROM signing_keys ORDER BY created_at DESC LIMIT 1',
    );
    if (existing[0]) return existing[0];
    const pair = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    const created = {
      id: randomUUID(),
      private_jwk: await exportJWK(pair.privateKey),
      public_jwk: await exportJWK(pair.publicKey),
    };
    await tx.query(
      'INSERT INTO signing_keys (id, algorithm, private_jwk, public_jwk, created_at) VALUES ($1, $2, $3::jsonb, $4::jsonb, $5)',
      [created.id, 'EdDSA', JSON.stringify(created.private_jwk), JSON.stringify(created.public_jwk), now],
    );
    return created;
  });
  return {
    privateKey: await importJWK(row.private_jwk, 'EdDSA'),
    publicKey: await importJWK(row.public_jwk, 'EdDSA'),
    kid: row.id,
  };
}

export async function createTokenService(
  db: Db,
  options: { now: () => number; accessTokenTtlSeconds: number },
): Promise<TokenService> {
  const keys = await loadOrCreateKeys(db, options.now());
  return {
    async signAccessToken(claims) {
      const issuedAt = Math.floor(options.now() / 1000);
      const exp = issuedAt + options.accessTokenTtlSeconds;
      const token = await new SignJWT({ role: claims.role, install: claims.install })
        .setProtectedHeader({ alg: 'EdDSA', kid: keys.kid })
        .setSubject(claims.sub)
        .setIssuer(ISSUER)
        .setAudience(AUDIENCE)
        .setIssuedAt(issuedAt)
        .setExpirationTime(exp)
        .sign(keys.privateKey);
      return { token, expiresAt: exp * 1000 };
    },
    async verifyAccessToken(token) {
      try {
        const { payload } = await jwtVerify(token, keys.publicKey, {
          issuer: ISSUER,
          audience: AUDIENCE,
          algorithms: ['EdDSA'],
          currentDate: new Date(options.now()),
          requiredClaims: ['sub', 'exp'],
        });
        if (
          typeof payload.sub !== 'string' ||
          typeof payload.role !== 'string' ||
          typeof payload.install !== 'string' ||
          typeof payload.exp !== 'number'
        ) {
          throw new ApiError(401, 'unauthenticated', 'The access token lacks required claims.');
        }
        return { sub: payload.sub, role: payload.role as Role, install: payload.install, exp: payload.exp };
      } catch (error) {
        if (error instanceof ApiError) throw error;
        if (error instanceof joseErrors.JWTExpired)
          throw new ApiError(
            401,
            'token_expired',
            'The access token has expired; refresh it or sign in again.',
          );
        throw new ApiError(401, 'unauthenticated', 'The access token is not valid.');
      }
    },
  };
}

export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Issues a new refresh token in `familyId` (a new family at login, the same family on rotation). */
export async function issueRefreshToken(
  db: Queryable,
  input: { userId: string; installId: string; familyId?: string; now: number },
): Promise<{ token: string; familyId: string; expiresAt: number }> {
  const token = randomBytes(32).toString('base64url');
  const familyId = input.familyId ?? randomUUID();
  const expiresAt = input.now + REFRESH_TOKEN_TTL_MS;
  await db.query(
    'INSERT INTO refresh_tokens (id, token_hash, family_id, user_id, install_id, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)',
    [randomUUID(), hashRefreshToken(token), familyId, input.userId, input.installId, input.now, expiresAt],
  );
  return { token, familyId, expiresAt };
}

export interface StoredRefreshToken {
  id: string;
  familyId: string;
  userId: string;
  installId: string;
  expiresAt: number;
  rotatedAt: number | null;
  revokedAt: number | null;
}

/** Reads (and row-locks, inside a transaction) the stored refresh token with this value. */
export async function findRefreshToken(db: Queryable, token: string): Promise<StoredRefreshToken | null> {
  const rows = await db.query<Record<string, unknown>>(
    'SELECT id, family_id, user_id, install_id, expires_at, rotated_at, revoked_at FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE',
    [hashRefreshToken(token)],
  );
  const row = rows[0];
  if (!row) return null;
  return {
    id: String(row.id),
    familyId: String(row.family_id),
    userId: String(row.user_id),
    installId: String(row.install_id),
    expiresAt: toNumber(row.expires_at),
    rotatedAt: row.rotated_at == null ? null : toNumber(row.rotated_at),
    revokedAt: row.revoked_at == null ? null : toNumber(row.revoked_at),
  };
}

export async function revokeFamily(db: Queryable, familyId: string, now: number): Promise<void> {
  await db.query('UPDATE refresh_tokens SET revoked_at = $2 WHERE family_id = $1 AND revoked_at IS NULL', [
    familyId,
    now,
  ]);
}
