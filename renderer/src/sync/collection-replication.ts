/**
 * The replication client of one collection of the registry (domain/src/model/index.ts): RxDB's
 * replication primitives over the sync server's HTTP contract (domain/src/replication.ts). Runs in
 * the browser and in plain Node 20 (tests run two of them against a real server), so it uses only
 * fetch, TextDecoder and timers.
 *
 * - pull: GET  /api/replication/:collection/pull?serverUpdatedAt=&id=&limit=   by checkpoint
 * - push: POST /api/replication/:collection/push   only conflicts go back to RxDB (which resolves them
 *         with the collection's conflict handler); refused rows are reported through `onRefused`.
 *         Server-owned fields travel as the server last sent them (the assumed master). A read-only
 *         collection (`clientWritable: false`) never pushes.
 * - live: either its own GET /api/replication/:collection/stream (SSE read with fetch, Bearer auth),
 *         or `liveFeed`: the collection's share of one multiplexed stream for every collection
 *         (replication-stream.ts), which is what the app uses — a browser allows only 6 connections
 *         per origin over HTTP/1.1, and 11 streams would starve every other request.
 *         'RESYNC' on every (re)connect makes RxDB run a checkpoint pull for whatever was missed.
 * - a 401 (`token_expired`, or `unauthenticated` e.g. after the server's signing keys changed) calls
 *   `auth.refresh()` once and retries with the new token; if that fails the error is reported.
 */
import { replicateRxCollection, type RxReplicationState } from 'rxdb/plugins/replication';
import type {
  RxCollection,
  RxReplicationPullStreamItem,
  RxReplicationWriteToMasterRow,
  WithDeleted,
} from 'rxdb';
import { Subject, type Observable, type Subscription } from 'rxjs';
import {
  API_ROUTES,
  DEVICE_TIME_HEADER,
  PULL_BATCH_MAX,
  PUSH_BATCH_MAX,
  stripInternalFields,
  type ErrorCode,
  type PullResponse,
  type PushResponse,
  type PushRow,
  type RefusedWrite,
  type ReplicationCheckpoint,
  type StreamMessage,
  type WireDoc,
} from '@emdad/domain';
import { COLLECTIONS, isCollectionName, type CollectionName } from '@emdad/domain/model/index';
import { ApiError, apiErrorFromResponse, fetchOrNetworkError, joinUrl, type FetchLike } from './http.ts';
import { SseParser } from './sse.ts';

export interface ReplicationAuth {
  /** The current access token, or null when there is no online session. */
  getAccessToken(): Promise<string | null>;
  /** Rotates the tokens with the refresh token; false when that is not possible (sign in again). */
  refresh(): Promise<boolean>;
}

export interface ReplicationStatus {
  /** The last request got an answer from the server (any status). */
  reachable: boolean | null;
  /** ISO time of the last successful pull or push round. */
  lastSyncAt: string | null;
  /** The last error, cleared by the next success; `code` indexes ERROR_SENTENCES. */
  error: { code: ErrorCode; message: string } | null;
  /** The live stream is connected. */
  streaming: boolean;
}

export const INITIAL_REPLICATION_STATUS: ReplicationStatus = {
  reachable: null,
  lastSyncAt: null,
  error: null,
  streaming: false,
};

export type LiveItem<T> = RxReplicationPullStreamItem<T, ReplicationCheckpoint>;

export interface StartCollectionReplicationOptions<T> {
  collection: RxCollection<T>;
  /** The registry name of the collection; defaults to the RxDB collection's name. */
  name?: CollectionName;
  serverUrl: string;
  auth: ReplicationAuth;
  fetch?: FetchLike;
  onRefused?: (rows: RefusedWrite[]) => void;
  onStatus?: (status: ReplicationStatus) => void;
  /** Retry delay of failed pull/push rounds (RxDB's retryTime). Default 5 s. */
  retryTimeMs?: number;
  /** Stream reconnect backoff: starts at `initialMs`, doubles up to `maxMs`. */
  streamBackoff?: { initialMs: number; maxMs: number };
  /** Defaults to one per collection and server URL, so checkpoints survive reloads. */
  replicationIdentifier?: string;
  pullBatchSize?: number;
  pushBatchSize?: number;
  /**
   * false: no live stream; the replication still runs until stop(), pushing local writes and
   * pulling on start, after accepted pushes and on reSync(). (RxDB's own `live: false` would stop
   * after one round, leaving pushed rows unacknowledged and awaitInSync() waiting forever.)
   */
  live?: boolean;
  /**
   * The live changes of this collection from a shared stream (replication-stream.ts); when given,
   * the replication opens no stream of its own (`live` and `streamBackoff` are then unused).
   */
  liveFeed?: Observable<LiveItem<T>>;
  /**
   * Runs before each push request with the documents about to be sent; a rejection fails the round
   * and RxDB retries it. Attachments upload their bytes here first (attachments/uploader.ts).
   */
  beforePush?: (docs: readonly WithDeleted<T>[]) => Promise<void>;
}

