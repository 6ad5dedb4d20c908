/**
 * The knowledge workflow through replication (issue 5, part 5) on PGlite and, when the test setup
 * started one, PostgreSQL, with an injected clock: a technician drafts, submits; a reviewer who is not
 * the author sends back with a note or approves; a supervisor publishes; a new version goes through
 * review again and its publication retires the old one (tombstone for readers who lose it); who reads
 * drafts; refusals with sentences, audited; fixture articles; "solved by" ranking across versions.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AuthSession } from '@emdad/domain';
import type { TopArticle } from '@emdad/domain/field-api';
import { newArticleVersionDoc, type KbArticleDoc } from '@emdad/domain/model/index';
import { validateCollectionDocument } from '@emdad/domain/validate';
import { TEMPLATE_IDS, USER_IDS, kbArticles } from '@emdad/fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseOptions } from '../db/index.ts';
import { MIGRATIONS, runMigrations } from '../db/migrations.ts';
import { seedDemoData } from '../seed.ts';
import { createSyncServer, type SyncServer } from '../server.ts';
import {
  backends,
  bearer,
  login,
  manualClock,
  newCase,
  pullCollection,
  push,
  pushTo,
} from '../test-support.ts';

type Doc = Record<string, unknown> & { id: string; serverUpdatedAt?: number | null; _deleted?: boolean };
const USERS = ['tech1', 'tech2', 'tech3', 'branch1', 'super1', 'super2', 'admin1'] as const;
type Username = (typeof USERS)[number];
type Outcome = { code: string; sentence?: { fa: string; en: string } };

describe.each(backends().map((b) => [b.name, b] as const))('knowledge workflow on %s', (_name, backend) => {
  const clock = manualClock();
  let server: SyncServer;
  const s = {} as Record<Username, AuthSession>;
  const iso = () => new Date(clock.now()).toISOString();

  async function stored(id: string): Promise<Doc> {
    const rows = await server.db.query<{ doc: Doc; server_updated_at: unknown; deleted: boolean }>(
      "SELECT doc, server_updated_at, deleted FROM documents WHERE collection = 'kb_articles' AND id = $1",
      [id],
    );
    const row = rows[0];
    if (!row) throw new Error(`no stored article ${id}`);
    return { ...row.doc, serverUpdatedAt: Number(row.server_updated_at), _deleted: row.deleted };
  }

  function outcome(result: Awaited<ReturnType<typeof pushTo>>): Outcome {
    if (result.status !== 200) return { code: `http_${result.status}` };
    const refused = result.body.refused[0] as
      { code: string; sentence?: { fa: string; en: string } } | undefined;
    if (refused) return { code: refused.code, ...(refused.sentence ? { sentence: refused.sentence } : {}) };
    if (result.body.conflicts[0]) return { code: 'conflict' };
    return { code: 'accepted' };
  }

  /** Pushes the stored version with `changes` as `user` (the device had the latest version). */
  async function edit(user: Username, id: string, changes: Partial<Doc>, deleted = false): Promise<Outcome> {
    clock.advance(1000);
    const master = await stored(id);
    const next = { ...master, ...changes, updatedAt: iso(), _deleted: deleted };
    return outcome(
      await pushTo(server.app, s[user], 'kb_articles', [
        { newDocumentState: next, assumedMasterState: master },
      ]),
    );
  }

  async function create(user: Username, doc: Doc): Promise<Outcome> {
    clock.advance(1000);
    return outcome(
      await pushTo(server.app, s[user], 'kb_articles', [
        { newDocumentState: { ...doc, _deleted: false }, assumedMasterState: null },
      ]),
    );
  }

  /**
   * A first version written by `user`, as a device pushes it: without the server-owned fields (the
   * renderer sends those only as the server last sent them).
   */
  function draft(user: Username, overrides: Partial<Doc> = {}): Doc {
    const id = `kb-${randomUUID()}`;
    return {
      id,
      type: 'known_error',
      status: 'draft',
      version: 1,
      title: { fa: 'خطای E-KEY-07 در پین‌پد', en: 'Error E-KEY-07 on the PinPad' },
      body: { fa: 'کلیدها را دوباره بارگذاری کنید.', en: 'Load the keys again.' },
      tags: ['pinpad'],
      deviceModels: ['PAX D200 PinPad'],
      templateIds: [TEMPLATE_IDS.posNoPrint],
      articleId: id,
      supersedes: null,
      authorId: s[user].user.id,
      reviewNote: null,
      updatedAt: iso(),
      ...overrides,
    };
  }

  async function visible(user: Username): Promise<Map<string, Doc>> {
    const { documents } = await pullCollection(server.app, s[user], 'kb_articles');
    return new Map(documents.filter((d) => !d._deleted).map((d) => [d.id, d]));
  }

  async function refusalsAudited(docId: string): Promise<string[]> {
    const rows = await server.db.query<{ code: string }>(
      "SELECT code FROM audit_log WHERE collection = 'kb_articles' AND doc_id = $1 AND action = 'refused' ORDER BY id",
      [docId],
    );
    return rows.map((r) => r.code);
  }

  beforeAll(async () => {
    server = await createSyncServer({
      database: await backend.freshDatabase('knowledge'),
      seed: 'demo',
      now: clock.now,
      loginRateLimitPerMinute: 1000,
      rendererDist: false,
    });
    for (const user of USERS) s[user] = await login(server.app, user);
  });

  afterAll(async () => {
    await server?.close();
  });

  it('loads the fixture articles: published ones for everyone, the draft for its author and the reviewers', async () => {
    for (const article of kbArticles) {
      const doc = await stored(article.id);
      const { serverUpdatedAt: _s, _deleted, ...content } = doc;
      expect(validateCollectionDocument('kb_articles', content), article.id).toEqual({ ok: true });
    }
    const draftId = kbArticles.find((a) => a.status === 'draft')!.id;
    const publishedIds = kbArticles.filter((a) => a.status === 'published').map((a) => a.id);
    for (const user of USERS) {
      const seen = await visible(user);
      for (const id of publishedIds) expect(seen.has(id), `${user} ${id}`).toBe(true);
      const reads = user === 'tech1' || user === 'super1' || user === 'super2' || user === 'admin1';
      expect(seen.has(draftId), `${user} draft`).toBe(reads);
    }
  });

  it('draft → review (sent back, resubmitted) → approved → published; a new version reviewed again retires the old one', async () => {
    // tech1 drafts (offline, say); only tech1 and the reviewers receive it.
    const v1 = draft('tech1');
    expect(await create('tech1', v1)).toEqual({ code: 'accepted' });
    expect((await visible('tech2')).has(v1.id)).toBe(false);
    expect((await visible('branch1')).has(v1.id)).toBe(false);
    expect((await visible('super1')).has(v1.id)).toBe(true);
    expect((await visible('super2')).get(v1.id)).toMatchObject({ status: 'draft', authorId: USER_IDS.tech1 });

    // Only the author edits the draft and sends it for review.
    const notAuthor = await edit('super1', v1.id, { body: { fa: 'دیگر', en: 'Other text' } });
    expect(notAuthor.code).toBe('forbidden');
    expect(notAuthor.sentence?.fa).toMatch(/نویسنده/);
    expect((await edit('super1', v1.id, { status: 'in_review' })).code).toBe('forbidden');
    expect(
      (await edit('tech1', v1.id, { body: { fa: 'کلیدها را بارگذاری کنید.', en: 'Load the keys.' } })).code,
    ).toBe('accepted');
    expect(await edit('tech1', v1.id, { status: 'in_review' })).toEqual({ code: 'accepted' });
    expect((await edit('tech1', v1.id, { tags: ['changed'] })).code).toBe('forbidden');

    // Reviewer ≠ author; a send-back needs a note.
    const own = await edit('tech1', v1.id, { status: 'approved' });
    expect(own.code).toBe('forbidden');
    expect(own.sentence).toEqual({
      en: 'You wrote this article, so someone else must review it.',
      fa: 'این مقاله را خودتان نوشته‌اید؛ باید فرد دیگری آن را بازبینی کند.',
    });
    expect((await edit('tech2', v1.id, { status: 'approved' })).code).toBe('out_of_scope');
    expect((await edit('super1', v1.id, { status: 'draft' })).code).toBe('invalid_transition');
    const sentBackAt = clock.now() + 1000;
    expect(
      await edit('super1', v1.id, { status: 'draft', reviewNote: 'Name the firmware versions.' }),
    ).toEqual({
      code: 'accepted',
    });
    expect(await stored(v1.id)).toMatchObject({
      status: 'draft',
      reviewNote: 'Name the firmware versions.',
      reviewerId: USER_IDS.super1,
      reviewedAt: new Date(sentBackAt).toISOString(),
    });

    // The author edits and resubmits in one push (offline); the note is the reviewer's.
    expect((await edit('tech1', v1.id, { reviewNote: null })).code).toBe('forbidden');
    expect(
      await edit('tech1', v1.id, {
        status: 'in_review',
        body: { fa: 'در نسخهٔ ۳.۱۴ کلیدها را بارگذاری کنید.', en: 'On firmware 3.14, load the keys again.' },
      }),
    ).toEqual({ code: 'accepted' });
    expect(await edit('super1', v1.id, { status: 'approved' })).toEqual({ code: 'accepted' });

    // A technician cannot publish; a supervisor publishes an approved version.
    const techPublish = await edit('tech1', v1.id, { status: 'published' });
    expect(techPublish.code).toBe('forbidden');
    expect(techPublish.sentence?.en).toMatch(/cannot publish/);
    expect((await edit('super2', v1.id, { publishedAt: iso() })).code).toBe('server_owned_field');
    const publishedAt = clock.now() + 1000;
    expect(await edit('super2', v1.id, { status: 'published' })).toEqual({ code: 'accepted' });
    expect(await stored(v1.id)).toMatchObject({
      status: 'published',
      publishedBy: USER_IDS.super2,
      publishedAt: new Date(publishedAt).toISOString(),
      reviewerId: USER_IDS.super1,
    });
    const tech3Before = await pullCollection(server.app, s.tech3, 'kb_articles');
    expect(tech3Before.documents.find((d) => d.id === v1.id)).toMatchObject({ status: 'published' });

    // Editing the published article: a new version by tech2, reviewed again.
    expect((await edit('tech1', v1.id, { tags: ['edited in place'] })).code).toBe('forbidden');
    const published = (await stored(v1.id)) as unknown as KbArticleDoc;
    const v2 = newArticleVersionDoc(published, {
      id: `kb-${randomUUID()}`,
      authorId: USER_IDS.tech2,
      at: iso(),
    });
    expect((await create('tech2', { ...v2, version: 3 } as unknown as Doc)).code).toBe('validation_failed');
    expect(
      (
        await create('tech2', {
          ...v2,
          id: `kb-${randomUUID()}`,
          supersedes: kbArticles.find((a) => a.status === 'draft')!.id,
        } as unknown as Doc)
      ).code,
    ).toBe('validation_failed');
    expect((await create('tech2', { ...v2, authorId: USER_IDS.tech1 } as unknown as Doc)).code).toBe(
      'forbidden',
    );
    expect((await create('tech2', { ...v2, status: 'published' } as unknown as Doc)).code).toBe(
      'invalid_transition',
    );
    expect(
      await create('tech2', {
        ...v2,
        status: 'in_review',
        body: { fa: 'از نسخهٔ ۳.۱۵ به بعد نیازی نیست.', en: 'Not needed from firmware 3.15 on.' },
      } as unknown as Doc),
    ).toEqual({ code: 'accepted' });
    expect((await visible('tech1')).has(v2.id)).toBe(false);
    expect((await visible('super1')).get(v2.id)).toMatchObject({ status: 'in_review', version: 2 });

    // A reviewer approves and publishes in one push; the server retires version 1 right after.
    expect(await edit('super1', v2.id, { status: 'published' })).toEqual({ code: 'accepted' });
    const old = await stored(v1.id);
    expect(old).toMatchObject({ status: 'retired', retiredAt: expect.any(String) });
    expect(await stored(v2.id)).toMatchObject({
      status: 'published',
      reviewerId: USER_IDS.super1,
      publishedBy: USER_IDS.super1,
    });

    // tech3 (neither author nor reviewer) had v1: the next pull removes it and brings v2.
    const tech3After = await pullCollection(server.app, s.tech3, 'kb_articles', tech3Before.checkpoint);
    expect(tech3After.documents.find((d) => d.id === v1.id)).toEqual({
      id: v1.id,
      serverUpdatedAt: old.serverUpdatedAt,
      _deleted: true,
    });
    expect(tech3After.documents.find((d) => d.id === v2.id)).toMatchObject({ status: 'published' });
    // The author keeps their retired version; reviewers see every version.
    expect((await visible('tech1')).get(v1.id)).toMatchObject({ status: 'retired' });
    expect((await visible('admin1')).get(v1.id)).toMatchObject({ status: 'retired' });

    // Retired is final; refusals were audited with their codes.
    expect((await edit('super1', v1.id, { status: 'published' })).code).toBe('invalid_transition');
    expect(await refusalsAudited(v1.id)).toEqual(
      expect.arrayContaining(['forbidden', 'invalid_transition', 'out_of_scope', 'server_owned_field']),
    );
    expect(await refusalsAudited(v2.id)).toEqual(
      expect.arrayContaining(['validation_failed', 'forbidden', 'invalid_transition']),
    );

    // "Solved by" a version counts for the article: ranked under its current version.
    const kase = newCase(s.tech1);
    expect(
      (await push(server.app, s.tech1, [{ newDocumentState: kase, assumedMasterState: null }])).body.refused,
    ).toEqual([]);
    const link = {
      id: `evt-${randomUUID()}`,
      caseId: kase.id,
      kind: 'article_link',
      authorId: USER_IDS.tech1,
      at: iso(),
      body: null,
      fromStatus: null,
      toStatus: 'resolved',
      assigneeId: null,
      minutes: null,
      diagnosticId: null,
      articleId: v1.id,
      createdAt: iso(),
      updatedAt: iso(),
    };
    const linked = await pushTo(server.app, s.tech1, 'case_events', [
      { newDocumentState: { ...link, _deleted: false }, assumedMasterState: null },
    ]);
    expect(linked.body.refused).toEqual([]);
    const top = await server.app.inject({
      method: 'GET',
      url: `/api/knowledge/top?templateId=${TEMPLATE_IDS.posNoPrint}`,
      headers: bearer(s.tech2),
    });
    const ranked = top.json<{ articles: TopArticle[] }>().articles.find((a) => a.articleId === v1.id);
    expect(ranked).toMatchObject({ solved: 1, linked: 1, current: { id: v2.id, version: 2 } });
  });

  it('two new versions of one version: the first published wins, the other is told to start again', async () => {
    const v1 = draft('super1', { status: 'in_review' });
    expect(await create('super1', v1)).toEqual({ code: 'accepted' });
    expect(await edit('admin1', v1.id, { status: 'published' })).toEqual({ code: 'accepted' });
    const base = (await stored(v1.id)) as unknown as KbArticleDoc;
    const a = newArticleVersionDoc(base, { id: `kb-${randomUUID()}`, authorId: USER_IDS.tech1, at: iso() });
    const b = newArticleVersionDoc(base, { id: `kb-${randomUUID()}`, authorId: USER_IDS.tech3, at: iso() });
    expect(await create('tech1', { ...a, status: 'in_review' } as unknown as Doc)).toEqual({
      code: 'accepted',
    });
    expect(await create('tech3', { ...b, status: 'in_review' } as unknown as Doc)).toEqual({
      code: 'accepted',
    });
    expect(await edit('super2', a.id, { status: 'published' })).toEqual({ code: 'accepted' });
    const late = await edit('super2', b.id, { status: 'published' });
    expect(late.code).toBe('invalid_transition');
    expect(late.sentence?.en).toMatch(/Version 2 of this article is already published/);
    expect(late.sentence?.fa).toMatch(/نسخهٔ تازه/);
    expect((await stored(v1.id)).status).toBe('retired');
    // Its author can still rework it as a new version of the published one.
    const published = (await stored(a.id)) as unknown as KbArticleDoc;
    const again = newArticleVersionDoc(published, {
      id: `kb-${randomUUID()}`,
      authorId: USER_IDS.tech3,
      at: iso(),
    });
    expect(await create('tech3', { ...again, body: b.body } as unknown as Doc)).toEqual({ code: 'accepted' });
    expect((await stored(again.id)).version).toBe(3);
  });

  it('retiring and deleting: publishers retire; the author deletes their own draft, nothing else is deleted', async () => {
    const v1 = draft('tech2', { status: 'in_review' });
    expect(await create('tech2', v1)).toEqual({ code: 'accepted' });
    expect(await edit('super2', v1.id, { status: 'published' })).toEqual({ code: 'accepted' });
    expect((await edit('tech2', v1.id, { status: 'retired' })).code).toBe('forbidden');
    expect((await edit('admin1', v1.id, {}, true)).code).toBe('forbidden');
    const retiredAt = clock.now() + 1000;
    expect(await edit('super1', v1.id, { status: 'retired' })).toEqual({ code: 'accepted' });
    expect((await stored(v1.id)).retiredAt).toBe(new Date(retiredAt).toISOString());

    const scratch = draft('tech2');
    expect(await create('tech2', scratch)).toEqual({ code: 'accepted' });
    expect((await edit('super1', scratch.id, {}, true)).code).toBe('forbidden');
    expect(await edit('tech2', scratch.id, {}, true)).toEqual({ code: 'accepted' });
    expect((await stored(scratch.id))._deleted).toBe(true);
  });

  it('the demo seed runs again without undoing what users did to the fixture articles', async () => {
    const fixture = kbArticles.find((a) => a.status === 'published')!;
    expect(await edit('super1', fixture.id, { status: 'retired' })).toEqual({ code: 'accepted' });
    await seedDemoData(server.db);
    expect((await stored(fixture.id)).status).toBe('retired');
  });
});

