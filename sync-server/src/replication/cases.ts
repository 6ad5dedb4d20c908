/**
 * Case replication on RxDB's HTTP replication contract (domain/src/replication.ts):
 * pull by checkpoint (serverUpdatedAt, id); push in one transaction comparing assumedMasterState,
 * returning only conflicts and refused rows.
 */
import {
  CASE_CLIENT_FIELDS,
  CASE_SERVER_OWNED_FIELDS,
  PULL_BATCH_MAX,
  PUSH_BATCH_MAX,
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
import { LOCK_KEYS } from '../db/migrations.ts';
import { ApiError } from '../errors.ts';
import { canReadCase, caseScopeSql, type ScopeUser } from './scope.ts';

export const CASES_COLLECTION = 'cases';

function toWireDoc(row: Record<string, unknown>): WireDoc<CaseDoc> {
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

/** Documents after the checkpoint, ordered by (serverUpdatedAt, id); the new checkpoint is the last one. */
export async function pullCases(
  db: Queryable,
  user: ScopeUser,
  checkpoint: ReplicationCheckpoint | null,
  limit: number,
): Promise<PullResponse<CaseDoc>> {
  const scope = caseScopeSql(user, 4);
  const rows = await db.query(
    `SELECT doc, server_updated_at, deleted FROM cases
     WHERE (server_updated_at, id) > ($1::bigint, $2::text) AND ${scope.sql}
     ORDER BY server_updated_at, id
     LIMIT $3`,
    [
      checkpoint?.serverUpdatedAt ?? -1,
      checkpoint?.id ?? '',
      Math.min(limit, PULL_BATCH_MAX),
      ...scope.params,
    ],
  );
  const documents = rows.map(toWireDoc);
  const last = documents.at(-1);
  return {
    documents,
    checkpoint: last ? { serverUpdatedAt: last.serverUpdatedAt as number, id: last.id } : checkpoint,
  };
}

export async function getCase(db: Queryable, user: ScopeUser, id: string): Promise<WireDoc<CaseDoc> | null> {
  const scope = caseScopeSql(user, 2);
  const rows = await db.query(
    `SELECT doc, server_updated_at, deleted FROM cases WHERE id = $1 AND ${scope.sql}`,
    [id, ...scope.params],
  );
  return rows[0] ? toWireDoc(rows[0]) : null;
}

/** Every document stamped in one write transaction (what a change notification announces). */
export async function casesWithStamp(db: Queryable, stamp: number): Promise<WireDoc<CaseDoc>[]> {
  const rows = await db.query(
    'SELECT doc, server_updated_at, deleted FROM cases WHERE server_updated_at = $1 ORDER BY id',
    [stamp],
  );
  return rows.map(toWireDoc);
}

const wireDocShape = z.looseObject({ id: z.string().min(1).max(64), _deleted: z.boolean() });
const pushRowShape = z.object({
  newDocumentState: wireDocShape,
  assumedMasterState: wireDocShape.nullable().optional(),
});

/** Validates the body's outer shape; rows are checked one by one in `pushCases`. */
export function parsePushBody(body: unknown): z.infer<typeof pushRowShape>[] {
  if (!Array.isArray(body))
    throw new ApiError(
      400,
      'bad_request',
      'The push body must be a JSON array of { newDocumentState, assumedMasterState } rows.',
    );
  if (body.length > PUSH_BATCH_MAX)
    throw new ApiError(
      400,
      'bad_request',
      `A push may carry at most ${PUSH_BATCH_MAX} rows; split the batch.`,
    );
  const rows: z.infer<typeof pushRowShape>[] = [];
  for (const [index, raw] of body.entries()) {
    const parsed = pushRowShape.safeParse(raw);
    if (!parsed.success) {
      throw new ApiError(
        400,
        'validation_failed',
        `Push row ${index} is not { newDocumentState: { id, _deleted, ... }, assumedMasterState }: ${parsed.error.issues[0]?.message ?? 'invalid'}.`,
        {
          row: index,
        },
      );
    }
    rows.push(parsed.data);
  }
  return rows;
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
export async function pushCases(
  db: Db,
  user: ScopeUser,
  rows: z.infer<typeof pushRowShape>[],
  now: () => number,
): Promise<PushOutcome> {
  return await db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEYS.replication.cases]);
    const ids = [...new Set(rows.map((r) => r.newDocumentState.id))];
    const masters = new Map<string, Master>();
    if (ids.length > 0) {
      const found = await tx.query(
        'SELECT doc, server_updated_at, deleted FROM cases WHERE id = ANY($1::text[]) FOR UPDATE',
        [ids],
      );
      for (const row of found) {
        const doc = toWireDoc(row);
        masters.set(doc.id, { doc });
      }
    }
    let stamp: number | null = null;
    const takeStamp = async (): Promise<number> => {
      if (stamp !== null) return stamp;
      const clock = await tx.query<{ last_stamp: unknown }>(
        'SELECT last_stamp FROM replication_clock WHERE collection = $1',
        [CASES_COLLECTION],
      );
      const last = clock[0] ? toNumber(clock[0].last_stamp) : 0;
      stamp = Math.max(Math.floor(now()), last + 1);
      await tx.query(
        'INSERT INTO replication_clock (collection, last_stamp) VALUES ($1, $2) ON CONFLICT (collection) DO UPDATE SET last_stamp = EXCLUDED.last_stamp',
        [CASES_COLLECTION, stamp],
      );
      return stamp;
    };

    const conflicts: WireDoc<CaseDoc>[] = [];
    const refused: RefusedWrite[] = [];
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
        const candidate = doc as unknown as CaseDoc;
        const master = masters.get(pushed.id)?.doc;
        if (master) {
          // An idempotent retry (the response to an earlier push was lost): the server already holds this version.
          if (sameClientContent(master, pushed)) continue;
          // Checked before the conflict so a conflict never hands out a case the caller may not read.
          if (!canReadCase(user, master))
            throw new Refusal('forbidden', 'This case is outside what your role may change.');
          if ((row.assumedMasterState?.serverUpdatedAt ?? null) !== master.serverUpdatedAt) {
            conflicts.push(master);
            continue;
          }
          // Absent/null means "no claim" (a writer's local copy may never have received the server's
          // fields: RxDB skips a downstream master that equals its own last push); any other value
          // must be the server's own.
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
          if (candidate.createdBy !== user.id)
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
        const serverStamp = await takeStamp();
        const stored: CaseDoc = {
          ...(candidate as CaseDoc),
          serverUpdatedAt: serverStamp,
          acknowledgedUpdatedAt: candidate.updatedAt,
          sla: master?.sla ?? null,
        };
        await tx.query(
          `INSERT INTO cases (id, doc, server_updated_at, deleted, tracking_code, branch_id, created_by, assignee_id)
           VALUES ($1, $2::jsonb, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (id) DO UPDATE SET doc = EXCLUDED.doc, server_updated_at = EXCLUDED.server_updated_at, deleted = EXCLUDED.deleted,
             tracking_code = EXCLUDED.tracking_code, branch_id = EXCLUDED.branch_id, created_by = EXCLUDED.created_by, assignee_id = EXCLUDED.assignee_id`,
          [
            stored.id,
            JSON.stringify(stored),
            serverStamp,
            pushed._deleted,
            stored.trackingCode,
            stored.branchId,
            stored.createdBy,
            stored.assigneeId,
          ],
        );
        masters.set(stored.id, { doc: { ...stored, _deleted: pushed._deleted } });
      } catch (error) {
        if (error instanceof Refusal)
          refused.push({ id: pushed.id, code: error.code, message: error.message });
        else throw error;
      }
    }
    return { response: { conflicts, refused }, stamp };
  });
}
