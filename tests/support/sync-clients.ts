/**
 * Real sync servers and real RxDB clients (the renderer's own database and replication code) in
 * Node, on fake-indexeddb, for cross-package integration tests. A client's network can be cut.
 */
import { indexedDB, IDBKeyRange } from 'fake-indexeddb';
import { getChangedDocumentsSince, type RxStorageInstance, type RxStorageInstanceCreationParams } from 'rxdb';
import {
  API_ROUTES,
  formatTrackingCode,
  jalaliYearOf,
  newId,
  type AuthSession,
  type CaseDoc,
  type PushRow,
  type RefusedWrite,
  type WireDoc,
} from '@emdad/domain';
import type { CollectionName } from '@emdad/domain/model/index';
import { BRANCH_IDS, MERCHANT_IDS, TEMPLATE_IDS, demoUsers } from '@emdad/fixtures';
import { createSyncServer, type SyncServer, type SyncServerOptions } from '@emdad/sync-server/server';
import { openUserDatabase, type AnyRxStorage, type UserDatabase } from '@emdad/renderer/db/database';
import { getRxStorageDexieFastRead } from '@emdad/renderer/db/dexie-storage';
import { startCaseReplication, type CaseReplication } from '@emdad/renderer/sync/case-replication';
import { createDatabase } from './postgres.ts';

export interface RunningServer {
  server: SyncServer;
  url: string;
  close(): Promise<void>;
}

export type DatabaseKind = 'pglite' | 'postgres';

/** The databases a suite should run on: PGlite always, PostgreSQL when the global setup started one. */
export function testDatabases(): DatabaseKind[] {
  return process.env.EMDAD_TEST_DATABASE_URL ? ['pglite', 'postgres'] : ['pglite'];
}

let dbCounter = 0;
export async function databaseOptions(kind: DatabaseKind): Promise<SyncServerOptions['database']> {
  if (kind === 'pglite') return { kind: 'pglite' };
  const base = process.env.EMDAD_TEST_DATABASE_URL;
  if (!base) throw new Error('EMDAD_TEST_DATABASE_URL is not set');
  dbCounter++;
  return { kind: 'postgres', url: await createDatabase(base, `emdad_it_${process.pid}_${dbCounter}`) };
}

/**
 * Starts a sync server on loopback. `listen.port` 0 (the default) takes a free port; a fixed port lets a
 * test restart a server on the same database where its clients already point (chaos.test.ts).
 */
export async function startServer(
  database: SyncServerOptions['database'],
  extra: Partial<SyncServerOptions> = {},
  listen: { port?: number } = {},
): Promise<RunningServer> {
  const server = await createSyncServer({
    database,
    seed: 'demo',
    rendererDist: false,
    loginDelayCapMs: 50,
    ...extra,
  });
  let url: string;
  try {
    url = await server.app.listen({ host: '127.0.0.1', port: listen.port ?? 0 });
  } catch (error) {
    await server.close();
    throw error;
  }
  return { server, url, close: () => server.close() };
}

export function demoPassword(username: string): string {
  const user = demoUsers.find((u) => u.username === username);
  if (!user) throw new Error(`no demo user ${username}`);
  return user.password;
}

export async function login(url: string, username: string): Promise<AuthSession> {
  const res = await fetch(url + API_ROUTES.login, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: demoPassword(username), installId: newId() }),
  });
  if (!res.ok) throw new Error(`login ${username} failed: ${res.status} ${await res.text()}`);
  return (await res.json()) as AuthSession;
}