const scratch = mkdtempSync(join(tmpdir(), 'emdad-kb-upgrade-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe.each(backends().map((b) => [b.name, b] as const))(
  'kb_articles stored before v1, on %s',
  (name, backend) => {
    it('migration 10 makes them v1 versions of their own articles; drafts of an unknown author reach reviewers only', async () => {
      const database: DatabaseOptions =
        name === 'pglite'
          ? { kind: 'pglite', dataDir: join(scratch, 'kb') }
          : await backend.freshDatabase('kb_upgrade');
      const V1_ONLY = [
        'templateIds',
        'articleId',
        'supersedes',
        'authorId',
        'reviewNote',
        'reviewerId',
        'reviewedAt',
        'publishedBy',
        'retiredAt',
      ];
      const v0 = (doc: KbArticleDoc) =>
        Object.fromEntries(Object.entries(doc).filter(([k]) => !V1_ONLY.includes(k)));
      const old = await openDatabase(database);
      try {
        await runMigrations(
          old,
          MIGRATIONS.filter((m) => m.version < 10),
        );
        for (const article of kbArticles)
          await old.query(
            `INSERT INTO documents (collection, id, doc, server_updated_at, deleted, published) VALUES ('kb_articles', $1, $2::jsonb, 5, FALSE, $3)`,
            [article.id, JSON.stringify(v0(article)), article.status === 'published'],
          );
        expect(await runMigrations(old)).toContain(10);
        const rows = await old.query<{ doc: Doc; owner_id: string; server_updated_at: unknown }>(
          "SELECT doc, owner_id, server_updated_at FROM documents WHERE collection = 'kb_articles' ORDER BY id",
        );
        expect(rows).toHaveLength(kbArticles.length);
        for (const row of rows) {
          expect(validateCollectionDocument('kb_articles', row.doc), row.doc.id).toEqual({ ok: true });
          expect(row.doc).toMatchObject({ articleId: row.doc.id, authorId: 'system', supersedes: null });
          expect(row.owner_id).toBe('system');
          expect(Number(row.server_updated_at)).toBe(5); // not re-stamped: clients migrate their copies
        }
      } finally {
        await old.close();
      }
      const server = await createSyncServer({
        database,
        seed: 'demo',
        rendererDist: false,
        loginRateLimitPerMinute: 1000,
      });
      try {
        const draftId = kbArticles.find((a) => a.status === 'draft')!.id;
        const tech1 = await pullCollection(server.app, await login(server.app, 'tech1'), 'kb_articles');
        expect(tech1.documents.map((d) => d.id)).not.toContain(draftId);
        const super1 = await pullCollection(server.app, await login(server.app, 'super1'), 'kb_articles');
        expect(super1.documents.find((d) => d.id === draftId)).toMatchObject({
          authorId: 'system',
          status: 'draft',
        });
      } finally {
        await server.close();
      }
    });
  },
);
