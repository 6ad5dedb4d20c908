/**
 * notifications: messages for one user (assignment, SLA warning and breach, expense decision). The
 * server writes them; the recipient may only mark one read (`readAt`). A notification is written when
 * it is delivered: the SLA engine holds one raised outside the recipient's working hours until their
 * next working window (sync-server/src/engine), so clients show every notification they receive.
 */
import {
  BASE_SERVER_OWNED,
  idField,
  isoDate,
  localized,
  nullableIsoDate,
  nullableText,
  enumOf,
  serverUpdatedAtField,
  type BaseDoc,
  type MigrationStrategy,
} from './common.ts';

export const NOTIFICATION_KINDS = [
  'assignment',
  'sla_warning',
  // v1
  'sla_breach',
  'expense_decision',
  'mission',
  'system',
] as const;

export interface NotificationDoc extends BaseDoc {
  userId: string;
  kind: (typeof NOTIFICATION_KINDS)[number];
  title: { fa: string; en: string };
  body: { fa: string; en: string };
  link: string | null;
  createdAt: string;
  readAt: string | null;
}

export const notificationJsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    id: idField,
    userId: idField,
    kind: enumOf(NOTIFICATION_KINDS, 20),
    title: localized(200),
    body: localized(2000),
    link: nullableText(500),
    createdAt: isoDate,
    readAt: nullableIsoDate,
    updatedAt: isoDate,
    serverUpdatedAt: serverUpdatedAtField,
  },
  required: ['id', 'userId', 'kind', 'title', 'body', 'link', 'createdAt', 'readAt', 'updatedAt'],
} as const;

export const notificationRxSchema = {
  title: 'notifications',
  version: 1,
  primaryKey: 'id',
  ...notificationJsonSchema,
  indexes: ['createdAt'],
} as const;

export const NOTIFICATION_SERVER_OWNED_FIELDS = BASE_SERVER_OWNED;
/** The only field a recipient may change. */
export const NOTIFICATION_CLIENT_FIELDS = ['readAt', 'updatedAt'] as const;
/** v1 only adds the kind `sla_breach`: stored v0 documents are unchanged. */
export const notificationMigrationStrategies: Record<number, MigrationStrategy> = { 1: (doc) => doc };
