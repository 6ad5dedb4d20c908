/**
 * GET /api/replication/stream?collections=a,b: several collections on one SSE connection, with the
 * per-collection stream's semantics (RESYNC per collection on connect, scope, scope-change RESYNC,
 * revocation), on PGlite and PostgreSQL.
 */
import { REPLICATED_COLLECTIONS, type AuthSession, type MultiplexedStreamMessage } from '@emdad/domain';
import { BRANCH_IDS, USER_IDS } from '@emdad/fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseOptions } from '../db/index.ts';
import { createSyncServer, type SyncServer } from '../server.ts';
import { backends, bearer, login, manualClock, newCase, push, pushTo } from '../test-support.ts';

type Message = MultiplexedStreamMessage<{ id: string }>;

function missionDoc(userId: string, at: number) {
  const iso = new Date(at).toISOString();
  return {
    id: `mis-${crypto.randomUUID()}`,
    title: 'Site visit',
    status: 'draft',
    createdBy: userId,
    assigneeId: userId,
    place: 'Vanak Square',
    caseIds: [],
    windowStart: null,
    windowEnd: null,
    approvedBy: null,
    approvedAt: null,
    reportActivities: [],
    revisitReason: null,
    createdAt: iso,
    updatedAt: iso,
    _deleted: false,
  };
}

async function openMultiplexed(baseUrl: string, session: AuthSession, collections?: string[]) {
  const controller = new AbortController();
  const query = collections ? `?collections=${collections.join(',')}` : '';
  const response = await fetch(`${baseUrl}/api/replication/stream${query}`, {
    headers: bearer(session),
    signal: controller.signal,
  });
  if (!response.ok || !response.body)
    throw new Error(`stream refused: ${response.status} ${await response.text()}`);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  return {
    contentType: response.headers.get('content-type'),
    /** The next `data:` event; a generous bound so a missing event fails instead of hanging. */
    async next(boundMs = 15_000): Promise<Message> {
      const deadline = Date.now() + boundMs;
      for (;;) {
        const end = buffer.indexOf('\n\n');
        if (end >= 0) {
          const data = buffer
            .slice(0, end)
            .split('\n')
            .filter((line) => line.startsWith('data:'))
            .map((line) => line.slice(5).trimStart())
            .join('\n');
          buffer = buffer.slice(end + 2);
          if (data) return JSON.parse(data) as Message;
          continue;
        }
        const remaining = deadline - Date.now();
        if (remaining <= 0) throw new Error('no stream event arrived in time');
        let timer: NodeJS.Timeout | undefined;
        const chunk = await Promise.race([
          reader.read(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error('no stream event arrived in time')), remaining);
          }),
        ]).finally(() => clearTimeout(timer));
        if (chunk.done) throw new Error('the stream ended');
        buffer += chunk.value;
      }
    },
    /** The next `n` events. */
    async take(n: number): Promise<Message[]> {
      const out: Message[] = [];
      for (let i = 0; i < n; i++) out.push(await this.next());
      return out;
    },
    close() {
      controller.abort();
      reader.cancel().catch(() => undefined);
    },
  };
}

const resyncs = (names: readonly string[]) =>
  [...names].sort().map((collection) => ({ collection, type: 'RESYNC' }));
const sortByCollection = (messages: Message[]) =>
  [...messages].sort((a, b) => a.collection.localeCompare(b.collection));

