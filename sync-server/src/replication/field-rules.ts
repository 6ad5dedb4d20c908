/**
 * Push rules and server-written fields of the field workflows (issue 5, parts 4–6): equipment life
 * cycle and history, missions (orders, report), expenses' receipts, knowledge articles. Called from
 * rules.ts (checks) and documents.ts (server fields, inside the push transaction), so what a device
 * pushes and what the server adds to it commit together.
 *
 * Follow-up writes to *other* documents (the other device of a swap, notifications, timeline entries
 * of a filed report, a merchant's devices following it to another region) happen right after the
 * push commits, in engine/field-workflows.ts.
 */
import { createHash } from 'node:crypto';
import type { CollectionName } from '@emdad/domain/model/index';
import {
  EQUIPMENT_HISTORY_MAX,
  MISSION_LIMITS,
  type EquipmentHistoryEntry,
  type MissionActivity,
  type MissionOrder,
} from '@emdad/domain/model/index';
import { jalaliOfGregorian } from '@emdad/domain/sla/jalali';
import { planSwap, type EquipmentStatus } from '@emdad/domain/workflow/equipment';
import type { LocalizedSentence } from '@emdad/domain/workflow/machine';
import { COLLECTIONS } from '@emdad/domain/model/index';
import type { Queryable } from '../db/index.ts';
import { knowledgeServerFields } from './knowledge-rules.ts';
import { Refusal, type WriteInput } from './rules.ts';

type Doc = Record<string, unknown>;

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);

/** A short, stable id derived from its parts (ids are at most 64 characters). */
export function derivedId(prefix: string, ...parts: string[]): string {
  return `${prefix}-${createHash('sha256').update(parts.join('\u0000')).digest('hex').slice(0, 32)}`;
}

function refuse(code: Refusal['code'], sentence: LocalizedSentence): never {
  throw new Refusal(code, sentence.en, sentence);
}

/** The equipment row with this serial (serials identify devices in the field). */
export async function equipmentBySerial(tx: Queryable, serial: string): Promise<Doc[]> {
  const rows = await tx.query<{ doc: Doc }>(
    "SELECT doc FROM documents WHERE collection = 'equipment' AND doc ->> 'serial' = $1 AND NOT deleted",
    [serial.trim()],
  );
  return rows.map((r) => r.doc);
}

/** Checks beyond rules.ts for the collections of the field workflows. */
export async function checkFieldWorkflowWrite(
  tx: Queryable,
  collection: Exclude<CollectionName, 'cases'>,
  input: WriteInput,
): Promise<void> {
  const { master, candidate } = input;
  if (collection === 'equipment') {
    // A swap names a registered device that can be installed at the same merchant: checked here, so
    // the device that pushes the swap hears at once when the replacement serial is wrong; the server
    // then installs the replacement right after this push commits (engine/field-workflows.ts).
    if (master && candidate.status === 'swapped_out' && master.status !== 'swapped_out') {
      const serial = str(candidate.replacementSerial)?.trim() ?? '';
      const merchantId = str(candidate.merchantId) ?? str(master.merchantId);
      if (!merchantId)
        refuse('validation_failed', {
          en: 'This device is not installed at a merchant, so it cannot be swapped. Record an install first.',
          fa: 'این دستگاه نزد پذیرنده‌ای نصب نیست و نمی‌توان آن را تعویض کرد. ابتدا نصب را ثبت کنید.',
        });
      const found = serial ? await equipmentBySerial(tx, serial) : [];
      if (serial && found.length !== 1)
        refuse('validation_failed', {
          en: `No single registered device has the serial ${serial}. Check the replacement's serial, or ask an administrator to register it.`,
          fa: `دستگاه ثبت‌شده‌ای با شمارهٔ سریال ${serial} یافت نشد. سریال دستگاه جایگزین را بررسی کنید یا از مدیر سامانه بخواهید آن را ثبت کند.`,
        });
      const incoming = found[0];
      if (incoming) {
        const plan = planSwap({
          outgoing: {
            id: String(master.id),
            serial: String(master.serial),
            status: master.status as EquipmentStatus,
          },
          incoming: {
            id: String(incoming.id),
            serial: String(incoming.serial),
            status: incoming.status as EquipmentStatus,
          },
          merchantId,
          at: String(candidate.updatedAt),
          eventIds: ['out', 'in'],
        });
        if (!plan.ok) {
          if (plan.device === 'incoming')
            refuse('invalid_transition', {
              en: `The replacement device ${serial} is ${String(incoming.status).replace('_', ' ')} and cannot be installed. Choose a device from stock.`,
              fa: `دستگاه جایگزین ${serial} در وضعیتی است که نمی‌توان آن را نصب کرد. دستگاهی از انبار انتخاب کنید.`,
            });
          refuse('invalid_transition', plan.result.message);
        }
      }
    }
    return;
  }
  if (collection === 'missions') {
    if (master?.status === 'completed')
      refuse('forbidden', {
        en: 'This mission is completed and can no longer be changed. Create a new mission for further work.',
        fa: 'این مأموریت تکمیل شده و دیگر قابل تغییر نیست. برای کار بیشتر مأموریت تازه‌ای ایجاد کنید.',
      });
    const caseIds = new Set((candidate.caseIds as string[] | undefined) ?? []);
    const activities = (candidate.reportActivities as MissionActivity[] | undefined) ?? [];
    const ids = new Set<string>();
    for (const activity of activities) {
      if (ids.has(activity.id))
        refuse('validation_failed', {
          en: 'Two service activities of this report have the same id. Save the report again.',
          fa: 'دو فعالیت این گزارش شناسهٔ یکسان دارند. گزارش را دوباره ذخیره کنید.',
        });
      ids.add(activity.id);
      if (activity.caseId !== null && !caseIds.has(activity.caseId))
        refuse('validation_failed', {
          en: 'A service activity names a case that is not part of this mission. Choose one of the mission’s cases.',
          fa: 'یکی از فعالیت‌ها به درخواستی اشاره دارد که جزو این مأموریت نیست. یکی از درخواست‌های مأموریت را انتخاب کنید.',
        });
    }
    const filing =
      master?.status === 'in_progress' &&
      (candidate.status === 'completed' || candidate.status === 'completed_needs_revisit');
    if (filing && activities.some((a) => a.caseId === null))
      refuse('validation_failed', {
        en: 'Each service activity of the report must name the case it was done for.',
        fa: 'برای هر فعالیت گزارش مشخص کنید برای کدام درخواست انجام شده است.',
      });
    // Activities of a filed report are on the cases' timelines already: they stay as filed.
    if (master && (master.status === 'completed_needs_revisit' || master.status === 'completed')) {
      const now = new Map(activities.map((a) => [a.id, a]));
      for (const filed of (master.reportActivities as MissionActivity[] | undefined) ?? [])
        if (!same(now.get(filed.id), filed))
          refuse('append_only', {
            en: 'Activities of a filed mission report cannot be changed or removed. Add a new activity instead.',
            fa: 'فعالیت‌های گزارش ثبت‌شده قابل تغییر یا حذف نیستند. به‌جای آن فعالیت تازه‌ای اضافه کنید.',
          });
    }
    return;
  }
}

