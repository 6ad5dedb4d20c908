/**
 * Server migrations on real stored data: a database written by the first schema version (issue 2:
 * users, reference tables, cases) is upgraded by a current server at start, and everything stored
 * before keeps working — pulled, edited, audited — next to the new collections.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prefixFromNumber, type AuthSession } from '@emdad/domain';
import { demoUser, merchants, USER_IDS } from '@emdad/fixtures';
import { afterAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../auth/passwords.ts';
import { createSyncServer } from '../server.ts';
import { backends, edited, login, newCase, pullAll, pullCollection, push } from '../test-support.ts';
import { openDatabase, type DatabaseOptions } from './index.ts';
import { MIGRATIONS, runMigrations } from './migrations.ts';

const scratch = mkdtempSync(join(tmpdir(), 'emdad-upgrade-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe.each(backends().map((b) => [b.name, b] as const))(
  'upgrading a version-1 database on %s',
  (name, backend) => {
    it('keeps the cases stored before and adds the new collections', async () => {
      const database: DatabaseOptions =
        name === 'pglite'
          ? { kind: 'pglite', dataDir: join(scratch, 'v1') }
          : await backend.freshDatabase('upgrade');

      // 1. What a version-1 server stored: its schema, reference rows, a user with an install, a case.
      const old = await openDatabase(database);
      const prefix = prefixFromNumber(1);
      const author = {
        user: { id: USER_IDS.tech1, branchId: null },
        install: { id: 'install-v1', trackingPrefix: prefix },
      };
      const base = {
        ...newCase(author as unknown as AuthSession),
        serverUpdatedAt: 1000,
        sla: null,
      };
      const stored = { ...base, acknowledgedUpdatedAt: base.updatedAt };
      try {
        expect(
          await runMigrations(
            old,
            MIGRATIONS.filter((m) => m.version === 1),
          ),
        ).toEqual([1]);
        await old.exec(`
        INSERT INTO regions (id, doc) VALUES ('reg-tehran', '{"id":"reg-tehran"}'), ('reg-isfahan', '{"id":"reg-isfahan"}');
        INSERT INTO branches (id, region_id, doc) VALUES ('br-tehran-vanak', 'reg-tehran', '{"id":"br-tehran-vanak"}');
        INSERT INTO case_templates (id, doc) VALUES ('tpl-pos-no-print', '{"id":"tpl-pos-no-print"}');
        INSERT INTO merchants (id, branch_id, region_id, doc) VALUES ('mer-001', 'br-tehran-vanak', 'reg-tehran', '{"id":"mer-001"}');
        INSERT INTO equipment (id, merchant_id, doc) VALUES ('eq-001-pos', 'mer-001', '{"id":"eq-001-pos"}');
        INSERT INTO replication_clock (collection, last_stamp) VALUES ('cases', 1000);
      `);
        await old.query(
          `INSERT INTO users (id, username, password_hash, role, display_name_fa, display_name_en, region_ids, team_id)
         VALUES ($1, 'tech1', $2, 'technician', 'رضا', 'Reza', '["reg-tehran"]'::jsonb, 'team-field-ops')`,
          [USER_IDS.tech1, await hashPassword(demoUser('tech1').password)],
        );
        await old.query(
          `INSERT INTO installs (id, user_id, prefix_number, tracking_prefix, created_at, last_seen_at) VALUES ('install-v1', $1, 1, $2, 1, 1)`,
          [USER_IDS.tech1, prefix],
        );
        await old.query(
          `INSERT INTO cases (id, doc, server_updated_at, deleted, tracking_code, branch_id, created_by, assignee_id)
         VALUES ($1, $2::jsonb, 1000, FALSE, $3, $4, $5, NULL)`,
          [stored.id, JSON.stringify(stored), stored.trackingCode, stored.branchId, stored.createdBy],
        );
      } finally {
        await old.close();
      }

      // 2. A current server starts on it: migrations after 1 run, the demo data is added.
      const server = await createSyncServer({
        database,
        seed: 'demo',
        rendererDist: false,
        loginRateLimitPerMinute: 1000,
      });
      try {
        const versions = await server.db.query<{ version: number }>(
          'SELECT version FROM schema_migrations ORDER BY version',
        );
        expect(versions.map((v) => Number(v.version))).toEqual(MIGRATIONS.map((m) => m.version));
        const tech1 = await login(server.app, 'tech1', 'install-v1');
        expect(tech1.install.trackingPrefix).toBe(prefix);
        const { documents } = await pullAll(server.app, tech1);
        // Migration 5 (cases v1) gave it the routing fields, empty; nothing else changed.
        expect(documents).toEqual([
          { ...stored, teamId: null, supportTier: null, possibleDuplicateOf: null, _deleted: false },
        ]);

        // The old case is edited like any other, and the edit is audited.
        const result = await push(server.app, tech1, [
          {
            newDocumentState: edited({ ...stored, _deleted: false }, { status: 'in_progress' }),
            assumedMasterState: { ...stored, _deleted: false },
          },
        ]);
        expect(result.body).toMatchObject({ conflicts: [], refused: [] });
        const audit = await server.db.query<{ changes: Record<string, unknown> }>(
          "SELECT changes FROM audit_log WHERE collection = 'cases' AND doc_id = $1",
          [stored.id],
        );
        expect(audit[0]?.changes).toMatchObject({ status: ['new', 'in_progress'] });

        // New collections arrive beside it.
        const merchantDocs = await pullCollection(server.app, tech1, 'merchants');
        expect(merchantDocs.documents.map((d) => d.id).sort()).toEqual(
          merchants
            .filter((m) => m.regionId === 'reg-tehran')
            .map((m) => m.id)
            .sort(),
        );
      } finally {
        await server.close();
      }

      // 3. A restart neither migrates nor re-stamps anything: clients do not pull the reference data again.
      const before = await openDatabase(database);
      const stamps = async (db: typeof before) =>
        (await db.query<{ m: unknown }>('SELECT max(server_updated_at) AS m FROM documents'))[0]?.m;
      const first = await stamps(before);
      // Meanwhile someone moved tech1 in the database; the fixtures move them back at start, and
      // that is a scope change like any other (their devices get tombstones for what left).
      await before.query(`UPDATE users SET region_ids = '["reg-isfahan"]'::jsonb WHERE id = $1`, [
        USER_IDS.tech1,
      ]);
      await before.close();
      const again = await createSyncServer({ database, seed: 'demo', rendererDist: false });
      try {
        expect(await stamps(again.db)).toEqual(first);
        const changes = await again.db.query<{ previous: { regionIds: string[] } }>(
          "SELECT previous FROM scope_changes WHERE user_id = $1 AND collection = 'merchants'",
          [USER_IDS.tech1],
        );
        expect(changes.map((c) => c.previous.regionIds)).toEqual([['reg-isfahan']]);
      } finally {
        await again.close();
      }
    });
  },
);
