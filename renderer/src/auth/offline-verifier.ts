/**
 * Offline sign-in. After a successful online sign-in the app keeps, per user and install, a
 * PBKDF2-SHA256 verifier of the password (random salt, OWASP 2023's 210,000 iterations at least)
 * with the user's profile and an expiry. Without network the same password opens the app for
 * OFFLINE_LOGIN_DAYS days after the last online sign-in; after that, or for an account never
 * signed in here, the user must go online once. The verifier is never sent anywhere.
 */
import type { UserProfile } from '@emdad/domain';

export const OFFLINE_LOGIN_DAYS = 14;
export const OFFLINE_VERIFIER_ITERATIONS = 210_000;
const SALT_BYTES = 16;
const HASH_BITS = 256;

export interface OfflineVerifier {
  username: string;
  salt: string;
  hash: string;
  iterations: number;
  /** ISO time after which the verifier no longer opens the app. */
  expiresAt: string;
  user: UserProfile;
  install: { id: string; trackingPrefix: string };
}

export function normaliseUsername(username: string): string {
  return username.trim().toLowerCase();
}

function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary);
}

function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

async function derive(
  password: string,
  salt: Uint8Array<ArrayBuffer>,
  iterations: number,
): Promise<Uint8Array> {
  const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(password), 'PBKDF2', false, [
    'deriveBits',
  ]);
  const bits = await crypto.subtle.deriveBits(
    { name: 'PBKDF2', hash: 'SHA-256', salt, iterations },
    key,
    HASH_BITS,
  );
  return new Uint8Array(bits);
}

/** Constant-time comparison, so the check leaks nothing through its timing. */
function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

export async function createOfflineVerifier(input: {
  username: string;
  password: string;
  user: UserProfile;
  install: { id: string; trackingPrefix: string };
  now?: Date;
  iterations?: number;
}): Promise<OfflineVerifier> {
  const iterations = Math.max(input.iterations ?? OFFLINE_VERIFIER_ITERATIONS, OFFLINE_VERIFIER_ITERATIONS);
  const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
  const hash = await derive(input.password, salt, iterations);
  const now = input.now ?? new Date();
  return {
    username: normaliseUsername(input.username),
    salt: toBase64(salt),
    hash: toBase64(hash),
    iterations,
    expiresAt: new Date(now.getTime() + OFFLINE_LOGIN_DAYS * 24 * 60 * 60 * 1000).toISOString(),
    user: input.user,
    install: input.install,
  };
}

export type OfflineCheck =
  { ok: true; verifier: OfflineVerifier } | { ok: false; reason: 'absent' | 'expired' | 'wrong_password' };

export async function checkOfflineVerifier(
  verifier: OfflineVerifier | null | undefined,
  username: string,
  password: string,
  now: Date = new Date(),
): Promise<OfflineCheck> {
  if (!verifier || verifier.username !== normaliseUsername(username)) return { ok: false, reason: 'absent' };
  if (!(now.getTime() < Date.parse(verifier.expiresAt))) return { ok: false, reason: 'expired' };
  const hash = await derive(password, fromBase64(verifier.salt), verifier.iterations);
  if (!equalBytes(hash, fromBase64(verifier.hash))) return { ok: false, reason: 'wrong_password' };
  return { ok: true, verifier };
}
