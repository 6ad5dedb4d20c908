/**
 * Migration 5 on real stored data: cases and case_events written under schema v0 become what the
 * domain's v1 migration strategies make of them, and the v1 schema accepts them — PGlite and PostgreSQL.
 */
import { migrateCaseV0ToV1, type CaseDoc } from '@emdad/domain';
import { migrateCaseEventV0ToV1 } from '@emdad/domain/model/case-events';
import { validateCaseDocument, validateCollectionDocument } from '@emdad/domain/validate';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../db/index.ts';
import { MIGRATIONS, runMigrations } from '../db/migrations.ts';
import { backends } from '../test-support.ts';

const at = '2026-11-23T08:00:00.000Z';

function caseV0(id: string, sla: unknown): Record<string, unknown> {
  return {
    id,
    trackingCode: `AAA-1405-00000${id.slice(-1)}-7`,
    templateId: 'tpl-pos-no-print',
    channel: 'walk_in',
    status: 'pending_vendor',
    priority: 'high',
    merchantId: 'mer-001',
    equipmentId: 'eq-001-pos',
    branchId: 'br-tehran-vanak',
    subject: 'POS does not print',
    description: '',
    reporterName: 'Mohammadi',
    reporterPhone: '09121234567',
    createdBy: 'usr-branch1',
    assigneeId: null,
    createdAt: at,
    updatedAt: at,
    serverUpdatedAt: 1000,
    acknowledgedUpdatedAt: at,
    sla,
  };
}

function eventV0(id: string, kind: string): Record<string, unknown> {
  return {
    id,
    caseId: 'case-1',
    kind,
    authorId: 'usr-branch1',
    at,
    body: null,
    fromStatus: kind === 'status_change' ? 'new' : null,
    toStatus: kind === 'status_change' ? 'pending_vendor' : null,
    assigneeId: null,
    minutes: null,
    diagnosticId: null,
    articleId: null,
    createdAt: at,
    updatedAt: at,
    serverUpdatedAt: 1000,
  };
}

describe.each(backends())('migration 5 (cases v1, case_events v1) on $name', (backend) => {
  it('migrates stored v0 documents exactly as the clients’ strategies do', async () => {
    const db = await openDatabase(await backend.freshDatabase('migration5'));
    try {
      await runMigrations(
        db,
        MIGRATIONS.filter((m) => m.version <= 4),
      );
      const cases = [
        caseV0('case-1', { firstResponseDueAt: at, resolutionDueAt: null, state: 'paused' }),
        caseV0('case-2', null),
      ];
      for (const c of cases)
        await db.query(
          `INSERT INTO cases (id, doc, server_updated_at, tracking_code, branch_id, created_by) VALUES ($1, $2::jsonb, 1000, $3, 'br-tehran-vanak', 'usr-branch1')`,
          [c.id, JSON.stringify(c), c.trackingCode],
        );
      const events = [eventV0('evt-1', 'status_change'), eventV0('evt-2', 'comment')];
      for (const e of events)
        await db.query(
          `INSERT INTO documents (collection, id, doc, server_updated_at, owner_id, case_id) VALUES ('case_events', $1, $2::jsonb, 1000, 'usr-branch1', 'case-1')`,
          [e.id, JSON.stringify(e)],
        );

      await runMigrations(db);

      const storedCases = await db.query<{ id: string; doc: CaseDoc; server_updated_at: unknown }>(
        'SELECT id, doc, server_updated_at FROM cases ORDER BY id',
      );
      expect(storedCases.map((r) => r.doc)).toEqual(cases.map(migrateCaseV0ToV1));
      for (const r of storedCases) {
        expect(validateCaseDocument(r.doc)).toEqual({ ok: true });
        // Not re-stamped: clients migrate their own copies.
        expect(Number(r.server_updated_at)).toBe(1000);
      }
      expect(storedCases[0]!.doc.sla).toMatchObject({ paused: true, state: 'paused', targets: null });
      const storedEvents = await db.query<{ doc: Record<string, unknown> }>(
        "SELECT doc FROM documents WHERE collection = 'case_events' ORDER BY id",
      );
      expect(storedEvents.map((r) => r.doc)).toEqual(events.map(migrateCaseEventV0ToV1));
      expect(storedEvents.map((r) => r.doc.visibility)).toEqual(['public', 'internal']);
      for (const r of storedEvents)
        expect(validateCollectionDocument('case_events', r.doc)).toEqual({ ok: true });

      // Running the migrations again changes nothing.
      expect(await runMigrations(db)).toEqual([]);
    } finally {
      await db.close();
    }
  });
});
