/**
 * The attachment service, the uploader and the keep-referenced plugin on RxDB over fake-indexeddb,
 * with an in-memory stand-in for the server's attachment routes (the real routes are tested in
 * sync-server/src/routes/attachments.test.ts and end to end in tests/integration/attachments.test.ts).
 */
import { createHash } from 'node:crypto';
import {
  ATTACHMENT_LIMITS,
  expenseMigrationStrategies,
  expenseRxSchema,
  type ExpenseDoc,
} from '@emdad/domain/model/index';
import { createRxDatabase, type RxCollection, type RxDatabase } from 'rxdb';
import { afterEach, describe, expect, it } from 'vitest';
import '../db/database.ts';
import { ApiError } from '../sync/http.ts';
import { testStorage, uniqueName } from '../test-support/rx.ts';
import { AttachmentError, createAttachmentService, type AttachableFile } from './attachment-service.ts';
import { rxSchemaWithAttachments } from './rxdb.ts';
import type { AttachmentTransport } from './transport.ts';
import { startAttachmentUploader, type AttachmentUploader } from './uploader.ts';

const sha = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');

function file(content: string | Uint8Array, name = 'receipt.jpg', type = 'image/jpeg'): AttachableFile {
  const bytes = typeof content === 'string' ? new TextEncoder().encode(content) : content;
  return {
    name,
    type,
    size: bytes.byteLength,
    arrayBuffer: async () => bytes.slice().buffer,
  };
}

/** What a file picker hands over for a file it does not read yet (only the size is checked first). */
function hugeFile(size: number): AttachableFile {
  return {
    name: 'photo.jpg',
    type: 'image/jpeg',
    size,
    arrayBuffer: () => Promise.reject(new Error('must not be read')),
  };
}

function expense(id: string): ExpenseDoc {
  return {
    id,
    missionId: null,
    submitterId: 'usr-tech1',
    category: 'transport',
    amount: 1_500_000,
    currency: 'IRR',
    description: 'Taxi',
    hasReceipt: false,
    status: 'draft',
    submittedAt: null,
    decidedBy: null,
    decidedAt: null,
    rejectionReason: null,
    createdAt: '2026-11-23T08:00:00.000Z',
    updatedAt: '2026-11-23T08:00:00.000Z',
    attachments: [],
  };
}

/** The server's attachment routes in memory: hash checked, stored once, reads by hash. */
class FakeAttachmentServer implements AttachmentTransport {
  stored = new Map<string, { type: string; bytes: Uint8Array }>();
  puts = 0;
  online = true;
  /** The next upload is stored but its answer is lost (the connection drops). */
  loseNextAnswer = false;
  refuseWith: number | null = null;
  async upload(hash: string, contentType: string, blob: Blob) {
    if (!this.online) throw new ApiError('network_unavailable', null, 'offline');
    if (this.refuseWith) throw new ApiError('payload_too_large', this.refuseWith, 'refused');
    this.puts++;
    const bytes = new Uint8Array(await blob.arrayBuffer());
    if (sha(bytes) !== hash) throw new ApiError('validation_failed', 400, 'hash mismatch');
    if (!this.stored.has(hash)) this.stored.set(hash, { type: contentType, bytes });
    if (this.loseNextAnswer) {
      this.loseNextAnswer = false;
      throw new ApiError('network_unavailable', null, 'connection dropped before the answer');
    }
  }
  async download(hash: string) {
    if (!this.online) throw new ApiError('network_unavailable', null, 'offline');
    const found = this.stored.get(hash);
    if (!found) throw new ApiError('not_found', 404, 'no such attachment');
    return new Blob([found.bytes.slice()], { type: found.type });
  }
}

type Db = RxDatabase<{ expenses: RxCollection<ExpenseDoc> }>;
const opened: Db[] = [];
const uploaders: AttachmentUploader[] = [];

async function openDb(name = uniqueName('emdad-att')): Promise<Db> {
  const db = (await createRxDatabase({
    name,
    storage: testStorage(),
    localDocuments: true,
    multiInstance: false,
  })) as Db;
  await db.addCollections({
    expenses: {
      schema: rxSchemaWithAttachments(expenseRxSchema),
      migrationStrategies: expenseMigrationStrategies,
    },
  });
  opened.push(db);
  return db;
}

afterEach(async () => {
  for (const u of uploaders.splice(0)) await u.stop();
  for (const db of opened.splice(0)) if (!db.closed) await db.close();
});

const clock = () => {
  let t = Date.parse('2026-11-23T09:00:00.000Z');
  return { now: () => t, advance: (ms: number) => (t += ms) };
};

