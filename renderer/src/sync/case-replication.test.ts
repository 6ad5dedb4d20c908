import { afterEach, describe, expect, it } from 'vitest';
import { isCaseSynced, type CaseDoc, type RefusedWrite } from '@emdad/domain';
import { openUserDatabase, type UserDatabase } from '../db/database.ts';
import { FakeSyncServer, sampleCase } from '../test-support/fake-sync-server.ts';
import { indexedDB, IDBKeyRange } from 'fake-indexeddb';
import { getRxStorageDexieFastRead } from '../db/dexie-storage.ts';
import { eventually, uniqueName } from '../test-support/rx.ts';
import {
  startCaseReplication,
  type CaseReplication,
  type ReplicationAuth,
  type StartCaseReplicationOptions,
} from './case-replication.ts';

const SERVER = 'http://sync.test';
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function client(server: FakeSyncServer, extra: Partial<StartCaseReplicationOptions> = {}) {
  // The app's storage (defaultStorage()) on fake-indexeddb.
  const db: UserDatabase = await openUserDatabase(
    'u1',
    getRxStorageDexieFastRead({ indexedDB, IDBKeyRange }),
    uniqueName('repl'),
  );
  const refused: RefusedWrite[] = [];
  const auth: ReplicationAuth = extra.auth ?? {
    getAccessToken: async () => server.validToken,
    refresh: async () => false,
  };
  const replication: CaseReplication = startCaseReplication({
    collection: db.cases,
    serverUrl: SERVER,
    fetch: server.fetch,
    retryTimeMs: 50,
    streamBackoff: { initialMs: 20, maxMs: 200 },
    onRefused: (rows) => refused.push(...rows),
    ...extra,
    auth,
  });
  cleanups.push(async () => {
    await replication.stop();
    await db.close();
  });
  return { db, replication, refused };
}

const localDoc = async (db: UserDatabase, id: string) =>
  (await db.cases.findOne(id).exec())?.toJSON() as CaseDoc | undefined;

