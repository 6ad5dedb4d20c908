import type { AuthSession, CaseDoc, StreamMessage } from '@emdad/domain';
import { BRANCH_IDS, USER_IDS } from '@emdad/fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseOptions } from '../db/index.ts';
import { createSyncServer, type SyncServer } from '../server.ts';
import { backends, bearer, login, manualClock, newCase, push, pushTo } from '../test-support.ts';

function missionDoc(userId: string) {
  const at = new Date(Date.UTC(2026, 10, 23, 9, 0)).toISOString();
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
    createdAt: at,
    updatedAt: at,
  };
}

/** A minimal SSE reader over fetch streaming, as the clients use (Bearer header, no EventSource). */
async function openStream(baseUrl: string, session: AuthSession, collection = 'cases') {
  const controller = new AbortController();
  const response = await fetch(`${baseUrl}/api/replication/${collection}/stream`, {
    headers: bearer(session),
    signal: controller.signal,
  });
  if (!response.ok || !response.body)
    throw new Error(`stream refused: ${response.status} ${await response.text()}`);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  /** The next event: its joined `data:` lines, or its comment (`: ...`) lines. */
  async function nextEvent(boundMs: number): Promise<{ data: string; comment: string }> {
    const deadline = Date.now() + boundMs;
    for (;;) {
      const end = buffer.indexOf('\n\n');
      if (end >= 0) {
        const lines = buffer.slice(0, end).split('\n');
        buffer = buffer.slice(end + 2);
        const pick = (prefix: string) =>
          lines
            .filter((line) => line.startsWith(prefix))
            .map((line) => line.slice(prefix.length).trimStart())
            .join('\n');
        return { data: pick('data:'), comment: pick(':') };
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
  }
  return {
    contentType: response.headers.get('content-type'),
    /** The next `data:` event; generous bound so a missing event fails instead of hanging. */
    async next(boundMs = 15_000): Promise<StreamMessage<CaseDoc>> {
      for (;;) {
        const event = await nextEvent(boundMs);
        if (event.data) return JSON.parse(event.data) as StreamMessage<CaseDoc>;
      }
    },
    async nextComment(boundMs = 15_000): Promise<string> {
      for (;;) {
        const event = await nextEvent(boundMs);
        if (event.comment) return event.comment;
      }
    },
    close() {
      controller.abort();
      reader.cancel().catch(() => undefined);
    },
  };
}

describe.each(backends().map((b) => [b.name, b] as const))(
  'live replication stream on %s',
  (_name, backend) => {
    const clock = manualClock();
    let database: DatabaseOptions;
    let server: SyncServer;
    let baseUrl: string;
    let branch1: AuthSession;
    let tech2: AuthSession;
    let super1: AuthSession;

    beforeAll(async () => {
      database = await backend.freshDatabase('stream');
      server = await createSyncServer({
        database,
        seed: 'demo',
        now: clock.now,
        loginRateLimitPerMinute: 1000,
      });
      baseUrl = await server.app.listen({ port: 0, host: '127.0.0.1' });
      branch1 = await login(server.app, 'branch1');
      tech2 = await login(server.app, 'tech2');
      super1 = await login(server.app, 'super1');
    });
    afterAll(async () => {
      await server?.close();
    });

    it('sends RESYNC first, then a change pushed by another user, only to those who may see it', async () => {
      const supervisorStream = await openStream(baseUrl, super1);
      const technicianStream = await openStream(baseUrl, tech2);
      try {
        expect(supervisorStream.contentType).toMatch(/^text\/event-stream/);
        expect(await supervisorStream.next()).toEqual({ type: 'RESYNC' });
        expect(await technicianStream.next()).toEqual({ type: 'RESYNC' });

        clock.advance(1000);
        const tehranCase = newCase(branch1, { branchId: BRANCH_IDS.tehranVanak });
        expect(
          (await push(server.app, branch1, [{ newDocumentState: tehranCase, assumedMasterState: null }])).body
            .refused,
        ).toEqual([]);
        const change = await supervisorStream.next();
        expect(change).toEqual({
          type: 'changes',
          documents: [
            {
              ...tehranCase,
              serverUpdatedAt: clock.now(),
              acknowledgedUpdatedAt: tehranCase.updatedAt,
              sla: null,
              _deleted: false,
            },
          ],
          checkpoint: { serverUpdatedAt: clock.now(), id: tehranCase.id },
        });

        // tech2 may not see the Tehran case: the next thing it receives is its own assigned case.
        clock.advance(1000);
        const assigned = newCase(super1, {
          assigneeId: USER_IDS.tech2,
          branchId: BRANCH_IDS.isfahanChaharbagh,
        });
        await push(server.app, super1, [{ newDocumentState: assigned, assumedMasterState: null }]);
        const technicianChange = await technicianStream.next();
        expect(technicianChange.type === 'changes' && technicianChange.documents.map((d) => d.id)).toEqual([
          assigned.id,
        ]);
      } finally {
        supervisorStream.close();
        technicianStream.close();
      }
    });

    it('sends RESYNC again on every reconnect', async () => {
      const first = await openStream(baseUrl, super1);
      expect(await first.next()).toEqual({ type: 'RESYNC' });
      first.close();
      const second = await openStream(baseUrl, super1);
      try {
        expect(await second.next()).toEqual({ type: 'RESYNC' });
      } finally {
        second.close();
      }
    });

    it('refuses a stream without a valid token as a JSON error', async () => {
      const response = await fetch(`${baseUrl}/api/replication/cases/stream`, {
        headers: { authorization: 'Bearer nonsense' },
      });
      expect(response.status).toBe(401);
      expect(await response.json()).toEqual({
        error: { code: 'unauthenticated', message: expect.any(String) },
      });
    });

    it.skipIf(backend.name !== 'postgres')(
      're-listens after losing its LISTEN connection and tells subscribers to RESYNC',
      async () => {
        const stream = await openStream(baseUrl, super1);
        try {
          expect(await stream.next()).toEqual({ type: 'RESYNC' });
          const killed = await server.db.query(
            `SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid() AND query ILIKE 'LISTEN%'`,
          );
          expect(killed.length).toBeGreaterThanOrEqual(1);
          expect(await stream.next()).toEqual({ type: 'RESYNC' });
          clock.advance(1000);
          const doc = newCase(branch1);
          await push(server.app, branch1, [{ newDocumentState: doc, assumedMasterState: null }]);
          const change = await stream.next();
          expect(change.type === 'changes' && change.documents.map((d) => d.id)).toEqual([doc.id]);
        } finally {
          stream.close();
        }
      },
    );

    it.skipIf(backend.name !== 'postgres')(
      'fans a change out to a second instance on the same database (LISTEN/NOTIFY)',
      async () => {
        const second = await createSyncServer({ database, now: clock.now });
        try {
          const secondUrl = await second.app.listen({ port: 0, host: '127.0.0.1' });
          const stream = await openStream(secondUrl, super1);
          try {
            expect(await stream.next()).toEqual({ type: 'RESYNC' });
            clock.advance(1000);
            const doc = newCase(branch1);
            await push(server.app, branch1, [{ newDocumentState: doc, assumedMasterState: null }]);
            const change = await stream.next();
            expect(change.type === 'changes' && change.documents.map((d) => d.id)).toEqual([doc.id]);
          } finally {
            stream.close();
          }
        } finally {
          await second.close();
        }
      },
    );

    it.skipIf(backend.name !== 'postgres')(
      'fans a change of another collection (missions) out to a second instance, only to those in scope',
      async () => {
        const second = await createSyncServer({ database, now: clock.now });
        try {
          const secondUrl = await second.app.listen({ port: 0, host: '127.0.0.1' });
          const tech1 = await login(server.app, 'tech1');
          const supervisorStream = await openStream(secondUrl, super1, 'missions');
          const otherTechStream = await openStream(secondUrl, tech2, 'missions');
          try {
            expect(await supervisorStream.next()).toEqual({ type: 'RESYNC' });
            expect(await otherTechStream.next()).toEqual({ type: 'RESYNC' });
            clock.advance(1000);
            const mission = missionDoc(USER_IDS.tech1);
            const result = await pushTo(server.app, tech1, 'missions', [
              { newDocumentState: { ...mission, _deleted: false }, assumedMasterState: null },
            ]);
            expect(result.body).toMatchObject({ conflicts: [], refused: [] });
            const change = await supervisorStream.next();
            expect(change.type === 'changes' && change.documents.map((d) => d.id)).toEqual([mission.id]);
            // tech2 may not see tech1's mission: the next thing on their stream is a change of their own.
            clock.advance(1000);
            const own = missionDoc(USER_IDS.tech2);
            await pushTo(server.app, tech2, 'missions', [
              { newDocumentState: { ...own, _deleted: false }, assumedMasterState: null },
            ]);
            const next = await otherTechStream.next();
            expect(next.type === 'changes' && next.documents.map((d) => d.id)).toEqual([own.id]);
          } finally {
            supervisorStream.close();
            otherTechStream.close();
          }
        } finally {
          await second.close();
        }
      },
    );

    it('sends a tombstone, live, to a reader a case just moved away from', async () => {
      const stream = await openStream(baseUrl, branch1);
      try {
        expect(await stream.next()).toEqual({ type: 'RESYNC' });
        clock.advance(1000);
        const doc = newCase(tech2, { branchId: BRANCH_IDS.tehranVanak });
        await push(server.app, tech2, [{ newDocumentState: doc, assumedMasterState: null }]);
        const arrived = await stream.next();
        expect(arrived.type === 'changes' && arrived.documents.map((d) => d.id)).toEqual([doc.id]);
        const master = arrived.type === 'changes' ? arrived.documents[0]! : doc;
        clock.advance(1000);
        const moved = await push(server.app, super1, [
          {
            newDocumentState: {
              ...master,
              branchId: BRANCH_IDS.isfahanChaharbagh,
              merchantId: 'mer-016',
              equipmentId: null,
              updatedAt: new Date(clock.now()).toISOString(),
            },
            assumedMasterState: master,
          },
        ]);
        expect(moved.body).toMatchObject({ conflicts: [], refused: [] });
        const gone = await stream.next();
        expect(gone.type === 'changes' && gone.documents).toEqual([
          { id: doc.id, serverUpdatedAt: expect.any(Number), _deleted: true },
        ]);
      } finally {
        stream.close();
      }
    });

    it('closes the streams of a revoked install at once, and RESYNCs a user whose scope changed', async () => {
      const admin = await login(server.app, 'admin1');
      const lost = await login(server.app, 'tech2');
      const lostStream = await openStream(baseUrl, lost, 'merchants');
      const moved = await login(server.app, 'branch1');
      const movedStream = await openStream(baseUrl, moved, 'merchants');
      try {
        expect(await lostStream.next()).toEqual({ type: 'RESYNC' });
        expect(await movedStream.next()).toEqual({ type: 'RESYNC' });
        const revoke = await server.app.inject({
          method: 'POST',
          url: `/api/admin/installs/${lost.install.id}/revoke`,
          headers: bearer(admin),
        });
        expect(revoke.statusCode).toBe(200);
        await expect(lostStream.next()).rejects.toThrow('the stream ended');
        const scope = await server.app.inject({
          method: 'POST',
          url: `/api/admin/users/${USER_IDS.branch1}/scope`,
          headers: bearer(admin),
          payload: { branchId: BRANCH_IDS.tehranVanak },
        });
        expect(scope.statusCode).toBe(200);
        expect(await movedStream.next()).toEqual({ type: 'RESYNC' });
      } finally {
        lostStream.close();
        movedStream.close();
      }
    });
  },
);

describe('live stream edges', () => {
  let server: SyncServer;
  let baseUrl: string;

  beforeAll(async () => {
    server = await createSyncServer({
      database: { kind: 'pglite' },
      seed: 'demo',
      accessTokenTtlSeconds: 2,
      streamHeartbeatMs: 50,
    });
    baseUrl = await server.app.listen({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => {
    await server?.close();
  });

  const waitFor = async (condition: () => boolean, boundMs = 10_000) => {
    const deadline = Date.now() + boundMs;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error('condition not met in time');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };

  it('keeps the connection alive with heartbeat comments', async () => {
    const stream = await openStream(baseUrl, await login(server.app, 'super1'));
    try {
      expect(await stream.next()).toEqual({ type: 'RESYNC' });
      expect(await stream.nextComment()).toBe('heartbeat');
    } finally {
      stream.close();
    }
  });

  it('forgets a subscriber when the client goes away', async () => {
    await waitFor(() => server.liveStreams() === 0);
    const stream = await openStream(baseUrl, await login(server.app, 'super1'));
    expect(await stream.next()).toEqual({ type: 'RESYNC' });
    expect(server.liveStreams()).toBe(1);
    stream.close();
    await waitFor(() => server.liveStreams() === 0);
  });

  it('ends the stream when the access token expires, so the client reconnects with a fresh one', async () => {
    const stream = await openStream(baseUrl, await login(server.app, 'super1'));
    expect(await stream.next()).toEqual({ type: 'RESYNC' });
    await expect(stream.next(20_000)).rejects.toThrow('the stream ended');
    await waitFor(() => server.liveStreams() === 0);
  });
});
