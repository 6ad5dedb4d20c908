import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { failureDelayMs } from './auth/throttle.ts';
import { defaultDataDir } from './config.ts';
import { createSyncServer } from './server.ts';
import { MIGRATIONS } from './db/migrations.ts';
import { demoUsers } from '@emdad/fixtures';
import { backends, bearer, getCaseById, login, newCase, pullAll, push } from './test-support.ts';

const scratch = mkdtempSync(join(tmpdir(), 'emdad-server-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('server lifecycle on a PGlite data directory', () => {
  it('keeps data, keys, installs and passwords across restarts, and migrates and seeds only once', async () => {
    const dataDir = join(scratch, 'pglite-restart');
    const first = await createSyncServer({ database: { kind: 'pglite', dataDir }, seed: 'demo' });
    const session = await login(first.app, 'branch1', 'install-restart-1');
    const doc = newCase(session);
    expect(
      (await push(first.app, session, [{ newDocumentState: doc, assumedMasterState: null }])).body.refused,
    ).toEqual([]);
    await first.close();

    const second = await createSyncServer({ database: { kind: 'pglite', dataDir }, seed: 'demo' });
    try {
      // The old access token still verifies: the signing key lives in the database.
      expect((await getCaseById(second.app, session, doc.id)).body.id).toBe(doc.id);
      const again = await login(second.app, 'branch1', 'install-restart-1');
      expect(again.install.trackingPrefix).toBe(session.install.trackingPrefix);
      const counts = await second.db.query<{ migrations: unknown; users: unknown; keys: unknown }>(
        'SELECT (SELECT count(*) FROM schema_migrations) AS migrations, (SELECT count(*) FROM users) AS users, (SELECT count(*) FROM signing_keys) AS keys',
      );
      expect(
        counts[0] && [Number(counts[0].migrations), Number(counts[0].users), Number(counts[0].keys)],
      ).toEqual([MIGRATIONS.length, demoUsers.length, 1]);
    } finally {
      await second.close();
    }
  });

  it('defaults the data directory to XDG_DATA_HOME or ~/.local/share', () => {
    expect(defaultDataDir({ XDG_DATA_HOME: '/srv/data' })).toBe('/srv/data/emdad-field');
    expect(defaultDataDir({})).toMatch(/\.local\/share\/emdad-field$/);
  });
});

const postgres = backends().find((b) => b.name === 'postgres');
describe.skipIf(!postgres)('several instances on one PostgreSQL', () => {
  it('start together: migrations, signing key and seed are applied exactly once', async () => {
    const database = await postgres!.freshDatabase('concurrent_start');
    const servers = await Promise.all(
      [1, 2, 3].map(() => createSyncServer({ database, seed: 'demo', loginRateLimitPerMinute: 1000 })),
    );
    try {
      const counts = await servers[0]!.db.query<{ migrations: unknown; users: unknown; keys: unknown }>(
        'SELECT (SELECT count(*) FROM schema_migrations) AS migrations, (SELECT count(*) FROM users) AS users, (SELECT count(*) FROM signing_keys) AS keys',
      );
      expect(
        counts[0] && [Number(counts[0].migrations), Number(counts[0].users), Number(counts[0].keys)],
      ).toEqual([MIGRATIONS.length, demoUsers.length, 1]);

      // Concurrent pushes through different instances: each transaction gets its own stamp, nothing is lost.
      const sessions = await Promise.all(
        servers.map((s, i) => login(s.app, 'super1', `install-concurrent-${i}`)),
      );
      const batches = Array.from({ length: 12 }, (_, i) => ({
        server: servers[i % 3]!,
        session: sessions[i % 3]!,
        docs: Array.from({ length: 4 }, () => newCase(sessions[i % 3]!)),
      }));
      const results = await Promise.all(
        batches.map((b) =>
          push(
            b.server.app,
            b.session,
            b.docs.map((doc) => ({ newDocumentState: doc, assumedMasterState: null })),
          ),
        ),
      );
      for (const result of results) expect(result.body).toMatchObject({ conflicts: [], refused: [] });
      const { documents } = await pullAll(servers[1]!.app, sessions[1]!, 7);
      expect(documents).toHaveLength(48);
      expect(new Set(documents.map((d) => d.serverUpdatedAt)).size).toBe(12);
      // Within each batch one stamp; across batches strictly increasing in pull order.
      const stamps = documents.map((d) => d.serverUpdatedAt as number);
      expect([...stamps].sort((a, b) => a - b)).toEqual(stamps);
    } finally {
      await Promise.all(servers.map((s) => s.close()));
    }
  });
});

