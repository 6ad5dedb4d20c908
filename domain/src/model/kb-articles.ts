/** kb_articles: knowledge articles. Read-only on clients: authoring happens on the server side. */
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
  nullableIsoDate,
  enumOf,
  text,
  serverUpdatedAtField,
  type BaseDoc,
  type MigrationStrategy,
} from './common.ts';

export interface KbArticleDoc extends BaseDoc {
  type: ArticleType;
  status: ArticleStatus;
  version: number;
  title: { fa: string; en: string };
  body: { fa: string; en: string };
  tags: string[];
  deviceModels: string[];
  publishedAt: string | null;
}

export const kbArticleJsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    id: idField,
    type: enumOf(ARTICLE_TYPES, 16),
    status: enumOf(ARTICLE_STATUSES, 16),
    version: { type: 'integer', minimum: 1 },
    title: localized(300),
    body: localized(50_000),
    tags: { type: 'array', maxItems: 30, items: text(60, 1) },
    deviceModels: { type: 'array', maxItems: 50, items: text(120, 1) },
    publishedAt: nullableIsoDate,
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
    'publishedAt',
    'updatedAt',
  ],
} as const;

export const kbArticleRxSchema = {
  title: 'kb_articles',
  version: 0,
  primaryKey: 'id',
  ...kbArticleJsonSchema,
  indexes: ['updatedAt'],
} as const;

export const KB_ARTICLE_SERVER_OWNED_FIELDS = BASE_SERVER_OWNED;
export const kbArticleMigrationStrategies: Record<number, MigrationStrategy> = {};
