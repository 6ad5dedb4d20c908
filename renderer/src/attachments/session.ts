/**
 * Attachments for one signed-in session, in one call for the session provider:
 *
 *   const attachments = startSessionAttachments({ db, serverUrl, auth, online });
 *   startUserReplication({ …, beforePush: attachments.beforePush });   // upload first
 *   …context gets attachments.service…
 *   await attachments.stop();                                          // on sign-out, before db.close()
 *
 * Offline (signed in with the offline verifier) the service still attaches and reads what is on
 * the device; the outbox waits for the next online session.
 */
import type { RxDatabase } from 'rxdb';
import type { ReplicationAuth } from '../sync/case-replication.ts';
import type { FetchLike } from '../sync/http.ts';
import { createAttachmentService, type AttachmentService } from './attachment-service.ts';
import { createAttachmentTransport } from './transport.ts';
import { startAttachmentUploader, type AttachmentUploadStatus, type AttachmentUploader } from './uploader.ts';
import './rxdb.ts';

export interface SessionAttachmentsOptions {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- any user database, whatever its collections
  db: RxDatabase<any>;
  serverUrl: string;
  auth: ReplicationAuth;
  /** False for an offline sign-in: nothing is sent or fetched. */
  online: boolean;
  fetch?: FetchLike;
  onStatus?: (status: AttachmentUploadStatus) => void;
}

export interface SessionAttachments {
  service: AttachmentService;
  uploader: AttachmentUploader | null;
  /** For the replication's `beforePush` (any collection): the documents' pending bytes go first. */
  beforePush: (collectionOrDocs: unknown, docs?: readonly unknown[]) => Promise<void>;
  stop(): Promise<void>;
}

export function startSessionAttachments(options: SessionAttachmentsOptions): SessionAttachments {
  const transport = options.online
    ? createAttachmentTransport({ serverUrl: options.serverUrl, auth: options.auth, fetch: options.fetch })
    : null;
  const uploader = transport
    ? startAttachmentUploader({ db: options.db, transport, onStatus: options.onStatus })
    : null;
  const service = createAttachmentService({
    db: options.db,
    transport,
    onPendingUpload: () => uploader?.kick(),
  });
  return {
    service,
    uploader,
    // Accepts both `(docs)` (one collection's replication) and `(collection, docs)` (all of them).
    beforePush: async (collectionOrDocs, docs) => {
      const list = Array.isArray(collectionOrDocs) ? collectionOrDocs : (docs ?? []);
      await uploader?.ensureUploaded(list);
    },
    stop: async () => {
      await uploader?.stop();
    },
  };
}
