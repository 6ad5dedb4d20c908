/**
 * An in-memory stand-in for the sync server's replication routes, reached through an injected
 * fetch, for unit tests of the replication client. It follows domain/src/replication.ts for every
 * collection of the registry: pull by (serverUpdatedAt, id), push with assumedMasterState (conflicts
 * and refused rows come back; server-owned fields must be absent or the server's; a read-only
 * collection refuses every push), per-collection SSE streams and the multiplexed one, each with
 * RESYNC on connect, 401 token_expired for an expired token.
 */
import {
  casesEqual,
  compareCheckpoints,
  documentsEqual,
  type CaseDoc,
  type PushRow,
  type RefusedWrite,
  type WireDoc,
} from '@emdad/domain';
import { COLLECTIONS, isCollectionName, type CollectionName } from '@emdad/domain/model/index';

type Doc = WireDoc<CaseDoc>;
type AnyDoc = WireDoc<Record<string, unknown> & { id: string; serverUpdatedAt?: number | null }>;

interface OpenStream {
  controller: ReadableStreamDefaultController<Uint8Array>;
  /** The collections it carries; `tagged`: the multiplexed stream (messages carry `collection`). */
  collections: readonly CollectionName[];
  tagged: boolean;
}

/** Client content equality as the server sees it: everything but server-owned fields. */
function sameClientContent(name: CollectionName, a: AnyDoc, b: AnyDoc): boolean {
  if (name === 'cases') return casesEqual(a as unknown as Doc, b as unknown as Doc);
  const strip = (doc: AnyDoc) => {
    const copy: Record<string, unknown> = { ...doc };
    for (const field of COLLECTIONS[name].serverOwnedFields) delete copy[field];
    return copy;
  };
  return documentsEqual(strip(a), strip(b));
}

export class FakeSyncServer {
  private readonly stores = new Map<CollectionName, Map<string, AnyDoc>>();
  private clock = 1000;
  validToken = 'token-1';
  conflictsReturned = 0;
  pullRequests: URL[] = [];
  pushBodies: PushRow<CaseDoc>[][] = [];
  /** Every push request, with its collection. */
  pushes: { collection: CollectionName; rows: PushRow<AnyDoc>[] }[] = [];
  /** Documents whose subject (cases) or description (others) contains this string are refused as invalid. */
  refuseMarker = 'REFUSE';
  /** When set, every request fails as if the network were down. */
  offline = false;
  /** When set, the stream's bytes are written in chunks of this size (tests mid-event splits). */
  streamChunkSize = 0;
  /** Stream requests, in order (path and query). */
  streamRequests: URL[] = [];
  private streams = new Set<OpenStream>();

  /** The stored cases (the first collection the fake served; kept for its tests). */
  get docs(): Map<string, Doc> {
    return this.store('cases') as unknown as Map<string, Doc>;
  }

  /** The stored documents of any collection. */
  store(name: CollectionName): Map<string, AnyDoc> {
    let store = this.stores.get(name);
    if (!store) this.stores.set(name, (store = new Map()));
    return store;
  }

  /** Writes a case as another client would have (server stamps it). */
  serverWrite(doc: CaseDoc): Doc {
    return this.serverWriteTo('cases', {
      ...doc,
      acknowledgedUpdatedAt: doc.updatedAt,
    } as unknown as AnyDoc) as unknown as Doc;
  }

  /** Writes a document of any collection as the server or another client would have. */
  serverWriteTo<T extends { id: string }>(name: CollectionName, doc: T): WireDoc<T> {
    return this.serverWriteManyTo(name, [doc])[0]!;
  }

  /** Writes several documents in one transaction (one stream message), as one push of another client. */
  serverWriteManyTo<T extends { id: string }>(name: CollectionName, docs: readonly T[]): WireDoc<T>[] {
    const stamp = this.nextStamp();
    const stored = docs.map(
      (doc) => ({ ...doc, serverUpdatedAt: stamp, _deleted: false }) as unknown as AnyDoc,
    );
    for (const doc of stored) this.store(name).set(doc.id, doc);
    this.broadcast(name, stored);
    return stored as unknown as WireDoc<T>[];
  }

