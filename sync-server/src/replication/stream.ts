/**
 * Live replication stream (Server-Sent Events, https://html.spec.whatwg.org/multipage/server-sent-events.html).
 * Every write transaction NOTIFYs `emdad_changes` after commit with its collection and stamp; every
 * instance LISTENs and sends each subscriber the documents of that stamp it may read (the same SQL
 * scope as the pull, resolved once per user per notice). A connection's first message is always
 * RESYNC (RxDB's signal to run a checkpoint pull for whatever was missed while disconnected).
 * Two more notices travel on the same channel so every instance acts on them:
 * - `{ kind: 'scope', userId }`: the user's scope changed — their streams get RESYNC (the pull then
 *   delivers the scope-change tombstones) and later notices use the new scope;
 * - `{ kind: 'revoke', installId }`: the install was revoked — its streams are closed at once.
 */
import type { ReplicatedCollection, StreamMessage } from '@emdad/domain';
import { isCollectionName } from '@emdad/domain/model/index';
import type { Db } from '../db/index.ts';
import { findUserById } from '../users.ts';
import { handlerFor } from './collections.ts';
import { resolveScope, type ScopeUser } from './scope.ts';

export const CHANGES_CHANNEL = 'emdad_changes';
export const HEARTBEAT_MS = 20_000;

export type ChangeNotice =
  | { kind?: 'changes'; collection: ReplicatedCollection; stamp: number }
  | { kind: 'scope'; userId: string }
  | { kind: 'revoke'; installId: string };

export interface StreamSubscriber {
  user: ScopeUser;
  installId?: string;
  collection: ReplicatedCollection;
  send(message: StreamMessage<unknown>): void;
  close(): void;
}

export class ChangeHub {
  private readonly subscribers = new Set<StreamSubscriber>();
  private unlisten: (() => Promise<void>) | undefined;
  private stopGapWatch: (() => void) | undefined;
  /** Notices are handled one after another so every subscriber sees stamps in commit order. */
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly db: Db) {}

  async start(): Promise<void> {
    this.unlisten = await this.db.listen(CHANGES_CHANNEL, (payload) => {
      this.chain = this.chain
        .then(() => this.deliver(payload))
        .catch((error: unknown) => console.error('change stream delivery failed:', error));
    });
    // Changes committed while this instance was not listening were never announced to it: every
    // subscriber must pull from its checkpoint again.
    this.stopGapWatch = this.db.onNotificationGap(() => {
      for (const subscriber of this.subscribers) subscriber.send({ type: 'RESYNC' });
    });
  }

  async announce(notice: ChangeNotice): Promise<void> {
    await this.db.notify(CHANGES_CHANNEL, JSON.stringify(notice));
  }

  subscribe(subscriber: StreamSubscriber): () => void {
    this.subscribers.add(subscriber);
    subscriber.send({ type: 'RESYNC' });
    return () => this.subscribers.delete(subscriber);
  }

  get size(): number {
    return this.subscribers.size;
  }

  private async deliver(payload: string): Promise<void> {
    let notice: ChangeNotice;
    try {
      notice = JSON.parse(payload) as ChangeNotice;
    } catch {
      return;
    }
    if (notice.kind === 'revoke') {
      for (const s of [...this.subscribers]) if (s.installId === notice.installId) s.close();
      return;
    }
    if (notice.kind === 'scope') {
      const listeners = [...this.subscribers].filter((s) => s.user.id === notice.userId);
      if (listeners.length === 0) return;
      const user = await findUserById(this.db, notice.userId);
      for (const s of listeners) {
        if (!user || user.disabled) {
          s.close();
          continue;
        }
        s.user = user;
        s.send({ type: 'RESYNC' });
      }
      return;
    }
    if (!isCollectionName(notice.collection) || typeof notice.stamp !== 'number') return;
    const listeners = [...this.subscribers].filter((s) => s.collection === notice.collection);
    if (listeners.length === 0) return;
    const byUser = new Map<string, StreamSubscriber[]>();
    for (const s of listeners) byUser.set(s.user.id, [...(byUser.get(s.user.id) ?? []), s]);
    const handler = handlerFor(notice.collection);
    for (const group of byUser.values()) {
      const first = group[0];
      if (!first) continue;
      const visible = await handler.changesAt(this.db, await resolveScope(this.db, first.user), notice.stamp);
      const last = visible.at(-1) as { id: string } | undefined;
      if (!last) continue;
      for (const subscriber of group) {
        subscriber.send({
          type: 'changes',
          documents: visible,
          checkpoint: { serverUpdatedAt: notice.stamp, id: last.id },
        });
      }
    }
  }

  async close(): Promise<void> {
    for (const subscriber of [...this.subscribers]) subscriber.close();
    this.subscribers.clear();
    this.stopGapWatch?.();
    await this.unlisten?.();
    await this.chain;
  }
}
