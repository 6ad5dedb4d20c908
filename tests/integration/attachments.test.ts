/**
 * Issue 4, attachments end to end, on PGlite and on a real PostgreSQL: device A (the renderer's own
 * database, attachment service, uploader and replication, in Node on fake-indexeddb) attaches a
 * receipt photo to an expense while offline, comes back online — its first upload reaches the server
 * but the answer is lost — and the expense and its receipt sync, bytes first. Device B of the same
 * user (the same scope) pulls the expense and reads the same bytes on demand. The server stored them
 * once. Device A keeps its bytes after the server's copy of the expense comes back down.
 */
import { randomBytes } from 'node:crypto';
import { indexedDB, IDBKeyRange } from 'fake-indexeddb';
import { afterEach, describe, expect, it } from 'vitest';
import {
  API_ROUTES,
  documentsEqual,
  mergeDocumentConflict,
  newId,
  type AuthSession,
  type CaseDoc,
} from '@emdad/domain';
import {
  COLLECTIONS,
  expenseMigrationStrategies,
  expenseRxSchema,
  type ExpenseDoc,
} from '@emdad/domain/model/index';
import {
  createAttachmentService,
  type AttachmentService,
} from '@emdad/renderer/attachments/attachment-service';
import { rxSchemaWithAttachments } from '@emdad/renderer/attachments/rxdb';
import { createAttachmentTransport } from '@emdad/renderer/attachments/transport';
import { startAttachmentUploader, type AttachmentUploader } from '@emdad/renderer/attachments/uploader';
import { openUserDatabase, type UserDatabase } from '@emdad/renderer/db/database';
import { getRxStorageDexieFastRead } from '@emdad/renderer/db/dexie-storage';
import { startCaseReplication, type CaseReplication } from '@emdad/renderer/sync/case-replication';
import type { RxCollection, RxConflictHandler } from 'rxdb';
import {
  databaseOptions,
  eventually,
  login,
  startServer,
  testDatabases,
  within,
  type RunningServer,
} from '../support/sync-clients.ts';

/** The domain's generic rule (domain/src/conflict.ts), as db/database.ts gives every collection but cases. */
const expenseConflictHandler: RxConflictHandler<ExpenseDoc> = {
  isEqual: (a, b) => documentsEqual(a, b),
  resolve: async ({ newDocumentState, assumedMasterState, realMasterState }) =>
    mergeDocumentConflict<ExpenseDoc>(
      { ...COLLECTIONS.expenses, appendOnly: false },
      { newDocumentState, assumedMasterState, realMasterState },
    ),
};

interface Device {
  db: UserDatabase & { expenses: RxCollection<ExpenseDoc> };
  service: AttachmentService;
  uploader: AttachmentUploader;
  replication: CaseReplication;
  /** Requests this device sent, in order (method and path). */
  requests: { method: string; path: string; body?: string }[];
  setOnline(online: boolean): void;
  /** The next attachment upload reaches the server (and is stored) but its answer never arrives. */
  loseNextUploadAnswer(): void;
  close(): Promise<void>;
}

