import { randomUUID } from 'node:crypto';
import type { AuthSession } from '@emdad/domain';
import { demoUser } from '@emdad/fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCK_AFTER_FAILURES, LOCK_DURATION_MS } from '../auth/throttle.ts';
import type { DatabaseOptions } from '../db/index.ts';
import { createSyncServer, type SyncServer } from '../server.ts';
import { backends, bearer, login, manualClock } from '../test-support.ts';

describe.each(backends().map((b) => [b.name, b] as const))('auth routes on %s', (_name, backend) => {
  const clock = manualClock();
  let server: SyncServer;
  let database: DatabaseOptions;

  beforeAll(async () => {
    database = await backend.freshDatabase('auth');
    server = await createSyncServer({
      database,
      seed: 'demo',
      now: clock.now,
      accessTokenTtlSeconds: 60,
      loginDelayCapMs: 5,
      loginRateLimitPerMinute: 1000,
    });
  });
  afterAll(async () => {
    await server?.close();
  });

  const attempt = (username: string, password: string, installId = 'install-auth-test-1') =>
    server.app.inject({ method: 'POST', url: '/api/auth/login', payload: { username, password, installId } });

  it('signs in with the demo password: a session with profile, install prefix and tokens', async () => {
    const session = await login(server.app, 'tech1', 'install-tech1-laptop');
    expect(session.user).toMatchObject({
      id: 'usr-tech1',
      username: 'tech1',
      role: 'technician',
      displayName: { en: 'Reza Karimi' },
    });
    expect(session.install.id).toBe('install-tech1-laptop');
    expect(session.install.trackingPrefix).toMatch(/^[0-9A-Z]{3}$/);
    expect(Date.parse(session.accessTokenExpiresAt)).toBe(clock.now() + 60_000);
    const me = await server.app.inject({ method: 'GET', url: '/api/me', headers: bearer(session) });
    expect(me.statusCode).toBe(200);
    expect(me.json()).toEqual({ user: session.user, install: session.install });
  });

  it('keeps an install its prefix across sign-ins and gives each new install a new one', async () => {
    const first = await login(server.app, 'branch1', 'install-branch-pc');
    const again = await login(server.app, 'branch1', 'install-branch-pc');
    const other = await login(server.app, 'branch1', 'install-branch-pc-2');
    expect(again.install.trackingPrefix).toBe(first.install.trackingPrefix);
    expect(other.install.trackingPrefix).not.toBe(first.install.trackingPrefix);
  });

  it('refuses a wrong password and an unknown user with the same error', async () => {
    const wrong = await attempt('super1', 'not-the-password');
    const unknown = await attempt('nobody-here', 'whatever');
    for (const response of [wrong, unknown]) {
      expect(response.statusCode).toBe(401);
      expect(response.json()).toEqual({
        error: { code: 'invalid_credentials', message: expect.any(String) },
      });
    }
    // A success resets the failure count.
    expect((await attempt('super1', demoUser('super1').password)).statusCode).toBe(200);
  });

  it(`locks an account after ${LOCK_AFTER_FAILURES} failures in a row for 15 minutes, even for the right password`, async () => {
    const codes: string[] = [];
    for (let i = 0; i < LOCK_AFTER_FAILURES; i++)
      codes.push((await attempt('branch2', `wrong-${i}`)).json().error.code);
    expect(codes).toEqual([...Array(LOCK_AFTER_FAILURES - 1).fill('invalid_credentials'), 'account_locked']);
    const locked = await attempt('branch2', demoUser('branch2').password);
    expect(locked.statusCode).toBe(423);
    expect(locked.json().error.code).toBe('account_locked');
    clock.advance(LOCK_DURATION_MS + 1000);
    expect((await attempt('branch2', demoUser('branch2').password)).statusCode).toBe(200);
  });

  it('rejects malformed login bodies with validation_failed', async () => {
    const response = await server.app.inject({
      method: 'POST',
      url: '/api/auth/login',
      payload: { username: 'tech1' },
    });
    expect(response.statusCode).toBe(400);
    expect(response.json().error.code).toBe('validation_failed');
  });

  it('rotates refresh tokens, and a reused rotated token revokes the whole family', async () => {
    const session = await login(server.app, 'tech2');
    const refresh = (token: string) =>
      server.app.inject({ method: 'POST', url: '/api/auth/refresh', payload: { refreshToken: token } });
    const first = await refresh(session.refreshToken);
    expect(first.statusCode).toBe(200);
    const rotated = first.json<AuthSession>();
    expect(rotated.refreshToken).not.toBe(session.refreshToken);
    expect(rotated.install).toEqual(session.install);

    const reuse = await refresh(session.refreshToken);
    expect(reuse.statusCode).toBe(401);
    expect(reuse.json().error.code).toBe('unauthenticated');
    // The thief's reuse also ended the legitimate holder's newer token.
    const afterReuse = await refresh(rotated.refreshToken);
    expect(afterReuse.statusCode).toBe(401);
  });

  it('logout ends the refresh token family', async () => {
    const session = await login(server.app, 'admin1');
    const out = await server.app.inject({
      method: 'POST',
      url: '/api/auth/logout',
      payload: { refreshToken: session.refreshToken },
    });
    expect(out.statusCode).toBe(200);
    const refresh = await server.app.inject({
      method: 'POST',
      url: '/api/auth/refresh',
      payload: { refreshToken: session.refreshToken },
    });
    expect(refresh.json().error.code).toBe('unauthenticated');
  });

  it('answers token_expired for an expired access token and unauthenticated for a forged or missing one', async () => {
    const session = await login(server.app, 'super1');
    clock.advance(61_000);
    const expired = await server.app.inject({
      method: 'GET',
      url: '/api/replication/cases/pull',
      headers: bearer(session),
    });
    expect(expired.statusCode).toBe(401);
    expect(expired.json().error.code).toBe('token_expired');

    const [header, payload] = session.accessToken.split('.');
    const forged = `${header}.${payload}.${Buffer.from('not a signature').toString('base64url')}`;
    const bad = await server.app.inject({
      method: 'GET',
      url: '/api/me',
      headers: { authorization: `Bearer ${forged}` },
    });
    expect(bad.statusCode).toBe(401);
    expect(bad.json().error.code).toBe('unauthenticated');

    const none = await server.app.inject({ method: 'GET', url: '/api/reference' });
    expect(none.json()).toEqual({ error: { code: 'unauthenticated', message: expect.any(String) } });

    // A refresh gives a working token again.
    const refreshed = await server.app.inject({
      method: 'POST',
      url: '/api/auth/refresh',
      payload: { refreshToken: session.refreshToken },
    });
    const me = await server.app.inject({
      method: 'GET',
      url: '/api/me',
      headers: bearer(refreshed.json<AuthSession>()),
    });
    expect(me.statusCode).toBe(200);
  });

  it.skipIf(backend.name !== 'postgres')(
    'shares its signing key with a second instance on the same database',
    async () => {
      const second = await createSyncServer({
        database,
        seed: 'demo',
        now: clock.now,
        accessTokenTtlSeconds: 60,
      });
      try {
        const session = await login(server.app, 'tech1', `install-${randomUUID()}`);
        const me = await second.app.inject({ method: 'GET', url: '/api/me', headers: bearer(session) });
        expect(me.statusCode).toBe(200);
        expect(me.json().user.id).toBe('usr-tech1');
      } finally {
        await second.close();
      }
    },
  );
});

describe('login rate limit per address', () => {
  it('answers 429 rate_limited as JSON once an address exceeds the limit', async () => {
    const server = await createSyncServer({
      database: { kind: 'pglite' },
      seed: 'demo',
      loginDelayCapMs: 0,
      loginRateLimitPerMinute: 2,
    });
    try {
      const attempt = () =>
        server.app.inject({
          method: 'POST',
          url: '/api/auth/login',
          payload: { username: 'tech1', password: 'wrong', installId: 'install-rate-1' },
        });
      await attempt();
      await attempt();
      const third = await attempt();
      expect(third.statusCode).toBe(429);
      expect(third.json().error.code).toBe('rate_limited');
    } finally {
      await server.close();
    }
  });
});
