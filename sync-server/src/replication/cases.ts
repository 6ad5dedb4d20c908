/**
 * Case replication on RxDB's HTTP replication contract (domain/src/replication.ts):
 * pull by checkpoint (serverUpdatedAt, id); push in one transaction comparing assumedMasterState,
 * returning only conflicts and refused rows.
 */
import { createHash } from 'node:crypto';
import {
  CASE_CLIENT_FIELDS,
  CASE_SERVER_OWNED_FIELDS,
  mergeCaseConflict,
  PULL_BATCH_MAX,
  parseTrackingCode,
  transitionCase,
  type CaseDoc,
  type ErrorCode,
  type PullResponse,
  type PushResponse,
  type RefusedWrite,
  type ReplicationCheckpoint,
  type WireDoc,
} from '@emdad/domain';
import { validateCaseDocument } from '@emdad/domain/validate';
import { z } from 'zod';
import type { Db, Queryable } from '../db/index.ts';
import { toNumber } from '../db/index.ts';
import { fieldDiff, recordAudit } from '../audit.ts';
import { lockCollection, stampTaker } from './clock.ts';
import type { PushContext } from './documents.ts';
import { parsePushBody, type PushRowInput } from './push-body.ts';
import { caseScopeSql, SqlParams, type Scope } from './scope.ts';
import {
  loadReceipts,
  ownAcceptedBase,
  receiptContent,
  saveReceipt,
  type PushReceipt,
} from './push-receipts.ts';
import { mergePage, scopeChangeRows, type VirtualRowSource } from './scope-changes.ts';
import { mergeSorted, moveTombstones, recordScopeMove, type ScopeColumnValues } from './scope-moves.ts';

export { parsePushBody };

export const CASES_COLLECTION = 'cases';

export function toWireDoc(row: Record<string, unknown>): WireDoc<CaseDoc> {
  const doc = row.doc as CaseDoc;
  return { ...doc, serverUpdatedAt: toNumber(row.server_updated_at), _deleted: Boolean(row.deleted) };
}

export const pullQuerySchema = z
  .object({
    serverUpdatedAt: z.coerce.number().int().min(0).optional(),
    id: z.string().max(64).optional(),
    limit: z.coerce.number().int().min(1).max(PULL_BATCH_MAX).default(100),
  })
  .refine((q) => (q.serverUpdatedAt === undefined) === (q.id === undefined), {
    message: 'serverUpdatedAt and id form one checkpoint: send both or neither',
  });

const CASE_ROWS: VirtualRowSource = {
  table: 'cases',
  collectionFilter: () => 'TRUE',
  condition: (scope, p) => caseScopeSql(scope, p, 'd.'),
  toWire: (row) => toWireDoc(row) as unknown as Record<string, unknown> & { id: string },
};

/**
 * Documents after the checkpoint, ordered by (serverUpdatedAt, id), merged with what a scope change
 * owes the caller (scope-changes.ts); the new checkpoint is the last sort position.
 */
export async function pullCases(
  db: Queryable,
  scope: Scope,
  checkpoint: ReplicationCheckpoint | null,
  limit: number,
): Promise<PullResponse<CaseDoc>> {
  const size = Math.min(limit, PULL_BATCH_MAX);
  const p = new SqlParams([checkpoint?.serverUpdatedAt ?? -1, checkpoint?.id ?? '', size]);
  const rows = await db.query(
    `SELECT doc, server_updated_at, deleted FROM cases
     WHERE (server_updated_at, id) > ($1::bigint, $2::text) AND ${caseScopeSql(scope, p)}
     ORDER BY server_updated_at, id
     LIMIT $3`,
    p.values,
  );
  const ordinary = rows.map((row) => {
    const doc = toWireDoc(row);
    return { key: { serverUpdatedAt: doc.serverUpdatedAt as number, id: doc.id }, doc };
  });
  const owed = (await scopeChangeRows(db, 'cases', CASE_ROWS, scope, checkpoint, size)) as unknown as {
    key: ReplicationCheckpoint;
    doc: WireDoc<CaseDoc>;
  }[];
  const moved = (await moveTombstones(db, 'cases', scope, { after: checkpoint, limit: size })) as unknown as {
    key: ReplicationCheckpoint;
    doc: WireDoc<CaseDoc>;
  }[];
  return mergePage(ordinary, mergeSorted(owed, moved).slice(0, size), size, checkpoint);
}

