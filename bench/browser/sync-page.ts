/**
 * Runs inside Chromium, same origin as the sync server. Measures, in one page and one run:
 * - raw: Dexie bulkPut of the very documents the server holds (the storage floor),
 * - pull: the renderer's RxDB database + replication client pulling them from empty,
 * - push: offline-created cases pushed by the replication client until the server acknowledged all.
 */
import Dexie from 'dexie';
import {
  API_ROUTES,
  PULL_BATCH_MAX,
  formatTrackingCode,
  jalaliYearOf,
  newId,
  type AuthSession,
  type CaseDoc,
  type PullResponse,
  type ReplicationCheckpoint,
} from '@emdad/domain';
import { openUserDatabase } from '@emdad/renderer/db/database';
import { startCaseReplication } from '@emdad/renderer/sync/case-replication';
import { replicateRxCollection } from 'rxdb/plugins/replication';
import { timedDefaultStorage, type CallTiming } from './storage-timing.ts';

interface BenchConfig {
  /** Bracket the initial pull and the push with console.profile (bench/sync.ts collects them through CDP). */
  profile: boolean;
  username: string;
  password: string;
  pushUsername: string;
  pushPassword: string;
  pushCount: number;
  pushTemplate: Omit<CaseDoc, 'id' | 'trackingCode' | 'createdAt' | 'updatedAt' | 'createdBy'>;
}

async function login(username: string, password: string): Promise<AuthSession> {
  const res = await fetch(API_ROUTES.login, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password, installId: newId() }),
  });
  if (!res.ok) throw new Error(`login failed ${res.status}`);
  return (await res.json()) as AuthSession;
}

