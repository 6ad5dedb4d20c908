/**
 * Sends the attachment bytes the server has not confirmed (the outbox, outbox.ts) when online.
 *
 * - Order: upload first. The replication calls `ensureUploaded(docs)` before it pushes documents
 *   (the `beforePush` option of sync/case-replication.ts): pending bytes those documents list are
 *   sent, and the push round fails (RxDB retries it) until they are on the server. So another device
 *   never receives a reference whose bytes the server does not have — unless the server refused the
 *   bytes for good (type, size), which never blocks the document.
 * - Besides, a background round runs on start, after each attach, when the browser says it is online
 *   and when the next retry is due: failed uploads back off (doubling from `initialMs` to `maxMs`).
 * - Survives reloads (the outbox is a local document) and lost answers: a retry of the same hash is
 *   a no-op on the server (200), so the bytes are stored once.
 */
import type { ErrorCode } from '@emdad/domain';
import type { RxCollection, RxDatabase } from 'rxdb';
import { ApiError } from '../sync/http.ts';
import { sha256Hex } from './hash.ts';
import { AttachmentOutbox, type OutboxEntry } from './outbox.ts';
import type { AttachmentTransport } from './transport.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any user database, whatever its collections
type AnyDatabase = RxDatabase<any>;

export interface AttachmentUploaderOptions {
  db: AnyDatabase;
  transport: AttachmentTransport;
  /** Retry delays of a failed upload: doubling from initialMs up to maxMs. Default 2 s … 5 min. */
  backoff?: { initialMs: number; maxMs: number };
  /** Client clock (ms). */
  now?: () => number;
  onStatus?: (status: AttachmentUploadStatus) => void;
}

export interface AttachmentUploadStatus {
  /** Bytes waiting for the server (refused ones included). */
  pending: number;
  /** Refused by the server for good: the user must replace them. */
  refused: number;
  lastError: { code: ErrorCode; message: string } | null;
}

export interface AttachmentUploader {
  /** Starts a round soon (after an attach, or when the network is back). */
  kick(): void;
  /** One round now; resolves when it is over. */
  runOnce(): Promise<void>;
  /**
   * Uploads the pending bytes these documents list; rejects (with an ApiError) while any of them
   * cannot be sent yet. Used by the replication before it pushes documents.
   */
  ensureUploaded(docs: readonly unknown[]): Promise<void>;
  pending(): Promise<OutboxEntry[]>;
  stop(): Promise<void>;
}

type Outcome = 'uploaded' | 'dropped' | 'retry' | 'refused';

/** HTTP answers that will not change by sending the same bytes again. */
const PERMANENT_STATUSES = new Set([413, 415]);

function refsOf(doc: unknown): string[] {
  const refs = (doc as { attachments?: unknown } | null)?.attachments;
  if (!Array.isArray(refs)) return [];
  return refs
    .map((r) => (r as { sha256?: unknown })?.sha256)
    .filter((s): s is string => typeof s === 'string');
}

