/**
 * Conflict rule (documented in README, "Sync and conflicts"):
 * 1. Server-owned fields always come from the server.
 * 2. Every other field is merged three-way against the version the client started from: a field only
 *    the client changed keeps the client's value; a field only the server changed keeps the server's.
 * 3. A field both changed keeps the server's value (the first edit to reach the server wins), except
 *    that when the merged status would be an illegal move, the server's status stands.
 * The merged document is pushed again with the server's version as its assumed master.
 */
import { transitionCase } from './case-state.ts';
import { CASE_CLIENT_FIELDS, CASE_SERVER_OWNED_FIELDS, type CaseDoc } from './case.ts';
import { mergeAttachmentRefs } from './attachment-merge.ts';
import type { WireDoc } from './replication.ts';

export interface ConflictInput<T> {
  newDocumentState: WireDoc<T>;
  assumedMasterState?: WireDoc<T> | null;
  realMasterState: WireDoc<T>;
}

/**
 * Field equality as JSON sees it (undefined = null). RxDB calls the conflict handler's isEqual for
 * every pulled document that already exists locally, so the common cases skip JSON.stringify:
 * identical values, two strings, or two nullish values give the same answer stringify would.
 */
function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a == null) return b == null || JSON.stringify(b) === 'null';
  if (typeof a === 'string' && typeof b === 'string') return false;
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

export function mergeCaseConflict(input: ConflictInput<CaseDoc>): WireDoc<CaseDoc> {
  const { newDocumentState: mine, assumedMasterState: base, realMasterState: theirs } = input;
  const merged = { ...theirs } as Record<string, unknown>;
  const mineRecord = mine as unknown as Record<string, unknown>;
  const baseRecord = (base ?? null) as Record<string, unknown> | null;
  const theirsRecord = theirs as unknown as Record<string, unknown>;
  let clientChangedSomething = false;
  for (const field of CASE_CLIENT_FIELDS) {
    const mineChanged = baseRecord
      ? !same(mineRecord[field], baseRecord[field])
      : !same(mineRecord[field], theirsRecord[field]);
    const theirsChanged = baseRecord ? !same(theirsRecord[field], baseRecord[field]) : true;
    if (mineChanged && !theirsChanged) {
      merged[field] = mineRecord[field];
      clientChangedSomething = true;
    }
  }
  for (const field of CASE_SERVER_OWNED_FIELDS) merged[field] = theirsRecord[field] ?? null;
  if (merged.status !== theirs.status && !transitionCase(theirs.status, String(merged.status)).ok) {
    merged.status = theirs.status;
  }
  // A merge that keeps client edits is a new local version: give it a fresh edit time so it is
  // visibly "not synced" until the server acknowledges it.
  if (clientChangedSomething) {
    merged.updatedAt = mine.updatedAt > theirs.updatedAt ? mine.updatedAt : theirs.updatedAt;
  } else {
    merged.updatedAt = theirs.updatedAt;
  }
  merged._deleted = theirs._deleted || mine._deleted;
  return merged as unknown as WireDoc<CaseDoc>;
}

/** Equality RxDB uses to decide whether fork and master differ: client-visible content only. */
export function casesEqual(
  a: Partial<CaseDoc> & { _deleted?: boolean },
  b: Partial<CaseDoc> & { _deleted?: boolean },
): boolean {
  if (Boolean(a._deleted) !== Boolean(b._deleted)) return false;
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  for (const field of CASE_CLIENT_FIELDS) if (!same(ra[field], rb[field])) return false;
  return true;
}

/**
 * What the generic merge needs to know of a collection (a subset of model/index.ts CollectionSpec).
 * `appendOnly`: a stored document never changes on the client's say (case_events), so the master wins.
 */
export interface MergeSpec {
  serverOwnedFields: readonly string[];
  clientWritable: boolean;
  appendOnly?: boolean;
}

/** RxDB's own fields never take part in a merge or in equality (`_deleted` is compared apart). */
function isInternalField(field: string): boolean {
  return field.startsWith('_');
}