describe('attach', () => {
  it('stores the bytes and the reference in one local write', async () => {
    const db = await openDb();
    await db.expenses.insert(expense('exp-1'));
    const service = createAttachmentService({
      db,
      transport: null,
      now: () => new Date('2026-11-23T09:30:00.000Z'),
    });
    const before = await db.expenses.findOne('exp-1').exec();
    const ref = await service.attach('expenses', 'exp-1', file('receipt bytes'));
    expect(ref).toEqual({
      sha256: sha('receipt bytes'),
      name: 'receipt.jpg',
      contentType: 'image/jpeg',
      size: 13,
      addedAt: '2026-11-23T09:30:00.000Z',
    });
    const doc = (await db.expenses.findOne('exp-1').exec())!;
    expect(doc.attachments).toEqual([ref]);
    expect(doc.updatedAt).toBe('2026-11-23T09:30:00.000Z');
    // One write: the revision moved by exactly one, and it holds both the field and the bytes.
    const height = (rev: string) => Number(rev.split('-')[0]);
    expect(height(doc.revision)).toBe(height(before!.revision) + 1);
    expect(await doc.getAttachment(ref.sha256)!.getStringData()).toBe('receipt bytes');
    expect(await service.isOnDevice('expenses', 'exp-1', ref.sha256)).toBe(true);
    // Attaching the same bytes again changes nothing.
    expect(await service.attach('expenses', 'exp-1', file('receipt bytes', 'again.jpg'))).toEqual(ref);
    expect((await db.expenses.findOne('exp-1').exec())!.attachments).toHaveLength(1);
  });

  it('refuses a wrong type, a file too large and one too many, with sentences, storing nothing', async () => {
    const db = await openDb();
    await db.expenses.insert(expense('exp-2'));
    const service = createAttachmentService({ db, transport: null });
    const refusal = async (p: Promise<unknown>) => {
      const err = await p.then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(AttachmentError);
      return err as AttachmentError;
    };
    const wrongType = await refusal(
      service.attach('expenses', 'exp-2', file('MZ', 'setup.exe', 'application/x-msdownload')),
    );
    expect(wrongType.code).toBe('unsupported_type');
    expect(wrongType.sentence.en).toMatch(/Attach a photo \(JPEG, PNG or WebP\), a PDF/);
    expect(wrongType.sentence.fa).toMatch(/قابل پیوست نیست/);
    const tooLarge = await refusal(
      service.attach('expenses', 'exp-2', hugeFile(ATTACHMENT_LIMITS.maxBytes + 1)),
    );
    expect(tooLarge.code).toBe('too_large');
    expect(tooLarge.sentence.en).toMatch(/at most 5 MB/);
    const empty = await refusal(service.attach('expenses', 'exp-2', file('')));
    expect(empty.code).toBe('empty');
    for (let i = 0; i < ATTACHMENT_LIMITS.maxPerDocument; i++)
      await service.attach('expenses', 'exp-2', file(`receipt ${i}`));
    const tooMany = await refusal(service.attach('expenses', 'exp-2', file('one more')));
    expect(tooMany.code).toBe('too_many');
    const doc = (await db.expenses.findOne('exp-2').exec())!;
    expect(doc.attachments).toHaveLength(ATTACHMENT_LIMITS.maxPerDocument);
    expect(doc.allAttachments()).toHaveLength(ATTACHMENT_LIMITS.maxPerDocument);
    const missing = await refusal(service.attach('expenses', 'nope', file('x')));
    expect(missing.code).toBe('missing_document');
  });

  it('creates a document with its attachments in one insert (append-only records)', async () => {
    const db = await openDb();
    const service = createAttachmentService({ db, transport: null });
    const prepared = await service.prepare(
      file('{"frames":[]}', 'session.json', 'application/json; charset=utf-8'),
    );
    expect(prepared.ref.contentType).toBe('application/json');
    const doc = await service.insertWithAttachments('expenses', expense('exp-3'), [prepared, prepared]);
    expect(doc.attachments).toEqual([prepared.ref]);
    expect(await doc.getAttachment(prepared.ref.sha256)!.getStringData()).toBe('{"frames":[]}');
  });
});