async function startDevice(url: string, session: AuthSession): Promise<Device> {
  let online = true;
  let loseUploadAnswer = false;
  const requests: Device['requests'] = [];
  const deviceFetch: typeof fetch = async (input, init) => {
    if (!online) throw new TypeError('fetch failed (network cut by test)');
    const path = new URL(String(input)).pathname;
    const method = init?.method ?? 'GET';
    requests.push({ method, path, body: typeof init?.body === 'string' ? init.body : undefined });
    // Uploads are slow (a photo over a field connection): without the upload-first order the
    // document's push would overtake them.
    if (method === 'PUT') await new Promise((r) => setTimeout(r, 300));
    const res = await fetch(input, init);
    if (method === 'PUT' && path.startsWith('/api/attachments/') && loseUploadAnswer) {
      loseUploadAnswer = false;
      await res.arrayBuffer(); // answered: the server has committed the bytes
      throw new TypeError('fetch failed (the connection dropped before the answer arrived, by test)');
    }
    return res;
  };
  const auth = { getAccessToken: async () => session.accessToken, refresh: async () => false };
  const storage = getRxStorageDexieFastRead({ indexedDB, IDBKeyRange });
  const db = (await openUserDatabase(
    session.user.id,
    storage,
    `it-att-${newId().slice(-12).replace(/-/g, '')}`,
  )) as Device['db'];
  // The app's database has every collection of the registry (db/database.ts); where this build's
  // does not have expenses yet, it is added as the app adds a collection that lists attachments.
  if (!(db as { expenses?: unknown }).expenses)
    await db.addCollections({
      expenses: {
        schema: rxSchemaWithAttachments<ExpenseDoc>(expenseRxSchema),
        migrationStrategies: expenseMigrationStrategies,
        conflictHandler: expenseConflictHandler,
      },
    } as never);
  const transport = createAttachmentTransport({ serverUrl: url, auth, fetch: deviceFetch });
  const uploader = startAttachmentUploader({
    db,
    transport,
    backoff: { initialMs: 100, maxMs: 400 },
  });
  const service = createAttachmentService({ db, transport, onPendingUpload: () => uploader.kick() });
  const replication = startCaseReplication({
    collection: db.expenses as unknown as RxCollection<CaseDoc>,
    serverUrl: url,
    fetch: deviceFetch,
    auth,
    retryTimeMs: 200,
    streamBackoff: { initialMs: 100, maxMs: 500 },
    // Upload first: a push waits until the bytes its documents list are on the server.
    beforePush: (docs) => uploader.ensureUploaded(docs),
  });
  return {
    db,
    service,
    uploader,
    replication,
    requests,
    setOnline(value) {
      const wasOffline = !online;
      online = value;
      if (value && wasOffline) {
        replication.reSync();
        uploader.kick();
      }
    },
    loseNextUploadAnswer() {
      loseUploadAnswer = true;
    },
    async close() {
      await replication.stop();
      await uploader.stop();
      await db.close();
    },
  };
}

function expense(submitterId: string): ExpenseDoc {
  const now = new Date().toISOString();
  return {
    id: `exp-${newId()}`,
    missionId: null,
    submitterId,
    category: 'transport',
    amount: 1_800_000,
    currency: 'IRR',
    description: 'Taxi from the branch to the merchant',
    hasReceipt: false,
    status: 'draft',
    submittedAt: null,
    decidedBy: null,
    decidedAt: null,
    rejectionReason: null,
    createdAt: now,
    updatedAt: now,
    attachments: [],
  };
}