export interface CollectionReplication<T = unknown> {
  readonly name: CollectionName;
  readonly state: RxReplicationState<T, ReplicationCheckpoint>;
  status(): ReplicationStatus;
  /**
   * Resolves once every local write has been pushed and a pull that started after the last push
   * has been applied, so server acknowledgements are in the local documents. Never resolves while
   * the server cannot be reached: callers bound it.
   */
  awaitInSync(): Promise<void>;
  /** Pull now (e.g. the browser reported it is online again). */
  reSync(): void;
  stop(): Promise<void>;
}

const defaultFetch: FetchLike = (input, init) => globalThis.fetch(input, init);

/**
 * The row as it goes on the wire: RxDB's own fields stripped, and the server-owned fields as the
 * server last sent them (from the assumed master; absent for a new document) — a push must never
 * change them, and the server refuses one that does.
 */
export function toPushRow<T>(
  serverOwnedFields: readonly string[],
  row: RxReplicationWriteToMasterRow<T>,
): PushRow<T> {
  const assumed = row.assumedMasterState ? (stripInternalFields(row.assumedMasterState) as WireDoc<T>) : null;
  const next = stripInternalFields(row.newDocumentState) as unknown as Record<string, unknown>;
  for (const field of serverOwnedFields) {
    const value = assumed ? (assumed as unknown as Record<string, unknown>)[field] : undefined;
    if (value === undefined) delete next[field];
    else next[field] = value;
  }
  return { newDocumentState: next as unknown as WireDoc<T>, assumedMasterState: assumed };
}

export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

/** A request with a Bearer token; on a 401 rotates the tokens once and retries. */
export function authedFetcher(auth: ReplicationAuth, fetchImpl: FetchLike) {
  return async function authedFetch(
    url: string,
    init: RequestInit = {},
    signal?: AbortSignal,
  ): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      const token = await auth.getAccessToken();
      if (!token) throw new ApiError('unauthenticated', 401, 'no access token: sign in online');
      const headers = new Headers(init.headers);
      headers.set('authorization', `Bearer ${token}`);
      const res = await fetchOrNetworkError(fetchImpl, url, { ...init, headers, signal: signal ?? null });
      if (res.ok) return res;
      const error = await apiErrorFromResponse(res);
      if (res.status === 401 && attempt === 0 && (await auth.refresh())) continue;
      throw error;
    }
  };
}

export function toApiError(err: unknown): ApiError {
  return err instanceof ApiError
    ? err
    : new ApiError('internal', null, err instanceof Error ? err.message : String(err));
}