function contentFields(...docs: (Record<string, unknown> | null | undefined)[]): string[] {
  const fields = new Set<string>();
  for (const doc of docs)
    if (doc) for (const key of Object.keys(doc)) if (!isInternalField(key)) fields.add(key);
  return [...fields];
}

/**
 * The conflict rule of every collection except cases (whose rule also guards the status machine):
 * 1. read-only and append-only collections: the server's version wins outright;
 * 2. server-owned fields come from the server;
 * 3. a field only this device changed since the version it started from keeps the device's value;
 *    any other field takes the server's (the first edit to reach the server wins);
 * 4. when a device edit was kept, `updatedAt` is the later of both, so the merge shows as a new
 *    local version until the server acknowledges it.
 * The result is pushed again with the server's version as its assumed master (RxDB does that).
 */
export function mergeDocumentConflict<T>(spec: MergeSpec, input: ConflictInput<T>): WireDoc<T> {
  const { newDocumentState: mine, assumedMasterState: base, realMasterState: theirs } = input;
  if (!spec.clientWritable || spec.appendOnly) return theirs;
  const mineRecord = mine as unknown as Record<string, unknown>;
  const baseRecord = (base ?? null) as Record<string, unknown> | null;
  const theirsRecord = theirs as unknown as Record<string, unknown>;
  const merged: Record<string, unknown> = { ...theirsRecord };
  const serverOwned = new Set(spec.serverOwnedFields);
  let clientChangedSomething = false;
  for (const field of contentFields(mineRecord, baseRecord, theirsRecord)) {
    if (serverOwned.has(field) || field === 'updatedAt' || field === 'attachments') continue;
    // Without a base (two devices created the same id), nothing proves the server did not change a
    // field: the server's value stands.
    if (!baseRecord) continue;
    const mineChanged = !same(mineRecord[field], baseRecord[field]);
    const theirsChanged = !same(theirsRecord[field], baseRecord[field]);
    if (mineChanged && !theirsChanged && !same(mineRecord[field], theirsRecord[field])) {
      if (mineRecord[field] === undefined) delete merged[field];
      else merged[field] = mineRecord[field];
      clientChangedSomething = true;
    }
  }
  // Attachment references merge as a set (attachment-merge.ts): a receipt attached on this device
  // survives a concurrent change of the list, and a first push whose answer was lost (no base).
  if ('attachments' in mineRecord || 'attachments' in theirsRecord) {
    const refs = mergeAttachmentRefs(
      mineRecord.attachments,
      baseRecord?.attachments,
      theirsRecord.attachments,
    );
    if (!same(refs, theirsRecord.attachments ?? [])) {
      merged.attachments = refs;
      clientChangedSomething = true;
    }
  }
  if ('updatedAt' in theirsRecord || 'updatedAt' in mineRecord) {
    const mineAt = typeof mineRecord.updatedAt === 'string' ? mineRecord.updatedAt : '';
    const theirsAt = typeof theirsRecord.updatedAt === 'string' ? theirsRecord.updatedAt : '';
    merged.updatedAt = clientChangedSomething && mineAt > theirsAt ? mineAt : theirsRecord.updatedAt;
  }
  // Deletion is one more field: a delete only this device made is kept.
  const deletedOnlyHere =
    baseRecord !== null &&
    Boolean(mine._deleted) !== Boolean(baseRecord._deleted) &&
    Boolean(theirs._deleted) === Boolean(baseRecord._deleted);
  merged._deleted = deletedOnlyHere ? Boolean(mine._deleted) : Boolean(theirs._deleted);
  return merged as unknown as WireDoc<T>;
}

/**
 * Equality RxDB uses for documents of every collection except cases: every field (server-owned
 * ones too, so a server acknowledgement or decision reaches the local copy) and the deletion flag;
 * RxDB's own fields (`_rev`, `_meta`, `_attachments`) are ignored.
 */
export function documentsEqual(a: object, b: object): boolean {
  const ra = a as Record<string, unknown>;
  const rb = b as Record<string, unknown>;
  if (Boolean(ra._deleted) !== Boolean(rb._deleted)) return false;
  for (const field of contentFields(ra, rb)) if (!same(ra[field], rb[field])) return false;
  return true;
}