async function pullAll(token: string): Promise<CaseDoc[]> {
  const docs: CaseDoc[] = [];
  let checkpoint: PullResponse<CaseDoc>['checkpoint'] = null;
  for (;;) {
    const params = new URLSearchParams({ limit: String(PULL_BATCH_MAX) });
    if (checkpoint) {
      params.set('serverUpdatedAt', String(checkpoint.serverUpdatedAt));
      params.set('id', checkpoint.id);
    }
    const res = await fetch(`${API_ROUTES.replicationPull.replace(':collection', 'cases')}?${params}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const page = (await res.json()) as PullResponse<CaseDoc>;
    docs.push(...page.documents);
    if (page.documents.length === 0 || !page.checkpoint) return docs;
    checkpoint = page.checkpoint;
  }
}

async function rawBulkPut(docs: CaseDoc[]): Promise<number> {
  const raw = new Dexie(`raw-${newId()}`);
  raw.version(1).stores({ cases: 'id' });
  await raw.open();
  const start = performance.now();
  await raw.table('cases').bulkPut(docs);
  const ms = performance.now() - start;
  raw.close();
  await Dexie.delete(raw.name);
  return ms;
}

interface WrittenTable {
  stores: string;
  rows: unknown[];
}

/**
 * The exact rows RxDB's Dexie storage holds after the pull, per IndexedDB database of this RxDB
 * database (the cases collection and the replication's meta instance), with their store schemas.
 */
async function rowsRxdbWrote(databaseName: string): Promise<WrittenTable[]> {
  const prefix = `rxdb-dexie-${databaseName}--`;
  const names = (await indexedDB.databases())
    .map((d) => d.name ?? '')
    .filter((n) => n.startsWith(prefix) && !n.includes('_rxdb_internal'));
  const tables: WrittenTable[] = [];
  for (const name of names) {
    const existing = new Dexie(name);
    await existing.open();
    const docs = existing.table('docs');
    tables.push({
      stores: [docs.schema.primKey.src, ...docs.schema.indexes.map((i) => i.src)].join(','),
      rows: await docs.toArray(),
    });
    existing.close();
  }
  return tables;
}

/** Those rows written again as plain Dexie bulkPuts, one table after the other: RxDB's write volume with no RxDB. */
async function replayAsRawBulkPuts(
  tables: WrittenTable[],
): Promise<{ rows: number; ms: number; stores: string[] }> {
  let ms = 0;
  for (const table of tables) {
    const replay = new Dexie(`replay-${newId()}`);
    replay.version(1).stores({ docs: table.stores });
    await replay.open();
    const start = performance.now();
    await replay.table('docs').bulkPut(table.rows);
    ms += performance.now() - start;
    replay.close();
    await Dexie.delete(replay.name);
  }
  return { rows: tables.reduce((n, t) => n + t.rows.length, 0), ms, stores: tables.map((t) => t.stores) };
}

/**
 * Not the app's path, a what-if for the report: the same pages through an RxDB replication that
 * only pulls. RxDB then keeps no per-document copy of the server state (no replication meta rows),
 * which is what a design with a pull-only collection for server data would write.
 */
async function pullOnlyReplication(session: AuthSession): Promise<{ docs: number; ms: number }> {
  const db = await openUserDatabase(
    session.user.id,
    undefined,
    `bench-pullonly-${newId().replace(/-/g, '').slice(-16)}`,
  );
  const start = performance.now();
  const state = replicateRxCollection<CaseDoc, ReplicationCheckpoint>({
    collection: db.cases,
    replicationIdentifier: `bench-pull-only-${newId()}`,
    live: false,
    pull: {
      batchSize: PULL_BATCH_MAX,
      handler: async (checkpoint, batchSize) => {
        const params = new URLSearchParams({ limit: String(batchSize) });
        if (checkpoint) {
          params.set('serverUpdatedAt', String(checkpoint.serverUpdatedAt));
          params.set('id', checkpoint.id);
        }
        const res = await fetch(`${API_ROUTES.replicationPull.replace(':collection', 'cases')}?${params}`, {
          headers: { authorization: `Bearer ${session.accessToken}` },
        });
        const page = (await res.json()) as PullResponse<CaseDoc>;
        return { documents: page.documents, checkpoint: page.checkpoint ?? checkpoint ?? undefined };
      },
    },
  });
  await state.awaitInitialReplication();
  const ms = performance.now() - start;
  const docs = await db.cases.count().exec();
  await state.cancel();
  await db.close();
  return { docs, ms };
}

function authFor(session: AuthSession) {
  return { getAccessToken: async () => session.accessToken, refresh: async () => false };
}

async function runBench(config: BenchConfig) {
  const session = await login(config.username, config.password);

  // 1. Raw storage floor: the same documents, straight into one Dexie table. Measured before and
  //    after the pull (fresh database each time) so drift during the run does not favour either side.
  const fetchStart = performance.now();
  const docs = await pullAll(session.accessToken);
  const fetchMs = performance.now() - fetchStart;
  console.log(`fetched ${docs.length} documents for the raw run`);
  const rawMs = [await rawBulkPut(docs)];

  // 2. Initial pull into a fresh RxDB through the replication client, on the app's storage.
  const timed = timedDefaultStorage();
  const db = await openUserDatabase(
    session.user.id,
    timed.storage,
    `bench-pull-${newId().replace(/-/g, '').slice(-16)}`,
  );
  timed.reset();
  if (config.profile) console.profile('pull');
  const pullStart = performance.now();
  const replication = startCaseReplication({
    collection: db.cases,
    serverUrl: location.origin,
    auth: authFor(session),
  });
  await replication.awaitInSync();
  const pullMs = performance.now() - pullStart;
  if (config.profile) console.profileEnd('pull');
  const storageCalls: Record<string, CallTiming> = structuredClone(timed.timings);
  console.log(`pull: in sync after ${Math.round(pullMs)} ms; storage calls ${JSON.stringify(storageCalls)}`);
  const pulled = await db.cases.count().exec();
  await replication.stop();
  const written = await rowsRxdbWrote(db.name);
  await db.close();
  rawMs.push(await rawBulkPut(docs));
  const replayMs = await replayAsRawBulkPuts(written);
  const pullOnlyMs = await pullOnlyReplication(session);

  // 3. Push of offline-created cases.
  const pushSession = await login(config.pushUsername, config.pushPassword);
  const pushDb = await openUserDatabase(
    pushSession.user.id,
    undefined,
    `bench-push-${newId().replace(/-/g, '').slice(-16)}`,
  );
  const now = new Date().toISOString();
  const offline: CaseDoc[] = Array.from({ length: config.pushCount }, (_, i) => ({
    ...config.pushTemplate,
    id: newId(),
    trackingCode: formatTrackingCode(pushSession.install.trackingPrefix, jalaliYearOf(new Date()), i + 1),
    createdBy: pushSession.user.id,
    createdAt: now,
    updatedAt: now,
  }));
  await pushDb.cases.bulkInsert(offline);
  if (config.profile) console.profile('push');
  const pushStart = performance.now();
  const pushReplication = startCaseReplication({
    collection: pushDb.cases,
    serverUrl: location.origin,
    auth: authFor(pushSession),
  });
  await pushReplication.awaitInSync();
  const pushMs = performance.now() - pushStart;
  if (config.profile) console.profileEnd('push');
  const acknowledged = (await pushDb.cases.find().exec()).filter(
    (d) => d.acknowledgedUpdatedAt === d.updatedAt,
  ).length;
  await pushReplication.stop();
  await pushDb.close();

  return {
    raw: { docs: docs.length, ms: rawMs },
    storageCalls,
    replay: replayMs,
    pullOnly: pullOnlyMs,
    fetchOnly: { docs: docs.length, ms: fetchMs },
    pull: { docs: pulled, ms: pullMs },
    push: { docs: config.pushCount, acknowledged, ms: pushMs },
  };
}

(window as unknown as { runBench: typeof runBench }).runBench = runBench;
document.getElementById('state')!.textContent = 'ready';