export async function getCase(db: Queryable, scope: Scope, id: string): Promise<WireDoc<CaseDoc> | null> {
  const p = new SqlParams([id]);
  const rows = await db.query(
    `SELECT doc, server_updated_at, deleted FROM cases WHERE id = $1 AND ${caseScopeSql(scope, p)}`,
    p.values,
  );
  return rows[0] ? toWireDoc(rows[0]) : null;
}

/** The cases stamped in one write transaction that the caller may read (what a change notice announces). */
export async function casesWithStamp(
  db: Queryable,
  stamp: number,
  scope: Scope,
): Promise<WireDoc<CaseDoc>[]> {
  const p = new SqlParams([stamp]);
  const rows = await db.query(
    `SELECT doc, server_updated_at, deleted FROM cases WHERE server_updated_at = $1 AND ${caseScopeSql(scope, p)} ORDER BY id`,
    p.values,
  );
  const visible = rows.map((row) => ({
    key: { serverUpdatedAt: stamp, id: String((row.doc as CaseDoc).id) },
    doc: toWireDoc(row),
  }));
  const moved = (await moveTombstones(db, 'cases', scope, { stamp })) as unknown as typeof visible;
  return mergeSorted(visible, moved).map((r) => r.doc);
}

/** The routing fields (cases v1) the server last wrote; absent ones stay absent. */
function keptRoutingFields(master: CaseDoc | undefined): Partial<CaseDoc> {
  const kept: Partial<CaseDoc> = {};
  if (master?.teamId !== undefined) kept.teamId = master.teamId;
  if (master?.supportTier !== undefined) kept.supportTier = master.supportTier;
  if (master?.possibleDuplicateOf !== undefined) kept.possibleDuplicateOf = master.possibleDuplicateOf;
  return kept;
}

/** The columns case scope conditions test (scope.ts), as the table stores them. */
export function caseScopeColumns(
  doc: Pick<CaseDoc, 'branchId' | 'createdBy' | 'assigneeId' | 'teamId'>,
): ScopeColumnValues {
  return {
    branch_id: doc.branchId,
    created_by: doc.createdBy,
    assignee_id: doc.assigneeId,
    team_id: doc.teamId ?? null,
  };
}

/**
 * Writes one stored version of a case with its indexed columns: the one statement every writer of
 * cases uses (the push path here and the server's own writes, engine/server-writes.ts).
 */
export async function upsertCaseRow(tx: Queryable, stored: CaseDoc, deleted: boolean): Promise<void> {
  await tx.query(
    `INSERT INTO cases (id, doc, server_updated_at, deleted, tracking_code, branch_id, created_by, assignee_id, team_id)
     VALUES ($1, $2::jsonb, $3, $4, $5, $6, $7, $8, $9)
     ON CONFLICT (id) DO UPDATE SET doc = EXCLUDED.doc, server_updated_at = EXCLUDED.server_updated_at, deleted = EXCLUDED.deleted,
       tracking_code = EXCLUDED.tracking_code, branch_id = EXCLUDED.branch_id, created_by = EXCLUDED.created_by,
       assignee_id = EXCLUDED.assignee_id, team_id = EXCLUDED.team_id`,
    [
      stored.id,
      JSON.stringify(stored),
      stored.serverUpdatedAt,
      deleted,
      stored.trackingCode,
      stored.branchId,
      stored.createdBy,
      stored.assigneeId,
      stored.teamId ?? null,
    ],
  );
}

/** The document without `_deleted` and RxDB's other `_` fields: what the schema describes. */
function documentOf(wire: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(wire).filter(([key]) => !key.startsWith('_')));
}

const sameValue = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/**
 * Same client-writable content and deletion flag: the retry test. Server-owned fields are left out
 * on purpose (a retried row still carries the server fields it had before the first attempt).
 */
function sameClientContent(master: WireDoc<CaseDoc>, pushed: WireDoc<CaseDoc>): boolean {
  if (Boolean(master._deleted) !== Boolean(pushed._deleted)) return false;
  return CASE_CLIENT_FIELDS.every((field) => sameValue(master[field], pushed[field]));
}

/** A stable hash of what a client wrote: its client fields and deletion flag, in schema order. */
function clientContentHash(pushed: WireDoc<CaseDoc>): string {
  const content = CASE_CLIENT_FIELDS.map((field) => pushed[field] ?? null);
  return createHash('sha256')
    .update(JSON.stringify([Boolean(pushed._deleted), content]))
    .digest('base64url');
}