export interface SyncClient {
  username: string;
  session: AuthSession;
  db: UserDatabase;
  replication: CaseReplication;
  refused: RefusedWrite[];
  /** Every row this client sent in a push request, in order (whether or not it arrived). */
  pushed: PushRow<CaseDoc>[];
  /** Cuts or restores this client's network (its fetches fail like a dropped connection). */
  setOnline(online: boolean): void;
  /**
   * Fault injection: the next push reaches the server and is answered there (its transaction has
   * committed), but the answer never arrives — the connection drops and this client is offline
   * until `setOnline(true)`. Resolves once that has happened.
   */
  loseNextPushAnswer(): Promise<void>;
  /**
   * Fault injection: the next scan of local changes that RxDB's upstream makes on the cases
   * storage (`getChangedDocumentsSince`, run on start and on every resync) reads, then is held
   * before its result goes back to RxDB. Resolves with the ids it read once it is held;
   * `release()` hands the result over.
   */
  holdNextChangesScan(): Promise<HeldScan>;
  close(): Promise<void>;
}

export interface HeldScan {
  ids: string[];
  release(): void;
}

/**
 * The app's storage with a gate on the cases instance's `getChangedDocumentsSince` (which RxDB's
 * own wrapper forwards when a storage has it, and otherwise runs as a query: same result).
 */
function withScanGate(base: AnyRxStorage, takeHold: () => ((held: HeldScan) => void) | null): AnyRxStorage {
  const storage = Object.create(base) as AnyRxStorage;
  storage.createStorageInstance = async <RxDocType>(
    params: RxStorageInstanceCreationParams<RxDocType, unknown>,
  ): Promise<RxStorageInstance<RxDocType, unknown, unknown>> => {
    const instance = await base.createStorageInstance<RxDocType>(params);
    if (params.collectionName !== 'cases') return instance;
    return new Proxy(instance, {
      get(target, prop) {
        if (prop === 'getChangedDocumentsSince') {
          return async (limit: number, checkpoint?: unknown) => {
            const result = await getChangedDocumentsSince(target, limit, checkpoint);
            const hold = takeHold();
            if (hold) {
              const ids = result.documents.map((doc) => String((doc as unknown as { id: string }).id));
              await new Promise<void>((release) => hold({ ids, release }));
            }
            return result;
          };
        }
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
  };
  return storage;
}

export interface StartClientOptions {
  /**
   * Going offline also cuts the connections that are open at that moment — the live stream and any
   * request still waiting for its answer (whose write may already have been committed) — as a
   * dropped network does. Default false: only new requests fail.
   */
  dropConnectionsWhenOffline?: boolean;
  /**
   * The collections of this client's database (default: cases, which the client replicates). The
   * free RxDB allows 13 open collections per process, and tests run several clients in one.
   */
  collections?: readonly CollectionName[];
  /** Runs before each push request leaves (its body as sent); a test injects other writes there. */
  beforePush?: (body: string) => Promise<void>;
}

export async function startClient(
  url: string,
  username: string,
  options: StartClientOptions = {},
): Promise<SyncClient> {
  let session = await login(url, username);
  let online = true;
  // Aborted when the client goes offline (dropConnectionsWhenOffline); a fresh one per online period.
  let connections = new AbortController();
  let loseAnswer: (() => void) | null = null;
  let holdScan: ((held: HeldScan) => void) | null = null;
  const pushed: PushRow<CaseDoc>[] = [];
  const setOnline = (value: boolean) => {
    const wasOffline = !online;
    online = value;
    if (!value && !wasOffline && options.dropConnectionsWhenOffline) {
      connections.abort(new TypeError('network cut by test'));
      connections = new AbortController();
    }
    if (value && wasOffline) replication.reSync();
  };
  const cutFetch: typeof fetch = async (input, init) => {
    if (!online) throw new TypeError('fetch failed (network cut by test)');
    const isPush = init?.method === 'POST' && String(input).includes('/push');
    if (isPush && options.beforePush) await options.beforePush(String(init?.body ?? ''));
    if (isPush) pushed.push(...(JSON.parse(String(init?.body)) as PushRow<CaseDoc>[]));
    let res: Response;
    if (!options.dropConnectionsWhenOffline) res = await fetch(input, init);
    else {
      const signal = init?.signal ? AbortSignal.any([init.signal, connections.signal]) : connections.signal;
      res = await fetch(input, { ...init, signal });
    }
    if (isPush && loseAnswer) {
      await res.arrayBuffer(); // the whole answer was sent: the server's transaction has committed
      const happened = loseAnswer;
      loseAnswer = null;
      setOnline(false);
      happened();
      throw new TypeError('fetch failed (the connection dropped before the answer arrived, by test)');
    }
    return res;
  };
  // The app's own storage (renderer/src/db/dexie-storage.ts), on fake-indexeddb.
  const storage = withScanGate(getRxStorageDexieFastRead({ indexedDB, IDBKeyRange }), () => {
    const hold = holdScan;
    holdScan = null;
    return hold;
  });
  const db = await openUserDatabase(
    session.user.id,
    storage,
    `it-${username}-${newId().slice(-12).replace(/-/g, '')}`,
    { collections: options.collections ?? ['cases'] },
  );
  const refused: RefusedWrite[] = [];
  const replication = startCaseReplication({
    collection: db.cases,
    serverUrl: url,
    fetch: cutFetch,
    retryTimeMs: 200,
    streamBackoff: { initialMs: 100, maxMs: 500 },
    onRefused: (rows) => refused.push(...rows),
    auth: {
      getAccessToken: async () => session.accessToken,
      refresh: async () => {
        const res = await cutFetch(url + API_ROUTES.refresh, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ refreshToken: session.refreshToken }),
        });
        if (!res.ok) return false;
        session = (await res.json()) as AuthSession;
        return true;
      },
    },
  });
  return {
    username,
    get session() {
      return session;
    },
    db,
    replication,
    refused,
    pushed,
    setOnline,
    loseNextPushAnswer() {
      return new Promise<void>((resolve) => {
        loseAnswer = resolve;
      });
    },
    holdNextChangesScan() {
      return new Promise<HeldScan>((resolve) => {
        holdScan = resolve;
      });
    },
    async close() {
      await replication.stop();
      await db.close();
    },
  };
}

