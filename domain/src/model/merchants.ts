/** merchants: the customer profile (name, branch, region, phone, tier) plus custom fields. */
import {
  BASE_SERVER_OWNED,
  idField,
  isoDate,
  localized,
  nullableText,
  enumOf,
  text,
  serverUpdatedAtField,
  type BaseDoc,
  type MigrationStrategy,
} from './common.ts';

export const MERCHANT_TIERS = ['standard', 'gold', 'platinum'] as const;

export interface MerchantDoc extends BaseDoc {
  name: { fa: string; en: string };
  branchId: string;
  regionId: string;
  phone: string;
  tier: (typeof MERCHANT_TIERS)[number];
  address: string | null;
  /** Custom profile fields (key → text) defined by the bank; at most 50. */
  customFields: Record<string, string>;
}

export const merchantJsonSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    id: idField,
    name: localized(200),
    branchId: idField,
    regionId: idField,
    phone: { type: 'string', pattern: '^\\+?[0-9]{7,15}$', maxLength: 16 },
    tier: enumOf(MERCHANT_TIERS, 10),
    address: nullableText(500),
    customFields: {
      type: 'object',
      maxProperties: 50,
      propertyNames: { pattern: '^[a-z][a-z0-9_]{0,39}$' },
      additionalProperties: text(500),
    },
    updatedAt: isoDate,
    serverUpdatedAt: serverUpdatedAtField,
  },
  required: ['id', 'name', 'branchId', 'regionId', 'phone', 'tier', 'address', 'customFields', 'updatedAt'],
} as const;

export const merchantRxSchema = {
  title: 'merchants',
  version: 0,
  primaryKey: 'id',
  ...merchantJsonSchema,
  indexes: ['branchId'],
} as const;

export const MERCHANT_SERVER_OWNED_FIELDS = BASE_SERVER_OWNED;
export const merchantMigrationStrategies: Record<number, MigrationStrategy> = {};