  /**
   * Holds every push request before the server handles it, until the returned function is called.
   * `arrived` resolves when the first held push has come in.
   */
  holdPushes(): { arrived: Promise<void>; release: () => void } {
    let release!: () => void;
    let arrive!: () => void;
    const arrived = new Promise<void>((resolve) => (arrive = resolve));
    this.pushGate = { open: new Promise<void>((resolve) => (release = resolve)), arrive };
    return {
      arrived,
      release: () => {
        this.pushGate = null;
        release();
      },
    };
  }
  private pushGate: { open: Promise<void>; arrive: () => void } | null = null;

  /**
   * The next pull request reads its page at once but is answered only when the returned function is
   * called (a slow answer); `arrived` resolves when it has read its page.
   */
  holdNextPull(): { arrived: Promise<void>; release: () => void } {
    let release!: () => void;
    let arrive!: () => void;
    const arrived = new Promise<void>((resolve) => (arrive = resolve));
    this.pullGate = { open: new Promise<void>((resolve) => (release = resolve)), arrive };
    return { arrived, release };
  }
  private pullGate: { open: Promise<void>; arrive: () => void } | null = null;

  /** Strictly increasing, also past stamps a test stored by hand (as the real server's clock is). */
  private nextStamp(): number {
    for (const store of this.stores.values())
      for (const doc of store.values()) this.clock = Math.max(this.clock, doc.serverUpdatedAt ?? 0);
    return ++this.clock;
  }

  private sorted(name: CollectionName): AnyDoc[] {
    return [...this.store(name).values()].sort((a, b) =>
      compareCheckpoints(this.checkpointOf(a), this.checkpointOf(b)),
    );
  }

  private checkpointOf(doc: AnyDoc) {
    return { serverUpdatedAt: doc.serverUpdatedAt ?? 0, id: doc.id };
  }

  private broadcast(name: CollectionName, documents: AnyDoc[]) {
    if (documents.length === 0) return;
    const last = documents[documents.length - 1]!;
    const message = { type: 'changes', documents, checkpoint: this.checkpointOf(last) };
    for (const stream of this.streams) {
      if (!stream.collections.includes(name)) continue;
      this.send(stream.tagged ? { collection: name, ...message } : message, stream.controller);
    }
  }

  private send(message: unknown, controller: ReadableStreamDefaultController<Uint8Array>) {
    const bytes = new TextEncoder().encode(`data: ${JSON.stringify(message)}\n\n`);
    const size = this.streamChunkSize || bytes.length;
    for (let i = 0; i < bytes.length; i += size) controller.enqueue(bytes.slice(i, i + size));
  }

  /** Sends these stored versions again as a live message (a late, out-of-order delivery). */
  replay<T extends { id: string }>(name: CollectionName, documents: readonly T[]) {
    this.broadcast(name, documents as unknown as AnyDoc[]);
  }

  /** Sends RESYNC on every open stream (as the server does when a user's scope changed). */
  resyncStreams() {
    for (const stream of this.streams)
      for (const name of stream.collections)
        this.send(
          stream.tagged ? { collection: name, type: 'RESYNC' } : { type: 'RESYNC' },
          stream.controller,
        );
  }

  /** Ends every open stream, as a server restart or a dropped connection would. */
  dropStreams() {
    for (const s of this.streams) s.controller.close();
    this.streams.clear();
  }

  get openStreams() {
    return this.streams.size;
  }

  private json(status: number, body: unknown) {
    return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
  }

  private refuses(name: CollectionName, doc: AnyDoc): boolean {
    const text = name === 'cases' ? doc.subject : doc.description;
    return typeof text === 'string' && text.includes(this.refuseMarker);
  }

