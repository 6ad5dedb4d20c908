/** kb_articles v0 → v1 (RxDB migration, from v0), the next-version draft and the multi-step review path. */
import { describe, expect, it } from 'vitest';
import { validateCollectionDocument } from '../validate.ts';
import { transitionArticlePath, type ArticleContext } from '../workflow/knowledge.ts';
import {
  COLLECTIONS,
  KB_UNKNOWN_AUTHOR,
  migrateDocument,
  newArticleVersionDoc,
  type KbArticleDoc,
} from './index.ts';

const v0 = {
  id: 'kb-pos-paper-jam',
  type: 'how_to',
  status: 'published',
  version: 1,
  title: { fa: 'رفع گیر کردن کاغذ', en: 'Clearing a paper jam' },
  body: { fa: 'درب چاپگر را باز کنید.', en: 'Open the printer cover.' },
  tags: ['printer'],
  deviceModels: ['PAX S90'],
  publishedAt: '2026-10-01T08:00:00.000Z',
  updatedAt: '2026-10-01T08:00:00.000Z',
  serverUpdatedAt: 12,
};

describe('kb_articles migrations (v0 → v1)', () => {
  it('the schema is v1 and v0 documents are not valid v1 documents', () => {
    expect(COLLECTIONS.kb_articles.schema.version).toBe(1);
    expect(validateCollectionDocument('kb_articles', v0).ok).toBe(false);
  });

  it('makes each v0 document the first version of its own article, of an unknown author, valid against v1', () => {
    const v1 = migrateDocument(COLLECTIONS.kb_articles.migrationStrategies, v0, 0, 1);
    expect(v1).toEqual({
      ...v0,
      templateIds: [],
      articleId: v0.id,
      supersedes: null,
      authorId: KB_UNKNOWN_AUTHOR,
      reviewNote: null,
      reviewerId: null,
      reviewedAt: null,
      publishedBy: null,
      retiredAt: null,
    });
    expect(validateCollectionDocument('kb_articles', v1)).toEqual({ ok: true });
  });

  it('keeps a v0 draft a draft without a publication time', () => {
    const draft = { ...v0, id: 'kb-draft', status: 'draft', publishedAt: null };
    const v1 = migrateDocument(COLLECTIONS.kb_articles.migrationStrategies, draft, 0, 1);
    expect(v1).toMatchObject({ status: 'draft', publishedAt: null, articleId: 'kb-draft' });
    expect(validateCollectionDocument('kb_articles', v1)).toEqual({ ok: true });
  });

  it('server-owned: who reviewed, published and retired, and when', () => {
    expect(COLLECTIONS.kb_articles.serverOwnedFields).toEqual([
      'serverUpdatedAt',
      'reviewerId',
      'reviewedAt',
      'publishedBy',
      'publishedAt',
      'retiredAt',
    ]);
    expect(COLLECTIONS.kb_articles.clientWritable).toBe(true);
  });
});

describe('newArticleVersionDoc', () => {
  it('copies the content into a draft of the next number of the same article, by the new author', () => {
    const published = migrateDocument(
      COLLECTIONS.kb_articles.migrationStrategies,
      v0,
      0,
      1,
    ) as unknown as KbArticleDoc;
    const next = newArticleVersionDoc(
      { ...published, reviewerId: 'u-sup', publishedBy: 'u-sup', reviewNote: 'fine' },
      { id: 'kb-v2', authorId: 'u-tech', at: '2026-11-23T08:00:00.000Z' },
    );
    expect(next).toMatchObject({
      id: 'kb-v2',
      status: 'draft',
      version: 2,
      articleId: v0.id,
      supersedes: v0.id,
      authorId: 'u-tech',
      title: v0.title,
      reviewNote: null,
      reviewerId: null,
      publishedBy: null,
      publishedAt: null,
      retiredAt: null,
    });
    expect(validateCollectionDocument('kb_articles', next)).toEqual({ ok: true });
    // As a device pushes it: server-owned fields left out.
    const {
      reviewerId: _r,
      reviewedAt: _ra,
      publishedBy: _p,
      publishedAt: _pa,
      retiredAt: _t,
      ...pushed
    } = next;
    expect(validateCollectionDocument('kb_articles', pushed)).toEqual({ ok: true });
  });
});

describe('transitionArticlePath (several steps pushed at once)', () => {
  const author: ArticleContext = {
    actorId: 'tech1',
    authorId: 'tech1',
    actorCanReview: false,
    actorCanPublish: false,
    title: 'Paper jam',
    body: 'Open the cover.',
  };
  const reviewer: ArticleContext = {
    ...author,
    actorId: 'super1',
    actorCanReview: true,
    actorCanPublish: true,
  };

  it('a reviewer approves and publishes in one push; the author submits', () => {
    expect(transitionArticlePath('in_review', 'published', reviewer)).toMatchObject({ ok: true });
    expect(transitionArticlePath('draft', 'in_review', author)).toMatchObject({ ok: true });
  });

  it('every step is checked: nobody goes from draft to published alone', () => {
    expect(
      transitionArticlePath('draft', 'published', { ...author, actorCanReview: true, actorCanPublish: true }),
    ).toMatchObject({
      ok: false,
      reason: 'reviewer_is_author',
    });
    expect(transitionArticlePath('draft', 'approved', reviewer)).toMatchObject({
      ok: false,
      reason: 'not_author',
    });
    expect(
      transitionArticlePath('in_review', 'published', { ...reviewer, actorCanPublish: false }),
    ).toMatchObject({
      ok: false,
      reason: 'not_publisher',
    });
  });

  it('backward moves and retiring stay single steps of the machine', () => {
    expect(transitionArticlePath('published', 'draft', reviewer)).toMatchObject({
      ok: false,
      reason: 'not_allowed',
    });
    expect(transitionArticlePath('published', 'retired', author)).toMatchObject({
      ok: false,
      reason: 'not_publisher',
    });
    expect(transitionArticlePath('published', 'retired', reviewer)).toMatchObject({ ok: true });
    expect(transitionArticlePath('retired', 'published', reviewer)).toMatchObject({
      ok: false,
      reason: 'not_allowed',
    });
  });
});
