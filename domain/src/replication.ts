/**
 * The replication contract on the wire (RxDB's HTTP replication protocol):
 * - pull:  GET  /api/replication/:collection/pull?serverUpdatedAt=&id=&limit=
 *          -> PullResponse. Documents ordered by (serverUpdatedAt, id); the checkpoint is the last one.
 *          The server stamps serverUpdatedAt strictly increasing per write transaction, so a
 *          document committed after a checkpoint was handed out always sorts after it.
 * - push:  POST /api/replication/:collection/push  body: PushRow[]
 *          -> PushResponse. One transaction; a row conflicts when the server's current version is not
 *          the one the client assumed; only conflicts (and refused rows, and which rows were written
 *          at which stamp) come back. Re-sending a row the
 *          server already holds is accepted silently (idempotent retry).
 * - live:  GET  /api/replication/:collection/stream   (Server-Sent Events, Bearer auth)
 *          each event's data is a StreamMessage; `RESYNC` is sent on every (re)connect so the client
 *          runs a checkpoint pull for whatever it missed while disconnected.
 *          GET  /api/replication/stream?collections=a,b   the same for several collections on one
 *          connection, each event a MultiplexedStreamMessage.
 */
import type { ErrorCode } from './errors.ts';

export const REPLICATED_COLLECTIONS = [
  'cases',
  'case_events',
  'diagnostics',
  'equipment',
  'merchants',
  'kb_articles',
  'missions',
  'expenses',
  'surveys',
  'reference',
  'notifications',
] as const;
export type ReplicatedCollection = (typeof REPLICATED_COLLECTIONS)[number];

export interface ReplicationCheckpoint {
  serverUpdatedAt: number;
  id: string;
}

/** A document on the wire: the document plus RxDB's deletion flag (soft delete). */
export type WireDoc<T> = T & { _deleted: boolean };

export interface PullResponse<T> {
  documents: WireDoc<T>[];
  checkpoint: ReplicationCheckpoint | null;
}

export interface PushRow<T> {
  newDocumentState: WireDoc<T>;
  assumedMasterState: WireDoc<T> | null;
}

export interface RefusedWrite {
  id: string;
  code: ErrorCode;
  message: string;
  /** The specific sentence (a state machine's or a workflow's) to show instead of the code's generic one. */
  sentence?: { fa: string; en: string };
}

export interface PushResponse<T> {
  /** The server's current version of each conflicting document. */
  conflicts: WireDoc<T>[];
  /** Rows refused outright (invalid, forbidden); nothing of them was stored. */
  refused: RefusedWrite[];
  /**
   * The rows this push wrote, and the stamp of the version they made (one per push transaction);
   * absent when nothing was written. Beyond RxDB's contract: the client drops any master of these
   * documents older than that stamp that reaches it afterwards (a pull read before the push
   * committed, answered after RxDB recorded the push, would otherwise overwrite the newer local copy).
   */
  written?: { serverUpdatedAt: number; ids: string[] };
}

export type StreamMessage<T> =
  { type: 'changes'; documents: WireDoc<T>[]; checkpoint: ReplicationCheckpoint } | { type: 'RESYNC' };

/**
 * One event of the multiplexed stream (GET /api/replication/stream?collections=a,b): a StreamMessage
 * of one collection, tagged with it. The same semantics per collection: RESYNC for each on every
 * (re)connect, then its changes. A browser over HTTP/1.1 allows 6 connections per origin, so one
 * stream for every collection instead of one each keeps pulls and pushes from queueing behind them.
 */
export type MultiplexedStreamMessage<T> = StreamMessage<T> & { collection: ReplicatedCollection };

/** Query parameter of the multiplexed stream: comma-separated collection names (default: all). */
export const STREAM_COLLECTIONS_PARAM = 'collections';

export const PULL_BATCH_MAX = 1000;
export const PUSH_BATCH_MAX = 500;

export function compareCheckpoints(a: ReplicationCheckpoint, b: ReplicationCheckpoint): number {
  if (a.serverUpdatedAt !== b.serverUpdatedAt) return a.serverUpdatedAt < b.serverUpdatedAt ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Fields RxDB keeps for itself; they never travel over the wire. */
export const RXDB_INTERNAL_FIELDS = ['_rev', '_meta', '_attachments'] as const;

export function stripInternalFields<T extends object>(doc: T): T {
  const copy = { ...doc } as Record<string, unknown>;
  for (const field of RXDB_INTERNAL_FIELDS) delete copy[field];
  return copy as T;
}
