/**
 * equipment: POS, PinPad, ATM and IPG terminals. Status changes go through the equipment state
 * machine (workflow/equipment.ts). `regionId` and `branchId` are copied from the merchant by the
 * server (server-owned) so scope is a column test, never a join the client could influence.
 *
 * Version history (RxDB migration strategies below):
 * - v0: identity, status and the merchant.
 * - v1: `history` (server-owned): the device's life-cycle events — install, collect, swap out, swap
 *   in, repair, status changes — appended by the server when it accepts a status change (and on the
 *   other device of a swap). Diagnostics runs and cases are not copied here: the timeline merges
 *   them from their own collections (GET /api/equipment/:id/timeline, or `mergeTimelines` offline).
 */
import { EQUIPMENT_STATUSES, type EquipmentEventType, type EquipmentStatus } from '../workflow/equipment.ts';
import {
  BASE_SERVER_OWNED,
  idField,
  isoDate,
  nullableId,
  nullableText,
  enumOf,
  text,
  serverUpdatedAtField,
  type BaseDoc,
  type MigrationStrategy,
} from './common.ts';

export const EQUIPMENT_KINDS = ['pos', 'pinpad', 'atm', 'ipg'] as const;

export interface EquipmentDoc extends BaseDoc {
  merchantId: string | null;
  kind: (typeof EQUIPMENT_KINDS)[number];
  serial: string;
  model: string;
  vendor: string;
  terminalId: string | null;
  psp: string | null;
  status: EquipmentStatus;
  firmware: string | null;
  /** Why the device was retired or blacklisted; the replacement serial of a swap. */
  statusReason: string | null;
  replacementSerial: string | null;
  regionId?: string | null;
  branchId?: string | null;
  /** Server-owned, oldest first. Absent on documents the server has not written since v1. */
  history?: EquipmentHistoryEntry[];
}

/** One life-cycle event on a device's history (server-written; see workflow/equipment.ts). */
export interface EquipmentHistoryEntry {
  id: string;
  type: Exclude<EquipmentEventType, 'diagnostics' | 'case'>;
  /** When it happened: the device's edit time (`updatedAt`) of the change. */
  at: string;
  merchantId: string | null;
  fromStatus: EquipmentStatus | null;
  toStatus: EquipmentStatus;
  /** swap_out: the replacement's serial; swap_in: the replaced device's serial. */
  otherSerial: string | null;
  /** The user whose change this was (the server's own follow-up writes name the user who caused them). */
  byUserId: string | null;
  note: string | null;
}

export const EQUIPMENT_HISTORY_TYPES = [
  'install',
  'collect',
  'swap_out',
  'swap_in',
  'repair',
  'status',
] as const satisfies readonly EquipmentHistoryEntry['type'][];
export const EQUIPMENT_HISTORY_MAX = 500;

const nullableStatus = {
  type: ['string', 'null'],
  enum: [...EQUIPMENT_STATUSES, null],
  maxLength: 16,
} as const;

export const equipmentHistoryEntryField = {
  type: 'object',
  additionalProperties: false,
  properties: {
    id: idField,
    type: enumOf(EQUIPMENT_HISTORY_TYPES, 16),
    at: isoDate,
    merchantId: nullableId,
    fromStatus: nullableStatus,
    toStatus: enumOf(EQUIPMENT_STATUSES, 16),
    otherSerial: nullableText(64),
    byUserId: nullableId,
    note: nullableText(1000),
  },
  required: ['id', 'type', 'at', 'merchantId', 'fromStatus', 'toStatus', 'otherSerial', 'byUserId', 'note'],
} as const;

export const equipmentJsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    id: idField,
    merchantId: nullableId,
    kind: enumOf(EQUIPMENT_KINDS, 8),
    serial: text(64, 1),
    model: text(120, 1),
    vendor: text(120),
    terminalId: nullableText(32),
    psp: nullableText(64),
    status: enumOf(EQUIPMENT_STATUSES, 16),
    firmware: nullableText(120),
    statusReason: nullableText(1000),
    replacementSerial: nullableText(64),
    regionId: nullableId,
    branchId: nullableId,
    history: { type: 'array', maxItems: EQUIPMENT_HISTORY_MAX, items: equipmentHistoryEntryField },
    updatedAt: isoDate,
    serverUpdatedAt: serverUpdatedAtField,
  },
  required: [
    'id',
    'merchantId',
    'kind',
    'serial',
    'model',
    'vendor',
    'terminalId',
    'psp',
    'status',
    'firmware',
    'statusReason',
    'replacementSerial',
    'updatedAt',
  ],
} as const;

export const equipmentRxSchema = {
  title: 'equipment',
  version: 1,
  primaryKey: 'id',
  ...equipmentJsonSchema,
  indexes: ['serial'],
} as const;

export const EQUIPMENT_SERVER_OWNED_FIELDS = [
  ...BASE_SERVER_OWNED,
  'regionId',
  'branchId',
  'history',
] as const;

/** RxDB migration strategies, keyed by the version they produce. */
export const equipmentMigrationStrategies: Record<number, MigrationStrategy> = {
  // v1 only adds the server-owned `history`; a device must not invent it (the server refuses a push
  // that sets a server-owned field to anything but its own value), so the document stays as it was
  // and the next pull brings the server's history.
  1: (old) => ({ ...old }),
};
