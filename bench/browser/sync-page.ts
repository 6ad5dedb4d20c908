/**
 * Runs inside Chromium, same origin as the sync server. Measures, in one page and one run:
 * - raw: Dexie bulkPut of the very documents the server holds (the storage floor),
 * - pull: the renderer's RxDB database + replication client pulling them from empty,
 * - push: offline-created cases pushed by the replication client until the server acknowledged all.
 */
import Dexie from 'dexie';
import { API_ROUTES, PULL_BATCH_MAX, formatTrackingCode, jalaliYearOf, newId, type AuthSession, type CaseDoc, type PullResponse } from '@emdad/domain';
import { openUserDatabase } from '@emdad/renderer/db/database';
import { startCaseReplication } from '@emdad/renderer/sync/case-replication';

interface BenchConfig {
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
    const res = await fetch(`${API_ROUTES.replicationPull.replace(':collection', 'cases')}?${params}`, { headers: { authorization: `Bearer ${token}` } });
    const page = (await res.json()) as PullResponse<CaseDoc>;
    docs.push(...page.documents);
    if (page.documents.length === 0 || !page.checkpoint) return docs;
    checkpoint = page.checkpoint;
  }
}

function authFor(session: AuthSession) {
  return { getAccessToken: async () => session.accessToken, refresh: async () => false };
}

async function runBench(config: BenchConfig) {
  const session = await login(config.username, config.password);

  // 1. Raw storage floor: the same documents, straight into one Dexie table.
  const fetchStart = performance.now();
  const docs = await pullAll(session.accessToken);
  const fetchMs = performance.now() - fetchStart;
  console.log(`fetched ${docs.length} documents for the raw run`);
  const raw = new Dexie(`raw-${newId()}`);
  raw.version(1).stores({ cases: 'id' });
  await raw.open();
  const rawStart = performance.now();
  await raw.table('cases').bulkPut(docs);
  const rawMs = performance.now() - rawStart;
  raw.close();

  // 2. Initial pull into a fresh RxDB through the replication client.
  const db = await openUserDatabase(session.user.id, undefined, `bench-pull-${newId().replace(/-/g, '').slice(-16)}`);
  const pullStart = performance.now();
  const replication = startCaseReplication({ collection: db.cases, serverUrl: location.origin, auth: authFor(session), pullBatchSize: PULL_BATCH_MAX });
  console.log('pull: replication started');
  await replication.awaitInSync();
  console.log('pull: in sync');
  const pullMs = performance.now() - pullStart;
  const pulled = await db.cases.count().exec();
  await replication.stop();
  await db.close();

  // 3. Push of offline-created cases.
  const pushSession = await login(config.pushUsername, config.pushPassword);
  const pushDb = await openUserDatabase(pushSession.user.id, undefined, `bench-push-${newId().replace(/-/g, '').slice(-16)}`);
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
  const pushStart = performance.now();
  const pushReplication = startCaseReplication({ collection: pushDb.cases, serverUrl: location.origin, auth: authFor(pushSession) });
  await pushReplication.awaitInSync();
  const pushMs = performance.now() - pushStart;
  const acknowledged = (await pushDb.cases.find().exec()).filter((d) => d.acknowledgedUpdatedAt === d.updatedAt).length;
  await pushReplication.stop();
  await pushDb.close();

  return {
    raw: { docs: docs.length, ms: rawMs },
    fetchOnly: { docs: docs.length, ms: fetchMs },
    pull: { docs: pulled, ms: pullMs },
    push: { docs: config.pushCount, acknowledged, ms: pushMs },
  };
}

(window as unknown as { runBench: typeof runBench }).runBench = runBench;
document.getElementById('state')!.textContent = 'ready';