describe.each(backends().map((b) => [b.name, b] as const))(
  'multiplexed live stream on %s',
  (_name, backend) => {
    const clock = manualClock();
    let database: DatabaseOptions;
    let server: SyncServer;
    let baseUrl: string;
    let branch1: AuthSession;
    let tech1: AuthSession;
    let tech2: AuthSession;
    let super1: AuthSession;

    beforeAll(async () => {
      database = await backend.freshDatabase('stream_mux');
      server = await createSyncServer({
        database,
        seed: 'demo',
        now: clock.now,
        loginRateLimitPerMinute: 1000,
      });
      baseUrl = await server.app.listen({ port: 0, host: '127.0.0.1' });
      branch1 = await login(server.app, 'branch1');
      tech1 = await login(server.app, 'tech1');
      tech2 = await login(server.app, 'tech2');
      super1 = await login(server.app, 'super1');
    });
    afterAll(async () => {
      await server?.close();
    });

    it('opens with RESYNC for every collection (all of them by default) on one connection', async () => {
      const before = server.liveStreams();
      const stream = await openMultiplexed(baseUrl, super1);
      try {
        expect(stream.contentType).toMatch(/^text\/event-stream/);
        const first = await stream.take(REPLICATED_COLLECTIONS.length);
        expect(sortByCollection(first)).toEqual(resyncs(REPLICATED_COLLECTIONS));
        // One subscriber per collection behind the one connection.
        expect(server.liveStreams()).toBe(before + REPLICATED_COLLECTIONS.length);
      } finally {
        stream.close();
      }
    });

    it('tags each change with its collection and sends it only to those who may read it', async () => {
      const supervisor = await openMultiplexed(baseUrl, super1, ['cases', 'missions']);
      const otherTech = await openMultiplexed(baseUrl, tech2, ['missions', 'cases']);
      try {
        expect(sortByCollection(await supervisor.take(2))).toEqual(resyncs(['cases', 'missions']));
        expect(sortByCollection(await otherTech.take(2))).toEqual(resyncs(['cases', 'missions']));

        clock.advance(1000);
        const mission = missionDoc(USER_IDS.tech1, clock.now());
        const result = await pushTo(server.app, tech1, 'missions', [
          { newDocumentState: mission, assumedMasterState: null },
        ]);
        expect(result.body).toMatchObject({ conflicts: [], refused: [] });
        const missionChange = await supervisor.next();
        expect(missionChange).toMatchObject({
          collection: 'missions',
          type: 'changes',
          checkpoint: { serverUpdatedAt: clock.now(), id: mission.id },
        });
        expect(missionChange.type === 'changes' && missionChange.documents.map((d) => d.id)).toEqual([
          mission.id,
        ]);

        clock.advance(1000);
        const tehranCase = newCase(branch1, { branchId: BRANCH_IDS.tehranVanak });
        await push(server.app, branch1, [{ newDocumentState: tehranCase, assumedMasterState: null }]);
        const caseChange = await supervisor.next();
        expect(caseChange).toMatchObject({ collection: 'cases', type: 'changes' });
        expect(caseChange.type === 'changes' && caseChange.documents.map((d) => d.id)).toEqual([
          tehranCase.id,
        ]);

        // tech2 saw neither tech1's mission nor the Tehran case: its next event is its own mission.
        clock.advance(1000);
        const own = missionDoc(USER_IDS.tech2, clock.now());
        await pushTo(server.app, tech2, 'missions', [{ newDocumentState: own, assumedMasterState: null }]);
        const next = await otherTech.next();
        expect(next.collection).toBe('missions');
        expect(next.type === 'changes' && next.documents.map((d) => d.id)).toEqual([own.id]);
      } finally {
        supervisor.close();
        otherTech.close();
      }
    });

    it('refuses an unknown collection and a missing token as JSON errors', async () => {
      const unknown = await fetch(`${baseUrl}/api/replication/stream?collections=cases,secrets`, {
        headers: bearer(super1),
      });
      expect(unknown.status).toBe(404);
      expect(await unknown.json()).toEqual({
        error: { code: 'unknown_collection', message: expect.any(String) },
      });
      const anonymous = await fetch(`${baseUrl}/api/replication/stream`);
      expect(anonymous.status).toBe(401);
      expect((await anonymous.json()) as unknown).toMatchObject({ error: { code: 'unauthenticated' } });
    });

    it('RESYNCs every collection of a user whose scope changed, and closes a revoked install at once', async () => {
      const admin = await login(server.app, 'admin1');
      const moved = await login(server.app, 'branch1');
      const lost = await login(server.app, 'tech2');
      const movedStream = await openMultiplexed(baseUrl, moved, ['cases', 'merchants']);
      const lostStream = await openMultiplexed(baseUrl, lost, ['cases', 'expenses', 'missions']);
      try {
        await movedStream.take(2);
        await lostStream.take(3);
        const scope = await server.app.inject({
          method: 'POST',
          url: `/api/admin/users/${USER_IDS.branch1}/scope`,
          headers: bearer(admin),
          payload: { branchId: BRANCH_IDS.tehranVanak },
        });
        expect(scope.statusCode).toBe(200);
        expect(sortByCollection(await movedStream.take(2))).toEqual(resyncs(['cases', 'merchants']));

        const streamsBefore = server.liveStreams();
        const revoke = await server.app.inject({
          method: 'POST',
          url: `/api/admin/installs/${lost.install.id}/revoke`,
          headers: bearer(admin),
        });
        expect(revoke.statusCode).toBe(200);
        await expect(lostStream.next()).rejects.toThrow('the stream ended');
        // Every collection's subscriber of that connection is gone, not only the first.
        const deadline = Date.now() + 10_000;
        while (server.liveStreams() > streamsBefore - 3 && Date.now() < deadline)
          await new Promise((resolve) => setTimeout(resolve, 20));
        expect(server.liveStreams()).toBe(streamsBefore - 3);
      } finally {
        movedStream.close();
        lostStream.close();
      }
    });

    it.skipIf(backend.name !== 'postgres')(
      'fans a change out to a multiplexed stream on a second instance (LISTEN/NOTIFY)',
      async () => {
        const second = await createSyncServer({ database, now: clock.now });
        try {
          const secondUrl = await second.app.listen({ port: 0, host: '127.0.0.1' });
          const stream = await openMultiplexed(secondUrl, super1, ['missions', 'expenses']);
          try {
            await stream.take(2);
            clock.advance(1000);
            const mission = missionDoc(USER_IDS.tech1, clock.now());
            await pushTo(server.app, tech1, 'missions', [
              { newDocumentState: mission, assumedMasterState: null },
            ]);
            const change = await stream.next();
            expect(change.collection).toBe('missions');
            expect(change.type === 'changes' && change.documents.map((d) => d.id)).toEqual([mission.id]);
          } finally {
            stream.close();
          }
        } finally {
          await second.close();
        }
      },
    );
  },
);