class Refusal extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/**
 * A case must point at a template, branch, merchant and equipment the server knows, and the
 * equipment must belong to the merchant. Only fields that changed are checked, so retiring a
 * template never blocks edits to the cases already filed under it.
 */
async function checkReferences(tx: Queryable, doc: CaseDoc, master: CaseDoc | null): Promise<void> {
  const changed = (field: 'templateId' | 'branchId' | 'merchantId' | 'equipmentId') =>
    master === null || doc[field] !== master[field];
  const exists = async (table: string, id: string) =>
    (await tx.query(`SELECT 1 FROM ${table} WHERE id = $1`, [id])).length > 0;
  if (changed('templateId') && !(await exists('case_templates', doc.templateId))) {
    throw new Refusal(
      'validation_failed',
      `The case template ${doc.templateId} does not exist; refresh the reference data.`,
    );
  }
  if (changed('branchId') && doc.branchId !== null && !(await exists('branches', doc.branchId))) {
    throw new Refusal(
      'validation_failed',
      `The branch ${doc.branchId} does not exist; refresh the reference data.`,
    );
  }
  if (changed('merchantId') && doc.merchantId !== null && !(await exists('merchants', doc.merchantId))) {
    throw new Refusal(
      'validation_failed',
      `The merchant ${doc.merchantId} does not exist; refresh the reference data.`,
    );
  }
  if ((changed('equipmentId') || changed('merchantId')) && doc.equipmentId !== null) {
    const rows = await tx.query<{ merchant_id: string }>('SELECT merchant_id FROM equipment WHERE id = $1', [
      doc.equipmentId,
    ]);
    if (!rows[0])
      throw new Refusal(
        'validation_failed',
        `The equipment ${doc.equipmentId} does not exist; refresh the reference data.`,
      );
    if (doc.merchantId !== null && rows[0].merchant_id !== doc.merchantId) {
      throw new Refusal(
        'validation_failed',
        `The equipment ${doc.equipmentId} does not belong to merchant ${doc.merchantId}.`,
      );
    }
  }
}

interface Master {
  doc: WireDoc<CaseDoc>;
  /** Whether the caller may read the stored version. */
  visible: boolean;
}

export interface PushOutcome {
  response: PushResponse<CaseDoc>;
  /** The stamp given to the accepted documents, or null when nothing new was written. */
  stamp: number | null;
}

/**
 * Applies one push in one transaction. Per row, in this order:
 * 1. document schema (validation_failed);
 * 2. a master equal to the pushed document: an idempotent retry, accepted silently, no new stamp;
 * 3. conflict when the assumed master's serverUpdatedAt is not the master's: the master is returned;
 * 4. server-owned fields absent for a new case, absent or unchanged for an existing one (server_owned_field);
 * 5. a new case's createdBy is the caller, an existing one is readable by the caller (forbidden,
 *    checked before 3 so a conflict never discloses a case);
 * 6. a status change passes the case state machine (invalid_transition);
 * 7. changed references (template, branch, merchant, equipment) exist (validation_failed).
 * Accepted documents get one stamp: max(clock, last stamp + 1) under the collection's advisory
 * lock, so stamps grow in commit order and a pull never skips a later commit.
 */