/** The server's current version of a case, read as `token`'s user (GET /api/cases/:id). */
export async function getCase(url: string, token: string, id: string): Promise<WireDoc<CaseDoc>> {
  const res = await fetch(url + API_ROUTES.caseById.replace(':id', id), {
    headers: { authorization: `Bearer ${token}` },
  });
  if (res.status !== 200) throw new Error(`GET case ${id}: ${res.status} ${await res.text()}`);
  return (await res.json()) as WireDoc<CaseDoc>;
}

/** Polls until `check` passes; fails after a generous bound (never a timing assertion). */
export async function eventually<T>(
  check: () => T | Promise<T>,
  what: string,
  timeoutMs = 20_000,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for: ${what}${last ? ` (last error: ${String(last)})` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Bounds a promise that may never settle (e.g. awaitInSync while the server is unreachable). */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A valid new walk-in case at the Tehran branch, minted with the session's install prefix. */
export function demoCase(session: AuthSession, seq: number, overrides: Partial<CaseDoc> = {}): CaseDoc {
  const now = new Date().toISOString();
  return {
    id: newId(),
    trackingCode: formatTrackingCode(session.install.trackingPrefix, jalaliYearOf(new Date()), seq),
    templateId: TEMPLATE_IDS.posNoPrint,
    channel: 'walk_in',
    status: 'new',
    priority: 'normal',
    merchantId: MERCHANT_IDS.tehranSupermarket,
    equipmentId: null,
    branchId: BRANCH_IDS.tehranVanak,
    subject: 'دستگاه کارتخوان چاپ نمی‌کند',
    description: 'کاغذ گیر کرده است',
    reporterName: 'رضا احمدی',
    reporterPhone: '09121234567',
    createdBy: session.user.id,
    assigneeId: null,
    createdAt: now,
    updatedAt: now,
    ...overrides,
  };
}