describe('a pulled document keeps the bytes it still references', () => {
  it('survives a replication write without _attachments; loses bytes whose reference was removed', async () => {
    const db = await openDb();
    await db.expenses.insert(expense('exp-4'));
    const service = createAttachmentService({ db, transport: null });
    const a = await service.attach('expenses', 'exp-4', file('first receipt'));
    const b = await service.attach('expenses', 'exp-4', file('second receipt'));
    // What RxDB's downstream writes for a pulled document: the server's fields, `_attachments: {}`.
    const pulledWrite = async (attachments: unknown[], extra: Record<string, unknown> = {}) => {
      const [stored] = await db.expenses.storageInstance.findDocumentsById(['exp-4'], true);
      const { _attachments: _dropped, ...fields } = stored!;
      await db.expenses.storageInstance.bulkWrite(
        [
          {
            previous: stored!,
            document: { ...fields, ...extra, attachments, _attachments: {} } as typeof stored & object,
          },
        ],
        'replication-down-write',
      );
    };
    await pulledWrite([a, b], { serverUpdatedAt: 1000 });
    let doc = (await db.expenses.findOne('exp-4').exec())!;
    expect(doc.get('serverUpdatedAt')).toBe(1000);
    expect(await doc.getAttachment(a.sha256)!.getStringData()).toBe('first receipt');
    expect(await doc.getAttachment(b.sha256)!.getStringData()).toBe('second receipt');
    // Another device removed the second receipt: its bytes go too.
    await pulledWrite([a], { serverUpdatedAt: 2000 });
    doc = (await db.expenses.findOne('exp-4').exec())!;
    expect(doc.allAttachments().map((x) => x.id)).toEqual([a.sha256]);
  });
});

describe('uploader', () => {
  it('uploads when online, backs off while offline, and stores a lost-answer retry once', async () => {
    const db = await openDb();
    const server = new FakeAttachmentServer();
    const t = clock();
    const uploader = startAttachmentUploader({
      db,
      transport: server,
      now: t.now,
      backoff: { initialMs: 60_000, maxMs: 600_000 },
    });
    uploaders.push(uploader);
    const service = createAttachmentService({
      db,
      transport: server,
      onPendingUpload: () => uploader.kick(),
    });
    await db.expenses.insert(expense('exp-5'));
    server.online = false;
    const ref = await service.attach('expenses', 'exp-5', file('offline receipt'));
    await uploader.runOnce();
    let [entry] = await uploader.pending();
    expect(entry).toMatchObject({ sha256: ref.sha256, attempts: 1, refused: false });
    expect(entry!.nextAttemptAt).toBe(t.now() + 60_000);
    // Back online, but not yet due: nothing is sent before the backoff.
    server.online = true;
    await uploader.runOnce();
    expect(server.puts).toBe(0);
    // Due: the upload reaches the server, the answer is lost; the next attempt answers 200-like.
    t.advance(60_000);
    server.loseNextAnswer = true;
    await uploader.runOnce();
    expect(server.puts).toBe(1);
    [entry] = await uploader.pending();
    expect(entry).toMatchObject({ attempts: 2 });
    expect(entry!.nextAttemptAt).toBe(t.now() + 120_000);
    t.advance(120_000);
    await uploader.runOnce();
    expect(server.puts).toBe(2);
    expect(await uploader.pending()).toEqual([]);
    expect(server.stored.size).toBe(1);
    expect(new TextDecoder().decode(server.stored.get(ref.sha256)!.bytes)).toBe('offline receipt');
  });

  it('survives a reload: the outbox is kept in the database', async () => {
    const name = uniqueName('emdad-att-reload');
    const first = await openDb(name);
    await first.expenses.insert(expense('exp-6'));
    const ref = await createAttachmentService({ db: first, transport: null }).attach(
      'expenses',
      'exp-6',
      file('kept across reloads'),
    );
    await first.close();
    const server = new FakeAttachmentServer();
    const again = await openDb(name);
    const uploader = startAttachmentUploader({ db: again, transport: server });
    uploaders.push(uploader);
    await uploader.runOnce();
    expect([...server.stored.keys()]).toEqual([ref.sha256]);
    expect(await uploader.pending()).toEqual([]);
  });

  it('makes a push wait for the bytes it references; a refusal for good never blocks it', async () => {
    const db = await openDb();
    const server = new FakeAttachmentServer();
    const t = clock();
    const uploader = startAttachmentUploader({ db, transport: server, now: t.now });
    uploaders.push(uploader);
    await uploader.runOnce();
    const service = createAttachmentService({ db, transport: server });
    await db.expenses.insert(expense('exp-7'));
    server.online = false;
    const ref = await service.attach('expenses', 'exp-7', file('needed before the push'));
    const doc = (await db.expenses.findOne('exp-7').exec())!.toJSON();
    await expect(uploader.ensureUploaded([doc])).rejects.toMatchObject({ code: 'network_unavailable' });
    server.online = true;
    // Not waiting for the backoff: a push needs the bytes now.
    await uploader.ensureUploaded([doc]);
    expect(server.stored.has(ref.sha256)).toBe(true);
    // Documents without pending bytes pass straight through.
    await uploader.ensureUploaded([expense('other'), { id: 'x' }]);
    // The server refuses for good (e.g. a smaller limit there): marked refused, the push goes on.
    await db.expenses.insert(expense('exp-8'));
    const big = await service.attach('expenses', 'exp-8', file('too big for that server'));
    server.refuseWith = 413;
    await uploader.ensureUploaded([(await db.expenses.findOne('exp-8').exec())!.toJSON()]);
    expect(await uploader.pending()).toEqual([
      expect.objectContaining({ sha256: big.sha256, refused: true }),
    ]);
  });

  it('drops an entry whose document is gone', async () => {
    const db = await openDb();
    await db.expenses.insert(expense('exp-9'));
    await createAttachmentService({ db, transport: null }).attach('expenses', 'exp-9', file('orphan'));
    await (await db.expenses.findOne('exp-9').exec())!.remove();
    const server = new FakeAttachmentServer();
    const uploader = startAttachmentUploader({ db, transport: server });
    uploaders.push(uploader);
    await uploader.runOnce();
    expect(await uploader.pending()).toEqual([]);
    expect(server.puts).toBe(0);
  });
});

