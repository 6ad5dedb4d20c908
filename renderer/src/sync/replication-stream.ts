/**
 * One live stream for every replicated collection of a user (GET /api/replication/stream?collections=…,
 * domain/src/replication.ts MultiplexedStreamMessage), split into one feed per collection for its
 * replication (collection-replication.ts `liveFeed`). A browser over HTTP/1.1 allows 6 connections
 * per origin: a stream per collection (11) would leave pulls and pushes waiting for a free one.
 *
 * On every (re)connect each feed gets RESYNC (its replication then pulls from its checkpoint
 * whatever was missed); the server's own opening RESYNC per collection is then redundant and
 * skipped, later ones (scope changed, notification gap) are forwarded. Reconnects back off.
 */
import { Subject, type Observable } from 'rxjs';
import type { WithDeleted } from 'rxdb';
import {
  API_ROUTES,
  STREAM_COLLECTIONS_PARAM,
  type ErrorCode,
  type MultiplexedStreamMessage,
} from '@emdad/domain';
import type { CollectionName } from '@emdad/domain/model/index';
import { ApiError, joinUrl, type FetchLike } from './http.ts';
import { SseParser } from './sse.ts';
import {
  authedFetcher,
  sleep,
  toApiError,
  type LiveItem,
  type ReplicationAuth,
} from './collection-replication.ts';

export interface StreamStatus {
  streaming: boolean;
  /** The last connection attempt got an answer (null before the first). */
  reachable: boolean | null;
  error: { code: ErrorCode; message: string } | null;
}

export interface MultiplexedStreamOptions {
  serverUrl: string;
  auth: ReplicationAuth;
  collections: readonly CollectionName[];
  fetch?: FetchLike;
  /** Reconnect backoff: starts at `initialMs`, doubles up to `maxMs`. */
  backoff?: { initialMs: number; maxMs: number };
  onStatus?: (status: StreamStatus) => void;
}

export interface MultiplexedStream {
  /** The live items of one collection (for its replication's `liveFeed`). */
  feed<T>(collection: CollectionName): Observable<LiveItem<T>>;
  status(): StreamStatus;
  /** Reconnect now instead of after the backoff (the network is back). */
  wake(): void;
  stop(): Promise<void>;
}

const defaultFetch: FetchLike = (input, init) => globalThis.fetch(input, init);

export function startMultiplexedStream(options: MultiplexedStreamOptions): MultiplexedStream {
  const fetchImpl = options.fetch ?? defaultFetch;
  const authedFetch = authedFetcher(options.auth, fetchImpl);
  const backoff = options.backoff ?? { initialMs: 1000, maxMs: 30_000 };
  const stopController = new AbortController();
  const feeds = new Map<CollectionName, Subject<LiveItem<unknown>>>();
  for (const name of options.collections) feeds.set(name, new Subject());
  const url = `${joinUrl(options.serverUrl, API_ROUTES.replicationStreamAll)}?${new URLSearchParams({
    [STREAM_COLLECTIONS_PARAM]: options.collections.join(','),
  }).toString()}`;

  let status: StreamStatus = { streaming: false, reachable: null, error: null };
  const setStatus = (patch: Partial<StreamStatus>) => {
    status = { ...status, ...patch };
    options.onStatus?.(status);
  };

  async function readOnce(): Promise<void> {
    const connection = new AbortController();
    const abortConnection = () => connection.abort();
    stopController.signal.addEventListener('abort', abortConnection, { once: true });
    try {
      const res = await authedFetch(url, { headers: { accept: 'text/event-stream' } }, connection.signal);
      if (!res.body) throw new ApiError('internal', res.status, 'stream response has no body');
      setStatus({ streaming: true, reachable: true, error: null });
      for (const feed of feeds.values()) feed.next('RESYNC');
      const awaitingOpeningResync = new Set(feeds.keys());
      const parser = new SseParser();
      const reader = res.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        for (const event of parser.push(value)) {
          let message: MultiplexedStreamMessage<unknown>;
          try {
            message = JSON.parse(event.data) as MultiplexedStreamMessage<unknown>;
          } catch {
            continue; // not ours (e.g. a proxy's keep-alive): ignore
          }
          const feed = feeds.get(message.collection as CollectionName);
          if (!feed) continue;
          const opening = awaitingOpeningResync.delete(message.collection as CollectionName);
          if (message.type === 'RESYNC') {
            if (!opening) feed.next('RESYNC');
          } else if (message.type === 'changes') {
            feed.next({
              documents: message.documents as WithDeleted<unknown>[],
              checkpoint: message.checkpoint,
            });
          }
        }
      }
    } finally {
      stopController.signal.removeEventListener('abort', abortConnection);
      connection.abort();
      if (status.streaming) setStatus({ streaming: false });
    }
  }

  let wake = new AbortController();
  async function loop(): Promise<void> {
    let delay = backoff.initialMs;
    while (!stopController.signal.aborted) {
      const startedAt = Date.now();
      try {
        await readOnce();
      } catch (err) {
        if (stopController.signal.aborted) return;
        const apiError = toApiError(err);
        setStatus({
          error: { code: apiError.code, message: apiError.message },
          reachable: !apiError.isNetwork,
        });
      }
      if (stopController.signal.aborted) return;
      // A connection that stayed up a while earns a fresh backoff.
      if (Date.now() - startedAt > backoff.maxMs) delay = backoff.initialMs;
      wake = new AbortController();
      await sleep(delay, AbortSignal.any([wake.signal, stopController.signal]));
      delay = Math.min(delay * 2, backoff.maxMs);
    }
  }
  const done = loop();

  return {
    feed<T>(collection: CollectionName) {
      const feed = feeds.get(collection);
      if (!feed) throw new Error(`the stream does not carry ${collection}`);
      return feed.asObservable() as Observable<LiveItem<T>>;
    },
    status: () => status,
    wake: () => wake.abort(),
    async stop() {
      stopController.abort();
      await done;
      for (const feed of feeds.values()) feed.complete();
    },
  };
}
