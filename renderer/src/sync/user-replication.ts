/**
 * Every collection of a user's database replicated at once (collection-replication.ts), sharing one
 * multiplexed live stream (replication-stream.ts), with one status for the sync bar: online when
 * the server answers, the first error any of them has, the latest successful sync.
 */
import type { RefusedWrite } from '@emdad/domain';
import { COLLECTION_NAMES, type CollectionName } from '@emdad/domain/model/index';
import type { RxCollection, WithDeleted } from 'rxdb';
import type { UserDatabase } from '../db/database.ts';
import type { FetchLike } from './http.ts';
import {
  INITIAL_REPLICATION_STATUS,
  startCollectionReplication,
  type CollectionReplication,
  type ReplicationAuth,
  type ReplicationStatus,
} from './collection-replication.ts';
import { startMultiplexedStream, type MultiplexedStream, type StreamStatus } from './replication-stream.ts';

export interface StartUserReplicationOptions {
  db: UserDatabase;
  serverUrl: string;
  auth: ReplicationAuth;
  fetch?: FetchLike;
  /** Which collections to replicate; default every registry collection the database has. */
  collections?: readonly CollectionName[];
  /** false: no live stream (pulls on start, after pushes and on reSync()). Default true. */
  live?: boolean;
  retryTimeMs?: number;
  streamBackoff?: { initialMs: number; maxMs: number };
  /** The combined status of every collection and the stream. */
  onStatus?: (status: ReplicationStatus) => void;
  onRefused?: (collection: CollectionName, rows: RefusedWrite[]) => void;
  /** Runs before each push of a collection (attachments upload their bytes first). */
  beforePush?: (collection: CollectionName, docs: readonly WithDeleted<unknown>[]) => Promise<void>;
}

export interface UserReplication {
  readonly replications: ReadonlyMap<CollectionName, CollectionReplication>;
  status(): ReplicationStatus;
  /** Every collection pushed everything and pulled after its last push (see CollectionReplication). */
  awaitInSync(): Promise<void>;
  reSync(): void;
  stop(): Promise<void>;
}

/**
 * Collections whose documents reference records of other collections, which the server checks when
 * it accepts them (a case event's case must be readable, a case's merchant and device must exist, a
 * mission's cases, an expense's mission). Records created together offline must reach the server
 * parents first, or the child is refused for good (out_of_scope, validation_failed): each push of a
 * child collection waits until its parents' replications have pushed what they hold.
 */
export const PUSH_AFTER: Readonly<Partial<Record<CollectionName, readonly CollectionName[]>>> = {
  equipment: ['merchants'],
  cases: ['merchants', 'equipment'],
  case_events: ['cases'],
  diagnostics: ['cases', 'equipment'],
  surveys: ['cases'],
  missions: ['cases'],
  expenses: ['missions'],
};

/**
 * One status from many: unreachable if any request went unanswered, the first error, the latest sync
 * — but no sync at all until every collection has synced once. A device that has its cases but not
 * yet the calendars, templates or merchants is not ready to work offline (no provisional SLA, empty
 * pickers), and the status bar's "last sync: not yet" tells its user to stay online a moment longer.
 */
export function combineStatuses(
  statuses: readonly ReplicationStatus[],
  stream: StreamStatus | null,
): ReplicationStatus {
  const all: Pick<ReplicationStatus, 'reachable' | 'error'>[] = stream
    ? [...statuses, stream]
    : [...statuses];
  const reachable = all.some((s) => s.reachable === false)
    ? false
    : all.some((s) => s.reachable === true)
      ? true
      : null;
  const error = all.find((s) => s.error)?.error ?? null;
  let lastSyncAt: string | null = null;
  for (const s of statuses)
    if (s.lastSyncAt && (!lastSyncAt || s.lastSyncAt > lastSyncAt)) lastSyncAt = s.lastSyncAt;
  if (statuses.some((s) => s.lastSyncAt === null)) lastSyncAt = null;
  return { reachable, error, lastSyncAt, streaming: stream?.streaming ?? false };
}

export function startUserReplication(options: StartUserReplicationOptions): UserReplication {
  // Default: every registry collection this database has (all of them in the app).
  const names = options.collections ?? COLLECTION_NAMES.filter((name) => name in options.db.collections);
  const live = options.live ?? true;
  const statuses = new Map<CollectionName, ReplicationStatus>();
  for (const name of names) statuses.set(name, INITIAL_REPLICATION_STATUS);
  let combined = combineStatuses([...statuses.values()], null);
  let stream: MultiplexedStream | null = null;
  const report = () => {
    const next = combineStatuses([...statuses.values()], stream?.status() ?? null);
    if (JSON.stringify(next) === JSON.stringify(combined)) return;
    combined = next;
    options.onStatus?.(combined);
  };

  if (live) {
    stream = startMultiplexedStream({
      serverUrl: options.serverUrl,
      auth: options.auth,
      collections: names,
      fetch: options.fetch,
      backoff: options.streamBackoff,
      onStatus: report,
    });
  }

  const replications = new Map<CollectionName, CollectionReplication>();
  // A push waiting for its parents gives up when the replication stops (the round then fails).
  let stop: () => void = () => undefined;
  const stopped = new Promise<never>((_, reject) => {
    stop = () => reject(new Error('replication stopped'));
  });
  stopped.catch(() => undefined);
  /** Resolves once every parent collection (PUSH_AFTER) has nothing left to push. */
  async function parentsPushed(name: CollectionName): Promise<void> {
    for (const parent of PUSH_AFTER[name] ?? []) {
      const replication = replications.get(parent);
      // RxDB's own in-sync wait: the parent's upstream has pushed every local write (and its
      // downstream is idle). A parent that cannot reach the server keeps the child waiting, as the
      // child could not be pushed either.
      if (replication) await Promise.race([replication.state.awaitInSync(), stopped]);
    }
  }
  for (const name of names) {
    const collection = options.db[name] as unknown as RxCollection<unknown>;
    replications.set(
      name,
      startCollectionReplication<unknown>({
        collection,
        name,
        serverUrl: options.serverUrl,
        auth: options.auth,
        fetch: options.fetch,
        retryTimeMs: options.retryTimeMs,
        live: false,
        ...(stream ? { liveFeed: stream.feed<unknown>(name) } : {}),
        onStatus: (status) => {
          statuses.set(name, status);
          report();
        },
        onRefused: (rows) => options.onRefused?.(name, rows),
        beforePush: async (docs: readonly WithDeleted<unknown>[]) => {
          await parentsPushed(name);
          await options.beforePush?.(name, docs);
        },
      }),
    );
  }

  const onOnline = () => stream?.wake();
  const target = globalThis as {
    addEventListener?: (type: string, fn: () => void) => void;
    removeEventListener?: (type: string, fn: () => void) => void;
  };
  target.addEventListener?.('online', onOnline);

  return {
    replications,
    status: () => combined,
    async awaitInSync() {
      await Promise.all([...replications.values()].map((r) => r.awaitInSync()));
    },
    reSync() {
      stream?.wake();
      for (const r of replications.values()) r.reSync();
    },
    async stop() {
      stop();
      target.removeEventListener?.('online', onOnline);
      await Promise.all([...replications.values()].map((r) => r.stop()));
      await stream?.stop();
    },
  };
}
