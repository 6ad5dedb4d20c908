/**
 * Attachment routes on PGlite and, when the test setup started one, PostgreSQL: the hash is checked,
 * size and type limits answer sentences, a repeat stores nothing, and reading follows the documents'
 * replication scope (or the uploader, before the document is pushed) with a 404 for everyone else.
 */
import { createHash, randomUUID } from 'node:crypto';
import { ATTACHMENT_LIMITS, type AttachmentRef } from '@emdad/domain/model/index';
import type { AuthSession } from '@emdad/domain';
import { EQUIPMENT_IDS, USER_IDS } from '@emdad/fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ATTACHMENT_COLLECTIONS } from '../attachments.ts';
import { createSyncServer, type SyncServer } from '../server.ts';
import { backends, bearer, login, manualClock, pushTo } from '../test-support.ts';

const sha = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const at = (minute: number) => new Date(Date.UTC(2026, 10, 23, 8, minute)).toISOString();

function receiptBytes(label: string): Buffer {
  // A tiny but real JPEG header followed by distinct bytes: every test file has its own hash.
  return Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.from(`${label}-${randomUUID()}`)]);
}

function refOf(bytes: Buffer, contentType: AttachmentRef['contentType'] = 'image/jpeg'): AttachmentRef {
  return { sha256: sha(bytes), name: 'receipt.jpg', contentType, size: bytes.byteLength, addedAt: at(1) };
}

function expense(submitterId: string, attachments: AttachmentRef[]) {
  return {
    id: `exp-${randomUUID()}`,
    missionId: null,
    submitterId,
    category: 'transport',
    amount: 1_500_000,
    currency: 'IRR',
    description: 'Taxi',
    hasReceipt: attachments.length > 0,
    status: 'draft',
    submittedAt: null,
    decidedBy: null,
    decidedAt: null,
    rejectionReason: null,
    createdAt: at(1),
    updatedAt: at(1),
    attachments,
    _deleted: false,
  };
}

