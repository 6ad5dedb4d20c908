/**
 * Replication of every collection except cases, on RxDB's HTTP replication contract
 * (domain/src/replication.ts), over the one `documents` table: pull by checkpoint with scope and
 * scope-change rows, push in one transaction comparing assumedMasterState, per-collection schema
 * validation (the registry's JSON Schema through ajv) and write rules (rules.ts), every write and
 * refusal audited.
 */
import { createHash } from 'node:crypto';
import { COLLECTIONS, mergeSpecOf, type CollectionName } from '@emdad/domain/model/index';
import { validateCollectionDocument } from '@emdad/domain/validate';
import {
  mergeDocumentConflict,
  PULL_BATCH_MAX,
  type PullResponse,
  type PushResponse,
  type RefusedWrite,
  type ReplicationCheckpoint,
  type WireDoc,
} from '@emdad/domain';
import type { Db, Queryable } from '../db/index.ts';
import { toNumber } from '../db/index.ts';
import { fieldDiff, recordAudit, type AuditActor } from '../audit.ts';
import { lockCollection, stampTaker } from './clock.ts';
import { Refusal, checkDocumentWrite, deriveScopeColumns, type ScopeColumns } from './rules.ts';
import { serverFieldsOnWrite } from './field-rules.ts';
import { documentScopeSql, SqlParams, type Scope } from './scope.ts';
import { mergePage, scopeChangeRows, type VirtualRowSource } from './scope-changes.ts';
import { mergeSorted, moveTombstones, recordScopeMove, type ScopeColumnValues } from './scope-moves.ts';
import type { PushRowInput } from './push-body.ts';
import {
  loadReceipts,
  ownAcceptedBase,
  receiptContent,
  saveReceipt,
  type PushReceipt,
} from './push-receipts.ts';

export type DocumentCollection = Exclude<CollectionName, 'cases'>;
type Doc = Record<string, unknown> & { id: string };

export function toWireDocument(row: Record<string, unknown>): WireDoc<Doc> {
  const doc = row.doc as Doc;
  return { ...doc, serverUpdatedAt: toNumber(row.server_updated_at), _deleted: Boolean(row.deleted) };
}

function source(collection: DocumentCollection): VirtualRowSource {
  return {
    table: 'documents',
    collectionFilter: (p) => `d.collection = ${p.add(collection)}`,
    condition: (scope, p) => documentScopeSql(collection, scope, p),
    toWire: toWireDocument,
  };
}

export async function pullDocuments(
  db: Queryable,
  collection: DocumentCollection,
  scope: Scope,
  checkpoint: ReplicationCheckpoint | null,
  limit: number,
): Promise<PullResponse<Doc>> {
  const size = Math.min(limit, PULL_BATCH_MAX);
  const p = new SqlParams([collection, checkpoint?.serverUpdatedAt ?? -1, checkpoint?.id ?? '', size]);
  const rows = await db.query(
    `SELECT d.doc, d.server_updated_at, d.deleted FROM documents d
     WHERE d.collection = $1 AND (d.server_updated_at, d.id) > ($2::bigint, $3::text) AND ${documentScopeSql(collection, scope, p)}
     ORDER BY d.server_updated_at, d.id LIMIT $4`,
    p.values,
  );
  const ordinary = rows.map((row) => {
    const doc = toWireDocument(row);
    return { key: { serverUpdatedAt: doc.serverUpdatedAt as number, id: doc.id }, doc };
  });
  const owed = await scopeChangeRows(db, collection, source(collection), scope, checkpoint, size);
  const moved = await moveTombstones(db, collection, scope, { after: checkpoint, limit: size });
  const page = mergePage<Doc>(ordinary, mergeSorted(owed, moved).slice(0, size), size, checkpoint);
  return { documents: page.documents as WireDoc<Doc>[], checkpoint: page.checkpoint };
}

/** The documents of one write transaction the caller may read (what a change notice announces). */
export async function documentsWithStamp(
  db: Queryable,
  collection: DocumentCollection,
  scope: Scope,
  stamp: number,
): Promise<WireDoc<Doc>[]> {
  const p = new SqlParams([collection, stamp]);
  const rows = await db.query(
    `SELECT d.doc, d.server_updated_at, d.deleted FROM documents d
     WHERE d.collection = $1 AND d.server_updated_at = $2 AND ${documentScopeSql(collection, scope, p)} ORDER BY d.id`,
    p.values,
  );
  const visible = rows.map((row) => {
    const doc = toWireDocument(row);
    return { key: { serverUpdatedAt: stamp, id: doc.id }, doc };
  });
  const moved = await moveTombstones(db, collection, scope, { stamp });
  return mergeSorted<Doc>(visible, moved).map((r) => r.doc as WireDoc<Doc>);
}

