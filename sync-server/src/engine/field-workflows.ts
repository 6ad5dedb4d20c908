/**
 * What the server writes after a push to the field workflows commits (issue 5, parts 4–6), through
 * the ServerWriter (stamped, audited as `system`, announced to live streams):
 * - equipment: a swap pushed for one device installs the replacement (found by its serial) at the
 *   same merchant, with a `swap_in` entry on its history naming the device it replaced;
 * - merchants: a merchant moved to another branch or region takes its devices along (their
 *   server-owned `regionId`/`branchId`); readers who lose them get scope-move tombstones;
 * - expenses: a decision (approved / rejected) sends an `expense_decision` notification to the
 *   submitter;
 * - missions: an issued mission order is sent to the assignee as a `mission` notification; a filed
 *   report (completed, or completed and needing a revisit) becomes timeline entries on its cases;
 * - kb_articles: publishing a new version retires the published versions it supersedes.
 *
 * Every reaction is idempotent and decided from the stored state (derived ids, "already done"
 * checks), so running it twice — a retried push, two instances, a sweep — writes nothing new.
 * The push itself has already committed: a reaction that fails is logged and retried by the next
 * push of the same document or by `sweep()` (run at start).
 */
import type { CollectionName } from '@emdad/domain/model/index';
import type {
  EquipmentHistoryEntry,
  ExpenseDoc,
  MissionActivity,
  MissionDoc,
  MissionOrder,
  NotificationDoc,
  CaseEventDoc,
  KbArticleDoc,
} from '@emdad/domain/model/index';
import { transitionEquipment, type EquipmentStatus } from '@emdad/domain/workflow/equipment';
import type { Db } from '../db/index.ts';
import { derivedId, equipmentBySerial } from '../replication/field-rules.ts';
import type { ServerWriter } from './server-writes.ts';

type Doc = Record<string, unknown> & { id: string };

const iso = (ms: number) => new Date(ms).toISOString();
const rials = (amount: number) => new Intl.NumberFormat('en-US').format(amount);
const rialsFa = (amount: number) => new Intl.NumberFormat('fa-IR').format(amount);

export interface FieldWorkflowsOptions {
  /** Where failures of a reaction are reported (the push has committed; the next sweep retries). */
  log?: (message: string, error: unknown) => void;
}

export class FieldWorkflows {
  private readonly log: (message: string, error: unknown) => void;

  constructor(
    private readonly db: Db,
    private readonly writer: ServerWriter,
    options: FieldWorkflowsOptions = {},
  ) {
    this.log = options.log ?? ((message, error) => console.error(message, error));
  }

  /** Reacts to the documents one push stored (they all carry the push's stamp). */
  async afterPush(collection: CollectionName, stamp: number): Promise<void> {
    if (!['equipment', 'merchants', 'expenses', 'missions', 'kb_articles'].includes(collection)) return;
    const rows = await this.db.query<{ doc: Doc }>(
      'SELECT doc FROM documents WHERE collection = $1 AND server_updated_at = $2 AND NOT deleted ORDER BY id',
      [collection, stamp],
    );
    for (const { doc } of rows) await this.react(collection, doc);
  }

  /**
   * Catches up on reactions a crash between a push's commit and its reaction left undone: recent
   * swaps, merchants whose devices are in another region, decisions without a notification, filed
   * reports, superseded articles. Bounded by `sinceMs` of server stamps (default: the last 30 days).
   */
  async sweep(now: number, sinceMs = 30 * 24 * 3_600_000): Promise<void> {
    const rows = await this.db.query<{ collection: CollectionName; doc: Doc }>(
      `SELECT collection, doc FROM documents
       WHERE collection IN ('equipment', 'expenses', 'missions', 'kb_articles') AND server_updated_at >= $1 AND NOT deleted
         AND (collection <> 'equipment' OR doc ->> 'status' = 'swapped_out')
       ORDER BY server_updated_at, id`,
      [now - sinceMs],
    );
    for (const { collection, doc } of rows) await this.react(collection, doc);
    const moved = await this.db.query<{ doc: Doc }>(
      `SELECT DISTINCT m.doc FROM documents m JOIN documents e
         ON e.collection = 'equipment' AND e.doc ->> 'merchantId' = m.id AND NOT e.deleted
       WHERE m.collection = 'merchants' AND NOT m.deleted
         AND (e.region_id IS DISTINCT FROM m.region_id OR e.branch_id IS DISTINCT FROM m.branch_id)`,
    );
    for (const { doc } of moved) await this.react('merchants', doc);
  }