export function startCollectionReplication<T>(
  options: StartCollectionReplicationOptions<T>,
): CollectionReplication<T> {
  const name = options.name ?? options.collection.name;
  if (!isCollectionName(name)) throw new Error(`${name} is not a replicated collection`);
  const spec = COLLECTIONS[name];
  const fetchImpl = options.fetch ?? defaultFetch;
  const route = (template: string) =>
    joinUrl(options.serverUrl, template.replace(':collection', encodeURIComponent(name)));
  const ownStream = !options.liveFeed && (options.live ?? true);
  const backoff = options.streamBackoff ?? { initialMs: 1000, maxMs: 30_000 };
  const stopController = new AbortController();
  const stopped = new Promise<void>((resolve) =>
    stopController.signal.addEventListener('abort', () => resolve(), { once: true }),
  );
  const authedFetch = authedFetcher(options.auth, fetchImpl);

  let status: ReplicationStatus = INITIAL_REPLICATION_STATUS;
  const setStatus = (patch: Partial<ReplicationStatus>) => {
    status = { ...status, ...patch };
    options.onStatus?.(status);
  };
  const fail = (err: unknown) => {
    const apiError = toApiError(err);
    // Only an unanswered request means "not reachable"; an error answer proves the server is there.
    setStatus({ error: { code: apiError.code, message: apiError.message }, reachable: !apiError.isNetwork });
    return apiError;
  };

  let pullRounds = 0;
  const pullRound$ = new Subject<number>();
  let pullScheduled = false;

  const stream$ = new Subject<LiveItem<T>>();
  let feedSubscription: Subscription | undefined;

  /*
   * Live changes that cross one of our own pushes are held back and fetched again by a pull once
   * RxDB has settled that push. Why: the server announces an accepted push on the stream before its
   * answer reaches us, and RxDB's downstream compares the live document with the meta store as it is
   * *before* the upstream records the push: it takes the local document for an unpushed edit, skips
   * the server's version and still moves its checkpoint past it. The acknowledgement (server stamp,
   * acknowledgedUpdatedAt) was then never applied and the record stayed "not synced" until its next
   * change (after a conflict merge, RxDB's downstream even waits for the upstream and then decides
   * on the meta state it read before waiting). Found by case-replication.test.ts under load.
   *
   * Once one message is held back, every later one is too, until a pull that began after the last
   * held-back message has reached the end: RxDB takes each message's checkpoint as its own, so a later
   * message applied first would move the checkpoint past the held-back documents and the pull would
   * never bring them (another user's new case in the same push as an edit of a case this device was
   * pushing was lost for good: chaos seed 1294732055 on PostgreSQL).
   */
  const pushingIds = new Set<string>();
  /** Messages were held back: the stream is not applied until a catch-up pull covers them. */
  let liveGap = false;
  /** Counts held-back messages: a pull covers them all when none was held back after it began. */
  let heldCount = 0;
  const primaryPath = options.collection.schema.primaryPath as string;
  const idOf = (doc: object) => String((doc as Record<string, unknown>)[primaryPath]);
  /*
   * The newest stamp this device knows of each document it pushed: the version its accepted push
   * wrote (the answer's `written`), or the master a conflict answer handed back. Any master older
   * than that which reaches the device later is stale and dropped. Why: RxDB's downstream writes an
   * incoming master over the local copy whenever the local copy equals the assumed master — and
   * after a push, the assumed master is the pushed state. A pull read before the push committed and
   * answered after RxDB recorded the push would overwrite the device's own edit with the version
   * before it, and show it as synced (chaos, PGlite: a device's edit reverted to its create). Never
   * forgotten while the replication runs: a stale copy can arrive at any time (a slow pull, a held
   * page), and the current version of a document never has an older stamp.
   */
  const newestKnown = new Map<string, number>();
  const knowStamp = (id: string, stamp: unknown) => {
    if (typeof stamp === 'number' && stamp > (newestKnown.get(id) ?? -1)) newestKnown.set(id, stamp);
  };
  const notStale = (doc: WithDeleted<T>) => {
    const known = newestKnown.get(idOf(doc));
    const stamp = (doc as { serverUpdatedAt?: unknown }).serverUpdatedAt;
    return known === undefined || typeof stamp !== 'number' || stamp >= known;
  };
  const withoutStale = (docs: WithDeleted<T>[]) => (newestKnown.size === 0 ? docs : docs.filter(notStale));

  function deliver(item: LiveItem<T>): void {
    if (
      item !== 'RESYNC' &&
      (liveGap || (pushingIds.size > 0 && item.documents.some((doc) => pushingIds.has(idOf(doc)))))
    ) {
      // Not applied, so the checkpoint stays before these documents and the catch-up pull brings them.
      liveGap = true;
      heldCount++;
      if (pushingIds.size === 0) schedulePull();
      return;
    }
    stream$.next(item === 'RESYNC' ? item : { ...item, documents: withoutStale(item.documents) });
  }

  // Documents from the server carry no `_attachments` (attachment bytes travel through
  // /api/attachments). RxDB's replication of a collection that stores attachments needs the field on
  // every master state it keeps, or it stops pushing that document (RxDB error AT4); the local bytes
  // survive the empty list (attachments/keep-referenced.ts).
  const storesAttachments = Boolean(options.collection.schema.jsonSchema.attachments);
  const asMasterState = (doc: WithDeleted<T>): WithDeleted<T> =>
    storesAttachments && !('_attachments' in (doc as object))
      ? ({ ...doc, _attachments: {} } as unknown as WithDeleted<T>)
      : doc;

  const state = replicateRxCollection<T, ReplicationCheckpoint>({
    collection: options.collection,
    replicationIdentifier: options.replicationIdentifier ?? `emdad-${name}-${options.serverUrl}`,
    // Always live for RxDB: our `live` only decides whether the SSE stream runs (see the option).
    live: true,
    retryTime: options.retryTimeMs ?? 5000,
    // Every tab replicates: pushes are idempotent on the server, and a tab that is not the leader
    // would otherwise show a sync state it does not have.
    waitForLeadership: false,
    pull: {
      // The largest page the server gives: an initial pull of 20,000 cases is 20 requests, and
      // RxDB merges pages that arrive while the previous one is being written into one bulk write
      // (bench/sync.ts measures it).
      batchSize: Math.min(options.pullBatchSize ?? PULL_BATCH_MAX, PULL_BATCH_MAX),
      stream$: stream$.asObservable(),
      // Only where needed: a modifier costs a call per pulled document (bench/sync.ts).
      ...(storesAttachments ? { modifier: asMasterState } : {}),
      handler: async (checkpoint, batchSize) => {
        const heldBefore = heldCount;
        try {
          const params = new URLSearchParams({ limit: String(batchSize) });
          if (checkpoint) {
            params.set('serverUpdatedAt', String(checkpoint.serverUpdatedAt));
            params.set('id', checkpoint.id);
          }
          const res = await authedFetch(`${route(API_ROUTES.replicationPull)}?${params.toString()}`);
          const body = (await res.json()) as PullResponse<T>;
          setStatus({ reachable: true, error: null, lastSyncAt: new Date().toISOString() });
          // The last page of a pull that began after every held-back message: it holds them all,
          // and RxDB applies any later message after this page (its downstream runs in order).
          if (liveGap && body.documents.length < batchSize) {
            if (heldCount === heldBefore) liveGap = false;
            else if (pushingIds.size === 0) schedulePull();
          }
          pullRounds++;
          pullRound$.next(pullRounds);
          return {
            // The checkpoint still covers dropped stale copies: their current versions sort later.
            documents: withoutStale(body.documents as WithDeleted<T>[]),
            checkpoint: body.checkpoint ?? checkpoint,
          };
        } catch (err) {
          throw fail(err);
        }
      },
    },
    // A read-only collection only pulls: the server refuses every push to it anyway.
    ...(spec.clientWritable
      ? {
          push: {
            batchSize: Math.min(options.pushBatchSize ?? PUSH_BATCH_MAX, PUSH_BATCH_MAX),
            handler: async (rows: RxReplicationWriteToMasterRow<T>[]) => {
              const ids = rows.map((row) => idOf(row.newDocumentState));
              for (const id of ids) pushingIds.add(id);
              try {
                await options.beforePush?.(rows.map((row) => row.newDocumentState));
                const res = await authedFetch(route(API_ROUTES.replicationPush), {
                  method: 'POST',
                  // The device's clock: the server checks offline event times against it.
                  headers: { 'content-type': 'application/json', [DEVICE_TIME_HEADER]: String(Date.now()) },
                  body: JSON.stringify(rows.map((row) => toPushRow(spec.serverOwnedFields, row))),
                });
                const body = (await res.json()) as PushResponse<T>;
                // Before RxDB records this push (it does so when the handler returns).
                for (const id of body.written?.ids ?? []) knowStamp(id, body.written!.serverUpdatedAt);
                for (const conflict of body.conflicts ?? [])
                  knowStamp(idOf(conflict), (conflict as { serverUpdatedAt?: unknown }).serverUpdatedAt);
                setStatus({ reachable: true, error: null, lastSyncAt: new Date().toISOString() });
                const refused = body.refused ?? [];
                if (refused.length > 0) {
                  const first = refused[0]!;
                  setStatus({ error: { code: first.code, message: first.message } });
                  options.onRefused?.(refused);
                }
                // Accepted rows are acknowledged by the server (its stamp, and acknowledgedUpdatedAt
                // on cases); the live stream normally brings that back, but pull once more so the
                // "synced" state does not depend on the stream being up.
                if (rows.length > (body.conflicts?.length ?? 0) + refused.length) schedulePull();
                return ((body.conflicts ?? []) as WithDeleted<T>[]).map(asMasterState);
              } catch (err) {
                throw fail(err);
              } finally {
                for (const id of ids) pushingIds.delete(id);
                if (liveGap && pushingIds.size === 0) schedulePull();
              }
            },
          },
        }
      : {}),
  });

  /**
   * A pull once RxDB has recorded the push that asked for it (its meta store is written after the
   * push handler returns): a pull answered before that would meet the race described at `deliver`.
   */
  function schedulePull() {
    if (pullScheduled) return;
    pullScheduled = true;
    setTimeout(() => {
      void (async () => {
        try {
          await Promise.race([state.awaitInSync(), stopped]);
        } finally {
          pullScheduled = false;
          if (!stopController.signal.aborted) state.reSync();
        }
      })();
    }, 0);
  }

  // ---- live changes: a shared feed, or an own SSE stream with reconnect backoff ----
  if (options.liveFeed) {
    feedSubscription = options.liveFeed.subscribe((item) => {
      if (item !== 'RESYNC') setStatus({ reachable: true, lastSyncAt: new Date().toISOString() });
      deliver(item);
    });
  }

  let wake: AbortController = new AbortController();
  const onOnline = () => {
    wake.abort();
    state.reSync();
  };
  const target = globalThis as {
    addEventListener?: (type: string, fn: () => void) => void;
    removeEventListener?: (type: string, fn: () => void) => void;
  };
  target.addEventListener?.('online', onOnline);

  async function readStreamOnce(): Promise<void> {
    const connection = new AbortController();
    const abortConnection = () => connection.abort();
    stopController.signal.addEventListener('abort', abortConnection, { once: true });
    try {
      const res = await authedFetch(
        route(API_ROUTES.replicationStream),
        { headers: { accept: 'text/event-stream' } },
        connection.signal,
      );
      if (!res.body) throw new ApiError('internal', res.status, 'stream response has no body');
      setStatus({ reachable: true, streaming: true });
      // We emit RESYNC ourselves on connect; the server's own RESYNC that opens the stream is
      // then redundant and skipped, later ones are forwarded.
      stream$.next('RESYNC');
      let skipServerResync = true;
      const parser = new SseParser();
      const reader = res.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        for (const event of parser.push(value)) {
          let message: StreamMessage<T>;
          try {
            message = JSON.parse(event.data) as StreamMessage<T>;
          } catch {
            continue; // not ours (e.g. a proxy's keep-alive): ignore
          }
          if (message.type === 'RESYNC') {
            if (!skipServerResync) stream$.next('RESYNC');
            skipServerResync = false;
          } else if (message.type === 'changes') {
            skipServerResync = false;
            deliver({
              documents: message.documents as WithDeleted<T>[],
              checkpoint: message.checkpoint,
            });
            setStatus({ reachable: true, lastSyncAt: new Date().toISOString() });
          }
        }
      }
    } finally {
      stopController.signal.removeEventListener('abort', abortConnection);
      connection.abort();
      if (status.streaming) setStatus({ streaming: false });
    }
  }

  async function streamLoop(): Promise<void> {
    let delay = backoff.initialMs;
    while (!stopController.signal.aborted) {
      const startedAt = Date.now();
      try {
        await readStreamOnce();
      } catch (err) {
        if (stopController.signal.aborted) return;
        fail(err);
      }
      if (stopController.signal.aborted) return;
      // A connection that stayed up a while earns a fresh backoff.
      if (Date.now() - startedAt > backoff.maxMs) delay = backoff.initialMs;
      wake = new AbortController();
      const both = AbortSignal.any([wake.signal, stopController.signal]);
      await sleep(delay, both);
      delay = Math.min(delay * 2, backoff.maxMs);
    }
  }
  const streamDone = ownStream ? streamLoop() : Promise.resolve();

  async function awaitInSync(): Promise<void> {
    if (stopController.signal.aborted) throw new Error(`${name} replication was stopped`);
    await state.awaitInSync();
    const before = pullRounds;
    const nextRound = new Promise<void>((resolve) => {
      const sub = pullRound$.subscribe((n) => {
        if (n > before) {
          sub.unsubscribe();
          resolve();
        }
      });
    });
    state.reSync();
    await nextRound;
    await state.awaitInSync();
  }

  return {
    name,
    state,
    status: () => status,
    awaitInSync,
    reSync: () => state.reSync(),
    async stop() {
      stopController.abort();
      feedSubscription?.unsubscribe();
      target.removeEventListener?.('online', onOnline);
      await state.cancel();
      await streamDone;
      stream$.complete();
    },
  };
}
