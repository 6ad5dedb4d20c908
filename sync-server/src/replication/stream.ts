/**
 * Live replication stream (Server-Sent Events, https://html.spec.whatwg.org/multipage/server-sent-events.html).
 * Every write transaction NOTIFYs `emdad_changes` after commit with its collection and stamp; every
 * instance LISTENs, reads the documents of that stamp once, and forwards to each of its subscribers
 * the ones the subscriber may read. A connection's first message is always RESYNC (RxDB's signal to
 * run a checkpoint pull for whatever was missed while disconnected).
 */
import type { CaseDoc, ReplicatedCollection, StreamMessage } from '@emdad/domain';
import type { Db } from '../db/index.ts';
import { casesWithStamp } from './cases.ts';
import { canReadCase, type ScopeUser } from './scope.ts';

export const CHANGES_CHANNEL = 'emdad_changes';
export const HEARTBEAT_MS = 20_000;

export interface ChangeNotice {
  collection: ReplicatedCollection;
  stamp: number;
}

export interface StreamSubscriber {
  user: ScopeUser;
  collection: ReplicatedCollection;
  send(message: StreamMessage<CaseDoc>): void;
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
    if (notice.collection !== 'cases' || typeof notice.stamp !== 'number') return;
    const listeners = [...this.subscribers].filter((s) => s.collection === notice.collection);
    if (listeners.length === 0) return;
    const documents = await casesWithStamp(this.db, notice.stamp);
    for (const subscriber of listeners) {
      const visible = documents.filter((doc) => canReadCase(subscriber.user, doc));
      const last = visible.at(-1);
      if (!last) continue;
      subscriber.send({
        type: 'changes',
        documents: visible,
        checkpoint: { serverUpdatedAt: notice.stamp, id: last.id },
      });
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