describe('read', () => {
  it('fetches bytes a pulled document references, checks them and keeps them for offline use', async () => {
    const db = await openDb();
    const server = new FakeAttachmentServer();
    const bytes = new TextEncoder().encode('a receipt from another device');
    const ref = {
      sha256: sha(bytes),
      name: 'receipt.jpg',
      contentType: 'image/jpeg' as const,
      size: bytes.byteLength,
      addedAt: '2026-11-23T08:10:00.000Z',
    };
    await db.expenses.insert({ ...expense('exp-10'), attachments: [ref] } as never);
    const service = createAttachmentService({ db, transport: server });
    await expect(service.read('expenses', 'exp-10', ref.sha256)).rejects.toMatchObject({
      code: 'not_available',
    });
    server.stored.set(ref.sha256, { type: 'image/jpeg', bytes });
    const blob = await service.read('expenses', 'exp-10', ref.sha256);
    expect(new TextDecoder().decode(await blob.arrayBuffer())).toBe('a receipt from another device');
    expect(blob.type).toBe('image/jpeg');
    // Offline afterwards: read from the device.
    server.online = false;
    const offline = await createAttachmentService({ db, transport: null }).read(
      'expenses',
      'exp-10',
      ref.sha256,
    );
    expect(offline.size).toBe(bytes.byteLength);
    // The document's own fields did not change (nothing new to push).
    expect((await db.expenses.findOne('exp-10').exec())!.updatedAt).toBe('2026-11-23T08:00:00.000Z');
  });

  it('refuses damaged bytes and says offline when they are not on the device', async () => {
    const db = await openDb();
    const server = new FakeAttachmentServer();
    const hash = sha('the real bytes');
    await db.expenses.insert({
      ...expense('exp-11'),
      attachments: [
        {
          sha256: hash,
          name: 'r.png',
          contentType: 'image/png',
          size: 14,
          addedAt: '2026-11-23T08:10:00.000Z',
        },
      ],
    } as never);
    server.stored.set(hash, { type: 'image/png', bytes: new TextEncoder().encode('tampered bytes') });
    await expect(
      createAttachmentService({ db, transport: server }).read('expenses', 'exp-11', hash),
    ).rejects.toMatchObject({
      code: 'internal',
    });
    expect((await db.expenses.findOne('exp-11').exec())!.allAttachments()).toEqual([]);
    const offline = createAttachmentService({ db, transport: null }).read('expenses', 'exp-11', hash);
    await expect(offline).rejects.toMatchObject({ code: 'network_unavailable' });
  });
});

describe('startSessionAttachments', () => {
  it('offline: attaches without an uploader; online: beforePush(collection, docs) sends the bytes first', async () => {
    const { startSessionAttachments } = await import('./session.ts');
    const auth = { getAccessToken: async () => 'token', refresh: async () => false };
    const db = await openDb();
    await db.expenses.insert(expense('exp-s1'));
    const offline = startSessionAttachments({ db, serverUrl: 'http://server', auth, online: false });
    expect(offline.uploader).toBeNull();
    const ref = await offline.service.attach('expenses', 'exp-s1', file('session receipt'));
    await offline.beforePush('expenses', [{ attachments: [ref] }]);
    await offline.stop();

    const puts: { url: string; type: string | null; auth: string | null }[] = [];
    const online = startSessionAttachments({
      db,
      serverUrl: 'http://server/',
      auth,
      online: true,
      fetch: async (url, init) => {
        const headers = new Headers(init?.headers);
        puts.push({ url, type: headers.get('content-type'), auth: headers.get('authorization') });
        return new Response(JSON.stringify({ sha256: ref.sha256 }), { status: 201 });
      },
    });
    await online.beforePush('expenses', [{ attachments: [ref] }]);
    expect(puts[0]).toEqual({
      url: `http://server/api/attachments/${ref.sha256}`,
      type: 'image/jpeg',
      auth: 'Bearer token',
    });
    expect(await online.uploader!.pending()).toEqual([]);
    await online.stop();
  });
});