/** Whether the expense carries a receipt: once the document lists attachments, a claimed receipt needs one. */
export function expenseHasReceipt(candidate: Doc): boolean {
  if (candidate.hasReceipt !== true) return false;
  if (!Array.isArray(candidate.attachments)) return true; // a v1 client: no attachments field yet
  return candidate.attachments.length > 0;
}

/** Jalali year of a server time, in Tehran (UTC+03:30, no daylight saving since 1401). */
function jalaliYear(ms: number): string {
  const tehran = new Date(ms + 3.5 * 3_600_000).toISOString().slice(0, 10);
  return jalaliOfGregorian(tehran).slice(0, 4);
}

function historyType(from: string | null, to: string): EquipmentHistoryEntry['type'] {
  if (to === 'swapped_out') return 'swap_out';
  if (to === 'in_repair') return 'repair';
  if (to === 'installed') return 'install';
  if (from === 'installed' && to === 'in_stock') return 'collect';
  return 'status';
}

/**
 * Server-owned fields of the version a push stores: the stored values of server-owned fields the
 * device left out ("absent is no claim", so they are kept), plus what this change adds — an equipment
 * history entry for a status change, a mission order when a mission is issued.
 */
export async function serverFieldsOnWrite(
  tx: Queryable,
  collection: Exclude<CollectionName, 'cases'>,
  input: WriteInput,
  at: number,
): Promise<Doc> {
  const { master, candidate, scope } = input;
  const out: Doc = {};
  for (const field of COLLECTIONS[collection].serverOwnedFields)
    if (field !== 'serverUpdatedAt' && master && master[field] !== undefined) out[field] = master[field];

  if (collection === 'equipment') {
    const from = master ? String(master.status) : null;
    const to = String(candidate.status);
    if (from !== to) {
      const history = [...((master?.history as EquipmentHistoryEntry[] | undefined) ?? [])];
      const entry: EquipmentHistoryEntry = {
        id: derivedId('eqh', String(candidate.id), String(history.length), String(candidate.updatedAt)),
        type: historyType(from, to),
        at: String(candidate.updatedAt),
        merchantId: str(candidate.merchantId),
        fromStatus: from as EquipmentStatus | null,
        toStatus: to as EquipmentStatus,
        otherSerial: to === 'swapped_out' ? (str(candidate.replacementSerial)?.trim() ?? null) : null,
        byUserId: scope.userId,
        note:
          to === 'retired' || to === 'blacklisted' || to === 'in_repair' ? str(candidate.statusReason) : null,
      };
      out.history = [...history, entry].slice(-EQUIPMENT_HISTORY_MAX);
    }
  }

  if (collection === 'missions') {
    const from = master ? String(master.status) : 'draft';
    if (candidate.status === 'issued' && from !== 'issued') {
      const seq = await tx.query<{ n: unknown }>("SELECT nextval('mission_order_seq') AS n");
      const order: MissionOrder = {
        number: `MO-${jalaliYear(at)}-${String(seq[0]?.n).padStart(6, '0')}`,
        issuedAt: new Date(at).toISOString(),
        issuedBy: scope.userId,
        approvedBy: str(candidate.approvedBy),
        approvedAt: str(candidate.approvedAt),
        title: String(candidate.title),
        assigneeId: str(candidate.assigneeId),
        place: str(candidate.place),
        caseIds: [...((candidate.caseIds as string[] | undefined) ?? [])],
        windowStart: str(candidate.windowStart),
        windowEnd: str(candidate.windowEnd),
      };
      out.orders = [...((master?.orders as MissionOrder[] | undefined) ?? []), order].slice(
        -MISSION_LIMITS.orders,
      );
    }
  }
  if (collection === 'kb_articles') Object.assign(out, knowledgeServerFields(input, at));
  return out;
}