/** The scope columns of a stored row, as recordScopeMove compares them. */
export function columnValues(row: Record<string, unknown>): ScopeColumnValues {
  const text = (v: unknown) => (v == null ? null : String(v));
  return {
    owner_id: text(row.owner_id),
    creator_id: text(row.creator_id),
    region_id: text(row.region_id),
    branch_id: text(row.branch_id),
    case_id: text(row.case_id),
    published: row.published !== false,
  };
}

/** The derived scope columns in the shape recordScopeMove compares. */
export function scopeColumnValues(columns: ScopeColumns): ScopeColumnValues {
  return {
    owner_id: columns.ownerId,
    creator_id: columns.creatorId,
    region_id: columns.regionId,
    branch_id: columns.branchId,
    case_id: columns.caseId,
    published: columns.published,
  };
}

/**
 * Writes one stored version of a document with its derived scope columns: the one statement every
 * writer of the documents table uses (the push path here and the server's own writes,
 * engine/server-writes.ts).
 */
export async function upsertDocumentRow(
  tx: Queryable,
  collection: DocumentCollection,
  stored: Doc,
  deleted: boolean,
  columns: ScopeColumns,
): Promise<void> {
  await tx.query(
    `INSERT INTO documents (collection, id, doc, server_updated_at, deleted, owner_id, creator_id, region_id, branch_id, case_id, published)
     VALUES ($1, $2, $3::jsonb, $4, $5, $6, $7, $8, $9, $10, $11)
     ON CONFLICT (collection, id) DO UPDATE SET doc = EXCLUDED.doc, server_updated_at = EXCLUDED.server_updated_at,
       deleted = EXCLUDED.deleted, owner_id = EXCLUDED.owner_id, creator_id = EXCLUDED.creator_id, region_id = EXCLUDED.region_id,
       branch_id = EXCLUDED.branch_id, case_id = EXCLUDED.case_id, published = EXCLUDED.published`,
    [
      collection,
      stored.id,
      JSON.stringify(stored),
      stored.serverUpdatedAt,
      deleted,
      columns.ownerId,
      columns.creatorId,
      columns.regionId,
      columns.branchId,
      columns.caseId,
      columns.published,
    ],
  );
}

function documentOf(wire: Record<string, unknown>): Doc {
  return Object.fromEntries(Object.entries(wire).filter(([key]) => !key.startsWith('_'))) as Doc;
}

const sameValue = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/**
 * A stable hash of what a client wrote: its client fields (schema order) and deletion flag — the
 * content of a push receipt (migration 4, push_receipts), as cases.ts keeps for cases.
 */
function clientContentHash(clientFields: readonly string[], pushed: Record<string, unknown>): string {
  const content = clientFields.map((field) => pushed[field] ?? null);
  return createHash('sha256')
    .update(JSON.stringify([Boolean(pushed._deleted), content]))
    .digest('base64url');
}

export interface PushContext {
  scope: Scope;
  actor: AuditActor;
  now: () => number;
}

export interface DocumentPushOutcome {
  response: PushResponse<Doc>;
  stamp: number | null;
}

/**
 * One push, one transaction. Per row:
 * 1. read-only collection → read_only_collection; schema → validation_failed;
 * 2. equal to the stored master in every client field → idempotent retry: accepted without a write,
 *    and the master returned as a conflict when the assumed master is older (cases.ts says why);
 * 3. a master the caller may not read → out_of_scope (before 4, so a conflict never discloses it);
 *    then a resend of the content this install last had accepted (its push receipt) → a retry
 *    whose answer was lost, accepted silently even though the document changed since;
 * 4. assumedMasterState.serverUpdatedAt ≠ master's → conflict, the master is returned — unless the
 *    stored client content is what this install last had accepted (its receipt): a fast-forward;
 * 5. server-owned fields: absent/null or unchanged (any value in a fast-forward: the stored row keeps
 *    the server's); approval fields only by supervisors/admins;
 *    the collection's own rules (rules.ts: authorship, append-only, state machines);
 * 6. written under a savepoint, then the stored row must be in the caller's scope — a write may not
 *    move a document out of reach (e.g. into another region) — otherwise rolled back: out_of_scope.
 * Accepted rows are audited with a field diff, refused rows with their reason.
 */