describe('startCaseReplication against a contract-faithful fake server', () => {
  it('pushes a local case without server-owned fields and marks it synced only after the acknowledgement', async () => {
    const server = new FakeSyncServer();
    const { db, replication } = await client(server);
    const doc = sampleCase();
    await db.cases.insert(doc);
    expect(isCaseSynced((await localDoc(db, doc.id))!)).toBe(false);
    await replication.awaitInSync();
    expect(server.docs.get(doc.id)?.subject).toBe(doc.subject);
    const pushed = server.pushBodies.flat().find((r) => r.newDocumentState.id === doc.id)!;
    expect(pushed.assumedMasterState).toBeNull();
    expect(pushed.newDocumentState).not.toHaveProperty('acknowledgedUpdatedAt');
    expect(pushed.newDocumentState).not.toHaveProperty('_meta');
    expect(isCaseSynced((await localDoc(db, doc.id))!)).toBe(true);
    expect(replication.status().lastSyncAt).not.toBeNull();
  });

  it('without the live stream still pushes, waits for the acknowledgement and pulls on reSync()', async () => {
    const server = new FakeSyncServer();
    const { db, replication } = await client(server, { live: false });
    const doc = sampleCase();
    await db.cases.insert(doc);
    // RxDB's own non-live mode stops after its first round, so this used to wait forever.
    await replication.awaitInSync();
    expect(server.docs.get(doc.id)?.subject).toBe(doc.subject);
    expect(isCaseSynced((await localDoc(db, doc.id))!)).toBe(true);
    const later = await db.cases.insert(sampleCase({ subject: 'written after the first round' }));
    await replication.awaitInSync();
    expect(server.docs.get(later.id)?.subject).toBe('written after the first round');
    expect(isCaseSynced((await localDoc(db, later.id))!)).toBe(true);
    const other = server.serverWrite(sampleCase({ subject: 'from another client' }));
    replication.reSync();
    await eventually(
      async () => (await localDoc(db, other.id))?.subject === 'from another client',
      'reSync pulled the server write',
    );
    expect(server.openStreams).toBe(0);
  });

  it('pulls by checkpoint in pages until the server has no more', async () => {
    const server = new FakeSyncServer();
    for (let i = 0; i < 25; i++) server.serverWrite(sampleCase());
    const { db, replication } = await client(server, { pullBatchSize: 10, live: true });
    await replication.awaitInSync();
    expect(await db.cases.count().exec()).toBe(25);
    const checkpoints = server.pullRequests.map((u) => Number(u.searchParams.get('serverUpdatedAt') ?? 0));
    // first request has no checkpoint, later ones move strictly forward
    expect(server.pullRequests[0]!.searchParams.has('serverUpdatedAt')).toBe(false);
    expect(server.pullRequests.length).toBeGreaterThanOrEqual(3);
    const forward = checkpoints.slice(0, 3);
    expect(forward[1]!).toBeGreaterThan(forward[0]!);
    expect(forward[2]!).toBeGreaterThan(forward[1]!);
  });

  it('hands conflicts to RxDB, which merges with the domain rule and pushes the merge', async () => {
    const server = new FakeSyncServer();
    const original = server.serverWrite(sampleCase({ subject: 'original', description: 'first' }));
    const { db, replication } = await client(server);
    await replication.awaitInSync();
    // Another client changes the subject; this client does not hear of it (stream dropped, no pull).
    server.offline = true;
    server.dropStreams();
    server.docs.set(original.id, {
      ...original,
      subject: 'changed on server',
      updatedAt: '2026-11-23T11:00:00.000Z',
      acknowledgedUpdatedAt: '2026-11-23T11:00:00.000Z',
      serverUpdatedAt: 99_999,
    });
    server.offline = false;
    // Local edit of another field, made from the old version.
    const local = await db.cases.findOne(original.id).exec();
    await local!.incrementalPatch({
      description: 'added in the field',
      updatedAt: '2026-11-23T12:00:00.000Z',
    });
    await eventually(
      () => server.docs.get(original.id)?.description === 'added in the field',
      'merged document reaches the server',
    );
    const onServer = server.docs.get(original.id)!;
    expect(onServer.subject).toBe('changed on server');
    expect(server.conflictsReturned).toBeGreaterThanOrEqual(1);
    await replication.awaitInSync();
    const merged = (await localDoc(db, original.id))!;
    expect(merged.subject).toBe('changed on server');
    expect(merged.description).toBe('added in the field');
    expect(isCaseSynced(merged)).toBe(true);
  });

  it('loses no live change when one that crosses its own push is held back and later ones arrive', async () => {
    const server = new FakeSyncServer();
    const shared = server.serverWrite(sampleCase({ subject: 'shared', description: 'first' }));
    const { db, replication } = await client(server);
    await replication.awaitInSync();
    // This device's edit of the shared case is on its way, unanswered.
    const held = server.holdPushes();
    await (await db.cases.findOne(shared.id).exec())!.incrementalPatch({
      description: 'from this device',
      updatedAt: '2026-11-23T12:00:00.000Z',
    });
    await held.arrived;
    // Another client's push edits the shared case and creates a new one (one stream message, which
    // crosses the unanswered push and is held back); then a third change arrives on its own.
    const [, created] = server.serverWriteManyTo('cases', [
      { ...shared, subject: 'renamed elsewhere', updatedAt: '2026-11-23T12:01:00.000Z' },
      sampleCase({ subject: 'created elsewhere' }),
    ]);
    const later = server.serverWrite(sampleCase({ subject: 'later' }));
    // Both messages reach the client while its push is unanswered (RxDB applies the later one after
    // the push, with its checkpoint: past the held-back message).
    await new Promise((resolve) => setTimeout(resolve, 300));
    held.release();
    await replication.awaitInSync();
    await eventually(
      async () => Boolean(await localDoc(db, created!.id)),
      'the case created in the held-back message reaches this device',
    );
    expect(await localDoc(db, later.id)).toBeDefined();
    const merged = (await localDoc(db, shared.id))!;
    expect(merged.subject).toBe('renamed elsewhere');
    expect(merged.description).toBe('from this device');
  });

  it('never lets a pull read before its own accepted push overwrite the edit it pushed', async () => {
    const server = new FakeSyncServer();
    const { db, replication } = await client(server);
    await replication.awaitInSync();
    const doc = sampleCase({ subject: 'as created' });
    const seen: string[] = [];
    const sub = db.cases.find().$.subscribe((docs) => {
      const mine = docs.find((d) => d.id === doc.id);
      if (mine) seen.push(mine.subject);
    });
    cleanups.push(async () => sub.unsubscribe());
    // The case is created and accepted; the pull that follows reads it as created, and its answer
    // is slow. Meanwhile the user edits the case, and that push is accepted and recorded by RxDB.
    // Only then does the old page arrive.
    const pullHeld = server.holdNextPull();
    await db.cases.insert(doc);
    await pullHeld.arrived;
    await (await db.cases.findOne(doc.id).exec())!.incrementalPatch({
      subject: 'edited here',
      updatedAt: '2026-11-23T12:00:00.000Z',
    });
    await eventually(() => server.docs.get(doc.id)?.subject === 'edited here', 'the edit is accepted');
    await new Promise((resolve) => setTimeout(resolve, 200));
    pullHeld.release();
    await replication.awaitInSync();
    const local = (await localDoc(db, doc.id))!;
    expect(local.subject).toBe('edited here');
    expect(isCaseSynced(local)).toBe(true);
    // Not even for a moment did the device show the version before its own edit again.
    expect(seen.slice(seen.indexOf('edited here'))).not.toContain('as created');
  });

  it('never applies a live copy older than the one it holds (a late, out-of-order delivery)', async () => {
    const server = new FakeSyncServer();
    const first = server.serverWrite(sampleCase({ subject: 'first' }));
    const { db, replication } = await client(server);
    await replication.awaitInSync();
    server.serverWrite({ ...first, subject: 'second', updatedAt: '2026-11-23T12:00:00.000Z' });
    await eventually(
      async () => (await localDoc(db, first.id))?.subject === 'second',
      'the second version arrives',
    );
    // The first version comes again, late; then an unrelated change, which is applied after it.
    server.replay('cases', [first]);
    const marker = server.serverWrite(sampleCase({ subject: 'marker' }));
    await eventually(async () => Boolean(await localDoc(db, marker.id)), 'the change after it is applied');
    expect((await localDoc(db, first.id))?.subject).toBe('second');
  });

  it('reports refused rows with their code and leaves them not synced', async () => {
    const server = new FakeSyncServer();
    // The status keeps only the last error and a later successful round clears it, so record every
    // status the replication reports instead of sampling the current one (which raced a later pull).
    const errorCodes: string[] = [];
    const { db, refused } = await client(server, {
      onStatus: (status) => {
        if (status.error) errorCodes.push(status.error.code);
      },
    });
    const doc = sampleCase({ subject: 'please REFUSE me' });
    await db.cases.insert(doc);
    await eventually(() => refused.length > 0, 'refusal reported');
    expect(refused[0]).toMatchObject({ id: doc.id, code: 'validation_failed' });
    expect(errorCodes).toContain('validation_failed');
    expect(isCaseSynced((await localDoc(db, doc.id))!)).toBe(false);
  });

  it('on 401 token_expired refreshes once and retries with the new token', async () => {
    const server = new FakeSyncServer();
    let token = 'expired';
    let refreshes = 0;
    const { db, replication } = await client(server, {
      auth: {
        getAccessToken: async () => token,
        refresh: async () => {
          refreshes++;
          token = server.validToken;
          return true;
        },
      },
    });
    const doc = sampleCase();
    await db.cases.insert(doc);
    await replication.awaitInSync();
    expect(server.docs.has(doc.id)).toBe(true);
    expect(refreshes).toBeGreaterThanOrEqual(1);
    expect(isCaseSynced((await localDoc(db, doc.id))!)).toBe(true);
  });

  it('reports a refused refresh as an error in words, not as offline', async () => {
    const server = new FakeSyncServer();
    const { replication } = await client(server, {
      auth: { getAccessToken: async () => 'expired', refresh: async () => false },
    });
    await eventually(() => replication.status().error, 'error reported');
    expect(replication.status().error?.code).toBe('token_expired');
    expect(replication.status().reachable).toBe(true);
  });

  it('marks the server unreachable when requests get no answer', async () => {
    const server = new FakeSyncServer();
    server.offline = true;
    const { replication } = await client(server);
    await eventually(() => replication.status().error, 'error reported');
    expect(replication.status()).toMatchObject({ reachable: false, error: { code: 'network_unavailable' } });
  });

  it('applies live changes from the stream even when events arrive split into small chunks', async () => {
    const server = new FakeSyncServer();
    server.streamChunkSize = 7;
    const { db, replication } = await client(server);
    await replication.awaitInSync();
    await eventually(() => server.openStreams === 1, 'stream connected');
    const pullsBefore = server.pullRequests.length;
    const other = server.serverWrite(sampleCase({ subject: 'از کلاینت دیگر' }));
    await eventually(
      async () => (await localDoc(db, other.id))?.subject === 'از کلاینت دیگر',
      'live change applied',
    );
    expect(server.pullRequests.length).toBe(pullsBefore);
  });

  it('reconnects after the stream drops and catches up what it missed with a checkpoint pull', async () => {
    const server = new FakeSyncServer();
    const { db, replication } = await client(server);
    await replication.awaitInSync();
    await eventually(() => server.openStreams === 1, 'stream connected');
    server.offline = true;
    server.dropStreams();
    const missed = sampleCase({ subject: 'written while disconnected' });
    server.docs.set(missed.id, {
      ...missed,
      serverUpdatedAt: 50_000,
      acknowledgedUpdatedAt: missed.updatedAt,
      _deleted: false,
    });
    server.offline = false;
    await eventually(
      async () => (await localDoc(db, missed.id))?.subject === 'written while disconnected',
      'missed change pulled after reconnect',
    );
    await eventually(() => server.openStreams === 1, 'stream reconnected');
  });
});