  private push(name: CollectionName, rows: PushRow<AnyDoc>[]): Response {
    const spec = COLLECTIONS[name];
    const conflicts: AnyDoc[] = [];
    const refused: RefusedWrite[] = [];
    const written: AnyDoc[] = [];
    for (const row of rows) {
      const pushed = row.newDocumentState;
      const current = this.store(name).get(pushed.id);
      if (!spec.clientWritable) {
        refused.push({ id: pushed.id, code: 'read_only_collection', message: `${name} is read-only` });
        continue;
      }
      if (this.refuses(name, pushed)) {
        refused.push({
          id: pushed.id,
          code: 'validation_failed',
          message: 'refused by marker',
          sentence: { fa: 'این مورد پذیرفته نشد.', en: 'This record was refused.' },
        });
        continue;
      }
      if (current && sameClientContent(name, current, pushed)) continue; // idempotent retry
      const assumedMatches = current
        ? row.assumedMasterState != null && row.assumedMasterState.serverUpdatedAt === current.serverUpdatedAt
        : row.assumedMasterState == null;
      if (!assumedMatches) {
        if (current) {
          conflicts.push(current);
          this.conflictsReturned++;
        }
        continue;
      }
      const claimsServerField = spec.serverOwnedFields.some(
        (field) =>
          (pushed as Record<string, unknown>)[field] != null &&
          JSON.stringify((pushed as Record<string, unknown>)[field]) !==
            JSON.stringify((current as Record<string, unknown> | undefined)?.[field] ?? null),
      );
      if (claimsServerField) {
        refused.push({ id: pushed.id, code: 'server_owned_field', message: 'server-owned field set' });
        continue;
      }
      const stored: AnyDoc = {
        ...pushed,
        serverUpdatedAt: this.nextStamp(),
        ...(name === 'cases' ? { acknowledgedUpdatedAt: pushed.updatedAt } : {}),
      };
      this.store(name).set(stored.id, stored);
      written.push(stored);
    }
    queueMicrotask(() => this.broadcast(name, written));
    // The real server gives a push one stamp; this fake stamps each row, so it names the lowest.
    const stamps = written.map((doc) => doc.serverUpdatedAt ?? 0);
    return this.json(200, {
      conflicts,
      refused,
      ...(written.length > 0
        ? { written: { serverUpdatedAt: Math.min(...stamps), ids: written.map((doc) => doc.id) } }
        : {}),
    });
  }

  private openStream(collections: CollectionName[], tagged: boolean, init: RequestInit): Response {
    let entry: OpenStream | undefined;
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        entry = { controller, collections, tagged };
        this.streams.add(entry);
        for (const name of collections)
          this.send(tagged ? { collection: name, type: 'RESYNC' } : { type: 'RESYNC' }, controller);
      },
      cancel: () => {
        if (entry) this.streams.delete(entry);
      },
    });
    init.signal?.addEventListener('abort', () => {
      if (entry && this.streams.delete(entry))
        entry.controller.error(new DOMException('aborted', 'AbortError'));
    });
    return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } });
  }

  readonly fetch = async (input: string, init: RequestInit = {}): Promise<Response> => {
    if (this.offline) throw new TypeError('fetch failed');
    const url = new URL(input);
    const auth = new Headers(init.headers).get('authorization');
    if (auth === 'Bearer expired')
      return this.json(401, { error: { code: 'token_expired', message: 'expired' } });
    if (auth !== `Bearer ${this.validToken}`)
      return this.json(401, { error: { code: 'unauthenticated', message: 'no' } });

    if (url.pathname === '/api/replication/stream') {
      this.streamRequests.push(url);
      const names = (url.searchParams.get('collections') ?? '').split(',').filter(Boolean);
      if (!names.every(isCollectionName))
        return this.json(404, { error: { code: 'unknown_collection', message: names.join(',') } });
      return this.openStream(names, true, init);
    }
    const match = /^\/api\/replication\/([a-z_]+)\/(pull|push|stream)$/.exec(url.pathname);
    const name = match?.[1];
    if (!match || !isCollectionName(name))
      return this.json(404, { error: { code: 'not_found', message: url.pathname } });
    const action = match[2];
    if (action === 'pull') {
      this.pullRequests.push(url);
      const limit = Number(url.searchParams.get('limit') ?? 100);
      const sua = url.searchParams.get('serverUpdatedAt');
      const id = url.searchParams.get('id');
      const after = sua === null ? null : { serverUpdatedAt: Number(sua), id: id ?? '' };
      const documents = this.sorted(name)
        .filter((d) => !after || compareCheckpoints(this.checkpointOf(d), after) > 0)
        .slice(0, limit);
      const last = documents[documents.length - 1];
      const answer = this.json(200, { documents, checkpoint: last ? this.checkpointOf(last) : null });
      const gate = this.pullGate;
      if (gate) {
        this.pullGate = null;
        gate.arrive();
        await gate.open;
      }
      return answer;
    }
    if (action === 'push' && init.method === 'POST') {
      const gate = this.pushGate;
      if (gate) {
        gate.arrive();
        await gate.open;
      }
      const rows = JSON.parse(String(init.body)) as PushRow<AnyDoc>[];
      this.pushes.push({ collection: name, rows });
      this.pushBodies.push(rows as unknown as PushRow<CaseDoc>[]);
      return this.push(name, rows);
    }
    if (action === 'stream') {
      this.streamRequests.push(url);
      return this.openStream([name], false, init);
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
