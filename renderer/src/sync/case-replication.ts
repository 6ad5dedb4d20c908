/**
 * The case replication client: RxDB's replication primitives over the sync server's HTTP contract
 * (domain/src/replication.ts). Runs in the browser and in plain Node 20 (tests run two of them
 * against a real server), so it uses only fetch, TextDecoder and timers.
 *
 * - pull: GET  /api/replication/cases/pull?serverUpdatedAt=&id=&limit=   by checkpoint
 * - push: POST /api/replication/cases/push   only conflicts go back to RxDB (which resolves them with
 *         the collection's conflict handler); refused rows are reported through `onRefused`
 * - live: GET  /api/replication/cases/stream (SSE read with fetch, Bearer auth); 'RESYNC' on every
 *         (re)connect makes RxDB run a checkpoint pull for whatever was missed; reconnects back off.
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
import { Subject } from 'rxjs';
import {
  API_ROUTES,
  CASE_SERVER_OWNED_FIELDS,
  PULL_BATCH_MAX,
  PUSH_BATCH_MAX,
  stripInternalFields,
  type CaseDoc,
  type ErrorCode,
  type PullResponse,
  type PushResponse,
  type PushRow,
  type RefusedWrite,
  type ReplicationCheckpoint,
  type StreamMessage,
  type WireDoc,
} from '@emdad/domain';
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

export interface StartCaseReplicationOptions {
  collection: RxCollection<CaseDoc>;
  serverUrl: string;
  auth: ReplicationAuth;
  fetch?: FetchLike;
  onRefused?: (rows: RefusedWrite[]) => void;
  onStatus?: (status: ReplicationStatus) => void;
  /** Retry delay of failed pull/push rounds (RxDB's retryTime). Default 5 s. */
  retryTimeMs?: number;
  /** Stream reconnect backoff: starts at `initialMs`, doubles up to `maxMs`. */
  streamBackoff?: { initialMs: number; maxMs: number };
  /** Defaults to one per server URL, so checkpoints survive reloads. */
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
   * Runs before each push request with the documents about to be sent; a rejection fails the round
   * and RxDB retries it. Attachments upload their bytes here first (attachments/uploader.ts).
   */
  beforePush?: (docs: readonly WithDeleted<CaseDoc>[]) => Promise<void>;
}