  private async react(collection: CollectionName, doc: Doc): Promise<void> {
    try {
      switch (collection) {
        case 'equipment':
          if (doc.status === 'swapped_out') await this.completeSwap(doc.id);
          return;
        case 'merchants':
          await this.followMerchant(doc.id);
          return;
        case 'expenses':
          if (doc.status === 'approved' || doc.status === 'rejected')
            await this.notifyExpenseDecision(doc as unknown as ExpenseDoc);
          return;
        case 'missions': {
          const mission = doc as unknown as MissionDoc;
          if (mission.status === 'issued') await this.sendMissionOrder(mission);
          if (mission.status === 'completed' || mission.status === 'completed_needs_revisit')
            await this.fileMissionReport(mission);
          return;
        }
        case 'kb_articles':
          if (doc.status === 'published') await this.retireSuperseded(doc as unknown as KbArticleDoc);
          return;
        default:
          return;
      }
    } catch (error) {
      this.log(`field workflow after ${collection} ${doc.id} failed; the next sweep retries it:`, error);
    }
  }

  /** Installs the replacement named by the device's last swap, with a `swap_in` history entry. */
  async completeSwap(outgoingId: string): Promise<void> {
    await this.writer.transaction(async (w) => {
      const outgoing = await w.get<Doc>('equipment', outgoingId);
      if (!outgoing || outgoing._deleted || outgoing.status !== 'swapped_out') return;
      const history = (outgoing.history as EquipmentHistoryEntry[] | undefined) ?? [];
      const swap = history.findLast((h) => h.type === 'swap_out');
      if (!swap?.otherSerial) return;
      const found = await equipmentBySerial(w.tx, swap.otherSerial);
      if (found.length !== 1) return;
      const incoming = await w.get<Doc>('equipment', String(found[0]!.id));
      if (!incoming || incoming._deleted) return;
      const swapInId = `${swap.id}-in`;
      const incomingHistory = (incoming.history as EquipmentHistoryEntry[] | undefined) ?? [];
      if (incomingHistory.some((h) => h.id === swapInId)) return;
      const merchantId = swap.merchantId ?? (outgoing.merchantId as string | null);
      if (!merchantId) return;
      const alreadyThere = incoming.status === 'installed' && incoming.merchantId === merchantId;
      if (!alreadyThere) {
        const move = transitionEquipment(String(incoming.status), 'installed', {
          serial: String(incoming.serial),
          merchantId,
        });
        if (!move.ok) {
          this.log(
            `swap of ${outgoingId}: the replacement ${String(incoming.serial)} can no longer be installed (${move.reason}); left for an administrator`,
            null,
          );
          return;
        }
      }
      const entry: EquipmentHistoryEntry = {
        id: swapInId,
        type: 'swap_in',
        at: swap.at,
        merchantId,
        fromStatus: incoming.status as EquipmentStatus,
        toStatus: 'installed',
        otherSerial: String(outgoing.serial),
        byUserId: swap.byUserId,
        note: null,
      };
      await w.put('equipment', {
        ...incoming,
        status: 'installed',
        merchantId,
        statusReason: null,
        replacementSerial: null,
        history: [...incomingHistory, entry],
        updatedAt: iso(w.at),
      });
    });
  }

  /** Re-stamps the merchant's devices whose region or branch no longer matches the merchant's. */
  async followMerchant(merchantId: string): Promise<void> {
    await this.writer.transaction(
      async (w) => {
        const stale = await w.tx.query<{ id: string }>(
          `SELECT e.id FROM documents e JOIN documents m ON m.collection = 'merchants' AND m.id = e.doc ->> 'merchantId'
           WHERE e.collection = 'equipment' AND e.doc ->> 'merchantId' = $1 AND NOT e.deleted
             AND (e.region_id IS DISTINCT FROM m.region_id OR e.branch_id IS DISTINCT FROM m.branch_id)
           ORDER BY e.id`,
          [merchantId],
        );
        for (const { id } of stale) {
          const device = await w.get<Doc>('equipment', id);
          // The writer copies region and branch from the merchant (deriveScopeColumns) and records
          // the scope move, so devices of readers who lose them get tombstones.
          if (device) await w.put('equipment', { ...device, updatedAt: iso(w.at) });
        }
      },
      { lock: ['equipment'] },
    );
  }

  async notifyExpenseDecision(expense: ExpenseDoc): Promise<void> {
    if (!expense.decidedAt) return;
    const id = derivedId('ntf', 'expense_decision', expense.id, expense.status, expense.decidedAt);
    await this.writer.transaction(async (w) => {
      if (await w.get('notifications', id)) return;
      const approved = expense.status === 'approved';
      const reason = expense.rejectionReason?.trim() ?? '';
      const notification: NotificationDoc = {
        id,
        userId: expense.submitterId,
        kind: 'expense_decision',
        title: approved
          ? { fa: 'هزینهٔ شما تأیید شد', en: 'Your expense was approved' }
          : { fa: 'هزینهٔ شما رد شد', en: 'Your expense was rejected' },
        body: approved
          ? {
              fa: `هزینهٔ «${expense.description}» به مبلغ ${rialsFa(expense.amount)} ریال تأیید شد.`,
              en: `Your expense “${expense.description}” of ${rials(expense.amount)} IRR was approved.`,
            }
          : {
              fa: `هزینهٔ «${expense.description}» به مبلغ ${rialsFa(expense.amount)} ریال رد شد. دلیل: ${reason}. آن را اصلاح و دوباره ارسال کنید.`,
              en: `Your expense “${expense.description}” of ${rials(expense.amount)} IRR was rejected. Reason: ${reason}. Revise it and submit it again.`,
            },
        link: `/expenses/${expense.id}`,
        createdAt: iso(w.at),
        readAt: null,
        updatedAt: iso(w.at),
      };
      await w.put('notifications', clip(notification));
    });
  }

