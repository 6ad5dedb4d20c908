/**
 * Issue 4, the client half: every field record syncs for each role, on PGlite and on a real
 * PostgreSQL. Two real renderer clients in Node (the app's own user database, generic replication
 * with the one multiplexed stream, UI store for refusals, on fake-indexeddb) against a real server:
 * a technician writes a case, a comment on it and an expense offline; back online everything syncs
 * (parents first); the supervisor approves the expense on their device; the technician's device
 * receives the decision and the server's notification live. Writes the server refuses come back
 * with the sentence the app shows. And a user database written by an older build (expenses v0)
 * opens under this one with its unsynced expense migrated, and that expense is still pushed.
 */
import { indexedDB, IDBKeyRange } from 'fake-indexeddb';
import { afterEach, describe, expect, it } from 'vitest';
import { createRxDatabase } from 'rxdb';
import {
  API_ROUTES,
  ERROR_SENTENCES,
  newId,
  type AuthSession,
  type CaseDoc,
  type RefusedWrite,
} from '@emdad/domain';
import {
  expenseJsonSchema,
  type CaseEventDoc,
  type CollectionName,
  type ExpenseDoc,
  type NotificationDoc,
} from '@emdad/domain/model/index';
import { transitionExpense } from '@emdad/domain/workflow/expense';
import { USER_IDS } from '@emdad/fixtures';
import { openUserDatabase, type UserDatabase } from '@emdad/renderer/db/database';
import { getRxStorageDexieFastRead } from '@emdad/renderer/db/dexie-storage';
import { startUserReplication, type UserReplication } from '@emdad/renderer/sync/user-replication';
import { refusalSentence, useUiStore, type RefusedRecord } from '@emdad/renderer/ui/store';
import {
  databaseOptions,
  demoCase,
  eventually,
  login,
  startServer,
  testDatabases,
  within,
  type RunningServer,
} from '../support/sync-clients.ts';

interface FieldClient {
  session: AuthSession;
  db: UserDatabase;
  replication: UserReplication;
  /** Refusals this device received (also kept in the app's UI store). */
  refused: RefusedRecord[];
  /** Every push request body, per collection, in order. */
  pushes: { collection: string; ids: string[] }[];
  setOnline(online: boolean): void;
  close(): Promise<void>;
}

const storage = () => getRxStorageDexieFastRead({ indexedDB, IDBKeyRange });

/**
 * A device as the app runs it (user-session.ts), with the collections this test uses: the free
 * RxDB allows 13 open collections per process, and two devices of 11 would not fit in one.
 */
