import { describe, expect, it } from 'vitest';
import type { UserProfile } from '@emdad/domain';
import {
  checkOfflineVerifier,
  createOfflineVerifier,
  OFFLINE_LOGIN_DAYS,
  OFFLINE_VERIFIER_ITERATIONS,
} from './offline-verifier.ts';

const user: UserProfile = {
  id: 'u-1',
  username: 'tech1',
  displayName: { fa: 'تکنسین', en: 'Tech' },
  role: 'technician',
  branchId: null,
  regionIds: [],
  teamId: null,
};
const install = { id: 'install-123456', trackingPrefix: 'A01' };
const signedInAt = new Date('2026-11-01T08:00:00Z');
const day = 24 * 60 * 60 * 1000;

describe('offline login verifier', () => {
  it('accepts the right password, refuses a wrong one, and stores no password', async () => {
    const v = await createOfflineVerifier({
      username: ' Tech1 ',
      password: 'correct horse',
      user,
      install,
      now: signedInAt,
    });
    expect(v.iterations).toBeGreaterThanOrEqual(OFFLINE_VERIFIER_ITERATIONS);
    expect(JSON.stringify(v)).not.toContain('correct horse');
    const later = new Date(signedInAt.getTime() + day);
    expect(await checkOfflineVerifier(v, 'tech1', 'correct horse', later)).toMatchObject({ ok: true });
    expect(await checkOfflineVerifier(v, 'tech1', 'correct horsE', later)).toEqual({
      ok: false,
      reason: 'wrong_password',
    });
    expect(await checkOfflineVerifier(v, 'branch1', 'correct horse', later)).toEqual({
      ok: false,
      reason: 'absent',
    });
    expect(await checkOfflineVerifier(null, 'tech1', 'correct horse', later)).toEqual({
      ok: false,
      reason: 'absent',
    });
  });

  it(`stops working ${OFFLINE_LOGIN_DAYS} days after the last online sign-in`, async () => {
    const v = await createOfflineVerifier({
      username: 'tech1',
      password: 'pw',
      user,
      install,
      now: signedInAt,
    });
    const justBefore = new Date(signedInAt.getTime() + OFFLINE_LOGIN_DAYS * day - 1000);
    const at = new Date(signedInAt.getTime() + OFFLINE_LOGIN_DAYS * day);
    expect((await checkOfflineVerifier(v, 'tech1', 'pw', justBefore)).ok).toBe(true);
    expect(await checkOfflineVerifier(v, 'tech1', 'pw', at)).toEqual({ ok: false, reason: 'expired' });
  });

  it('uses a fresh salt each time', async () => {
    const a = await createOfflineVerifier({ username: 'tech1', password: 'pw', user, install });
    const b = await createOfflineVerifier({ username: 'tech1', password: 'pw', user, install });
    expect(a.salt).not.toBe(b.salt);
    expect(a.hash).not.toBe(b.hash);
  });
});