export function startAttachmentUploader(options: AttachmentUploaderOptions): AttachmentUploader {
  const { db, transport } = options;
  const now = options.now ?? Date.now;
  const backoff = options.backoff ?? { initialMs: 2000, maxMs: 5 * 60_000 };
  const outbox = new AttachmentOutbox(db);
  const inflight = new Map<string, Promise<Outcome>>();
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let round: Promise<void> | null = null;
  let again = false;
  let lastError: AttachmentUploadStatus['lastError'] = null;

  async function findBytes(entry: OutboxEntry): Promise<Blob | null> {
    for (const source of entry.sources) {
      const collection = (db.collections as Record<string, RxCollection | undefined>)[source.collection];
      const doc = await collection?.findOne(source.docId).exec();
      const attachment = doc?.getAttachment(entry.sha256);
      if (attachment) return await attachment.getData();
    }
    return null;
  }

  async function uploadEntry(entry: OutboxEntry): Promise<Outcome> {
    const blob = await findBytes(entry);
    // The document was removed, or the app stopped before the bytes were written: nothing to send.
    if (!blob) {
      await outbox.remove(entry.sha256);
      return 'dropped';
    }
    if ((await sha256Hex(await blob.arrayBuffer())) !== entry.sha256) {
      await outbox.update(entry.sha256, (e) => ({
        ...e,
        refused: true,
        lastError: {
          code: 'validation_failed',
          message: 'the bytes on this device no longer match their hash',
        },
      }));
      return 'refused';
    }
    try {
      await transport.upload(entry.sha256, entry.contentType, blob);
      await outbox.remove(entry.sha256);
      return 'uploaded';
    } catch (err) {
      const error =
        err instanceof ApiError
          ? err
          : new ApiError('internal', null, err instanceof Error ? err.message : String(err));
      lastError = { code: error.code, message: error.message };
      const permanent = error.status !== null && PERMANENT_STATUSES.has(error.status);
      await outbox.update(entry.sha256, (e) => {
        const attempts = e.attempts + 1;
        const delay = Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.min(attempts - 1, 30));
        return {
          ...e,
          attempts,
          nextAttemptAt: now() + delay,
          lastError: { code: error.code, message: error.message },
          refused: permanent,
        };
      });
      return permanent ? 'refused' : 'retry';
    }
  }

  /** One upload per hash at a time, whoever asks (a round, or a push waiting for it). */
  function upload(entry: OutboxEntry): Promise<Outcome> {
    let running = inflight.get(entry.sha256);
    if (!running) {
      running = uploadEntry(entry).finally(() => inflight.delete(entry.sha256));
      inflight.set(entry.sha256, running);
    }
    return running;
  }

  async function report(): Promise<OutboxEntry[]> {
    const entries = await outbox.entries();
    options.onStatus?.({
      pending: entries.length,
      refused: entries.filter((e) => e.refused).length,
      lastError: entries.length === 0 ? null : lastError,
    });
    return entries;
  }

  function schedule(entries: readonly OutboxEntry[]) {
    clearTimeout(timer);
    timer = undefined;
    if (stopped) return;
    const due = entries.filter((e) => !e.refused).map((e) => e.nextAttemptAt);
    if (due.length === 0) return;
    timer = setTimeout(kick, Math.max(0, Math.min(...due) - now()));
  }

  async function oneRound(): Promise<void> {
    const entries = await outbox.entries();
    for (const entry of entries) {
      if (stopped) return;
      if (entry.refused || entry.nextAttemptAt > now()) continue;
      // Offline: the others would fail the same way; they wait for the next round.
      if ((await upload(entry)) === 'retry' && lastError?.code === 'network_unavailable') break;
    }
  }

  function runOnce(): Promise<void> {
    if (round) {
      again = true;
      return round;
    }
    round = (async () => {
      try {
        do {
          again = false;
          await oneRound();
        } while (again && !stopped);
      } catch (err) {
        // The database closed under us (sign-out) or a storage error: the next kick tries again.
        if (!stopped) console.warn('attachment upload round failed', err);
      } finally {
        round = null;
      }
      if (!stopped) schedule(await report().catch(() => []));
    })();
    return round;
  }

  function kick() {
    if (!stopped) void runOnce();
  }

  const onOnline = () => kick();
  const target = globalThis as {
    addEventListener?: (type: string, fn: () => void) => void;
    removeEventListener?: (type: string, fn: () => void) => void;
  };
  target.addEventListener?.('online', onOnline);
  kick();

  return {
    kick,
    runOnce,
    async ensureUploaded(docs) {
      const wanted = new Set(docs.flatMap(refsOf));
      if (wanted.size === 0) return;
      const entries = (await outbox.entries()).filter((e) => wanted.has(e.sha256) && !e.refused);
      const outcomes = await Promise.all(entries.map((e) => upload(e)));
      if (outcomes.includes('retry')) {
        const error = lastError ?? {
          code: 'network_unavailable' as const,
          message: 'attachment upload failed',
        };
        kick(); // reschedules the background retries
        throw new ApiError(error.code, null, `attachments not uploaded yet: ${error.message}`);
      }
    },
    pending: () => outbox.entries(),
    async stop() {
      stopped = true;
      clearTimeout(timer);
      target.removeEventListener?.('online', onOnline);
      await round?.catch(() => undefined);
      await Promise.allSettled(inflight.values());
    },
  };
}
