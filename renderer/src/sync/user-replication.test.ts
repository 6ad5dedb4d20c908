/**
 * Every collection of the user database replicating through one multiplexed stream, against the
 * contract-faithful fake server (test-support/fake-sync-server.ts), on fake-indexeddb.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { RefusedWrite } from '@emdad/domain';
import {
  COLLECTION_NAMES,
  type CollectionName,
  type ExpenseDoc,
  type NotificationDoc,
  type ReferenceDoc,
} from '@emdad/domain/model/index';
import { openUserDatabase, type UserDatabase } from '../db/database.ts';
import { FakeSyncServer, sampleCase } from '../test-support/fake-sync-server.ts';
import { eventually, testStorage, uniqueName } from '../test-support/rx.ts';
import type { ReplicationStatus } from './collection-replication.ts';
import {
  combineStatuses,
  startUserReplication,
  type StartUserReplicationOptions,
} from './user-replication.ts';

const SERVER = 'http://sync.test';
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function client(server: FakeSyncServer, extra: Partial<StartUserReplicationOptions> = {}) {
  const db: UserDatabase = await openUserDatabase('u1', testStorage(), uniqueName('user-repl'));
  const refused: (RefusedWrite & { collection: CollectionName })[] = [];
  const statuses: ReplicationStatus[] = [];
  const replication = startUserReplication({
    db,
    serverUrl: SERVER,
    fetch: server.fetch,
    retryTimeMs: 50,
    streamBackoff: { initialMs: 20, maxMs: 200 },
    auth: { getAccessToken: async () => server.validToken, refresh: async () => false },
    onRefused: (collection, rows) => refused.push(...rows.map((r) => ({ ...r, collection }))),
    onStatus: (status) => statuses.push(status),
    ...extra,
  });
  cleanups.push(async () => {
    await replication.stop();
    await db.close();
  });
  return { db, replication, refused, statuses };
}

let n = 0;
function expense(overrides: Partial<ExpenseDoc> = {}): ExpenseDoc {
  n++;
  const at = new Date(Date.UTC(2026, 10, 23, 9, 0, n)).toISOString();
  return {
    id: `exp-${n}-${Math.random().toString(36).slice(2, 8)}`,
    missionId: null,
    submitterId: 'u1',
    category: 'transport',
    amount: 1_500_000,
    currency: 'IRR',
    description: 'Taxi to the merchant',
    hasReceipt: false,
    status: 'draft',
    submittedAt: null,
    decidedBy: null,
    decidedAt: null,
    rejectionReason: null,
    createdAt: at,
    updatedAt: at,
    attachments: [],
    ...overrides,
  };
}

function notification(overrides: Partial<NotificationDoc> = {}): NotificationDoc {
  n++;
  const at = new Date(Date.UTC(2026, 10, 23, 9, 0, n)).toISOString();
  return {
    id: `ntf-${n}`,
    userId: 'u1',
    kind: 'expense_decision',
    title: { fa: 'هزینه تأیید شد', en: 'Expense approved' },
    body: { fa: 'هزینه‌ی تاکسی تأیید شد.', en: 'The taxi expense was approved.' },
    link: null,
    createdAt: at,
    readAt: null,
    updatedAt: at,
    ...overrides,
  };
}

describe('startUserReplication: every collection, one stream', () => {
  it('opens one multiplexed stream for all collections and applies live changes of any of them', async () => {
    const server = new FakeSyncServer();
    const { db, replication } = await client(server);
    await replication.awaitInSync();
    await eventually(() => server.openStreams === 1, 'one stream connected');
    expect(server.streamRequests).toHaveLength(1);
    expect(server.streamRequests[0]!.pathname).toBe('/api/replication/stream');
    expect(server.streamRequests[0]!.searchParams.get('collections')!.split(',').sort()).toEqual(
      [...COLLECTION_NAMES].sort(),
    );
    const pullsBefore = server.pullRequests.length;
    const decided = server.serverWriteTo('notifications', notification());
    const paid = server.serverWriteTo('expenses', expense({ description: 'from the supervisor' }));
    await eventually(
      async () => (await db.notifications.findOne(decided.id).exec()) !== null,
      'notification',
    );
    await eventually(async () => (await db.expenses.findOne(paid.id).exec()) !== null, 'expense');
    expect(server.pullRequests.length).toBe(pullsBefore);
    expect(replication.status()).toMatchObject({ streaming: true, reachable: true, error: null });
  });

  it('pushes a local record of a writable collection without its server-owned fields, and never pushes a read-only one', async () => {
    const server = new FakeSyncServer();
    const beforePush: string[] = [];
    const { db, replication } = await client(server, {
      beforePush: async (collection, docs) => {
        beforePush.push(`${collection}:${docs.length}`);
      },
    });
    const mine = expense();
    // A stale stamp claimed by the local copy: never pushed (the server's own comes back).
    await db.expenses.insert({ ...mine, serverUpdatedAt: 1 });
    // A read-only collection written locally (it should not be, but nothing must leave the device).
    await db.reference.insert({
      id: 'ref-local',
      kind: 'team',
      data: {},
      updatedAt: new Date().toISOString(),
    } as unknown as ReferenceDoc);
    await replication.awaitInSync();
    const pushedExpense = server.pushes.find((p) => p.collection === 'expenses')!.rows[0]!;
    expect(pushedExpense.assumedMasterState).toBeNull();
    expect(pushedExpense.newDocumentState).not.toHaveProperty('serverUpdatedAt');
    expect(pushedExpense.newDocumentState).not.toHaveProperty('_attachments');
    expect(server.store('expenses').get(mine.id)?.description).toBe(mine.description);
    expect(server.pushes.some((p) => p.collection === 'reference')).toBe(false);
    expect(beforePush).toContain('expenses:1');
    // The server's stamp came back into the local copy.
    const local = (await db.expenses.findOne(mine.id).exec())!.toJSON();
    expect(local.serverUpdatedAt).toBe(server.store('expenses').get(mine.id)!.serverUpdatedAt);
  });

  it('merges a conflict three-way: the device’s description and the server’s decision both survive', async () => {
    const server = new FakeSyncServer();
    const original = server.serverWriteTo('expenses', expense({ status: 'submitted' }));
    const { db, replication } = await client(server);
    await replication.awaitInSync();
    // The supervisor's decision lands while this device does not hear of it.
    server.offline = true;
    server.dropStreams();
    server.store('expenses').set(original.id, {
      ...original,
      status: 'approved',
      decidedBy: 'u-sup',
      decidedAt: '2026-11-23T10:00:00.000Z',
      updatedAt: '2026-11-23T10:00:00.000Z',
      serverUpdatedAt: 99_999,
    });
    // The device edits before it can reach the server again: otherwise a retried pull may bring the
    // decision first and the edit would be a plain edit on top of it, with no conflict to merge.
    const local = await db.expenses.findOne(original.id).exec();
    await local!.incrementalPatch({ description: 'Taxi, receipt 12', updatedAt: '2026-11-23T11:00:00.000Z' });
    server.offline = false;
    await eventually(
      () => server.store('expenses').get(original.id)?.description === 'Taxi, receipt 12',
      'merged expense reaches the server',
    );
    expect(server.store('expenses').get(original.id)).toMatchObject({
      status: 'approved',
      decidedBy: 'u-sup',
    });
    expect(server.conflictsReturned).toBeGreaterThanOrEqual(1);
    await replication.awaitInSync();
    // The server's stamp of the merged version is applied too (the live message that crosses the
    // push is held back and pulled again once RxDB has recorded the push: collection-replication.ts).
    expect((await db.expenses.findOne(original.id).exec())!.toJSON()).toMatchObject({
      status: 'approved',
      decidedBy: 'u-sup',
      description: 'Taxi, receipt 12',
      serverUpdatedAt: server.store('expenses').get(original.id)!.serverUpdatedAt,
    });
  });

  it('reports refused rows with their collection and sentence, and the refusal as the status error', async () => {
    const server = new FakeSyncServer();
    const { db, refused, statuses } = await client(server);
    const bad = expense({ description: 'please REFUSE me' });
    await db.expenses.insert(bad);
    await eventually(() => refused.length > 0, 'refusal reported');
    expect(refused[0]).toMatchObject({
      collection: 'expenses',
      id: bad.id,
      code: 'validation_failed',
      sentence: { en: 'This record was refused.' },
    });
    expect(statuses.some((s) => s.error?.code === 'validation_failed')).toBe(true);
  });

  it('catches up what it missed while the stream was down, for every collection, after one reconnect', async () => {
    const server = new FakeSyncServer();
    const { db, replication } = await client(server);
    await replication.awaitInSync();
    await eventually(() => server.openStreams === 1, 'stream connected');
    server.offline = true;
    server.dropStreams();
    await eventually(() => replication.status().streaming === false, 'stream reported down');
    const missedCase = sampleCase({ subject: 'missed case' });
    server.docs.set(missedCase.id, {
      ...missedCase,
      serverUpdatedAt: 50_000,
      acknowledgedUpdatedAt: missedCase.updatedAt,
      _deleted: false,
    });
    const missedNote = notification();
    server
      .store('notifications')
      .set(missedNote.id, { ...missedNote, serverUpdatedAt: 50_001, _deleted: false });
    server.offline = false;
    await eventually(async () => (await db.cases.findOne(missedCase.id).exec()) !== null, 'missed case');
    await eventually(
      async () => (await db.notifications.findOne(missedNote.id).exec()) !== null,
      'missed note',
    );
    await eventually(() => server.openStreams === 1, 'one stream again');
    expect(server.streamRequests.every((u) => u.pathname === '/api/replication/stream')).toBe(true);
  });

  it('reports the server unreachable while requests get no answer, and recovers', async () => {
    const server = new FakeSyncServer();
    server.offline = true;
    const { replication } = await client(server);
    await eventually(() => replication.status().reachable === false, 'unreachable');
    expect(replication.status().error?.code).toBe('network_unavailable');
    server.offline = false;
    replication.reSync();
    await eventually(() => replication.status().reachable === true && replication.status().streaming, 'back');
  });
});

describe('push order across collections', () => {
  it('pushes a case event only after the case it belongs to has reached the server', async () => {
    const server = new FakeSyncServer();
    // Slow case pushes: without the order, the event's push would arrive first (the server refuses
    // an event whose case it cannot see).
    const slowCases: typeof server.fetch = async (input, init) => {
      if (init?.method === 'POST' && input.includes('/cases/push'))
        await new Promise((resolve) => setTimeout(resolve, 300));
      return server.fetch(input, init);
    };
    const { db, replication } = await client(server, { fetch: slowCases });
    await replication.awaitInSync();
    const parent = sampleCase({ subject: 'created offline with its comment' });
    const at = new Date().toISOString();
    await Promise.all([
      db.case_events.insert({
        id: `evt-${parent.id}`,
        caseId: parent.id,
        kind: 'comment',
        authorId: 'u1',
        at,
        body: 'Paper roll replaced.',
        fromStatus: null,
        toStatus: null,
        assigneeId: null,
        minutes: null,
        diagnosticId: null,
        articleId: null,
        createdAt: at,
        updatedAt: at,
      }),
      db.cases.insert(parent),
    ]);
    await replication.awaitInSync();
    const order = server.pushes.map((p) => p.collection);
    expect(order).toContain('case_events');
    expect(order.indexOf('cases')).toBeLessThan(order.indexOf('case_events'));
    expect(server.store('case_events').has(`evt-${parent.id}`)).toBe(true);
  });
});

describe('combineStatuses', () => {
  const base: ReplicationStatus = { reachable: true, lastSyncAt: null, error: null, streaming: false };
  it('is unreachable when any part is, shows the first error and the latest sync', () => {
    expect(
      combineStatuses(
        [
          { ...base, lastSyncAt: '2026-11-23T09:00:00.000Z' },
          {
            ...base,
            reachable: false,
            error: { code: 'network_unavailable', message: 'x' },
            lastSyncAt: '2026-11-23T08:00:00.000Z',
          },
          { ...base, lastSyncAt: '2026-11-23T10:00:00.000Z' },
        ],
        { streaming: true, reachable: true, error: null },
      ),
    ).toEqual({
      reachable: false,
      error: { code: 'network_unavailable', message: 'x' },
      lastSyncAt: '2026-11-23T10:00:00.000Z',
      streaming: true,
    });
    // One collection never synced: the device has not synced as a whole yet.
    expect(
      combineStatuses(
        [
          { ...base, lastSyncAt: '2026-11-23T10:00:00.000Z' },
          { ...base, lastSyncAt: null },
        ],
        null,
      ).lastSyncAt,
    ).toBeNull();
    expect(combineStatuses([{ ...base, reachable: null }], null)).toMatchObject({
      reachable: null,
      streaming: false,
    });
  });
});