  async sendMissionOrder(mission: MissionDoc): Promise<void> {
    const order = mission.orders?.at(-1);
    if (!order || !order.assigneeId) return;
    const id = derivedId('ntf', 'mission_order', mission.id, order.number);
    await this.writer.transaction(async (w) => {
      if (await w.get('notifications', id)) return;
      const notification: NotificationDoc = {
        id,
        userId: order.assigneeId!,
        kind: 'mission',
        title: { fa: `حکم مأموریت ${order.number}`, en: `Mission order ${order.number}` },
        body: {
          fa: `مأموریت «${order.title}» در ${order.place ?? '—'} به شما واگذار شد. پیش از شروع، حکم مأموریت را بخوانید.`,
          en: `The mission “${order.title}” at ${order.place ?? '—'} was issued to you. Read the mission order before you start.`,
        },
        link: `/missions/${mission.id}`,
        createdAt: iso(w.at),
        readAt: null,
        updatedAt: iso(w.at),
      };
      await w.put('notifications', clip(notification));
    });
  }

  /** The report's service activities as timeline entries of their cases (once each). */
  async fileMissionReport(mission: MissionDoc): Promise<void> {
    const activities = mission.reportActivities.filter(
      (a): a is MissionActivity & { caseId: string } => a.caseId !== null,
    );
    if (activities.length === 0) return;
    const order: MissionOrder | undefined = mission.orders?.at(-1);
    await this.writer.transaction(
      async (w) => {
        const existing = new Set(
          (
            await w.tx.query<{ id: string }>('SELECT id FROM cases WHERE id = ANY($1::text[])', [
              [...new Set(activities.map((a) => a.caseId))],
            ])
          ).map((r) => r.id),
        );
        for (const activity of activities) {
          if (!existing.has(activity.caseId)) continue;
          const id = derivedId('mact', mission.id, activity.id);
          if (await w.get('case_events', id)) continue;
          const prefix = order ? `[${order.number}] ` : '';
          const event: CaseEventDoc = {
            id,
            caseId: activity.caseId,
            kind: activity.minutes ? 'time_logged' : 'comment',
            authorId: mission.assigneeId ?? mission.createdBy,
            at: activity.at,
            body: `${prefix}${activity.text}`.slice(0, 4000),
            fromStatus: null,
            toStatus: null,
            assigneeId: null,
            minutes: activity.minutes ?? null,
            diagnosticId: null,
            articleId: null,
            createdAt: iso(w.at),
            updatedAt: iso(w.at),
          };
          await w.put('case_events', event);
        }
      },
      { lock: ['case_events'] },
    );
  }

  /** Publishing version n of an article retires its published versions with a lower number. */
  async retireSuperseded(article: KbArticleDoc): Promise<void> {
    const family = articleFamily(article);
    await this.writer.transaction(async (w) => {
      const rows = await w.tx.query<{ id: string }>(
        `SELECT id FROM documents WHERE collection = 'kb_articles' AND NOT deleted AND doc ->> 'status' = 'published'
           AND doc ->> 'articleId' = $1 AND id <> $2 AND (doc ->> 'version')::int < $3 ORDER BY id`,
        [family, article.id, article.version],
      );
      for (const { id } of rows) {
        const old = await w.get<Doc>('kb_articles', id);
        if (old && old.status === 'published')
          await w.put('kb_articles', {
            ...old,
            status: 'retired',
            retiredAt: iso(w.at),
            updatedAt: iso(w.at),
          });
      }
    });
  }
}

/** The article a version belongs to (every v1 version has `articleId`; a v0 one was its own). */
export function articleFamily(doc: { id: string; articleId?: string | null }): string {
  return doc.articleId ?? doc.id;
}

/** Notification texts carry user-written text: keep them within the schema's bounds. */
function clip(n: NotificationDoc): NotificationDoc {
  const cut = (s: string, max: number) => (s.length > max ? `${s.slice(0, max - 1)}…` : s);
  return {
    ...n,
    title: { fa: cut(n.title.fa, 200), en: cut(n.title.en, 200) },
    body: { fa: cut(n.body.fa, 2000), en: cut(n.body.en, 2000) },
  };
}
