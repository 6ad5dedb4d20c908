/**
 * The one way the server writes replicated documents as itself (SLA fields, routing, escalation,
 * notifications, timeline entries, …). Every write goes through exactly what a push writes:
 * the collection's advisory lock and one stamp per collection per transaction (replication/clock.ts),
 * the same table rows and scope columns (`upsertCaseRow` / `upsertDocumentRow`, `deriveScopeColumns`),
 * a scope move when a write takes a document out of some readers' reach (scope-moves.ts), and an
 * audit entry with a field diff whose actor is `system`. After COMMIT, each collection written is
 * announced on the change hub, so live streams on every instance deliver the new versions.
 *
 * What it does not do: the push path's client rules (authorship, state machines, server-owned
 * fields) — the server is the authority that sets those fields. It does validate every document
 * against its collection's JSON Schema, so a bug in a server workflow fails loudly instead of
 * replicating a document clients would reject.
 *
 * Locks: a transaction takes each collection's lock the first time it reads or writes it. Pushes
 * hold one collection lock at a time, so they never deadlock with a server write; two server writes
 * touching the same collections in different orders could, so pass `lock` (taken up front in one
 * canonical order) when a transaction touches several collections, and a deadlock PostgreSQL
 * detects anyway is retried.
 */
import type { CaseDoc, WireDoc } from '@emdad/domain';
import { COLLECTION_NAMES, type CollectionName } from '@emdad/domain/model/index';
import { validateCaseDocument, validateCollectionDocument } from '@emdad/domain/validate';
import { fieldDiff, recordAudit, type AuditActor } from '../audit.ts';
import type { Db, Queryable } from '../db/index.ts';
import { caseScopeColumns, toWireDoc as toWireCase, upsertCaseRow } from '../replication/cases.ts';
import { lockCollection, stampTaker } from '../replication/clock.ts';
import {
  columnValues,
  scopeColumnValues,
  toWireDocument,
  upsertDocumentRow,
  type DocumentCollection,
} from '../replication/documents.ts';
import { deriveScopeColumns } from '../replication/rules.ts';
import { recordScopeMove } from '../replication/scope-moves.ts';
import type { ChangeHub } from '../replication/stream.ts';

/** The audit actor of every server write. */
export const SYSTEM_ACTOR: AuditActor = { userId: 'system', installId: null };

type Doc = Record<string, unknown> & { id: string };

/** A stored document as the replication wire carries it (with `serverUpdatedAt` and `_deleted`). */
export type StoredDoc<T = Doc> = WireDoc<T> & { serverUpdatedAt: number; _deleted: boolean };

export interface PutOptions {
  /** Store the version as deleted (a tombstone clients apply). Default false. */
  deleted?: boolean;
  /**
   * The stored version as this transaction already read it under the collection's lock (cases
   * only; null: it does not exist), so the write needs no second read. Only for a document read
   * after the lock was taken in this same transaction.
   */
  stored?: StoredDoc<CaseDoc> | null;
}

export interface ServerWriteSession {
  /** The transaction, for reads the workflows need beyond get (reference tables, engine state). */
  readonly tx: Queryable;
  /** The server clock of this transaction (the same value for every write in it). */
  readonly at: number;
  /** The stored version of a document (locked for the rest of the transaction), or null. */
  get<T = Doc>(collection: CollectionName, id: string): Promise<StoredDoc<T> | null>;
  /**
   * Writes the document as the server: stamped, scope columns derived, audited as `system`.
   * `serverUpdatedAt` (and `acknowledgedUpdatedAt` of a case, kept from the stored version) are
   * set here; whatever the caller passes for them is ignored. Answers the stored version.
   * Writing a document with the same content as the stored one is a no-op (no stamp, no audit).
   */
  put<T extends { id: string }>(
    collection: CollectionName,
    doc: T,
    options?: PutOptions,
  ): Promise<StoredDoc<T>>;
  /** Collections written so far, with the stamp each got. */
  readonly written: ReadonlyMap<CollectionName, number>;
  /**
   * Takes the collections' locks now, in the registry's order (see "Locks" above), for a
   * transaction that first does something else under its own lock (e.g. the engine's tick lock).
   */
  lock(...collections: CollectionName[]): Promise<void>;
}

export interface ServerTransactionOptions {
  /** Collections to lock up front, in the registry's order (see "Locks" above). */
  lock?: readonly CollectionName[];
}