describe('central console and HTTP edges', () => {
  it('serves the built renderer with an SPA fallback while API paths stay JSON', async () => {
    const dist = join(scratch, 'dist');
    mkdirSync(join(dist, 'assets'), { recursive: true });
    writeFileSync(
      join(dist, 'index.html'),
      '<!doctype html><html lang="fa" dir="rtl"><title>امداد</title><div id="root"></div></html>',
    );
    writeFileSync(join(dist, 'assets', 'app.js'), 'console.log("console");');
    const server = await createSyncServer({ database: { kind: 'pglite' }, rendererDist: dist });
    try {
      const home = await server.app.inject({ method: 'GET', url: '/' });
      expect(home.statusCode).toBe(200);
      expect(home.headers['x-content-type-options']).toBe('nosniff');
      expect(home.headers['x-frame-options']).toBe('DENY');
      expect(home.headers['content-security-policy']).toContain("script-src 'self'");
      expect(home.headers['content-security-policy']).not.toContain('unsafe-eval');
      expect(home.headers['content-type']).toMatch(/text\/html/);
      expect(home.body).toContain('id="root"');
      const deepLink = await server.app.inject({ method: 'GET', url: '/cases/019a-some-case' });
      expect(deepLink.statusCode).toBe(200);
      expect(deepLink.body).toContain('id="root"');
      const asset = await server.app.inject({ method: 'GET', url: '/assets/app.js' });
      expect(asset.headers['content-type']).toMatch(/javascript/);
      const api404 = await server.app.inject({ method: 'GET', url: '/api/cases-typo' });
      expect(api404.statusCode).toBe(404);
      expect(api404.json().error.code).toBe('not_found');
      expect(api404.headers['content-security-policy']).toBeUndefined();
    } finally {
      await server.close();
    }
  });

  it('answers CORS preflights for the API so a field app on another origin can sync', async () => {
    const server = await createSyncServer({ database: { kind: 'pglite' }, rendererDist: false });
    try {
      const preflight = await server.app.inject({
        method: 'OPTIONS',
        url: '/api/replication/cases/push',
        headers: {
          origin: 'http://127.0.0.1:5173',
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'authorization, content-type',
        },
      });
      expect(preflight.statusCode).toBe(204);
      expect(preflight.headers['access-control-allow-origin']).toBe('*');
      expect(String(preflight.headers['access-control-allow-headers'])).toContain('authorization');
      const root = await server.app.inject({ method: 'GET', url: '/' });
      expect(root.statusCode).toBe(404);
      expect(root.json().error.code).toBe('not_found');
    } finally {
      await server.close();
    }
  });

  it('grows the delay after each failed login and caps it', () => {
    expect([0, 1, 2, 3, 4, 5, 10].map((n) => failureDelayMs(n, 2000))).toEqual([
      0, 250, 500, 1000, 2000, 2000, 2000,
    ]);
    expect(failureDelayMs(3, 100)).toBe(100);
  });

  it('refuses requests with a token for a removed install', async () => {
    const server = await createSyncServer({ database: { kind: 'pglite' }, seed: 'demo' });
    try {
      const session = await login(server.app, 'tech1', 'install-to-revoke');
      await server.db.query('UPDATE installs SET revoked_at = 1 WHERE id = $1', ['install-to-revoke']);
      const me = await server.app.inject({ method: 'GET', url: '/api/me', headers: bearer(session) });
      expect(me.statusCode).toBe(401);
      const relogin = await server.app.inject({
        method: 'POST',
        url: '/api/auth/login',
        payload: { username: 'tech1', password: 'Emdad-tech1-1404', installId: 'install-to-revoke' },
      });
      expect(relogin.statusCode).toBe(403);
      expect(relogin.json().error.code).toBe('install_revoked');
    } finally {
      await server.close();
    }
  });
});