export async function pushCases(db: Db, ctx: PushContext, rows: PushRowInput[]): Promise<PushOutcome> {
  const { scope } = ctx;
  return await db.transaction(async (tx) => {
    await lockCollection(tx, 'cases');
    const stamps = stampTaker(tx, 'cases', ctx.now);
    const ids = [...new Set(rows.map((r) => r.newDocumentState.id))];
    const masters = new Map<string, Master>();
    if (ids.length > 0) {
      const p = new SqlParams([ids]);
      const found = await tx.query(
        `SELECT doc, server_updated_at, deleted, (${caseScopeSql(scope, p)}) AS visible FROM cases WHERE id = ANY($1::text[]) FOR UPDATE`,
        p.values,
      );
      for (const row of found) {
        const doc = toWireDoc(row);
        masters.set(doc.id, { doc, visible: row.visible === true });
      }
    }
    const at = ctx.now();
    // What this install last had accepted for these cases (see migration 4, push receipts).
    const installId = ctx.actor.installId;
    const receipts = installId
      ? await loadReceipts(tx, installId, 'cases', ids)
      : new Map<string, PushReceipt>();

    const conflicts: WireDoc<CaseDoc>[] = [];
    const refused: RefusedWrite[] = [];
    const written: string[] = [];
    for (const row of rows) {
      const pushed = row.newDocumentState as unknown as WireDoc<CaseDoc>;
      try {
        const doc = documentOf(pushed as unknown as Record<string, unknown>);
        const valid = validateCaseDocument(doc);
        if (!valid.ok) {
          throw new Refusal(
            'validation_failed',
            `The case does not match the schema: ${valid.issues.map((i) => `${i.path} ${i.message}`).join('; ')}.`,
          );
        }
        let candidate = doc as unknown as CaseDoc;
        let deleted = Boolean(pushed._deleted);
        const masterEntry = masters.get(pushed.id);
        const master = masterEntry?.doc;
        if (master) {
          // An idempotent retry (the response to an earlier push was lost): the server already holds this
          // version. When the device assumed an older master, answer with the master as a conflict: RxDB
          // then writes the server's fields (stamp, acknowledgement, SLA) locally. A silent accept left the
          // device's copy unacknowledged for good when its downstream had skipped the stamped version
          // while the push was unanswered (docs/proposals/stale-push-guard.md, "still open" 2).
          if (sameClientContent(master, pushed)) {
            if (
              masterEntry.visible &&
              (row.assumedMasterState?.serverUpdatedAt ?? null) !== master.serverUpdatedAt
            )
              conflicts.push(master);
            continue;
          }
          // Checked before the conflict so a conflict never hands out a case the caller may not read.
          if (!masterEntry.visible)
            throw new Refusal('forbidden', 'This case is outside what your role may change.');
          // A resend of what this install already had accepted, after someone else changed the case:
          // the answer to the first push was lost. Accept it as the retry it is (no write); the
          // device pulls the newer version and merges its later edits against its own accepted one.
          const receipt = receipts.get(pushed.id);
          if (receipt?.hash === clientContentHash(pushed)) continue;
          // A stale assumed master is a conflict, which the device merges three-way against the base
          // it assumed — unless this install's own accepted content (its receipt) is newer than that
          // base. Then the device's copy descends from its accepted content and RxDB's base is older
          // than the device's own write: how an edit made while the answer to the device's previous
          // push (a create or an edit) was lost arrives. RxDB's retry of that push got the master as a
          // conflict (above); the resolution failed with 409 because of the newer local edit, so RxDB
          // kept its old assumed master (none, for a create) and pushes the edit against it. A merge
          // from that base counts the device's own accepted version as "the server's change" of every
          // field it wrote and drops the edit (chaos seed 1294732055; deterministic tests in
          // tests/integration/chaos.test.ts). So the server merges it with the domain's rule from the
          // receipt's content and stores the result; the device takes it from the stream.
          const stale = (row.assumedMasterState?.serverUpdatedAt ?? null) !== master.serverUpdatedAt;
          const ownBase = stale ? ownAcceptedBase(receipt, row.assumedMasterState) : null;
          let fastForward = false;
          if (ownBase) {
            const merged = mergeCaseConflict({
              newDocumentState: pushed,
              assumedMasterState: ownBase as unknown as WireDoc<CaseDoc>,
              realMasterState: master,
            });
            // Nothing of the device's survives but its edit time: it gets the master back as a
            // conflict, as before, and no empty version is written.
            if (sameClientContent(master, { ...merged, updatedAt: master.updatedAt })) {
              conflicts.push(master);
              continue;
            }
            const mergedDoc = documentOf(merged as unknown as Record<string, unknown>);
            const mergedValid = validateCaseDocument(mergedDoc);
            if (!mergedValid.ok) {
              conflicts.push(master);
              continue;
            }
            candidate = mergedDoc as unknown as CaseDoc;
            deleted = Boolean(merged._deleted);
          } else if (stale) {
            // A receipt from before migration 11 keeps no content: a fast-forward only when the stored
            // client content is exactly this install's (nobody else wrote a client field since).
            if (receipt?.content || receipt?.hash !== clientContentHash(master)) {
              conflicts.push(master);
              continue;
            }
            fastForward = true;
          }
          // A closed case is final for technicians: reopening or editing it is a supervisor's call.
          if (master.status === 'closed' && scope.role === 'technician')
            throw new Refusal('record_closed', 'This case is closed; a technician cannot change it.');
          // Absent/null means "no claim" (a writer's local copy may never have received the server's
          // fields: RxDB skips a downstream master that equals its own last push); any other value
          // must be the server's own — except in a fast-forward, whose copy may hold older server
          // fields (the stored row keeps the server's own either way).
          if (!fastForward)
            for (const field of CASE_SERVER_OWNED_FIELDS) {
              if (candidate[field] != null && !sameValue(candidate[field], master[field])) {
                throw new Refusal(
                  'server_owned_field',
                  `The field ${field} is set by the server and cannot be changed by a push.`,
                );
              }
            }
          if (candidate.createdBy !== master.createdBy)
            throw new Refusal('forbidden', 'The author of a case (createdBy) cannot be changed.');
          if (candidate.trackingCode !== master.trackingCode)
            throw new Refusal(
              'validation_failed',
              'The tracking code of a case cannot be changed once issued.',
            );
          if (candidate.status !== master.status) {
            const move = transitionCase(master.status, candidate.status);
            if (!move.ok) {
              throw new Refusal(
                'invalid_transition',
                `A case cannot move from ${master.status} to ${candidate.status}; allowed: ${move.allowed.join(', ') || 'none'}.`,
              );
            }
          }
        } else {
          for (const field of CASE_SERVER_OWNED_FIELDS) {
            if (candidate[field] != null)
              throw new Refusal(
                'server_owned_field',
                `The field ${field} is set by the server; a new case must leave it empty.`,
              );
          }
          if (candidate.createdBy !== scope.userId)
            throw new Refusal('forbidden', 'A new case must be created by the signed-in user (createdBy).');
          const code = parseTrackingCode(candidate.trackingCode);
          if (!code.ok || code.code !== candidate.trackingCode) {
            throw new Refusal(
              'validation_failed',
              `The tracking code ${candidate.trackingCode} is not a valid PPP-YYYY-SSSSSS-C code.`,
            );
          }
          const taken = await tx.query('SELECT id FROM cases WHERE tracking_code = $1 AND id <> $2', [
            candidate.trackingCode,
            candidate.id,
          ]);
          if (taken.length > 0)
            throw new Refusal(
              'validation_failed',
              `The tracking code ${candidate.trackingCode} is already used by another case.`,
            );
        }

        await checkReferences(tx, candidate, master ?? null);
        const serverStamp = await stamps.take();
        const stored: CaseDoc = {
          ...(candidate as CaseDoc),
          serverUpdatedAt: serverStamp,
          acknowledgedUpdatedAt: candidate.updatedAt,
          // The server's own fields (SLA, routing, duplicate flag) stay what the server last wrote.
          sla: master?.sla ?? null,
          ...keptRoutingFields(master),
        };
        await upsertCaseRow(tx, stored, deleted);
        if (master)
          await recordScopeMove(
            tx,
            'cases',
            stored.id,
            serverStamp,
            caseScopeColumns(master),
            caseScopeColumns(stored),
          );
        await recordAudit(tx, {
          at,
          actor: ctx.actor,
          collection: 'cases',
          docId: stored.id,
          action: deleted ? 'delete' : master ? 'update' : 'create',
          changes: fieldDiff(
            master
              ? (documentOf(master as unknown as Record<string, unknown>) as Record<string, unknown>)
              : null,
            stored as unknown as Record<string, unknown>,
          ),
        });
        if (installId) {
          // What the device now holds is what it pushed (a server-side merge comes to it later).
          const receipt: PushReceipt = {
            hash: clientContentHash(pushed),
            content: receiptContent(CASE_CLIENT_FIELDS, pushed as unknown as Record<string, unknown>),
            stamp: serverStamp,
          };
          await saveReceipt(tx, { installId, collection: 'cases', docId: stored.id, at, ...receipt });
          receipts.set(stored.id, receipt);
        }
        written.push(stored.id);
        masters.set(stored.id, { doc: { ...stored, _deleted: deleted }, visible: true });
      } catch (error) {
        if (!(error instanceof Refusal)) throw error;
        refused.push({ id: pushed.id, code: error.code, message: error.message });
        await recordAudit(tx, {
          at,
          actor: ctx.actor,
          collection: 'cases',
          docId: pushed.id,
          action: 'refused',
          code: error.code,
          message: error.message,
        });
      }
    }
    const response: PushResponse<CaseDoc> = { conflicts, refused };
    if (written.length > 0 && stamps.taken !== null)
      response.written = { serverUpdatedAt: stamps.taken, ids: written };
    return { response, stamp: stamps.taken };
  });
}
