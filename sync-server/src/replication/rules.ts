/**
 * Per-collection write rules for the `documents` collections (cases keep theirs in cases.ts), and
 * the scope columns the server derives from each document. State changes go through the domain's
 * state machines (domain/src/workflow), whose refusal sentences travel back to the client.
 */
import type { CollectionName } from '@emdad/domain/model/index';
import type { ErrorCode } from '@emdad/domain';
import { transitionEquipment } from '@emdad/domain/workflow/equipment';
import { transitionExpense } from '@emdad/domain/workflow/expense';
import { transitionMission } from '@emdad/domain/workflow/mission';
import type { LocalizedSentence } from '@emdad/domain/workflow/machine';
import type { Queryable } from '../db/index.ts';
import { checkFieldWorkflowWrite, expenseHasReceipt } from './field-rules.ts';
import { checkKnowledgeWrite } from './knowledge-rules.ts';
import type { Scope } from './scope.ts';
import { checkSurveyWrite } from './survey-rules.ts';

export class Refusal extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** The specific sentence (fa/en) that says what to do next, when there is one (state machines). */
    readonly sentence?: LocalizedSentence,
  ) {
    super(message);
  }
}

type Doc = Record<string, unknown>;

export interface WriteInput {
  scope: Scope;
  /** The stored version (without `_` fields), null for a new document. */
  master: Doc | null;
  masterDeleted: boolean;
  candidate: Doc;
  deleted: boolean;
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
const isManager = (scope: Scope) => scope.role === 'supervisor' || scope.role === 'admin';

/** Fields that differ between master and candidate (all of them for a new document). */
function changedFields(master: Doc | null, candidate: Doc): string[] {
  const keys = new Set([...Object.keys(master ?? {}), ...Object.keys(candidate)]);
  return [...keys].filter((k) => k !== 'serverUpdatedAt' && !same(master?.[k], candidate[k]));
}

function forbidRoles(scope: Scope, roles: Scope['role'][], what: string): void {
  if (roles.includes(scope.role))
    throw new Refusal('forbidden', `Your role (${scope.role}) may not change ${what}.`);
}

function refuseMove(
  move: { ok: boolean; message?: LocalizedSentence },
  code: ErrorCode = 'invalid_transition',
): void {
  if (!move.ok)
    throw new Refusal(code, move.message?.en ?? 'This status change is not allowed.', move.message);
}

async function supervisorOf(tx: Queryable, userId: string): Promise<string | null> {
  const rows = await tx.query<{ supervisor_id: string | null }>(
    'SELECT t.supervisor_id FROM users u JOIN teams t ON t.id = u.team_id WHERE u.id = $1',
    [userId],
  );
  return rows[0]?.supervisor_id ?? null;
}

/** case_events kinds and fields only the case engine writes. */
const SERVER_EVENT_KINDS: readonly string[] = ['sla', 'escalation', 'duplicate_flag', 'clock_flag'];
const SERVER_EVENT_FIELDS = ['sla', 'escalation', 'duplicateOf', 'clock'] as const;

export async function checkDocumentWrite(
  tx: Queryable,
  collection: Exclude<CollectionName, 'cases'>,
  input: WriteInput,
): Promise<void> {
  const { scope, master, candidate } = input;
  const me = scope.userId;
  switch (collection) {
    case 'case_events': {
      // Append-only: a stored entry never changes (a retry of the same content was accepted earlier).
      if (master) throw new Refusal('append_only', 'A saved timeline entry cannot be changed or deleted.');
      if (input.deleted) throw new Refusal('append_only', 'A timeline entry cannot be deleted.');
      if (candidate.authorId !== me)
        throw new Refusal('forbidden', 'A new entry must be written by the signed-in user.');
      // SLA, escalation, duplicate and clock entries are the server's record (sync-server/src/engine).
      if (
        SERVER_EVENT_KINDS.includes(String(candidate.kind)) ||
        SERVER_EVENT_FIELDS.some((f) => candidate[f] != null)
      )
        throw new Refusal(
          'server_owned_field',
          'SLA, escalation, duplicate and clock entries are written by the server; add a comment instead.',
        );
      return;
    }
    case 'surveys':
      // pending → answered once, by the signed-in user, for a closed case (survey-rules.ts).
      return await checkSurveyWrite(tx, input);
    case 'diagnostics': {
      forbidRoles(scope, ['branch_staff'], 'diagnostic runs');
      if (!master && candidate.technicianId !== me && scope.role !== 'admin')
        throw new Refusal('forbidden', 'A diagnostic run must be recorded by the technician who ran it.');
      if (master && master.technicianId !== me && scope.role !== 'admin')
        throw new Refusal('forbidden', 'Only the technician who ran a diagnostic may change it.');
      if (master && candidate.technicianId !== master.technicianId)
        throw new Refusal('forbidden', 'The technician of a diagnostic run cannot be changed.');
      return;
    }
    case 'equipment': {
      forbidRoles(scope, ['branch_staff'], 'equipment records');
      if (!master && scope.role !== 'admin')
        throw new Refusal('forbidden', 'New equipment is registered by an administrator.');
      if (input.deleted && scope.role !== 'admin')
        throw new Refusal('forbidden', 'Only an administrator may delete an equipment record.');
      if (master) {
        for (const field of ['serial', 'kind'] as const)
          if (!same(master[field], candidate[field]))
            throw new Refusal(
              'forbidden',
              `The ${field} of a device cannot be changed; register a new device.`,
            );
        if (master.status !== candidate.status) {
          refuseMove(
            transitionEquipment(String(master.status), String(candidate.status), {
              serial: String(candidate.serial),
              merchantId: str(candidate.merchantId),
              replacementSerial: str(candidate.replacementSerial),
              reason: str(candidate.statusReason),
            }),
          );
        }
      }
      if (candidate.merchantId != null && !same(candidate.merchantId, master?.merchantId)) {
        const found = await tx.query(
          "SELECT 1 FROM documents WHERE collection = 'merchants' AND id = $1 AND NOT deleted",
          [candidate.merchantId],
        );
        if (found.length === 0)
          throw new Refusal(
            'validation_failed',
            `The merchant ${String(candidate.merchantId)} does not exist.`,
          );
      }
      await checkFieldWorkflowWrite(tx, collection, input);
      return;
    }
    case 'merchants': {
      forbidRoles(scope, ['technician'], 'merchant profiles (ask the branch)');
      if (input.deleted && scope.role !== 'admin')
        throw new Refusal('forbidden', 'Only an administrator may delete a merchant.');
      const branch = await tx.query<{ region_id: string }>('SELECT region_id FROM branches WHERE id = $1', [
        candidate.branchId,
      ]);
      if (!branch[0])
        throw new Refusal('validation_failed', `The branch ${String(candidate.branchId)} does not exist.`);
      if (branch[0].region_id !== candidate.regionId)
        throw new Refusal(
          'validation_failed',
          `The branch ${String(candidate.branchId)} is not in region ${String(candidate.regionId)}.`,
        );
      return;
    }
    case 'missions': {
      forbidRoles(scope, ['branch_staff'], 'missions');
      if (!master && candidate.createdBy !== me)
        throw new Refusal('forbidden', 'A new mission must be created by the signed-in user (createdBy).');
      if (master && candidate.createdBy !== master.createdBy)
        throw new Refusal('forbidden', 'The creator of a mission cannot be changed.');
      if (input.deleted && !(isManager(scope) || (master?.status === 'draft' && master.createdBy === me)))
        throw new Refusal(
          'forbidden',
          'Only a draft you created can be deleted; ask your supervisor otherwise.',
        );
      // Approval: whoever sets approvedBy must be the one approving, and never the creator.
      if (!same(candidate.approvedBy, master?.approvedBy) && candidate.approvedBy != null) {
        if (candidate.approvedBy !== me)
          throw new Refusal('approval_field', 'approvedBy must name the signed-in approver.');
        if (candidate.createdBy === me)
          throw new Refusal(
            'approval_field',
            'You cannot approve a mission you created; another supervisor must.',
          );
      }
      const from = master ? String(master.status) : 'draft';
      if (from !== candidate.status) {
        refuseMove(
          transitionMission(from, String(candidate.status), {
            actorId: me,
            createdBy: String(candidate.createdBy),
            assigneeId: str(candidate.assigneeId),
            place: str(candidate.place),
            caseIds: (candidate.caseIds as string[]) ?? [],
            windowStart: str(candidate.windowStart),
            windowEnd: str(candidate.windowEnd),
            approvedBy: str(candidate.approvedBy),
            reportActivityCount: ((candidate.reportActivities as unknown[]) ?? []).length,
            revisitReason: str(candidate.revisitReason),
          }),
        );
      }
      await checkFieldWorkflowWrite(tx, collection, input);
      return;
    }
    case 'expenses': {
      forbidRoles(scope, ['branch_staff'], 'expenses');
      const submitter = String(candidate.submitterId);
      if (!master && submitter !== me)
        throw new Refusal('forbidden', 'An expense must be filed by the person who spent it (submitterId).');
      if (master && submitter !== master.submitterId)
        throw new Refusal('forbidden', 'The submitter of an expense cannot be changed.');
      if (master && master.submitterId !== me && !isManager(scope))
        throw new Refusal('forbidden', 'You cannot change another person’s expense.');
      const from = master ? String(master.status) : 'draft';
      const to = String(candidate.status);
      const decision = to === 'approved' || to === 'rejected';
      if (master && master.submitterId !== me) {
        // A manager deciding on someone else's expense changes only the decision.
        const allowed = new Set(['status', 'decidedBy', 'decidedAt', 'rejectionReason', 'updatedAt']);
        const other = changedFields(master, candidate).filter((f) => !allowed.has(f));
        if (other.length > 0 || input.deleted)
          throw new Refusal(
            'forbidden',
            `A reviewer may only approve or reject; these fields are the submitter's: ${other.join(', ') || '_deleted'}.`,
          );
      } else if (master && (from === 'submitted' || from === 'approved') && from === to) {
        throw new Refusal(
          'forbidden',
          'A submitted or approved expense cannot be edited; withdraw it to draft first.',
        );
      }
      if (!master && to !== 'draft' && to !== 'submitted')
        throw new Refusal('invalid_transition', 'A new expense starts as a draft or is submitted directly.');
      if (from !== to) {
        const context = {
          actorId: me,
          submitterId: submitter,
          supervisorId: scope.role === 'admin' ? me : await supervisorOf(tx, submitter),
          amount: Number(candidate.amount),
          category: String(candidate.category),
          hasReceipt: expenseHasReceipt(candidate),
          rejectionReason: str(candidate.rejectionReason),
        };
        const steps = !master && to === 'submitted' ? [['draft', 'submitted']] : [[from, to]];
        for (const [a, b] of steps) refuseMove(transitionExpense(a!, b!, context));
      }
      if (decision && from !== to && candidate.decidedBy !== me)
        throw new Refusal('approval_field', 'decidedBy must name the signed-in reviewer.');
      return;
    }
    case 'notifications': {
      if (!master) throw new Refusal('forbidden', 'Notifications are created by the server.');
      if (master.userId !== me)
        throw new Refusal('forbidden', 'You can only mark your own notifications read.');
      const other = changedFields(master, candidate).filter((f) => f !== 'readAt' && f !== 'updatedAt');
      if (other.length > 0 || input.deleted)
        throw new Refusal('forbidden', 'Only the read mark of a notification can be changed.');
      return;
    }
    case 'kb_articles':
      return await checkKnowledgeWrite(tx, input); // authoring and review (knowledge-rules.ts)
    case 'reference':
      throw new Refusal('read_only_collection', `The ${collection} collection is read-only on clients.`);
    default:
      throw new Refusal('unknown_collection', `The collection ${String(collection)} has no write rules.`);
  }
}

export interface ScopeColumns {
  ownerId: string | null;
  creatorId: string | null;
  regionId: string | null;
  branchId: string | null;
  caseId: string | null;
  published: boolean;
  /** Server-owned fields the server fills in (equipment's region and branch, from its merchant). */
  serverFields: Doc;
}

/** The indexed columns scope conditions test, derived by the server from the document. */
export async function deriveScopeColumns(
  tx: Queryable,
  collection: Exclude<CollectionName, 'cases'>,
  doc: Doc,
): Promise<ScopeColumns> {
  const columns: ScopeColumns = {
    ownerId: null,
    creatorId: null,
    regionId: null,
    branchId: null,
    caseId: null,
    published: true,
    serverFields: {},
  };
  switch (collection) {
    case 'case_events':
      return { ...columns, ownerId: str(doc.authorId), caseId: str(doc.caseId) };
    case 'surveys':
      return { ...columns, ownerId: str(doc.takenBy), caseId: str(doc.caseId) };
    case 'diagnostics':
      return { ...columns, ownerId: str(doc.technicianId), caseId: str(doc.caseId) };
    case 'merchants':
      return { ...columns, regionId: str(doc.regionId), branchId: str(doc.branchId) };
    case 'equipment': {
      const merchant = doc.merchantId
        ? await tx.query<{ region_id: string | null; branch_id: string | null }>(
            "SELECT region_id, branch_id FROM documents WHERE collection = 'merchants' AND id = $1",
            [doc.merchantId],
          )
        : [];
      const regionId = merchant[0]?.region_id ?? null;
      const branchId = merchant[0]?.branch_id ?? null;
      return { ...columns, regionId, branchId, serverFields: { regionId, branchId } };
    }
    case 'kb_articles':
      return { ...columns, ownerId: str(doc.authorId), published: doc.status === 'published' };
    case 'missions':
      return { ...columns, ownerId: str(doc.assigneeId), creatorId: str(doc.createdBy) };
    case 'expenses':
      return { ...columns, ownerId: str(doc.submitterId) };
    case 'notifications':
      return { ...columns, ownerId: str(doc.userId) };
    default:
      return columns;
  }
}