export async function pushDocuments(
  db: Db,
  collection: DocumentCollection,
  ctx: PushContext,
  rows: PushRowInput[],
): Promise<DocumentPushOutcome> {
  const spec = COLLECTIONS[collection];
  const clientFields = Object.keys(spec.schema.properties).filter(
    (f) => !(spec.serverOwnedFields as readonly string[]).includes(f),
  );
  return await db.transaction(async (tx) => {
    await lockCollection(tx, collection);
    const stamps = stampTaker(tx, collection, ctx.now);
    const ids = [...new Set(rows.map((r) => r.newDocumentState.id))];
    const masters = new Map<string, { doc: WireDoc<Doc>; visible: boolean; columns: ScopeColumnValues }>();
    if (ids.length > 0) {
      const p = new SqlParams([collection, ids]);
      const found = await tx.query(
        `SELECT d.doc, d.server_updated_at, d.deleted, d.owner_id, d.creator_id, d.region_id, d.branch_id, d.case_id, d.published,
           (${documentScopeSql(collection, ctx.scope, p)}) AS visible
         FROM documents d WHERE d.collection = $1 AND d.id = ANY($2::text[]) FOR UPDATE`,
        p.values,
      );
      for (const row of found) {
        const doc = toWireDocument(row);
        masters.set(doc.id, { doc, visible: row.visible === true, columns: columnValues(row) });
      }
    }
    // What this install last had accepted for these documents (push receipts, migration 4): when the
    // answer to a push is lost and someone else changes the document before RxDB's resend arrives,
    // the resend is the retry it is, not a conflict — else the device would merge its next edit of
    // the same field against a base from before its own accepted write, and lose that edit.
    const installId = ctx.actor.installId;
    const receipts = installId
      ? await loadReceipts(tx, installId, collection, ids)
      : new Map<string, PushReceipt>();
    const conflicts: WireDoc<Doc>[] = [];
    const refused: RefusedWrite[] = [];
    const written: string[] = [];
    const at = ctx.now();
    for (const row of rows) {
      const pushed = row.newDocumentState as WireDoc<Doc>;
      const master = masters.get(pushed.id);
      try {
        if (!spec.clientWritable)
          throw new Refusal(
            'read_only_collection',
            `The ${collection} collection is read-only on clients; changes are made by the central office.`,
          );
        let candidate = documentOf(pushed);
        let deleted = Boolean(pushed._deleted);
        const valid = validateCollectionDocument(collection, candidate);
        if (!valid.ok) {
          throw new Refusal(
            'validation_failed',
            `The ${collection} document does not match the schema: ${valid.issues.map((i) => `${i.path} ${i.message}`).join('; ')}.`,
          );
        }
        let fastForward = false;
        if (master) {
          const sameContent =
            Boolean(master.doc._deleted) === Boolean(pushed._deleted) &&
            clientFields.every((f) => sameValue(master.doc[f], candidate[f]));
          if (sameContent && master.visible) {
            // An idempotent retry; an older assumed master gets the master back (see cases.ts).
            if ((row.assumedMasterState?.serverUpdatedAt ?? null) !== master.doc.serverUpdatedAt)
              conflicts.push(master.doc);
            continue;
          }
          if (!master.visible)
            throw new Refusal('out_of_scope', `This ${collection} record is outside what you may change.`);
          // A resend of what this install already had accepted, after someone else's change: no write.
          const receipt = receipts.get(pushed.id);
          if (receipt?.hash === clientContentHash(clientFields, pushed)) continue;
          // A stale assumed master is a conflict — unless this install's own accepted content is newer
          // than the base it assumes: then the server merges from that content (see cases.ts).
          const stale = (row.assumedMasterState?.serverUpdatedAt ?? null) !== master.doc.serverUpdatedAt;
          const ownBase = stale ? ownAcceptedBase(receipt, row.assumedMasterState) : null;
          if (ownBase) {
            const merged = mergeDocumentConflict(mergeSpecOf(collection), {
              newDocumentState: pushed,
              assumedMasterState: ownBase as WireDoc<Doc>,
              realMasterState: master.doc,
            });
            const mergedDoc = documentOf(merged);
            const unchanged =
              Boolean(master.doc._deleted) === Boolean(merged._deleted) &&
              clientFields.every((f) => f === 'updatedAt' || sameValue(master.doc[f], mergedDoc[f]));
            // Nothing of the device's survives but its edit time (or the merge breaks the schema): a
            // conflict, as before, and no empty version is written.
            if (unchanged || !validateCollectionDocument(collection, mergedDoc).ok) {
              conflicts.push(master.doc);
              continue;
            }
            candidate = mergedDoc;
            deleted = Boolean(merged._deleted);
          } else if (stale) {
            // A receipt from before migration 11 keeps no content: a fast-forward only when the stored
            // client content is exactly this install's (nobody else wrote a client field since).
            if (receipt?.content || receipt?.hash !== clientContentHash(clientFields, master.doc)) {
              conflicts.push(master.doc);
              continue;
            }
            fastForward = true;
          }
        }
        const masterDoc = master ? documentOf(master.doc) : null;
        for (const field of spec.serverOwnedFields) {
          // A fast-forward's copy may hold older server fields; the stored row keeps the server's.
          if (candidate[field] == null || fastForward) continue;
          if (!masterDoc || !sameValue(candidate[field], masterDoc[field]))
            throw new Refusal(
              'server_owned_field',
              `The field ${field} is set by the server and cannot be changed by a push.`,
            );
        }
        if (ctx.scope.role !== 'supervisor' && ctx.scope.role !== 'admin') {
          for (const field of spec.approvalFields) {
            if (!sameValue(candidate[field], masterDoc?.[field] ?? null))
              throw new Refusal('approval_field', `Only a supervisor or an administrator may set ${field}.`);
          }
        }
        await checkDocumentWrite(tx, collection, {
          scope: ctx.scope,
          master: masterDoc,
          masterDeleted: Boolean(master?.doc._deleted),
          candidate,
          deleted,
        });
        const columns = await deriveScopeColumns(tx, collection, candidate);
        const kept = await serverFieldsOnWrite(
          tx,
          collection,
          {
            scope: ctx.scope,
            master: masterDoc,
            masterDeleted: Boolean(master?.doc._deleted),
            candidate,
            deleted,
          },
          at,
        );
        const stamp = await stamps.take();
        const stored: Doc = { ...candidate, ...kept, ...columns.serverFields, serverUpdatedAt: stamp };
        await tx.query('SAVEPOINT push_row');
        await upsertDocumentRow(tx, collection, stored, deleted, columns);
        const p = new SqlParams([collection, stored.id]);
        const reachable = await tx.query(
          `SELECT 1 FROM documents d WHERE d.collection = $1 AND d.id = $2 AND ${documentScopeSql(collection, ctx.scope, p)}`,
          p.values,
        );
        if (reachable.length === 0) {
          await tx.query('ROLLBACK TO SAVEPOINT push_row');
          await tx.query('RELEASE SAVEPOINT push_row');
          throw new Refusal(
            'out_of_scope',
            `After this change the ${collection} record would be outside your region, branch or team; it was not saved.`,
          );
        }
        await tx.query('RELEASE SAVEPOINT push_row');
        const after = scopeColumnValues(columns);
        if (master) await recordScopeMove(tx, collection, stored.id, stamp, master.columns, after);
        await recordAudit(tx, {
          at,
          actor: ctx.actor,
          collection,
          docId: stored.id,
          action: deleted ? 'delete' : master ? 'update' : 'create',
          changes: fieldDiff(masterDoc, stored),
        });
        if (installId) {
          // What the device now holds is what it pushed (a server-side merge comes to it later).
          const receipt: PushReceipt = {
            hash: clientContentHash(clientFields, pushed),
            content: receiptContent(clientFields, pushed),
            stamp,
          };
          await saveReceipt(tx, { installId, collection, docId: stored.id, at, ...receipt });
          receipts.set(stored.id, receipt);
        }
        written.push(stored.id);
        masters.set(stored.id, {
          doc: { ...stored, _deleted: deleted },
          visible: true,
          columns: after,
        });
      } catch (error) {
        if (!(error instanceof Refusal)) throw error;
        refused.push({
          id: pushed.id,
          code: error.code,
          message: error.message,
          ...(error.sentence ? { sentence: error.sentence } : {}),
        });
        await recordAudit(tx, {
          at,
          actor: ctx.actor,
          collection,
          docId: pushed.id,
          action: 'refused',
          code: error.code,
          message: error.message,
        });
      }
    }
    const response: PushResponse<Doc> = { conflicts, refused };
    if (written.length > 0 && stamps.taken !== null)
      response.written = { serverUpdatedAt: stamps.taken, ids: written };
    return { response, stamp: stamps.taken };
  });
}