const DEADLOCK_DETECTED = '40P01';
const MAX_DEADLOCK_RETRIES = 3;

function isDeadlock(error: unknown): boolean {
  return (
    typeof error === 'object' && error !== null && (error as { code?: unknown }).code === DEADLOCK_DETECTED
  );
}

/** The document without `_deleted` and RxDB's other `_` fields. */
function documentOf(doc: Record<string, unknown>): Doc {
  return Object.fromEntries(Object.entries(doc).filter(([key]) => !key.startsWith('_'))) as Doc;
}

/** JSON with object keys sorted: JSONB does not keep key order, so plain JSON.stringify would differ. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

const sameJson = (a: unknown, b: unknown) => canonicalJson(a) === canonicalJson(b);

function sameStoredContent(before: Doc, after: Doc): boolean {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  for (const key of keys) {
    if (key === 'serverUpdatedAt') continue;
    if (!sameJson(before[key], after[key])) return false;
  }
  return true;
}

export class ServerWriteError extends Error {}

export class ServerWriter {
  constructor(
    private readonly db: Db,
    private readonly hub: Pick<ChangeHub, 'announce'> | null,
    private readonly now: () => number,
  ) {}

  /**
   * Runs `fn` in one transaction (committed when it resolves, rolled back when it throws); after
   * COMMIT announces `{ collection, stamp }` for every collection written. Retried as a whole when
   * PostgreSQL breaks a deadlock by aborting it, so `fn` must not have effects outside the transaction.
   */
  async transaction<T>(
    fn: (w: ServerWriteSession) => Promise<T>,
    options: ServerTransactionOptions = {},
  ): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        const { result, written } = await this.db.transaction(async (tx) => {
          const session = new WriteSession(tx, this.now);
          await session.lock(...(options.lock ?? []));
          const result = await fn(session);
          return { result, written: new Map(session.written) };
        });
        if (this.hub) {
          for (const [collection, stamp] of written) await this.hub.announce({ collection, stamp });
        }
        return result;
      } catch (error) {
        if (isDeadlock(error) && attempt < MAX_DEADLOCK_RETRIES) continue;
        throw error;
      }
    }
  }
}

class WriteSession implements ServerWriteSession {
  readonly at: number;
  readonly written = new Map<CollectionName, number>();
  private readonly locked = new Set<CollectionName>();
  private readonly stamps = new Map<CollectionName, ReturnType<typeof stampTaker>>();

  constructor(
    readonly tx: Queryable,
    now: () => number,
  ) {
    this.at = now();
  }

  async lock(...collections: CollectionName[]): Promise<void> {
    const ordered = [...new Set(collections)].sort(
      (a, b) => COLLECTION_NAMES.indexOf(a) - COLLECTION_NAMES.indexOf(b),
    );
    for (const collection of ordered) await this.lockOne(collection);
  }

  private async lockOne(collection: CollectionName): Promise<void> {
    if (this.locked.has(collection)) return;
    await lockCollection(this.tx, collection);
    this.locked.add(collection);
    // One stamp per collection per transaction, taken at the transaction's clock.
    this.stamps.set(
      collection,
      stampTaker(this.tx, collection, () => this.at),
    );
  }

  private async stamp(collection: CollectionName): Promise<number> {
    await this.lock(collection);
    const stamp = await this.stamps.get(collection)!.take();
    this.written.set(collection, stamp);
    return stamp;
  }

  async get<T = Doc>(collection: CollectionName, id: string): Promise<StoredDoc<T> | null> {
    await this.lock(collection);
    if (collection === 'cases') {
      const rows = await this.tx.query(
        'SELECT doc, server_updated_at, deleted FROM cases WHERE id = $1 FOR UPDATE',
        [id],
      );
      return rows[0] ? (toWireCase(rows[0]) as unknown as StoredDoc<T>) : null;
    }
    const rows = await this.tx.query(
      'SELECT doc, server_updated_at, deleted FROM documents WHERE collection = $1 AND id = $2 FOR UPDATE',
      [collection, id],
    );
    return rows[0] ? (toWireDocument(rows[0]) as unknown as StoredDoc<T>) : null;
  }

  async put<T extends { id: string }>(
    collection: CollectionName,
    doc: T,
    options: PutOptions = {},
  ): Promise<StoredDoc<T>> {
    const deleted = options.deleted ?? false;
    const candidate = documentOf(doc as unknown as Record<string, unknown>);
    if (collection === 'cases')
      return (await this.putCase(candidate, deleted, options.stored)) as unknown as StoredDoc<T>;
    return (await this.putDocument(collection, candidate, deleted)) as unknown as StoredDoc<T>;
  }

