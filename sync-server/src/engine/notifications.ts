/**
 * Notifications the engine raises, held to the recipient's working hours: a notification raised
 * while the recipient is at work is written at once; one raised outside their working hours waits in
 * `notification_outbox` and is written (as a replicated `notifications` document, `createdAt` = the
 * delivery time) by the first engine run at or after the start of their next working window.
 * Clients need no rule of their own: every notification they receive is meant to be shown now.
 */
import { createHash } from 'node:crypto';
import type { NotificationDoc } from '@emdad/domain/model/index';
import { notificationDeliveryTime } from '@emdad/domain/sla/evaluate';
import { toNumber } from '../db/index.ts';
import type { EngineReference } from './reference.ts';
import type { ServerWriteSession } from './server-writes.ts';

export type EngineNotification = Pick<NotificationDoc, 'userId' | 'kind' | 'title' | 'body' | 'link'>;

/** A stable id from what the notification is about: a retried engine run never notifies twice. */
export function stableId(prefix: string, ...parts: string[]): string {
  return `${prefix}-${createHash('sha256').update(parts.join('\u0000')).digest('base64url').slice(0, 40)}`;
}

/**
 * Queues or writes one notification; `key` identifies it (the same key is never sent twice).
 * Answers when it will be delivered (ms).
 */
export async function notify(
  w: ServerWriteSession,
  ref: EngineReference,
  key: string,
  notification: EngineNotification,
): Promise<number> {
  const id = stableId('ntf', key, notification.userId);
  const deliverAt = Math.max(
    w.at,
    notificationDeliveryTime(ref.calendarOfUser(notification.userId), w.at).getTime(),
  );
  if (deliverAt <= w.at) {
    await writeNotification(w, id, notification, w.at);
    return w.at;
  }
  await w.tx.query(
    `INSERT INTO notification_outbox (id, user_id, deliver_at, doc) VALUES ($1, $2, $3, $4::jsonb)
     ON CONFLICT (id) DO NOTHING`,
    [id, notification.userId, deliverAt, JSON.stringify(notification)],
  );
  return deliverAt;
}

async function writeNotification(
  w: ServerWriteSession,
  id: string,
  notification: EngineNotification,
  at: number,
): Promise<void> {
  // Written once: a notification the recipient already marked read is never reset.
  if (await w.get('notifications', id)) return;
  const iso = new Date(at).toISOString();
  const doc: NotificationDoc = { id, ...notification, createdAt: iso, readAt: null, updatedAt: iso };
  await w.put('notifications', doc);
}

/** Writes every held notification whose time has come; answers how many. */
export async function deliverDueNotifications(w: ServerWriteSession, limit = 500): Promise<number> {
  const due = await w.tx.query<{ id: string; doc: EngineNotification; deliver_at: unknown }>(
    `SELECT id, doc, deliver_at FROM notification_outbox
     WHERE delivered_at IS NULL AND deliver_at <= $1 ORDER BY deliver_at, id LIMIT $2 FOR UPDATE`,
    [w.at, limit],
  );
  for (const row of due) {
    await writeNotification(w, row.id, row.doc, Math.max(toNumber(row.deliver_at), 0));
    await w.tx.query('UPDATE notification_outbox SET delivered_at = $2 WHERE id = $1', [row.id, w.at]);
  }
  return due.length;
}
