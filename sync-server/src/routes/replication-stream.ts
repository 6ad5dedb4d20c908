/**
 * Live replication streams (Server-Sent Events): one collection's
 * (GET /api/replication/:collection/stream) and several collections' on one connection
 * (GET /api/replication/stream?collections=a,b — every collection when the parameter is absent).
 *
 * Why the multiplexed one: a browser speaks HTTP/1.1 to this server and opens at most 6 connections
 * per origin; a client streaming its 11 collections one connection each would leave no connection for
 * its pulls and pushes. Each collection of a multiplexed stream is one ChangeHub subscriber, so scope,
 * scope-change RESYNCs, notification-gap RESYNCs and install revocation (which closes the whole
 * connection) are exactly those of the per-collection stream; every event carries its collection.
 */
import {
  REPLICATED_COLLECTIONS,
  STREAM_COLLECTIONS_PARAM,
  type ReplicatedCollection,
  type StreamMessage,
} from '@emdad/domain';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Caller } from '../auth/session.ts';
import { ApiError } from '../errors.ts';
import type { ChangeHub } from '../replication/stream.ts';

export interface EventStreamOptions {
  hub: ChangeHub;
  now: () => number;
  heartbeatMs: number;
  /** Extra response headers for the hijacked SSE response (CORS), which bypasses Fastify's hooks. */
  streamHeaders: (request: FastifyRequest) => Record<string, string>;
}

/** The collections named by `?collections=` (all when absent); an unknown name is a 400. */
export function streamCollectionsOf(request: FastifyRequest): ReplicatedCollection[] {
  const raw = (request.query as Record<string, unknown> | undefined)?.[STREAM_COLLECTIONS_PARAM];
  if (raw === undefined || raw === '') return [...REPLICATED_COLLECTIONS];
  if (typeof raw !== 'string')
    throw new ApiError(
      400,
      'bad_request',
      `Give ${STREAM_COLLECTIONS_PARAM} once, as a comma-separated list.`,
    );
  const names = [...new Set(raw.split(',').map((name) => name.trim()))];
  for (const name of names) {
    if (!(REPLICATED_COLLECTIONS as readonly string[]).includes(name))
      throw new ApiError(
        404,
        'unknown_collection',
        `The collection ${name} is not replicated by this server.`,
      );
  }
  return names as ReplicatedCollection[];
}

/**
 * Hijacks the reply into an SSE stream of the given collections for the caller. `tagged`: every
 * message carries its `collection` (the multiplexed stream); otherwise plain StreamMessages.
 */
export function openEventStream(
  request: FastifyRequest,
  reply: FastifyReply,
  caller: Caller,
  collections: readonly ReplicatedCollection[],
  tagged: boolean,
  options: EventStreamOptions,
): void {
  const { hub, now } = options;
  reply.hijack();
  const raw = reply.raw;
  raw.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    ...options.streamHeaders(request),
  });
  raw.flushHeaders();
  let closed = false;
  const heartbeat = setInterval(() => raw.write(': heartbeat\n\n'), options.heartbeatMs);
  // The stream ends when the access token does, so the client reconnects with a fresh one.
  const untilExpiry = Math.min(2 ** 31 - 1, Math.max(0, caller.claims.exp * 1000 - now()));
  const expiry = setTimeout(() => close(), untilExpiry);
  const unsubscribes: (() => void)[] = [];
  function close() {
    if (closed) return;
    closed = true;
    clearInterval(heartbeat);
    clearTimeout(expiry);
    for (const unsubscribe of unsubscribes) unsubscribe();
    raw.end();
  }
  for (const collection of collections) {
    if (closed) break;
    unsubscribes.push(
      hub.subscribe({
        user: caller.user,
        installId: caller.install.id,
        collection,
        send: (message: StreamMessage<unknown>) => {
          if (closed) return;
          const event = tagged ? { collection, ...message } : message;
          raw.write(`data: ${JSON.stringify(event)}\n\n`);
        },
        close,
      }),
    );
  }
  request.raw.on('close', close);
  raw.on('close', close);
}