  private async putCase(
    candidate: Doc,
    deleted: boolean,
    known: StoredDoc<CaseDoc> | null | undefined,
  ): Promise<StoredDoc<CaseDoc>> {
    await this.lock('cases');
    let master: WireDoc<CaseDoc> | null;
    if (known !== undefined) master = known;
    else {
      const rows = await this.tx.query(
        'SELECT doc, server_updated_at, deleted FROM cases WHERE id = $1 FOR UPDATE',
        [candidate.id],
      );
      master = rows[0] ? toWireCase(rows[0]) : null;
    }
    const masterDoc = master ? documentOf(master as unknown as Record<string, unknown>) : null;
    const next: Doc = {
      ...candidate,
      // The client's last accepted version stays what it was: the server's write is not the device's.
      acknowledgedUpdatedAt: masterDoc ? (masterDoc.acknowledgedUpdatedAt ?? null) : null,
      serverUpdatedAt: master?.serverUpdatedAt ?? null,
    };
    if (master && masterDoc && Boolean(master._deleted) === deleted && sameStoredContent(masterDoc, next))
      return master as StoredDoc<CaseDoc>;
    const valid = validateCaseDocument(next);
    if (!valid.ok)
      throw new ServerWriteError(
        `server write of case ${candidate.id} does not match the schema: ${valid.issues.map((i) => `${i.path} ${i.message}`).join('; ')}`,
      );
    const stamp = await this.stamp('cases');
    const stored = { ...next, serverUpdatedAt: stamp } as unknown as CaseDoc & { serverUpdatedAt: number };
    await upsertCaseRow(this.tx, stored, deleted);
    if (master)
      await recordScopeMove(
        this.tx,
        'cases',
        stored.id,
        stamp,
        caseScopeColumns(master),
        caseScopeColumns(stored),
      );
    await recordAudit(this.tx, {
      at: this.at,
      actor: SYSTEM_ACTOR,
      collection: 'cases',
      docId: stored.id,
      action: deleted ? 'delete' : master ? 'update' : 'create',
      changes: fieldDiff(masterDoc, stored as unknown as Record<string, unknown>),
    });
    return { ...stored, _deleted: deleted };
  }

  private async putDocument(
    collection: DocumentCollection,
    candidate: Doc,
    deleted: boolean,
  ): Promise<StoredDoc> {
    await this.lock(collection);
    const rows = await this.tx.query(
      `SELECT doc, server_updated_at, deleted, owner_id, creator_id, region_id, branch_id, case_id, published
       FROM documents WHERE collection = $1 AND id = $2 FOR UPDATE`,
      [collection, candidate.id],
    );
    const masterRow = rows[0];
    const master = masterRow ? toWireDocument(masterRow) : null;
    const masterDoc = master ? documentOf(master) : null;
    const columns = await deriveScopeColumns(this.tx, collection, candidate);
    const next: Doc = {
      ...candidate,
      ...columns.serverFields,
      serverUpdatedAt: master?.serverUpdatedAt ?? null,
    };
    if (master && masterDoc && Boolean(master._deleted) === deleted && sameStoredContent(masterDoc, next))
      return master as StoredDoc;
    const valid = validateCollectionDocument(collection, next);
    if (!valid.ok)
      throw new ServerWriteError(
        `server write of ${collection} ${candidate.id} does not match the schema: ${valid.issues.map((i) => `${i.path} ${i.message}`).join('; ')}`,
      );
    const stamp = await this.stamp(collection);
    const stored: Doc & { serverUpdatedAt: number } = { ...next, serverUpdatedAt: stamp };
    await upsertDocumentRow(this.tx, collection, stored, deleted, columns);
    if (masterRow)
      await recordScopeMove(
        this.tx,
        collection,
        stored.id,
        stamp,
        columnValues(masterRow),
        scopeColumnValues(columns),
      );
    await recordAudit(this.tx, {
      at: this.at,
      actor: SYSTEM_ACTOR,
      collection,
      docId: stored.id,
      action: deleted ? 'delete' : master ? 'update' : 'create',
      changes: fieldDiff(masterDoc, stored),
    });
    return { ...stored, _deleted: deleted };
  }
}
