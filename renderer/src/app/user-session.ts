/**
 * The life of one user's session on this install: their database, the replication of every
 * collection and the attachment uploader — opened only after the previous session's are closed.
 *
 * Why the order matters: when another person signs in on the same install (a shared branch
 * computer), the previous user's replications must stop before anything of the next user runs (no
 * push of one user's records under another's token), and the free RxDB allows 13 open collections
 * per page: two user databases of 11 collections cannot be open at once. React runs the previous
 * session's cleanup before the next effect, but the cleanup's closing is asynchronous; every session
 * therefore waits for the closings requested before it started.
 */
import type { CollectionName } from '@emdad/domain/model/index';
import type { RefusedWrite } from '@emdad/domain';
import { openUserDatabase, type AnyRxStorage, type UserDatabase } from '../db/database.ts';
import { startSessionAttachments, type SessionAttachments } from '../attachments/session.ts';
import type { ReplicationAuth, ReplicationStatus } from '../sync/collection-replication.ts';
import type { FetchLike } from '../sync/http.ts';
import { startUserReplication, type UserReplication } from '../sync/user-replication.ts';

export interface UserSessionOptions {
  userId: string;
  /** false: an offline session — the database only, nothing is replicated. */
  online: boolean;
  serverUrl: string;
  auth: ReplicationAuth;
  fetch?: FetchLike;
  storage?: AnyRxStorage;
  /** The database name (tests); default the user's own. */
  databaseName?: string;
  onStatus?: (status: ReplicationStatus) => void;
  onRefused?: (collection: CollectionName, rows: RefusedWrite[]) => void;
  /** Replication tuning (tests). */
  retryTimeMs?: number;
  streamBackoff?: { initialMs: number; maxMs: number };
}

export interface OpenedUserSession {
  db: UserDatabase;
  replication: UserReplication | null;
  /** Attaching and reading attachments; the uploader runs only in an online session. */
  attachments: SessionAttachments;
}

export interface UserSession {
  /** Resolves once the database is open and the replication started; rejects if closed before. */
  readonly ready: Promise<OpenedUserSession>;
  /** Stops the replication and the uploader, then closes the database. Idempotent. */
  close(): Promise<void>;
}

export class SessionClosedError extends Error {
  constructor() {
    super('the session was closed before it opened');
  }
}

/** Every close requested so far, chained: a new session starts after all of them. */
let closings: Promise<void> = Promise.resolve();

export function openUserSession(options: UserSessionOptions): UserSession {
  const previous = closings;
  let closing: Promise<void> | null = null;
  const ready = (async (): Promise<OpenedUserSession> => {
    await previous;
    if (closing) throw new SessionClosedError();
    const db = await openUserDatabase(options.userId, options.storage, options.databaseName);
    if (closing) {
      await db.close();
      throw new SessionClosedError();
    }
    const attachments = startSessionAttachments({
      db,
      serverUrl: options.serverUrl,
      auth: options.auth,
      fetch: options.fetch,
      online: options.online,
    });
    if (!options.online) return { db, replication: null, attachments };
    const replication = startUserReplication({
      db,
      serverUrl: options.serverUrl,
      auth: options.auth,
      fetch: options.fetch,
      retryTimeMs: options.retryTimeMs,
      streamBackoff: options.streamBackoff,
      onStatus: options.onStatus,
      onRefused: options.onRefused,
      // Attachment bytes reach the server before the documents that reference them.
      beforePush: attachments.beforePush,
    });
    return { db, replication, attachments };
  })();
  // A session that never opened has nothing to close; its failure is the caller's to report.
  ready.catch(() => undefined);

  return {
    ready,
    close() {
      if (!closing) {
        closing = (async () => {
          const opened = await ready.catch(() => null);
          if (!opened) return;
          await opened.replication?.stop();
          await opened.attachments.stop();
          await opened.db.close();
        })();
        const done = closing;
        closings = closings.then(() => done).catch(() => undefined);
      }
      return closing;
    },
  };
}
