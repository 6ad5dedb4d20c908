import { afterEach, describe, expect, it } from 'vitest';
import type { AuthSession, UserProfile } from '@emdad/domain';
import { openDeviceDatabase, type DeviceDatabase } from '../db/database.ts';
import { testStorage, uniqueName } from '../test-support/rx.ts';
import { AuthService } from './auth-service.ts';

const user: UserProfile = {
  id: 'u-branch1',
  username: 'branch1',
  displayName: { fa: 'سارا', en: 'Sara' },
  role: 'branch_staff',
  branchId: 'br-1',
  regionIds: ['r-1'],
  teamId: null,
};

/** A stand-in for the auth routes: one account, rotating refresh tokens, switchable network. */
class FakeAuthServer {
  offline = false;
  rotations = 0;
  refreshCalls = 0;
  loginBodies: Record<string, unknown>[] = [];
  currentRefresh = 'refresh-token-0000000000';

  session(): AuthSession {
    return {
      accessToken: `access-${this.rotations}`,
      accessTokenExpiresAt: new Date(Date.now() + 60_000).toISOString(),
      refreshToken: this.currentRefresh,
      user,
      install: { id: 'ignored', trackingPrefix: 'A01' },
    };
  }

  readonly fetch = async (input: string, init: RequestInit = {}): Promise<Response> => {
    if (this.offline) throw new TypeError('fetch failed');
    const url = new URL(input);
    const body = init.body ? (JSON.parse(String(init.body)) as Record<string, unknown>) : {};
    const json = (status: number, value: unknown) =>
      new Response(JSON.stringify(value), { status, headers: { 'content-type': 'application/json' } });
    if (url.pathname === '/api/auth/login') {
      this.loginBodies.push(body);
      if (body.username !== 'branch1' || body.password !== 'right password')
        return json(401, { error: { code: 'invalid_credentials', message: 'no' } });
      return json(200, this.session());
    }
    if (url.pathname === '/api/auth/refresh') {
      this.refreshCalls++;
      if (body.refreshToken !== this.currentRefresh)
        return json(401, { error: { code: 'unauthenticated', message: 'reused' } });
      this.rotations++;
      this.currentRefresh = `refresh-token-${String(this.rotations).padStart(10, '0')}`;
      return json(200, this.session());
    }
    if (url.pathname === '/api/auth/logout') return json(200, { ok: true });
    if (url.pathname === '/api/reference') {
      const token = new Headers(init.headers).get('authorization');
      if (token !== `Bearer access-${this.rotations}` || this.rotations === 0)
        return json(401, { error: { code: 'token_expired', message: 'expired' } });
      return json(200, { templates: [], branches: [], merchants: [], equipment: [] });
    }
    return json(404, { error: { code: 'not_found', message: url.pathname } });
  };
}

const dbs: DeviceDatabase[] = [];
afterEach(async () => {
  while (dbs.length) await dbs.pop()!.close();
});

async function setup() {
  const db = await openDeviceDatabase(testStorage(), uniqueName('auth'));
  dbs.push(db);
  const server = new FakeAuthServer();
  return { db, server, auth: new AuthService(db, 'http://sync.test', server.fetch) };
}

describe('AuthService', () => {
  it('signs in online with a persistent install id, then offline with the same password', async () => {
    const { server, auth } = await setup();
    const online = await auth.login('branch1', 'right password');
    expect(online).toMatchObject({ ok: true, value: { mode: 'online', user: { id: 'u-branch1' } } });
    expect(await auth.getAccessToken()).toBe('access-0');
    await auth.logout();
    expect(await auth.currentSession()).toBeNull();

    server.offline = true;
    expect(await auth.login('branch1', 'wrong password')).toMatchObject({
      ok: false,
      error: { code: 'invalid_credentials' },
    });
    const offline = await auth.login('Branch1', 'right password');
    expect(offline).toMatchObject({
      ok: true,
      value: { mode: 'offline', user: { id: 'u-branch1' }, install: { trackingPrefix: 'A01' } },
    });
    expect(await auth.getAccessToken()).toBeNull();

    server.offline = false;
    await auth.login('branch1', 'right password');
    const ids = server.loginBodies.map((b) => b.installId);
    expect(new Set(ids).size).toBe(1);
    expect(String(ids[0]).length).toBeGreaterThanOrEqual(8);
  });

  it('refuses an offline sign-in for an account never signed in online here, in the offline sentence', async () => {
    const { server, auth } = await setup();
    server.offline = true;
    expect(await auth.login('branch1', 'right password')).toMatchObject({
      ok: false,
      error: { code: 'offline_login_unavailable' },
    });
  });

  it('reports a wrong online password as the server says', async () => {
    const { auth } = await setup();
    expect(await auth.login('branch1', 'nope')).toMatchObject({
      ok: false,
      error: { code: 'invalid_credentials' },
    });
    expect(await auth.currentSession()).toBeNull();
  });

  it('rotates the tokens once for concurrent callers and retries the request', async () => {
    const { server, auth } = await setup();
    await auth.login('branch1', 'right password');
    const results = await Promise.all([auth.refresh(), auth.refresh(), auth.refresh()]);
    expect(results).toEqual([true, true, true]);
    expect(server.refreshCalls).toBe(1);
    expect(await auth.getAccessToken()).toBe('access-1');
    // The server revoked our refresh token and our access token expired: the error surfaces, no loop.
    server.currentRefresh = 'revoked-elsewhere-000000';
    server.rotations = 5;
    await expect(auth.fetchWithAuth('/api/reference')).rejects.toMatchObject({
      name: 'ApiError',
      code: 'token_expired',
    });
    expect(server.refreshCalls).toBe(2);
  });

  it('uses a refreshed token on 401 token_expired', async () => {
    const { auth } = await setup();
    await auth.login('branch1', 'right password');
    const res = await auth.fetchWithAuth('/api/reference');
    expect(res.status).toBe(200);
    expect(await auth.getAccessToken()).toBe('access-1');
  });
});
