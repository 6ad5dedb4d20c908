/**
 * expenses: a technician's costs on a mission, moved through the expense state machine
 * (workflow/expense.ts): the submitter submits, the submitter's supervisor decides.
 * `decidedBy`, `decidedAt` and `rejectionReason` are approval fields.
 *
 * Version history (RxDB migration strategies below, and the server's stored documents follow):
 * - v0: amount in rials, no currency, `receipt` boolean.
 * - v1: `currency` (always 'IRR' for now) and `hasReceipt` (renamed from `receipt`).
 * - v2: `attachments` — photos of the receipt as AttachmentRefs (model/attachments.ts); the bytes
 *   stay on the device as RxDB attachments and travel through /api/attachments. Optional in the
 *   schema (absent = none) so that v1 clients still in the field keep syncing; v2 writes `[]`.
 */
import { EXPENSE_STATUSES, type ExpenseStatus } from '../workflow/expense.ts';
import { attachmentRefsField, type AttachmentRef } from './attachments.ts';
import {
  BASE_SERVER_OWNED,
  idField,
  isoDate,
  nullableId,
  nullableIsoDate,
  nullableText,
  text,
  enumOf,
  serverUpdatedAtField,
  type BaseDoc,
  type MigrationStrategy,
} from './common.ts';

export interface ExpenseDoc extends BaseDoc {
  missionId: string | null;
  submitterId: string;
  category: string;
  /** Whole Iranian rials. */
  amount: number;
  currency: 'IRR';
  description: string;
  hasReceipt: boolean;
  status: ExpenseStatus;
  submittedAt: string | null;
  decidedBy: string | null;
  decidedAt: string | null;
  rejectionReason: string | null;
  createdAt: string;
  /** Receipt photos (absent on documents written by v1 clients: no attachments). */
  attachments?: AttachmentRef[];
}

export const expenseJsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    id: idField,
    missionId: nullableId,
    submitterId: idField,
    category: text(40, 1),
    amount: { type: 'integer', minimum: 0, maximum: 1e13 },
    currency: enumOf(['IRR'] as const, 3),
    description: text(1000),
    hasReceipt: { type: 'boolean' },
    status: enumOf(EXPENSE_STATUSES, 16),
    submittedAt: nullableIsoDate,
    decidedBy: nullableId,
    decidedAt: nullableIsoDate,
    rejectionReason: nullableText(1000),
    createdAt: isoDate,
    updatedAt: isoDate,
    serverUpdatedAt: serverUpdatedAtField,
    attachments: attachmentRefsField,
  },
  required: [
    'id',
    'missionId',
    'submitterId',
    'category',
    'amount',
    'currency',
    'description',
    'hasReceipt',
    'status',
    'submittedAt',
    'decidedBy',
    'decidedAt',
    'rejectionReason',
    'createdAt',
    'updatedAt',
  ],
} as const;

export const expenseRxSchema = {
  title: 'expenses',
  version: 2,
  primaryKey: 'id',
  ...expenseJsonSchema,
  indexes: ['createdAt'],
} as const;

export const EXPENSE_SERVER_OWNED_FIELDS = BASE_SERVER_OWNED;
export const EXPENSE_APPROVAL_FIELDS = ['decidedBy', 'decidedAt', 'rejectionReason'] as const;

/** RxDB migration strategies, keyed by the version they produce. */
export const expenseMigrationStrategies: Record<number, MigrationStrategy> = {
  1: (old) => {
    const { receipt, ...rest } = old;
    return { ...rest, currency: 'IRR', hasReceipt: receipt === true };
  },
  2: (old) => ({ ...old, attachments: Array.isArray(old.attachments) ? old.attachments : [] }),
};
