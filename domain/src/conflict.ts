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
import type { WireDoc } from './replication.ts';

export interface ConflictInput<T> {
  newDocumentState: WireDoc<T>;
  assumedMasterState: WireDoc<T> | null | undefined;
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