async function startFieldClient(
  url: string,
  username: string,
  collections: readonly CollectionName[],
  databaseName = `it-all-${username}-${newId().slice(-12).replace(/-/g, '')}`,
): Promise<FieldClient> {
  let session = await login(url, username);
  let online = true;
  const pushes: FieldClient['pushes'] = [];
  const cutFetch: typeof fetch = async (input, init) => {
    if (!online) throw new TypeError('fetch failed (network cut by test)');
    const match = /\/api\/replication\/([a-z_]+)\/push$/.exec(new URL(String(input)).pathname);
    if (match && typeof init?.body === 'string') {
      const rows = JSON.parse(init.body) as { newDocumentState: { id: string } }[];
      pushes.push({ collection: match[1]!, ids: rows.map((r) => r.newDocumentState.id) });
    }
    return fetch(input, init);
  };
  const db = await openUserDatabase(session.user.id, storage(), databaseName, { collections });
  const refused: RefusedRecord[] = [];
  const replication = startUserReplication({
    db,
    serverUrl: url,
    fetch: cutFetch,
    retryTimeMs: 200,
    streamBackoff: { initialMs: 100, maxMs: 500 },
    onRefused: (collection, rows: RefusedWrite[]) => {
      refused.push(...rows.map((row) => ({ ...row, collection })));
      useUiStore.getState().addRefused(collection, rows);
    },
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
    get session() {
      return session;
    },
    db,
    replication,
    refused,
    pushes,
    setOnline(value) {
      const wasOffline = !online;
      online = value;
      if (value && wasOffline) replication.reSync();
    },
    async close() {
      await replication.stop();
      await db.close();
    },
  };
}

function expenseBy(submitterId: string, overrides: Partial<ExpenseDoc> = {}): ExpenseDoc {
  const now = new Date().toISOString();
  return {
    id: `exp-${newId()}`,
    missionId: null,
    submitterId,
    category: 'transport',
    amount: 1_500_000,
    currency: 'IRR',
    description: 'Taxi from the branch to the merchant',
    hasReceipt: false,
    status: 'submitted',
    submittedAt: now,
    decidedBy: null,
    decidedAt: null,
    rejectionReason: null,
    createdAt: now,
    updatedAt: now,
    attachments: [],
    ...overrides,
  };
}

function commentOn(caseId: string, authorId: string): CaseEventDoc {
  const now = new Date().toISOString();
  return {
    id: `evt-${newId()}`,
    caseId,
    kind: 'comment',
    authorId,
    at: now,
    body: 'رول کاغذ عوض شد؛ دستگاه دوباره چاپ می‌کند.',
    fromStatus: null,
    toStatus: null,
    assigneeId: null,
    minutes: null,
    diagnosticId: null,
    articleId: null,
    createdAt: now,
    updatedAt: now,
  };
}

async function localDoc<T>(
  collection: { findOne(id: string): { exec(): Promise<{ toJSON(): unknown } | null> } },
  id: string,
) {
  return (await collection.findOne(id).exec())?.toJSON() as T | undefined;
}

describe.each(testDatabases())('every field record syncs for each role on %s', (kind) => {
  let running: RunningServer | undefined;
  const clients: FieldClient[] = [];
  afterEach(async () => {
    while (clients.length) await clients.pop()!.close();
    await running?.close();
    running = undefined;
    useUiStore.getState().resetSync();
  });

  it('offline case, comment and expense sync; the supervisor’s decision and its notification reach the technician; refusals come back as sentences', async () => {
    running = await startServer(await databaseOptions(kind));
    const url = running.url;
    const tech = await startFieldClient(url, 'tech1', ['cases', 'case_events', 'expenses', 'notifications']);
    clients.push(tech);
    const supervisor = await startFieldClient(url, 'super1', ['expenses', 'notifications']);
    clients.push(supervisor);
    await within(tech.replication.awaitInSync(), 30_000, 'technician initial sync');
    await within(supervisor.replication.awaitInSync(), 30_000, 'supervisor initial sync');
    await eventually(() => tech.replication.status().streaming, 'technician streaming');

    // Offline: a case found on site, a comment on it, and the taxi expense.
    tech.setOnline(false);
    const found = demoCase(tech.session, 1, { subject: 'کارتخوان چاپ نمی‌کند', assigneeId: USER_IDS.tech1 });
    const comment = commentOn(found.id, USER_IDS.tech1);
    const taxi = expenseBy(USER_IDS.tech1);
    await tech.db.case_events.insert(comment); // written first: the order of pushes must not depend on it
    await tech.db.cases.insert(found);
    await tech.db.expenses.insert(taxi);

    tech.setOnline(true);
    await within(tech.replication.awaitInSync(), 30_000, 'technician in sync after going online');
    expect(tech.refused).toEqual([]);
    const order = tech.pushes.map((p) => p.collection);
    expect(order.indexOf('cases')).toBeGreaterThanOrEqual(0);
    expect(order.indexOf('cases')).toBeLessThan(order.indexOf('case_events'));
    // Each record was stamped by the server (its acknowledgement is in the local copy).
    expect((await localDoc<CaseDoc>(tech.db.cases, found.id))?.acknowledgedUpdatedAt).toBe(found.updatedAt);
    expect((await localDoc<CaseEventDoc>(tech.db.case_events, comment.id))?.serverUpdatedAt).toEqual(
      expect.any(Number),
    );

    // The supervisor's device receives the expense (live) and approves it.
    const arrived = await eventually(
      async () => (await supervisor.db.expenses.findOne(taxi.id).exec()) ?? null,
      'the expense reaches the supervisor',
    );
    expect(arrived.status).toBe('submitted');
    const decidedAt = new Date().toISOString();
    await arrived.incrementalPatch({
      status: 'approved',
      decidedBy: USER_IDS.super1,
      decidedAt,
      updatedAt: decidedAt,
    });
    await within(supervisor.replication.awaitInSync(), 30_000, 'supervisor in sync after the decision');
    expect(supervisor.refused).toEqual([]);

    // The technician's device receives the decision and the server's notification.
    const decided = await eventually(async () => {
      const doc = await localDoc<ExpenseDoc>(tech.db.expenses, taxi.id);
      return doc?.status === 'approved' ? doc : null;
    }, 'the decision reaches the technician');
    expect(decided).toMatchObject({ decidedBy: USER_IDS.super1, decidedAt, amount: taxi.amount });
    const notification = await eventually(async () => {
      const docs = (await tech.db.notifications.find().exec()).map((d) => d.toJSON() as NotificationDoc);
      return docs.find((n) => n.kind === 'expense_decision' && n.userId === USER_IDS.tech1) ?? null;
    }, 'the expense_decision notification reaches the technician');
    expect(notification.title.fa.length).toBeGreaterThan(0);
    expect(notification.title.en.length).toBeGreaterThan(0);

    // Refused: the technician sets an approval field on a new expense …
    const selfDecided = expenseBy(USER_IDS.tech1, { decidedBy: USER_IDS.tech1, decidedAt: decidedAt });
    await tech.db.expenses.insert(selfDecided);
    const approvalRefusal = await eventually(
      () => tech.refused.find((r) => r.id === selfDecided.id) ?? null,
      'the approval-field refusal comes back',
    );
    expect(approvalRefusal).toMatchObject({ collection: 'expenses', code: 'approval_field' });
    expect(refusalSentence(approvalRefusal, 'fa')).toBe(ERROR_SENTENCES.approval_field.fa);
    expect(refusalSentence(approvalRefusal, 'en')).toBe(ERROR_SENTENCES.approval_field.en);

    // … and approves their own submitted expense: the state machine's own sentence comes back.
    const own = expenseBy(USER_IDS.tech1, { description: 'Metro card' });
    await tech.db.expenses.insert(own);
    await within(tech.replication.awaitInSync(), 30_000, 'own expense synced');
    const ownLocal = (await tech.db.expenses.findOne(own.id).exec())!;
    await ownLocal.incrementalPatch({ status: 'approved', updatedAt: new Date().toISOString() });
    const machineRefusal = await eventually(
      () => tech.refused.find((r) => r.id === own.id) ?? null,
      'the self-approval refusal comes back',
    );
    const expected = transitionExpense('submitted', 'approved', {
      actorId: USER_IDS.tech1,
      submitterId: USER_IDS.tech1,
      supervisorId: USER_IDS.super1,
      amount: own.amount,
      category: own.category,
      hasReceipt: false,
    });
    expect(expected.ok).toBe(false);
    const sentence = expected.ok ? null : expected.message;
    expect(machineRefusal.sentence).toEqual(sentence);
    expect(refusalSentence(machineRefusal, 'fa')).toBe(sentence?.fa);
    // The app's store holds both refusals, newest last, for the refusals panel.
    const shown = useUiStore.getState().refused.filter((r) => r.collection === 'expenses');
    expect(shown.map((r) => r.id)).toEqual([selfDecided.id, own.id]);
    // The server kept the approved expense as the supervisor decided it.
    expect((await localDoc<ExpenseDoc>(supervisor.db.expenses, taxi.id))?.status).toBe('approved');
  });

  it('a user database of an older build (expenses v0) opens with its unsynced expense migrated, which is then pushed', async () => {
    running = await startServer(await databaseOptions(kind));
    const url = running.url;
    const session = await login(url, 'tech1');
    const name = `it-migrate-${newId().slice(-12).replace(/-/g, '')}`;
    // expenses v0 as build v0 stored them: a `receipt` flag, no currency, no attachments.
    const without = (props: Record<string, unknown>, ...names: string[]) =>
      Object.fromEntries(Object.entries(props).filter(([k]) => !names.includes(k)));
    const expenseV0 = {
      title: 'expenses',
      version: 0,
      primaryKey: 'id',
      type: 'object',
      additionalProperties: false,
      properties: {
        ...without(expenseJsonSchema.properties, 'currency', 'hasReceipt', 'attachments'),
        receipt: { type: 'boolean' },
      },
      required: expenseJsonSchema.required.filter((f) => f !== 'currency' && f !== 'hasReceipt'),
      indexes: ['createdAt'],
    };
    const old = await createRxDatabase({
      name,
      storage: storage(),
      localDocuments: true,
      multiInstance: true,
    });
    await old.addCollections({ expenses: { schema: expenseV0 as never } });
    const now = new Date().toISOString();
    const stored = {
      id: `exp-${newId()}`,
      missionId: null,
      submitterId: session.user.id,
      category: 'transport',
      amount: 900_000,
      description: 'Written offline by the old build',
      receipt: false,
      status: 'submitted',
      submittedAt: now,
      decidedBy: null,
      decidedAt: null,
      rejectionReason: null,
      createdAt: now,
      updatedAt: now,
    };
    await old.expenses!.insert(stored);
    await old.close();

    const device = await startFieldClient(url, 'tech1', ['expenses'], name);
    clients.push(device);
    const migrated = await localDoc<ExpenseDoc>(device.db.expenses, stored.id);
    expect(migrated).toMatchObject({
      description: 'Written offline by the old build',
      currency: 'IRR',
      hasReceipt: false,
      attachments: [],
    });
    expect(migrated).not.toHaveProperty('receipt');
    await within(device.replication.awaitInSync(), 30_000, 'migrated expense pushed');
    expect(device.refused).toEqual([]);
    expect(device.pushes.some((p) => p.collection === 'expenses' && p.ids.includes(stored.id))).toBe(true);
    // The server holds it in the current shape (read back through a supervisor's pull).
    const admin = await login(url, 'super1');
    const res = await fetch(
      `${url}${API_ROUTES.replicationPull.replace(':collection', 'expenses')}?limit=1000`,
      {
        headers: { authorization: `Bearer ${admin.accessToken}` },
      },
    );
    const body = (await res.json()) as { documents: ExpenseDoc[] };
    expect(body.documents.find((d) => d.id === stored.id)).toMatchObject({
      currency: 'IRR',
      hasReceipt: false,
      amount: 900_000,
      serverUpdatedAt: expect.any(Number),
    });
  });
});
