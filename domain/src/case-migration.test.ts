/**
 * Schema v1 of cases, case_events and notifications: stored v0 documents migrate (RxDB strategies,
 * the same change as the server's migration 5) into documents the v1 schema accepts.
 */
import { describe, expect, it } from 'vitest';
import { caseRxSchema } from './case.ts';
import { caseEventVisibility } from './model/case-events.ts';
import { COLLECTIONS, migrateDocument } from './model/index.ts';
import { validateCaseDocument, validateCollectionDocument } from './validate.ts';

const at = '2026-11-23T08:00:00.000Z';

const caseV0 = {
  id: 'case-1',
  trackingCode: 'AAA-1405-000001-7',
  templateId: 'tpl-pos-no-print',
  channel: 'walk_in',
  status: 'pending_customer',
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
  serverUpdatedAt: 1,
  acknowledgedUpdatedAt: at,
  sla: { firstResponseDueAt: at, resolutionDueAt: at, state: 'paused' },
};

const eventV0 = (kind: string) => ({
  id: `evt-${kind}`,
  caseId: 'case-1',
  kind,
  authorId: 'usr-branch1',
  at,
  body: kind === 'comment' ? 'Called the merchant' : null,
  fromStatus: kind === 'status_change' ? 'new' : null,
  toStatus: kind === 'status_change' ? 'in_progress' : null,
  assigneeId: null,
  minutes: null,
  diagnosticId: null,
  articleId: null,
  createdAt: at,
  updatedAt: at,
  serverUpdatedAt: 1,
});

describe('cases v0 → v1', () => {
  it('keeps a v0 sla (due times, state, paused) and starts the routing fields empty', () => {
    expect(caseRxSchema.version).toBe(1);
    const migrated = migrateDocument(COLLECTIONS.cases.migrationStrategies, caseV0, 0, 1)!;
    expect(migrated).toMatchObject({
      sla: {
        firstResponseDueAt: at,
        resolutionDueAt: at,
        updateDueAt: null,
        state: 'paused',
        paused: true,
        targets: null,
      },
      teamId: null,
      supportTier: null,
      possibleDuplicateOf: null,
    });
    expect(validateCaseDocument(migrated)).toEqual({ ok: true });
  });

  it('a case without sla stays without; a v0 document (no v1 fields) is still valid (old clients keep pushing)', () => {
    const migrated = migrateDocument(COLLECTIONS.cases.migrationStrategies, { ...caseV0, sla: null }, 0, 1)!;
    expect(migrated.sla).toBeNull();
    expect(validateCaseDocument(migrated)).toEqual({ ok: true });
    const { sla: _sla, ...withoutSla } = caseV0;
    expect(validateCaseDocument(withoutSla)).toEqual({ ok: true });
  });

  it('refuses an sla that breaks the v1 shape', () => {
    const bad = { ...caseV0, sla: { ...caseV0.sla, paused: 'yes' } };
    expect(validateCaseDocument(bad).ok).toBe(false);
  });
});

describe('case_events v0 → v1', () => {
  it('status changes become public, everything else internal; structured fields start empty', () => {
    for (const kind of ['comment', 'status_change', 'assignment', 'sla'] as const) {
      const migrated = migrateDocument(COLLECTIONS.case_events.migrationStrategies, eventV0(kind), 0, 1)!;
      expect(migrated).toMatchObject({
        visibility: kind === 'status_change' ? 'public' : 'internal',
        attachments: [],
        sla: null,
        escalation: null,
        duplicateOf: null,
        clock: null,
      });
      expect(validateCollectionDocument('case_events', migrated)).toEqual({ ok: true });
    }
  });

  it('visibility defaults by kind when absent, and an explicit value wins', () => {
    expect(caseEventVisibility({ kind: 'status_change' })).toBe('public');
    expect(caseEventVisibility({ kind: 'comment' })).toBe('internal');
    expect(caseEventVisibility({ kind: 'status_change', visibility: 'internal' })).toBe('internal');
    expect(caseEventVisibility({ kind: 'comment', visibility: 'public' })).toBe('public');
  });

  it('accepts structured SLA and escalation events and refuses prose in their place', () => {
    const slaEvent = {
      ...eventV0('sla'),
      visibility: 'internal',
      sla: { target: 'resolution', level: 'breach', crossedAt: at, dueAt: at },
    };
    expect(validateCollectionDocument('case_events', slaEvent)).toEqual({ ok: true });
    const escalation = {
      ...eventV0('escalation'),
      escalation: {
        action: 'move_to_l2',
        target: 'resolution',
        level: 'breach',
        fromPriority: null,
        toPriority: null,
        fromTier: 'L1',
        toTier: 'L2',
        notifiedUserId: null,
      },
    };
    expect(validateCollectionDocument('case_events', escalation)).toEqual({ ok: true });
    expect(validateCollectionDocument('case_events', { ...slaEvent, sla: { target: 'resolution' } }).ok).toBe(
      false,
    );
  });
});

describe('notifications v0 → v1', () => {
  it('v0 documents are unchanged and valid; the new kind sla_breach is accepted', () => {
    const v0 = {
      id: 'ntf-1',
      userId: 'usr-super1',
      kind: 'sla_warning',
      title: { fa: 'هشدار', en: 'Warning' },
      body: { fa: 'متن', en: 'Text' },
      link: null,
      createdAt: at,
      readAt: null,
      updatedAt: at,
    };
    const migrated = migrateDocument(COLLECTIONS.notifications.migrationStrategies, v0, 0, 1)!;
    expect(migrated).toEqual(v0);
    expect(validateCollectionDocument('notifications', { ...migrated, kind: 'sla_breach' })).toEqual({
      ok: true,
    });
  });
});