describe.each(backends().map((b) => [b.name, b] as const))('attachments on %s', (_name, backend) => {
  const clock = manualClock();
  let server: SyncServer;
  const s = {} as Record<'tech1' | 'tech3' | 'super1' | 'super2' | 'admin1' | 'branch1', AuthSession>;

  beforeAll(async () => {
    server = await createSyncServer({
      database: await backend.freshDatabase('attachments'),
      seed: 'demo',
      now: clock.now,
      rendererDist: false,
      loginDelayCapMs: 0,
    });
    for (const name of Object.keys({ tech1: 0, tech3: 0, super1: 0, super2: 0, admin1: 0, branch1: 0 }))
      s[name as keyof typeof s] = await login(server.app, name);
  }, 60_000);
  afterAll(async () => {
    await server?.close();
  });

  const put = (session: AuthSession | null, hash: string, body: Buffer, contentType = 'image/jpeg') =>
    server.app.inject({
      method: 'PUT',
      url: `/api/attachments/${hash}`,
      headers: { ...(session ? bearer(session) : {}), 'content-type': contentType },
      payload: body,
    });
  const get = (session: AuthSession, hash: string) =>
    server.app.inject({ method: 'GET', url: `/api/attachments/${hash}`, headers: bearer(session) });
  const storedRows = async (hash: string) =>
    Number(
      (
        await server.db.query<{ n: unknown }>('SELECT count(*) AS n FROM attachments WHERE sha256 = $1', [
          hash,
        ])
      )[0]?.n,
    );

  it('knows which collections carry attachments (from the schemas)', () => {
    expect(ATTACHMENT_COLLECTIONS).toEqual(expect.arrayContaining(['expenses', 'diagnostics']));
    expect(ATTACHMENT_COLLECTIONS).not.toContain('merchants');
  });

  it('refuses bytes that do not match the hash in the address, and stores nothing', async () => {
    const bytes = receiptBytes('mismatch');
    const wrong = sha(Buffer.from('something else'));
    const res = await put(s.tech1, wrong, bytes);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('validation_failed');
    expect(res.json().error.message).toMatch(/do not match the SHA-256/);
    expect(await storedRows(wrong)).toBe(0);
    expect(await storedRows(sha(bytes))).toBe(0);
    // A malformed address is refused before anything else.
    expect((await put(s.tech1, 'ABC', bytes)).statusCode).toBe(400);
  });

  it('refuses a file above the size limit with a sentence, before reading it', async () => {
    const big = Buffer.alloc(ATTACHMENT_LIMITS.maxBytes + 1, 7);
    const res = await put(s.tech1, sha(big), big);
    expect(res.statusCode).toBe(413);
    expect(res.json().error.code).toBe('payload_too_large');
    expect(res.json().error.message).toMatch(/at most 5 MB/);
    expect(await storedRows(sha(big))).toBe(0);
    // Exactly the limit is accepted (the route's body limit is the attachment limit, not the 1 MB default).
    const max = Buffer.alloc(ATTACHMENT_LIMITS.maxBytes, 9);
    expect((await put(s.tech1, sha(max), max, 'application/pdf')).statusCode).toBe(201);
  });

  it('refuses a content type outside the allow-list with a sentence', async () => {
    const bytes = Buffer.from('MZ\x90\x00 pretend executable');
    const res = await put(s.tech1, sha(bytes), bytes, 'application/x-msdownload');
    expect(res.statusCode).toBe(415);
    expect(res.json().error.message).toMatch(/cannot be attached.*JPEG, PNG or WebP/);
    expect(await storedRows(sha(bytes))).toBe(0);
    // Parameters of an allowed type are fine.
    const log = Buffer.from('2026-11-23 08:00 ABECS OPN ok\n');
    expect((await put(s.tech1, sha(log), log, 'text/plain; charset=utf-8')).statusCode).toBe(201);
  });

  it('refuses an upload without a session before reading it', async () => {
    const bytes = receiptBytes('anonymous');
    const res = await put(null, sha(bytes), bytes);
    expect(res.statusCode).toBe(401);
    expect(await storedRows(sha(bytes))).toBe(0);
  });

  it('stores the same upload once: 201 the first time, 200 on a retry, one row; records every uploader', async () => {
    const bytes = receiptBytes('twice');
    const hash = sha(bytes);
    const first = await put(s.tech1, hash, bytes);
    expect(first.statusCode).toBe(201);
    expect(first.json()).toEqual({ sha256: hash, contentType: 'image/jpeg', size: bytes.byteLength });
    const retry = await put(s.tech1, hash, bytes);
    expect(retry.statusCode).toBe(200);
    expect(retry.json()).toEqual(first.json());
    // Someone else sending the same bytes: stored nothing more, but they are recorded too.
    expect((await put(s.tech3, hash, bytes)).statusCode).toBe(201);
    expect(await storedRows(hash)).toBe(1);
    const uploads = await server.db.query<{ user_id: string; install_id: string }>(
      'SELECT user_id, install_id FROM attachment_uploads WHERE sha256 = $1 ORDER BY user_id',
      [hash],
    );
    expect(uploads).toEqual([
      { user_id: USER_IDS.tech1, install_id: s.tech1.install.id },
      { user_id: USER_IDS.tech3, install_id: s.tech3.install.id },
    ]);
  });

  it('gives the bytes to the uploader before the document is pushed, and to no one else', async () => {
    const bytes = receiptBytes('early');
    const hash = sha(bytes);
    expect((await put(s.tech1, hash, bytes)).statusCode).toBe(201);
    const mine = await get(s.tech1, hash);
    expect(mine.statusCode).toBe(200);
    expect(mine.headers['content-type']).toBe('image/jpeg');
    expect(Buffer.from(mine.rawPayload).equals(bytes)).toBe(true);
    for (const other of [s.tech3, s.super1, s.super2, s.branch1]) {
      const res = await get(other, hash);
      expect(res.statusCode).toBe(404);
      expect(res.json().error.code).toBe('not_found');
    }
  });

  it('follows the expense into its readers’ scope: another region’s technician and supervisor get 404', async () => {
    const bytes = receiptBytes('scoped');
    const hash = sha(bytes);
    expect((await put(s.tech1, hash, bytes)).statusCode).toBe(201);
    const doc = expense(USER_IDS.tech1, [refOf(bytes)]);
    const pushed = await pushTo(server.app, s.tech1, 'expenses', [
      { newDocumentState: doc, assumedMasterState: null },
    ]);
    expect(pushed.body.refused).toEqual([]);
    // tech1's supervisor and the admin read the expense, so they read its receipt.
    for (const reader of [s.super1, s.admin1]) {
      const res = await get(reader, hash);
      expect(res.statusCode).toBe(200);
      expect(Buffer.from(res.rawPayload).equals(bytes)).toBe(true);
    }
    // Isfahan's technician and supervisor do not: the same 404 as for a hash nobody has.
    const unknown = sha(Buffer.from(randomUUID()));
    for (const outsider of [s.tech3, s.super2, s.branch1]) {
      const res = await get(outsider, hash);
      expect(res.statusCode).toBe(404);
      expect(res.json().error.code).toBe((await get(outsider, unknown)).json().error.code);
    }
    // A deleted expense grants nothing any more (the uploader still reads their own bytes).
    await pushTo(server.app, s.tech1, 'expenses', [
      {
        newDocumentState: { ...doc, updatedAt: at(2), _deleted: true },
        assumedMasterState: (
          await server.db.query<{ doc: Record<string, unknown>; server_updated_at: unknown }>(
            "SELECT doc, server_updated_at FROM documents WHERE collection = 'expenses' AND id = $1",
            [doc.id],
          )
        ).map((r) => ({ ...r.doc, serverUpdatedAt: Number(r.server_updated_at), _deleted: false }))[0],
      },
    ]);
    expect((await get(s.super1, hash)).statusCode).toBe(404);
    expect((await get(s.tech1, hash)).statusCode).toBe(200);
  });

  it('accepts a document before its attachment is uploaded; readers get the bytes once they arrive', async () => {
    const bytes = Buffer.from(`ABECS raw log ${randomUUID()}\n02 4f 50 4e 03`);
    const ref = { ...refOf(bytes, 'text/plain'), name: 'abecs.log' };
    const diagnostic = {
      id: `dia-${randomUUID()}`,
      caseId: null,
      equipmentId: EQUIPMENT_IDS.paxS90,
      technicianId: USER_IDS.tech1,
      device: { kind: 'pos', model: 'PAX S90', serial: '0824100267' },
      startedAt: at(3),
      finishedAt: at(4),
      outcome: 'failed',
      steps: [],
      rawFrames: [],
      createdAt: at(3),
      updatedAt: at(4),
      attachments: [ref],
      _deleted: false,
    };
    const pushed = await pushTo(server.app, s.tech1, 'diagnostics', [
      { newDocumentState: diagnostic, assumedMasterState: null },
    ]);
    expect(pushed.body.refused).toEqual([]);
    const early = await get(s.super1, ref.sha256);
    expect(early.statusCode).toBe(404);
    expect(early.json().error.message).toMatch(/not been uploaded yet/);
    // An outsider's 404 says nothing about the pending upload.
    expect((await get(s.super2, ref.sha256)).json().error.message).not.toMatch(/uploaded/);
    expect((await put(s.tech1, ref.sha256, bytes, 'text/plain')).statusCode).toBe(201);
    const later = await get(s.super1, ref.sha256);
    expect(later.statusCode).toBe(200);
    expect(later.headers['content-type']).toBe('text/plain');
    expect(later.body).toBe(bytes.toString());
  });

  it('keeps every other route on JSON and its own body limit', async () => {
    const res = await server.app.inject({
      method: 'POST',
      url: '/api/replication/expenses/push',
      headers: { ...bearer(s.tech1), 'content-type': 'image/jpeg' },
      payload: Buffer.from([0xff, 0xd8]),
    });
    expect(res.statusCode).toBe(415);
  });
});
