/**
 * equipment: POS, PinPad, ATM and IPG terminals. Status changes go through the equipment state
 * machine (workflow/equipment.ts). `regionId` and `branchId` are copied from the merchant by the
 * server (server-owned) so scope is a column test, never a join the client could influence.
 */
import { EQUIPMENT_STATUSES, type EquipmentStatus } from '../workflow/equipment.ts';
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
}

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
  version: 0,
  primaryKey: 'id',
  ...equipmentJsonSchema,
  indexes: ['serial'],
} as const;

export const EQUIPMENT_SERVER_OWNED_FIELDS = [...BASE_SERVER_OWNED, 'regionId', 'branchId'] as const;
export const equipmentMigrationStrategies: Record<number, MigrationStrategy> = {};
