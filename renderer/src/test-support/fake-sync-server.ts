/**
 * An in-memory stand-in for the sync server's replication routes, reached through an injected
 * fetch, for unit tests of the replication client. It follows domain/src/replication.ts: pull by
 * (serverUpdatedAt, id), push with assumedMasterState (conflicts and refused rows come back), SSE
 * stream with RESYNC on connect, 401 token_expired for an expired token.
 */
import { casesEqual, compareCheckpoints, type CaseDoc, type PushRow, type WireDoc } from '@emdad/domain';

type Doc = WireDoc<CaseDoc>;

export class FakeSyncServer {
  readonly docs = new Map<string, Doc>();
  private clock = 1000;
  validToken = 'token-1';
  conflictsReturned = 0;
  pullRequests: URL[] = [];
  pushBodies: PushRow<CaseDoc>[][] = [];
  /** Subjects containing this string are refused as invalid. */
  refuseMarker = 'REFUSE';
  /** When set, every request fails as if the network were down. */
  offline = false;
  /** When set, the stream's bytes are written in chunks of this size (tests mid-event splits). */
  streamChunkSize = 0;
  private streams = new Set<ReadableStreamDefaultController<Uint8Array>>();

  /** Writes a document as another client would have (server stamps it). */
  serverWrite(doc: CaseDoc): Doc {
    const stored: Doc = {
      ...doc,
      serverUpdatedAt: ++this.clock,
      acknowledgedUpdatedAt: doc.updatedAt,
      _deleted: false,
    };
    this.docs.set(doc.id, stored);
    this.broadcast([stored]);
    return stored;
  }

  private sorted(): Doc[] {
    return [...this.docs.values()].sort((a, b) =>
      compareCheckpoints(this.checkpointOf(a), this.checkpointOf(b)),
    );
  }

  private checkpointOf(doc: Doc) {
    return { serverUpdatedAt: doc.serverUpdatedAt ?? 0, id: doc.id };
  }

  private broadcast(documents: Doc[]) {
    if (documents.length === 0) return;
    const last = documents[documents.length - 1]!;
    this.send({ type: 'changes', documents, checkpoint: this.checkpointOf(last) });
  }

  private send(message: unknown, controller?: ReadableStreamDefaultController<Uint8Array>) {
    const bytes = new TextEncoder().encode(`data: ${JSON.stringify(message)}\n\n`);
    for (const c of controller ? [controller] : this.streams) {
      const size = this.streamChunkSize || bytes.length;
      for (let i = 0; i < bytes.length; i += size) c.enqueue(bytes.slice(i, i + size));
    }
  }

  /** Ends every open stream, as a server restart or a dropped connection would. */
  dropStreams() {
    for (const c of this.streams) c.close();
    this.streams.clear();
  }

  get openStreams() {
    return this.streams.size;
  }

  private json(status: number, body: unknown) {
    return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
  }

  readonly fetch = async (input: string, init: RequestInit = {}): Promise<Response> => {
    if (this.offline) throw new TypeError('fetch failed');
    const url = new URL(input);
    const auth = new Headers(init.headers).get('authorization');
    if (auth === 'Bearer expired')
      return this.json(401, { error: { code: 'token_expired', message: 'expired' } });
    if (auth !== `Bearer ${this.validToken}`)
      return this.json(401, { error: { code: 'unauthenticated', message: 'no' } });

    if (url.pathname === '/api/replication/cases/pull') {
      this.pullRequests.push(url);
      const limit = Number(url.searchParams.get('limit') ?? 100);
      const sua = url.searchParams.get('serverUpdatedAt');
      const id = url.searchParams.get('id');
      const after = sua === null ? null : { serverUpdatedAt: Number(sua), id: id ?? '' };
      const documents = this.sorted()
        .filter((d) => !after || compareCheckpoints(this.checkpointOf(d), after) > 0)
        .slice(0, limit);
      const last = documents[documents.length - 1];
      return this.json(200, { documents, checkpoint: last ? this.checkpointOf(last) : null });
    }
    if (url.pathname === '/api/replication/cases/push' && init.method === 'POST') {
      const rows = JSON.parse(String(init.body)) as PushRow<CaseDoc>[];
      this.pushBodies.push(rows);
      const conflicts: Doc[] = [];
      const refused: { id: string; code: string; message: string }[] = [];
      const written: Doc[] = [];
      for (const row of rows) {
        const current = this.docs.get(row.newDocumentState.id);
        if (row.newDocumentState.subject.includes(this.refuseMarker)) {
          refused.push({
            id: row.newDocumentState.id,
            code: 'validation_failed',
            message: 'subject refused',
          });
          continue;
        }
        if ('acknowledgedUpdatedAt' in row.newDocumentState && !current) {
          refused.push({
            id: row.newDocumentState.id,
            code: 'server_owned_field',
            message: 'server-owned field set',
          });
          continue;
        }
        if (current && casesEqual(current, row.newDocumentState)) continue; // idempotent retry
        const assumedMatches = current
          ? row.assumedMasterState != null && casesEqual(current, row.assumedMasterState)
          : row.assumedMasterState == null;
        if (!assumedMatches) {
          if (current) {
            conflicts.push(current);
            this.conflictsReturned++;
          }
          continue;
        }
        const stored: Doc = {
          ...row.newDocumentState,
          serverUpdatedAt: ++this.clock,
          acknowledgedUpdatedAt: row.newDocumentState.updatedAt,
        };
        this.docs.set(stored.id, stored);
        written.push(stored);
      }
      queueMicrotask(() => this.broadcast(written));
      return this.json(200, { conflicts, refused });
    }
    if (url.pathname === '/api/replication/cases/stream') {
      let controllerRef: ReadableStreamDefaultController<Uint8Array> | undefined;
      const body = new ReadableStream<Uint8Array>({
        start: (controller) => {
          controllerRef = controller;
          this.streams.add(controller);
          this.send({ type: 'RESYNC' }, controller);
        },
        cancel: () => {
          if (controllerRef) this.streams.delete(controllerRef);
        },
      });
      init.signal?.addEventListener('abort', () => {
        if (controllerRef && this.streams.delete(controllerRef))
          controllerRef.error(new DOMException('aborted', 'AbortError'));
      });
      return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } });
    }
    return this.json(404, { error: { code: 'not_found', message: url.pathname } });
  };
}

let counter = 0;
export function sampleCase(overrides: Partial<CaseDoc> = {}): CaseDoc {
  counter++;
  const now = new Date(Date.UTC(2026, 10, 23, 10, 0, counter)).toISOString();
  return {
    id: `case-${String(counter).padStart(4, '0')}-${Math.random().toString(36).slice(2, 8)}`,
    trackingCode: `A01-1405-${String(counter).padStart(6, '0')}-X`,
    templateId: 'tpl-pos-no-print',
    channel: 'walk_in',
    status: 'new',
    priority: 'normal',
    merchantId: null,
    equipmentId: null,
    branchId: 'br-1',
    subject: `Case ${counter}`,
    description: '',
    reporterName: 'Reza',
    reporterPhone: '09120000000',
    createdBy: 'u-1',
    assigneeId: null,
    createdAt: now,
    updatedAt: now,
    ...overrides,
  };
}
