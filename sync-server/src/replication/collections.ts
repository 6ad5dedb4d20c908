/**
 * Every replicated collection behind one interface, so the routes and the live stream run the same
 * code path for all of them: cases on their own table (cases.ts, the contract of issue 2), every
 * other collection on the `documents` table (documents.ts).
 */
import type {
  PullResponse,
  PushResponse,
  ReplicatedCollection,
  ReplicationCheckpoint,
  WireDoc,
} from '@emdad/domain';
import type { Db, Queryable } from '../db/index.ts';
import { casesWithStamp, pullCases, pushCases } from './cases.ts';
import { documentsWithStamp, pullDocuments, pushDocuments, type PushContext } from './documents.ts';
import type { PushRowInput } from './push-body.ts';
import type { Scope } from './scope.ts';

export interface CollectionHandler {
  pull(
    db: Queryable,
    scope: Scope,
    checkpoint: ReplicationCheckpoint | null,
    limit: number,
  ): Promise<PullResponse<unknown>>;
  push(
    db: Db,
    ctx: PushContext,
    rows: PushRowInput[],
  ): Promise<{ response: PushResponse<unknown>; stamp: number | null }>;
  changesAt(db: Queryable, scope: Scope, stamp: number): Promise<WireDoc<unknown>[]>;
}

const casesHandler: CollectionHandler = {
  pull: (db, scope, checkpoint, limit) => pullCases(db, scope, checkpoint, limit),
  push: (db, ctx, rows) => pushCases(db, ctx, rows),
  changesAt: (db, scope, stamp) => casesWithStamp(db, stamp, scope),
};

export function handlerFor(collection: ReplicatedCollection): CollectionHandler {
  if (collection === 'cases') return casesHandler;
  return {
    pull: (db, scope, checkpoint, limit) => pullDocuments(db, collection, scope, checkpoint, limit),
    push: (db, ctx, rows) => pushDocuments(db, collection, ctx, rows),
    changesAt: (db, scope, stamp) => documentsWithStamp(db, collection, scope, stamp),
  };
}