describe.each(testDatabases())('attachments end to end on %s', (kind) => {
  let running: RunningServer | undefined;
  const devices: Device[] = [];
  afterEach(async () => {
    for (const d of devices.splice(0)) await d.close();
    await running?.close();
    running = undefined;
  });

  it('a receipt attached offline syncs bytes first, survives a lost answer, is stored once and read on a second device', async () => {
    running = await startServer(await databaseOptions(kind));
    const url = running.url;
    const a = await startDevice(url, await login(url, 'tech1'));
    devices.push(a);

    // Offline on device A: file the expense and attach the photo of the receipt.
    a.setOnline(false);
    const draft = expense('usr-tech1');
    await a.db.expenses.insert(draft);
    // A JPEG header and 300 KB of noise: a photo-sized file with its own hash.
    const photo = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, ...randomBytes(300 * 1024)]);
    const ref = await a.service.attach('expenses', draft.id, {
      name: 'taxi-receipt.jpg',
      type: 'image/jpeg',
      size: photo.byteLength,
      arrayBuffer: async () => photo.slice().buffer,
    });
    await a.uploader.runOnce();
    expect(await a.uploader.pending()).toEqual([
      expect.objectContaining({
        sha256: ref.sha256,
        attempts: 1,
        lastError: expect.objectContaining({ code: 'network_unavailable' }),
      }),
    ]);

    // Back online; the first upload that reaches the server loses its answer.
    a.loseNextUploadAnswer();
    a.setOnline(true);
    await eventually(
      async () => (await a.uploader.pending()).length === 0,
      'the receipt confirmed by the server',
    );
    await within(a.replication.awaitInSync(), 20_000, 'device A in sync');
    const putsOfReceipt = a.requests.filter((r) => r.method === 'PUT' && r.path.endsWith(ref.sha256));
    expect(putsOfReceipt.length).toBeGreaterThanOrEqual(2); // the lost answer was retried
    // Upload first: no push carried the reference before the server had confirmed its bytes. (The
    // version of the expense from before the attach, queued while offline, may go out earlier.)
    const firstPushWithExpense = a.requests.findIndex(
      (r) => r.method === 'POST' && r.path.endsWith('/expenses/push') && r.body?.includes(ref.sha256),
    );
    const confirmedPut = a.requests.findIndex((r) => r === putsOfReceipt[putsOfReceipt.length - 1]);
    expect(confirmedPut).toBeGreaterThanOrEqual(0);
    expect(firstPushWithExpense).toBeGreaterThan(confirmedPut);

    // Stored once on the server, with its uploader.
    const rows = await running.server.db.query<{ n: unknown }>(
      'SELECT count(*) AS n FROM attachments WHERE sha256 = $1',
      [ref.sha256],
    );
    expect(Number(rows[0]?.n)).toBe(1);
    const uploads = await running.server.db.query<{ user_id: string }>(
      'SELECT user_id FROM attachment_uploads WHERE sha256 = $1',
      [ref.sha256],
    );
    expect(uploads.map((u) => u.user_id)).toEqual(['usr-tech1']);

    // Device A keeps the bytes after the server's copy of the expense came back (serverUpdatedAt set).
    await eventually(
      async () =>
        ((await a.db.expenses.findOne(draft.id).exec())?.get('serverUpdatedAt') as number | null) ?? null,
      'the server stamp pulled back to device A',
    );
    const onA = (await a.db.expenses.findOne(draft.id).exec())!;
    expect(onA.get('attachments')).toEqual([ref]);
    expect(new Uint8Array(await (await onA.getAttachment(ref.sha256)!.getData()).arrayBuffer())).toEqual(
      photo,
    );

    // The free RxDB opens at most 13 collections per process and a user database has 11: device A
    // is done and closes before device B opens (two laptops, one at a time in this process).
    devices.splice(devices.indexOf(a), 1);
    await a.close();

    // Device B: the same user on another install pulls the expense; the bytes come on demand.
    const b = await startDevice(url, await login(url, 'tech1'));
    devices.push(b);
    const onB = await eventually(async () => {
      const doc = await b.db.expenses.findOne(draft.id).exec();
      return (doc?.get('attachments') as unknown[] | undefined)?.length ? doc : null;
    }, 'the expense with its receipt reference on device B');
    expect(onB.get('attachments')).toEqual([ref]);
    expect(await b.service.isOnDevice('expenses', draft.id, ref.sha256)).toBe(false);
    const read = await b.service.read('expenses', draft.id, ref.sha256);
    expect(read.type).toBe('image/jpeg');
    expect(new Uint8Array(await read.arrayBuffer())).toEqual(photo);
    // Kept on device B for offline use, and still readable with the network cut.
    expect(await b.service.isOnDevice('expenses', draft.id, ref.sha256)).toBe(true);
    b.setOnline(false);
    expect((await b.service.read('expenses', draft.id, ref.sha256)).size).toBe(photo.byteLength);
    b.setOnline(true);

    // Another region's technician cannot read it (the same 404 as a hash nobody has).
    const outsider = await login(url, 'tech3');
    const res = await fetch(url + API_ROUTES.attachment.replace(':sha256', ref.sha256), {
      headers: { authorization: `Bearer ${outsider.accessToken}` },
    });
    expect(res.status).toBe(404);
  }, 90_000);
});
