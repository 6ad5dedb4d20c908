import {
  API_ROUTES,
  DEVICE_TIME_HEADER,
  REPLICATED_COLLECTIONS,
  type PullResponse,
  type PushResponse,
  type ReplicatedCollection,
} from '@emdad/domain';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Db } from '../db/index.ts';
import { ApiError } from '../errors.ts';
import type { TokenService } from '../auth/tokens.ts';
import { requireCaller } from '../auth/session.ts';
import { pullQuerySchema } from '../replication/cases.ts';
import { handlerFor } from '../replication/collections.ts';
import { parsePushBody } from '../replication/push-body.ts';
import { resolveScope } from '../replication/scope.ts';
import type { ChangeHub } from '../replication/stream.ts';
import { openEventStream, streamCollectionsOf } from './replication-stream.ts';

export const PUSH_BODY_LIMIT_BYTES = 2 * 1024 * 1024;

/**
 * A server workflow that reacts to an accepted push after it committed (the documents it stored all
 * carry `stamp`). Awaited before the push is answered, so the device's next pull already holds the
 * follow-up writes; each reaction is idempotent and reports its own failures (the push stands).
 */
export type PushReaction = (
  collection: ReplicatedCollection,
  stamp: number,
  facts: PushFacts,
) => Promise<void>;

/** What the push request said about its device, for reactions that need it. */
export interface PushFacts {
  /**
   * The device's clock when it sent the push (header `x-emdad-device-time`, ms since epoch), or null:
   * the case engine takes offline event times within the skew bound of it (domain/src/sla/skew.ts).
   */
  deviceNow: number | null;
}

function deviceTimeOf(request: FastifyRequest): number | null {
  const raw = request.headers[DEVICE_TIME_HEADER];
  const value = Number(Array.isArray(raw) ? raw[0] : raw);
  return raw !== undefined && Number.isFinite(value) && value > 0 ? value : null;
}

export interface ReplicationRouteOptions {
  db: Db;
  tokens: TokenService;
  hub: ChangeHub;
  now: () => number;
  /** Interval of the SSE keep-alive comment. */
  heartbeatMs: number;
  /** Extra response headers for the hijacked SSE response (CORS), which bypasses Fastify's hooks. */
  streamHeaders: (request: FastifyRequest) => Record<string, string>;
  /** Run in order after every push that stored something. */
  afterPush?: readonly PushReaction[];
}

function collectionOf(request: FastifyRequest): ReplicatedCollection {
  const { collection } = request.params as { collection?: string };
  if (!collection || !(REPLICATED_COLLECTIONS as readonly string[]).includes(collection)) {
    throw new ApiError(
      404,
      'unknown_collection',
      `The collection ${collection ?? ''} is not replicated by this server.`,
    );
  }
  return collection as ReplicatedCollection;
}

export function registerReplicationRoutes(app: FastifyInstance, options: ReplicationRouteOptions): void {
  const { db, tokens, hub, now } = options;

  app.get(API_ROUTES.replicationPull, async (request): Promise<PullResponse<unknown>> => {
    const caller = await requireCaller(request, db, tokens);
    const collection = collectionOf(request);
    const query = pullQuerySchema.safeParse(request.query);
    if (!query.success)
      throw new ApiError(
        400,
        'bad_request',
        `Invalid pull query: ${query.error.issues[0]?.message ?? 'invalid'}.`,
      );
    const { serverUpdatedAt, id, limit } = query.data;
    const checkpoint = serverUpdatedAt !== undefined && id !== undefined ? { serverUpdatedAt, id } : null;
    return await handlerFor(collection).pull(db, await resolveScope(db, caller.user), checkpoint, limit);
  });

  app.post(
    API_ROUTES.replicationPush,
    { bodyLimit: PUSH_BODY_LIMIT_BYTES },
    async (request): Promise<PushResponse<unknown>> => {
      const caller = await requireCaller(request, db, tokens);
      const collection = collectionOf(request);
      const rows = parsePushBody(request.body);
      const outcome = await handlerFor(collection).push(
        db,
        {
          scope: await resolveScope(db, caller.user),
          actor: { userId: caller.user.id, installId: caller.install.id },
          now,
        },
        rows,
      );
      if (outcome.stamp !== null) {
        await hub.announce({ collection, stamp: outcome.stamp });
        const facts: PushFacts = { deviceNow: deviceTimeOf(request) };
        for (const react of options.afterPush ?? []) await react(collection, outcome.stamp, facts);
      }
      return outcome.response;
    },
  );

  app.get(API_ROUTES.replicationStream, async (request, reply) => {
    const caller = await requireCaller(request, db, tokens);
    const collection = collectionOf(request);
    openEventStream(request, reply, caller, [collection], false, options);
  });

  // Every collection (or those named) on one connection: see replication-stream.ts for why.
  app.get(API_ROUTES.replicationStreamAll, async (request, reply) => {
    const caller = await requireCaller(request, db, tokens);
    openEventStream(request, reply, caller, streamCollectionsOf(request), true, options);
  });
}
