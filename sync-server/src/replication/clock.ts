/**
 * The per-collection replication clock. A write transaction takes the collection's advisory lock,
 * then one stamp = max(server clock, last stamp + 1): stamps grow in commit order, so a pull by
 * checkpoint (serverUpdatedAt, id) never skips a later commit (domain/src/replication.ts).
 */
import { COLLECTION_NAMES, type CollectionName } from '@emdad/domain/model/index';
import type { Queryable } from '../db/index.ts';
import { toNumber } from '../db/index.ts';
import { LOCK_KEYS } from '../db/migrations.ts';

export function collectionLockKey(collection: CollectionName): number {
  if (collection === 'cases') return LOCK_KEYS.replication.cases;
  return LOCK_KEYS.documentsBase + COLLECTION_NAMES.indexOf(collection);
}

export async function lockCollection(tx: Queryable, collection: CollectionName): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock($1)', [collectionLockKey(collection)]);
}

/** Takes the next stamp of the collection; the caller holds the collection's lock. */
export async function nextStamp(tx: Queryable, collection: CollectionName, now: number): Promise<number> {
  const clock = await tx.query<{ last_stamp: unknown }>(
    'SELECT last_stamp FROM replication_clock WHERE collection = $1',
    [collection],
  );
  const last = clock[0] ? toNumber(clock[0].last_stamp) : 0;
  const stamp = Math.max(Math.floor(now), last + 1);
  await tx.query(
    'INSERT INTO replication_clock (collection, last_stamp) VALUES ($1, $2) ON CONFLICT (collection) DO UPDATE SET last_stamp = EXCLUDED.last_stamp',
    [collection, stamp],
  );
  return stamp;
}

/** A lazily taken stamp: one per write transaction, only when something is written. */
export function stampTaker(tx: Queryable, collection: CollectionName, now: () => number) {
  let stamp: number | null = null;
  return {
    async take(): Promise<number> {
      stamp ??= await nextStamp(tx, collection, now());
      return stamp;
    },
    get taken(): number | null {
      return stamp;
    },
  };
}
