/**
 * kb_articles: knowledge articles (how-to, FAQ, known error). One document is one *version* of an
 * article; the versions of an article share `articleId` (the id of its first version).
 *
 * Written by clients through replication (a technician drafts offline) under the server's rules
 * (sync-server/src/replication/knowledge-rules.ts): the author writes a draft and submits it;
 * someone else who may review (supervisor or admin) approves it or sends it back with a note; a
 * supervisor or admin publishes and retires. A published version is never edited: the next version is
 * a new document (`newArticleVersionDoc`) that goes through review again, and publishing it retires the
 * version it supersedes.
 *
 * v1 (from v0): `articleId`, `supersedes`, `authorId`, `templateIds`, the reviewer's note and the
 * server-owned record of who reviewed, published and retired the version, and when.
 */
import {
  ARTICLE_STATUSES,
  ARTICLE_TYPES,
  type ArticleStatus,
  type ArticleType,
} from '../workflow/knowledge.ts';
import {
  BASE_SERVER_OWNED,
  idField,
  isoDate,
  localized,
  nullableId,
  nullableIsoDate,
  nullableText,
  enumOf,
  text,
  serverUpdatedAtField,
  type BaseDoc,
  type MigrationStrategy,
} from './common.ts';

/** Author of versions stored before authorship was recorded (v0): nobody can act as their author. */
export const KB_UNKNOWN_AUTHOR = 'system';

export interface KbArticleDoc extends BaseDoc {
  type: ArticleType;
  status: ArticleStatus;
  /** 1 for the first version; the version it supersedes + 1 afterwards. */
  version: number;
  title: { fa: string; en: string };
  body: { fa: string; en: string };
  tags: string[];
  deviceModels: string[];
  /** v1: case templates the article answers (suggested on cases of these templates). */
  templateIds: string[];
  /** v1: the article every version belongs to: the id of its first version. */
  articleId: string;
  /** v1: the published version this one replaces (null for a first version). */
  supersedes: string | null;
  /** v1: who wrote this version; only they edit its draft and submit it. Never changes. */
  authorId: string;
  /** v1: the reviewer's note when sending the version back (what to change), or with an approval. */
  reviewNote: string | null;
  /*
   * Server-owned, optional: a device pushes a new version without them (it sends server-owned fields
   * only as the server last sent them), and the server's copy brings them.
   */
  /** v1: who last decided the review (approved or sent back), and when. */
  reviewerId?: string | null;
  reviewedAt?: string | null;
  /** Server-owned since v1 (required in v0): who published this version, and when. */
  publishedBy?: string | null;
  publishedAt?: string | null;
  /** v1: when this version was retired (by a publisher, or by its successor's publication). */
  retiredAt?: string | null;
}

export const KB_ARTICLE_CONTENT_FIELDS = [
  'type',
  'title',
  'body',
  'tags',
  'deviceModels',
  'templateIds',
] as const;

export const kbArticleJsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    id: idField,
    type: enumOf(ARTICLE_TYPES, 16),
    status: enumOf(ARTICLE_STATUSES, 16),
    version: { type: 'integer', minimum: 1, maximum: 100_000 },
    title: localized(300),
    body: localized(50_000),
    tags: { type: 'array', maxItems: 30, items: text(60, 1) },
    deviceModels: { type: 'array', maxItems: 50, items: text(120, 1) },
    templateIds: { type: 'array', maxItems: 30, items: idField },
    articleId: idField,
    supersedes: nullableId,
    authorId: idField,
    reviewNote: nullableText(2000),
    reviewerId: nullableId,
    reviewedAt: nullableIsoDate,
    publishedBy: nullableId,
    publishedAt: nullableIsoDate,
    retiredAt: nullableIsoDate,
    updatedAt: isoDate,
    serverUpdatedAt: serverUpdatedAtField,
  },
  required: [
    'id',
    'type',
    'status',
    'version',
    'title',
    'body',
    'tags',
    'deviceModels',
    'templateIds',
    'articleId',
    'supersedes',
    'authorId',
    'reviewNote',
    'updatedAt',
  ],
} as const;

export const kbArticleRxSchema = {
  title: 'kb_articles',
  version: 1,
  primaryKey: 'id',
  ...kbArticleJsonSchema,
  indexes: ['updatedAt'],
} as const;

export const KB_ARTICLE_SERVER_OWNED_FIELDS = [
  ...BASE_SERVER_OWNED,
  'reviewerId',
  'reviewedAt',
  'publishedBy',
  'publishedAt',
  'retiredAt',
] as const;

/**
 * v0 → v1: each v0 document was a version of its own article (`articleId` = its id), of an unknown
 * author. The server's migration 10 does the same to its stored copies (without re-stamping them).
 */
export function migrateKbArticleV0ToV1(old: Record<string, unknown>): Record<string, unknown> {
  return {
    ...old,
    templateIds: [],
    articleId: old.id,
    supersedes: null,
    authorId: KB_UNKNOWN_AUTHOR,
    reviewNote: null,
    reviewerId: null,
    reviewedAt: null,
    publishedBy: null,
    publishedAt: old.publishedAt ?? null,
    retiredAt: null,
  };
}

/** RxDB migration strategies, keyed by the version they produce. */
export const kbArticleMigrationStrategies: Record<number, MigrationStrategy> = { 1: migrateKbArticleV0ToV1 };

/**
 * The draft of the next version of a published article, written by `authorId`: the same content to
 * edit, the same article, the next number. What a client creates when someone edits a published
 * article (the server checks the same: supersedes a published version, number + 1).
 */
export function newArticleVersionDoc(
  published: KbArticleDoc,
  next: { id: string; authorId: string; at: string },
): KbArticleDoc {
  return {
    id: next.id,
    type: published.type,
    status: 'draft',
    version: published.version + 1,
    title: { ...published.title },
    body: { ...published.body },
    tags: [...published.tags],
    deviceModels: [...published.deviceModels],
    templateIds: [...published.templateIds],
    articleId: published.articleId,
    supersedes: published.id,
    authorId: next.authorId,
    reviewNote: null,
    reviewerId: null,
    reviewedAt: null,
    publishedBy: null,
    publishedAt: null,
    retiredAt: null,
    updatedAt: next.at,
  };
}
