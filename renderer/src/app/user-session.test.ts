/**
 * Another person signs in on the same install: the previous user's replications stop and their
 * database closes before the next user's opens (one user database of 11 collections at a time: the
 * free RxDB allows 13 open collections per page).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { COLLECTION_NAMES } from '@emdad/domain/model/index';
import { FakeSyncServer, sampleCase } from '../test-support/fake-sync-server.ts';
import { eventually, testStorage, uniqueName } from '../test-support/rx.ts';
import type { AnyRxStorage } from '../db/database.ts';
import type { FetchLike } from '../sync/http.ts';
import { openUserSession, SessionClosedError, type UserSession } from './user-session.ts';

const SERVER = 'http://sync.test';
const open: UserSession[] = [];
afterEach(async () => {
  while (open.length) await open.pop()!.close();
});

function session(
  server: FakeSyncServer,
  userId: string,
  fetch: FetchLike = server.fetch,
  storage: AnyRxStorage = testStorage(),
) {
  const s = openUserSession({
    userId,
    online: true,
    serverUrl: SERVER,
    fetch,
    storage,
    databaseName: uniqueName(`emdad-user-${userId}`),
    auth: { getAccessToken: async () => server.validToken, refresh: async () => false },
    retryTimeMs: 50,
    streamBackoff: { initialMs: 20, maxMs: 200 },
  });
  open.push(s);
  return s;
}

describe('user sessions on one install', () => {
  it('closes the previous user’s database and stops their sync before the next user’s opens', async () => {
    const server = new FakeSyncServer();
    let firstUserRequests = 0;
    const firstUserFetch: FetchLike = (input, init) => {
      firstUserRequests++;
      return server.fetch(input, init);
    };
    const first = session(server, 'u-branch1', firstUserFetch);
    const a = await first.ready;
    expect(Object.keys(a.db.collections).sort()).toEqual([...COLLECTION_NAMES].sort());
    await a.db.cases.insert(sampleCase({ subject: 'first user’s case' }));
    await a.replication!.awaitInSync();
    await eventually(() => server.openStreams === 1, 'first user streaming');

    // Sign-out and the next sign-in happen in one React commit: close is requested, not awaited.
    void first.close();
    // Whether the first user's database was already closed each time the second user's storage
    // opened something.
    const firstClosedWhenSecondOpened: boolean[] = [];
    const storage = testStorage();
    const watched: AnyRxStorage = {
      ...storage,
      createStorageInstance: (params) => {
        firstClosedWhenSecondOpened.push(a.db.closed);
        return storage.createStorageInstance(params);
      },
    };
    const second = session(server, 'u-branch2', server.fetch, watched);
    const b = await second.ready;
    expect(firstClosedWhenSecondOpened.length).toBeGreaterThan(0);
    expect(firstClosedWhenSecondOpened.every(Boolean)).toBe(true);
    expect(b.db.closed).toBe(false);
    const afterSwitch = firstUserRequests;
    await b.db.cases.insert(sampleCase({ subject: 'second user’s case' }));
    await b.replication!.awaitInSync();
    await eventually(() => server.openStreams === 1, 'only the second user streams');
    expect(firstUserRequests).toBe(afterSwitch);
    // Both cases reached the server, each pushed once by its own session.
    expect([...server.docs.values()].map((d) => d.subject).sort()).toEqual([
      'first user’s case',
      'second user’s case',
    ]);
  });

  it('a session closed before it opened never opens its database', async () => {
    const server = new FakeSyncServer();
    const blocker = session(server, 'u-a');
    await blocker.ready;
    void blocker.close();
    const never = session(server, 'u-b');
    void never.close();
    await expect(never.ready).rejects.toBeInstanceOf(SessionClosedError);
    const next = session(server, 'u-c');
    expect((await next.ready).db.closed).toBe(false);
  });

  it('an offline session opens the database and replicates nothing', async () => {
    const server = new FakeSyncServer();
    let requests = 0;
    const s = openUserSession({
      userId: 'u-offline',
      online: false,
      serverUrl: SERVER,
      fetch: (input, init) => {
        requests++;
        return server.fetch(input, init);
      },
      storage: testStorage(),
      databaseName: uniqueName('emdad-user-offline'),
      auth: { getAccessToken: async () => null, refresh: async () => false },
    });
    open.push(s);
    const opened = await s.ready;
    expect(opened.replication).toBeNull();
    await opened.db.cases.insert(sampleCase());
    expect(requests).toBe(0);
  });
});
