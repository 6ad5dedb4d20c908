/**
 * Equipment life cycle and history. A device is in stock, installed at a merchant, in repair,
 * swapped out (replaced by another device), retired, or blacklisted (stolen, tampered with, or
 * its keys compromised: it must never be installed again).
 *
 *   in_stock    → installed | in_repair | retired | blacklisted
 *   installed   → in_repair | swapped_out | in_stock (collected) | blacklisted
 *   in_repair   → in_stock | installed (fixed on site) | retired | blacklisted
 *   swapped_out → in_repair | in_stock | retired | blacklisted
 *   blacklisted → retired;  retired is final.
 */
import { defineMachine, type MoveResult } from './machine.ts';

export const EQUIPMENT_STATUSES = [
  'in_stock',
  'installed',
  'in_repair',
  'swapped_out',
  'retired',
  'blacklisted',
] as const;
export type EquipmentStatus = (typeof EQUIPMENT_STATUSES)[number];

export type EquipmentRefusal = 'missing_merchant' | 'missing_replacement' | 'same_serial' | 'missing_reason';

export interface EquipmentContext {
  serial: string;
  /** Merchant the device is being installed at (for `installed`). */
  merchantId?: string | null;
  /** Serial of the device that replaces this one (for `swapped_out`). */
  replacementSerial?: string | null;
  /** Why the device is blacklisted or retired. */
  reason?: string | null;
}

export const equipmentMachine = defineMachine<EquipmentStatus, EquipmentContext, EquipmentRefusal>({
  name: 'equipment',
  states: EQUIPMENT_STATUSES,
  transitions: {
    in_stock: ['installed', 'in_repair', 'retired', 'blacklisted'],
    installed: ['in_repair', 'swapped_out', 'in_stock', 'blacklisted'],
    in_repair: ['in_stock', 'installed', 'retired', 'blacklisted'],
    swapped_out: ['in_repair', 'in_stock', 'retired', 'blacklisted'],
    retired: [],
    blacklisted: ['retired'],
  },
  guard(_from, to, c) {
    if (to === 'installed' && !c.merchantId?.trim()) return 'missing_merchant';
    if (to === 'swapped_out') {
      if (!c.replacementSerial?.trim()) return 'missing_replacement';
      if (c.replacementSerial.trim() === c.serial.trim()) return 'same_serial';
    }
    if ((to === 'blacklisted' || to === 'retired') && !c.reason?.trim()) return 'missing_reason';
    return null;
  },
  sentences: {
    missing_merchant: {
      en: 'Choose the merchant the device is installed at.',
      fa: 'پذیرنده‌ای را که دستگاه نزد او نصب می‌شود انتخاب کنید.',
    },
    missing_replacement: {
      en: 'Enter the serial number of the replacement device.',
      fa: 'شمارهٔ سریال دستگاه جایگزین را وارد کنید.',
    },
    same_serial: {
      en: 'The replacement must be a different device. Check the serial number.',
      fa: 'دستگاه جایگزین باید دستگاه دیگری باشد. شمارهٔ سریال را بررسی کنید.',
    },
    missing_reason: {
      en: 'Write why the device is taken out of service.',
      fa: 'دلیل خارج کردن دستگاه از خدمت را بنویسید.',
    },
  },
});

export function transitionEquipment(
  from: string,
  to: string,
  context: EquipmentContext,
): MoveResult<EquipmentStatus, EquipmentRefusal> {
  return equipmentMachine.transition(from, to, context);
}

export type EquipmentEventType =
  'install' | 'collect' | 'swap_out' | 'swap_in' | 'repair' | 'diagnostics' | 'case' | 'status';

export interface EquipmentEvent {
  id: string;
  equipmentId: string;
  merchantId: string | null;
  type: EquipmentEventType;
  at: string;
  /** swap_out: the replacement's serial; swap_in: the replaced device's serial. */
  otherSerial?: string;
  /** diagnostics: the run's verdict. */
  verdict?: 'pass' | 'fail' | 'warning';
  caseId?: string;
  note?: string;
}

export interface SwapDevice {
  id: string;
  serial: string;
  status: EquipmentStatus;
}

export type SwapPlan =
  | {
      ok: true;
      outgoing: { id: string; to: 'swapped_out' };
      incoming: { id: string; to: 'installed' };
      /** One event on each device's history, naming the other device. */
      events: [EquipmentEvent, EquipmentEvent];
    }
  | {
      ok: false;
      device: 'outgoing' | 'incoming';
      result: Extract<MoveResult<EquipmentStatus, EquipmentRefusal>, { ok: false }>;
    };

/**
 * A swap at a merchant: the installed device goes out, a device from stock (or back from repair)
 * goes in, and both histories record it. Ids for the two events are passed in (domain mints none).
 */
export function planSwap(options: {
  outgoing: SwapDevice;
  incoming: SwapDevice;
  merchantId: string;
  at: string;
  caseId?: string;
  eventIds: [string, string];
}): SwapPlan {
  const { outgoing, incoming, merchantId, at, caseId, eventIds } = options;
  const out = transitionEquipment(outgoing.status, 'swapped_out', {
    serial: outgoing.serial,
    replacementSerial: incoming.serial,
  });
  if (!out.ok) return { ok: false, device: 'outgoing', result: out };
  const inn = transitionEquipment(incoming.status, 'installed', { serial: incoming.serial, merchantId });
  if (!inn.ok) return { ok: false, device: 'incoming', result: inn };
  return {
    ok: true,
    outgoing: { id: outgoing.id, to: 'swapped_out' },
    incoming: { id: incoming.id, to: 'installed' },
    events: [
      {
        id: eventIds[0],
        equipmentId: outgoing.id,
        merchantId,
        type: 'swap_out',
        at,
        otherSerial: incoming.serial,
        ...(caseId ? { caseId } : {}),
      },
      {
        id: eventIds[1],
        equipmentId: incoming.id,
        merchantId,
        type: 'swap_in',
        at,
        otherSerial: outgoing.serial,
        ...(caseId ? { caseId } : {}),
      },
    ],
  };
}

/**
 * One timeline from several sources (equipment events, cases, activities): ordered by time, then
 * by id so that the order is stable everywhere; duplicates by id appear once.
 */
export function mergeTimelines<T extends { id: string; at: string }>(
  ...sources: readonly (readonly T[])[]
): T[] {
  const seen = new Map<string, T>();
  for (const list of sources) for (const item of list) if (!seen.has(item.id)) seen.set(item.id, item);
  return [...seen.values()].sort(
    (a, b) => Date.parse(a.at) - Date.parse(b.at) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
}
