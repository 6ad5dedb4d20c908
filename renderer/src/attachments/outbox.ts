/**
 * The attachments of this user database that the server has not confirmed yet, kept in one local
 * document so the list survives a reload (and a crash between attaching and uploading). An entry is
 * written *before* the bytes are stored with their document: if the app dies in between, the
 * uploader finds no bytes for it and drops the entry; the reverse order could strand bytes that
 * nobody ever uploads. Local documents never replicate.
 */
import type { ErrorCode } from '@emdad/domain';
import type { RxDatabase, RxLocalDocument } from 'rxdb';

export const OUTBOX_DOC = 'attachment-outbox';

export interface AttachmentSource {
  collection: string;
  docId: string;
}

export interface OutboxEntry {
  sha256: string;
  contentType: string;
  size: number;
  /** The documents whose RxDB attachments hold these bytes (usually one). */
  sources: AttachmentSource[];
  attempts: number;
  /** Client clock (ms): not retried before this. */
  nextAttemptAt: number;
  lastError: { code: ErrorCode; message: string } | null;
  /** The server refused these bytes for good (type, size): not retried; the user must replace them. */
  refused: boolean;
}

interface OutboxData {
  entries: Record<string, OutboxEntry>;
}

// RxDB's local-documents plugin adds these to the database; typed loosely to accept any user database.
type WithLocalDocs = Pick<RxDatabase, 'getLocal' | 'insertLocal'>;

async function outboxDoc(db: WithLocalDocs): Promise<RxLocalDocument<unknown, OutboxData>> {
  const existing = await db.getLocal<OutboxData>(OUTBOX_DOC);
  if (existing) return existing as unknown as RxLocalDocument<unknown, OutboxData>;
  try {
    return (await db.insertLocal<OutboxData>(OUTBOX_DOC, { entries: {} })) as unknown as RxLocalDocument<
      unknown,
      OutboxData
    >;
  } catch {
    // Another tab created it first.
    const created = await db.getLocal<OutboxData>(OUTBOX_DOC);
    if (!created) throw new Error('the attachment outbox could not be created');
    return created as unknown as RxLocalDocument<unknown, OutboxData>;
  }
}

/** Reads and changes the outbox; every change is an incremental write (safe across tabs). */
export class AttachmentOutbox {
  constructor(private readonly db: WithLocalDocs) {}

  async entries(): Promise<OutboxEntry[]> {
    const doc = await this.db.getLocal<OutboxData>(OUTBOX_DOC);
    const data = doc?.toJSON().data as OutboxData | undefined;
    return Object.values(data?.entries ?? {});
  }

  async get(sha256: string): Promise<OutboxEntry | null> {
    return (await this.entries()).find((e) => e.sha256 === sha256) ?? null;
  }

  /** Adds the bytes (or one more document holding them) to the outbox. */
  async add(
    entry: Omit<OutboxEntry, 'attempts' | 'lastError' | 'refused' | 'sources'>,
    source: AttachmentSource,
  ) {
    await this.modify((entries) => {
      const current = entries[entry.sha256];
      const known = current?.sources.some(
        (s) => s.collection === source.collection && s.docId === source.docId,
      );
      entries[entry.sha256] = current
        ? { ...current, sources: known ? current.sources : [...current.sources, source] }
        : { ...entry, sources: [source], attempts: 0, lastError: null, refused: false };
    });
  }

  async update(sha256: string, change: (entry: OutboxEntry) => OutboxEntry): Promise<void> {
    await this.modify((entries) => {
      const current = entries[sha256];
      if (current) entries[sha256] = change(current);
    });
  }

  async remove(sha256: string): Promise<void> {
    await this.modify((entries) => {
      delete entries[sha256];
    });
  }

  private async modify(change: (entries: Record<string, OutboxEntry>) => void): Promise<void> {
    const doc = await outboxDoc(this.db);
    await doc.incrementalModify((data: OutboxData) => {
      const entries = { ...(data?.entries ?? {}) };
      change(entries);
      return { entries };
    });
  }
}