export interface CaseReplication {
  readonly state: RxReplicationState<CaseDoc, ReplicationCheckpoint>;
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

type CaseStreamItem = RxReplicationPullStreamItem<CaseDoc, ReplicationCheckpoint>;

const defaultFetch: FetchLike = (input, init) => globalThis.fetch(input, init);

/** Server-owned fields travel as the server last sent them: a push must never change them. */
function toPushRow(row: RxReplicationWriteToMasterRow<CaseDoc>): PushRow<CaseDoc> {
  const assumed = row.assumedMasterState
    ? (stripInternalFields(row.assumedMasterState) as WireDoc<CaseDoc>)
    : null;
  const next = stripInternalFields(row.newDocumentState) as unknown as Record<string, unknown>;
  for (const field of CASE_SERVER_OWNED_FIELDS) {
    const value = assumed ? (assumed as unknown as Record<string, unknown>)[field] : undefined;
    if (value === undefined) delete next[field];
    else next[field] = value;
  }
  return { newDocumentState: next as unknown as WireDoc<CaseDoc>, assumedMasterState: assumed };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
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

export function startCaseReplication(options: StartCaseReplicationOptions): CaseReplication {
  const fetchImpl = options.fetch ?? defaultFetch;
  const collectionName = options.collection.name;
  const route = (template: string) =>
    joinUrl(options.serverUrl, template.replace(':collection', encodeURIComponent(collectionName)));
  const live = options.live ?? true;
  const backoff = options.streamBackoff ?? { initialMs: 1000, maxMs: 30_000 };
  const stopController = new AbortController();

  let status: ReplicationStatus = { reachable: null, lastSyncAt: null, error: null, streaming: false };
  const setStatus = (patch: Partial<ReplicationStatus>) => {
    status = { ...status, ...patch };
    options.onStatus?.(status);
  };
  const fail = (err: unknown) => {
    const apiError =
      err instanceof ApiError
        ? err
        : new ApiError('internal', null, err instanceof Error ? err.message : String(err));
    // Only an unanswered request means "not reachable"; an error answer proves the server is there.
    setStatus({ error: { code: apiError.code, message: apiError.message }, reachable: !apiError.isNetwork });
    return apiError;
  };

  /** One authenticated request; on a 401 rotates the tokens once and retries. */
  async function authedFetch(url: string, init: RequestInit = {}, signal?: AbortSignal): Promise<Response> {
    for (let attempt = 0; ; attempt++) {
      const token = await options.auth.getAccessToken();
      if (!token) throw new ApiError('unauthenticated', 401, 'no access token: sign in online');
      const headers = new Headers(init.headers);
      headers.set('authorization', `Bearer ${token}`);
      const res = await fetchOrNetworkError(fetchImpl, url, { ...init, headers, signal: signal ?? null });
      if (res.ok) return res;
      const error = await apiErrorFromResponse(res);
      if (res.status === 401 && attempt === 0 && (await options.auth.refresh())) continue;
      throw error;
    }
  }

  let pullRounds = 0;
  const pullRound$ = new Subject<number>();
  let pushScheduled = false;

  const stream$ = new Subject<CaseStreamItem>();

  // Documents from the server carry no `_attachments` (attachment bytes travel through
  // /api/attachments). RxDB's replication of a collection that stores attachments needs the field on
  // every master state it keeps, or it stops pushing that document (RxDB error AT4); the local bytes
  // survive the empty list (attachments/keep-referenced.ts).
  const storesAttachments = Boolean(options.collection.schema.jsonSchema.attachments);
  const asMasterState = (doc: WithDeleted<CaseDoc>): WithDeleted<CaseDoc> =>
    storesAttachments && !('_attachments' in doc)
      ? ({ ...doc, _attachments: {} } as unknown as WithDeleted<CaseDoc>)
      : doc;

  const state = replicateRxCollection<CaseDoc, ReplicationCheckpoint>({
    collection: options.collection,
    replicationIdentifier: options.replicationIdentifier ?? `emdad-${collectionName}-${options.serverUrl}`,
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
      ...(storesAttachments ? { modifier: asMasterState } : {}),
      handler: async (checkpoint, batchSize) => {
        try {
          const params = new URLSearchParams({ limit: String(batchSize) });
          if (checkpoint) {
            params.set('serverUpdatedAt', String(checkpoint.serverUpdatedAt));
            params.set('id', checkpoint.id);
          }
          const res = await authedFetch(`${route(API_ROUTES.replicationPull)}?${params.toString()}`);
          const body = (await res.json()) as PullResponse<CaseDoc>;
          setStatus({ reachable: true, error: null, lastSyncAt: new Date().toISOString() });
          pullRounds++;
          pullRound$.next(pullRounds);
          return {
            documents: body.documents as WithDeleted<CaseDoc>[],
            checkpoint: body.checkpoint ?? checkpoint,
          };
        } catch (err) {
          throw fail(err);
        }
      },
    },
    push: {
      batchSize: Math.min(options.pushBatchSize ?? PUSH_BATCH_MAX, PUSH_BATCH_MAX),
      handler: async (rows) => {
        try {
          await options.beforePush?.(rows.map((row) => row.newDocumentState));
          const res = await authedFetch(route(API_ROUTES.replicationPush), {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(rows.map(toPushRow)),
          });
          const body = (await res.json()) as PushResponse<CaseDoc>;
          setStatus({ reachable: true, error: null, lastSyncAt: new Date().toISOString() });
          const refused = body.refused ?? [];
          if (refused.length > 0) {
            const first = refused[0]!;
            setStatus({ error: { code: first.code, message: first.message } });
            options.onRefused?.(refused);
          }
          // Accepted rows are acknowledged by the server (acknowledgedUpdatedAt); the live stream
          // normally brings that back, but pull once more so the "synced" badge does not depend
          // on the stream being up.
          if (rows.length > (body.conflicts?.length ?? 0) + refused.length) schedulePull();
          return ((body.conflicts ?? []) as WithDeleted<CaseDoc>[]).map(asMasterState);
        } catch (err) {
          throw fail(err);
        }
      },
    },
  });

  function schedulePull() {
    if (pushScheduled) return;
    pushScheduled = true;
    setTimeout(() => {
      pushScheduled = false;
      if (!stopController.signal.aborted) state.reSync();
    }, 0);
  }

  // ---- live stream: SSE over fetch, reconnect with backoff ----
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
          let message: StreamMessage<CaseDoc>;
          try {
            message = JSON.parse(event.data) as StreamMessage<CaseDoc>;
          } catch {
            continue; // not ours (e.g. a proxy's keep-alive): ignore
          }
          if (message.type === 'RESYNC') {
            if (!skipServerResync) stream$.next('RESYNC');
            skipServerResync = false;
          } else if (message.type === 'changes') {
            skipServerResync = false;
            stream$.next({
              documents: message.documents as WithDeleted<CaseDoc>[],
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
  const streamDone = live ? streamLoop() : Promise.resolve();

  async function awaitInSync(): Promise<void> {
    if (stopController.signal.aborted) throw new Error('case replication was stopped');
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
    state,
    status: () => status,
    awaitInSync,
    reSync: () => state.reSync(),
    async stop() {
      stopController.abort();
      target.removeEventListener?.('online', onOnline);
      await state.cancel();
      await streamDone;
      stream$.complete();
    },
  };
}
