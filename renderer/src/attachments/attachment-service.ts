/**
 * Attachments on the device: photos of receipts and devices, raw diagnostic logs.
 *
 * - `attach(collection, docId, file)` checks the file (type and size, with sentences the user
 *   understands), hashes it with SHA-256 (crypto.subtle), and in ONE local write stores the bytes
 *   as an RxDB attachment of the document (id = the hash) and adds the AttachmentRef to its
 *   `attachments` field. The document then replicates like any edit; the bytes wait in the
 *   outbox for the uploader (uploader.ts).
 * - `prepare(file)` + `insertWithAttachments(collection, doc, prepared)` do the same for a document
 *   being created (append-only timelines cannot be edited after they are pushed).
 * - `read(collection, docId, sha256)` answers the bytes from the device, or fetches them from the
 *   server on demand (a document pulled from another device lists the hash but has no bytes here
 *   yet), checks their hash and keeps them with the document for offline use.
 *
 * Works for every collection whose schema has an `attachments` property (attachments/schema.ts).
 */
import type { ErrorCode } from '@emdad/domain';
import {
  attachmentRefusal,
  baseContentType,
  checkAttachmentFile,
  type AttachmentRefusal,
} from '@emdad/domain/attachment-checks';
import { ATTACHMENT_LIMITS, type AttachmentContentType, type AttachmentRef } from '@emdad/domain/model/index';
import type { RxCollection, RxDatabase, RxDocument } from 'rxdb';
import { ApiError } from '../sync/http.ts';
import { sha256Hex } from './hash.ts';
import { AttachmentOutbox } from './outbox.ts';
import { hasAttachmentRefs } from './schema.ts';
import type { AttachmentTransport } from './transport.ts';

/** A File from an <input type="file">, a Blob with a name, or anything shaped like one. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any user database, whatever its collections
type AnyDatabase = RxDatabase<any>;

export interface AttachableFile {
  name: string;
  type: string;
  size: number;
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** Why an attachment cannot be added or shown, in the user's words. */
export class AttachmentError extends Error {
  constructor(
    readonly code: AttachmentRefusal['problem'] | 'missing_document' | 'not_available' | ErrorCode,
    readonly sentence: { fa: string; en: string },
  ) {
    super(sentence.en);
    this.name = 'AttachmentError';
  }
}

const SENTENCES = {
  missing_document: {
    en: 'This record is no longer on this device, so nothing was attached. Open the record again and retry.',
    fa: 'این مورد دیگر روی این دستگاه نیست و چیزی پیوست نشد. مورد را دوباره باز کنید و دوباره تلاش کنید.',
  },
  not_available: {
    en: 'This attachment has not reached the server yet from the device that added it. It will open once that device has synced.',
    fa: 'این پیوست هنوز از دستگاهی که آن را افزوده به سرور نرسیده است. پس از همگام‌سازی آن دستگاه باز می‌شود.',
  },
  not_offline: {
    en: 'This attachment is not on this device yet. Connect to the network to open it.',
    fa: 'این پیوست هنوز روی این دستگاه نیست. برای باز کردن آن به شبکه وصل شوید.',
  },
  damaged: {
    en: 'The attachment arrived damaged. Try opening it again.',
    fa: 'پیوست آسیب‌دیده دریافت شد. دوباره آن را باز کنید.',
  },
} as const;

/** A checked and hashed file, ready to be stored with a document. */
export interface PreparedAttachment {
  ref: AttachmentRef;
  blob: Blob;
}

export interface AttachmentServiceOptions {
  /** The user database (with local documents). */
  db: AnyDatabase;
  /** Where bytes missing on this device are fetched from; null while signed in offline. */
  transport: AttachmentTransport | null;
  /** Client clock for `addedAt` / `updatedAt`. */
  now?: () => Date;
  /** Called after bytes were added to the outbox (the uploader starts a round). */
  onPendingUpload?: () => void;
}

export interface AttachmentService {
  attach(collection: string, docId: string, file: AttachableFile): Promise<AttachmentRef>;
  prepare(file: AttachableFile): Promise<PreparedAttachment>;
  insertWithAttachments<T extends { id: string }>(
    collection: string,
    doc: T,
    prepared: readonly PreparedAttachment[],
  ): Promise<RxDocument<T>>;
  read(collection: string, docId: string, sha256: string): Promise<Blob>;
  /** True when the bytes are on this device. */
  isOnDevice(collection: string, docId: string, sha256: string): Promise<boolean>;
}

function refusal(problem: AttachmentRefusal['problem'], detail?: { size?: number }): AttachmentError {
  const r = attachmentRefusal(problem, detail);
  return new AttachmentError(problem, { fa: r.fa, en: r.en });
}

/** Names are for people; keep the extension when one is too long for the schema. */
function fitName(name: string): string {
  const trimmed = name.trim() || 'attachment';
  if (trimmed.length <= ATTACHMENT_LIMITS.nameMax) return trimmed;
  const dot = trimmed.lastIndexOf('.');
  const ext = dot > 0 && trimmed.length - dot <= 10 ? trimmed.slice(dot) : '';
  return trimmed.slice(0, ATTACHMENT_LIMITS.nameMax - ext.length) + ext;
}

type AnyCollection = RxCollection<Record<string, unknown>>;
type StoredAttachments = Record<string, { type: string; length: number; digest: string; data?: Blob }>;

export function createAttachmentService(options: AttachmentServiceOptions): AttachmentService {
  const { db } = options;
  const now = options.now ?? (() => new Date());
  const outbox = new AttachmentOutbox(db);

  function collectionOf(name: string): AnyCollection {
    const collection = (db.collections as Record<string, AnyCollection | undefined>)[name];
    if (
      !collection ||
      !hasAttachmentRefs(collection.schema.jsonSchema as { properties: Record<string, unknown> })
    )
      throw new Error(`the collection ${name} does not keep attachments`);
    return collection;
  }

  async function prepare(file: AttachableFile): Promise<PreparedAttachment> {
    const contentType = baseContentType(file.type);
    const problem = checkAttachmentFile({ contentType, size: file.size });
    if (problem) throw refusal(problem.problem, { size: file.size });
    const bytes = await file.arrayBuffer();
    // A file that changed on disk since it was picked: check what was actually read.
    const recheck = checkAttachmentFile({ contentType, size: bytes.byteLength });
    if (recheck) throw refusal(recheck.problem, { size: bytes.byteLength });
    const ref: AttachmentRef = {
      sha256: await sha256Hex(bytes),
      name: fitName(file.name),
      contentType: contentType as AttachmentContentType,
      size: bytes.byteLength,
      addedAt: now().toISOString(),
    };
    return { ref, blob: new Blob([bytes], { type: contentType }) };
  }

  async function queueUploads(collection: string, docId: string, refs: readonly AttachmentRef[]) {
    for (const ref of refs)
      await outbox.add(
        { sha256: ref.sha256, contentType: ref.contentType, size: ref.size, nextAttemptAt: 0 },
        { collection, docId },
      );
  }

  async function attach(collectionName: string, docId: string, file: AttachableFile): Promise<AttachmentRef> {
    const collection = collectionOf(collectionName);
    const { ref, blob } = await prepare(file);
    const doc = await collection.findOne(docId).exec();
    if (!doc || doc.deleted) throw new AttachmentError('missing_document', SENTENCES.missing_document);
    const current = ((doc.get('attachments') as AttachmentRef[] | undefined) ?? []).find(
      (r) => r.sha256 === ref.sha256,
    );
    if (current) return current; // the same bytes are already attached
    if (
      ((doc.get('attachments') as AttachmentRef[] | undefined) ?? []).length >=
      ATTACHMENT_LIMITS.maxPerDocument
    )
      throw refusal('too_many');
    const digest = await db.hashFunction(blob);
    // The outbox entry first (see outbox.ts): a crash after it leaves nothing unuploaded.
    await queueUploads(collectionName, docId, [ref]);
    let stored: AttachmentRef = ref;
    await collection.incrementalWriteQueue.addWrite(doc._data, (data) => {
      const refs = ((data.attachments as AttachmentRef[] | undefined) ?? []).slice();
      const existing = refs.find((r) => r.sha256 === ref.sha256);
      if (existing) {
        stored = existing;
        return data;
      }
      if (refs.length >= ATTACHMENT_LIMITS.maxPerDocument) throw refusal('too_many');
      const attachments = { ...(data._attachments as StoredAttachments) };
      attachments[ref.sha256] = { type: ref.contentType, length: ref.size, digest, data: blob };
      return {
        ...data,
        attachments: [...refs, ref],
        updatedAt: ref.addedAt,
        _attachments: attachments as typeof data._attachments,
      };
    });
    options.onPendingUpload?.();
    return stored;
  }

  async function insertWithAttachments<T extends { id: string }>(
    collectionName: string,
    doc: T,
    prepared: readonly PreparedAttachment[],
  ): Promise<RxDocument<T>> {
    const collection = collectionOf(collectionName);
    const unique = [...new Map(prepared.map((p) => [p.ref.sha256, p])).values()];
    if (unique.length > ATTACHMENT_LIMITS.maxPerDocument) throw refusal('too_many');
    await queueUploads(
      collectionName,
      doc.id,
      unique.map((p) => p.ref),
    );
    const inserted = await collection.insert({
      ...doc,
      attachments: unique.map((p) => p.ref),
      // RxDB's inline attachments on insert: a list of { id, type, data }.
      _attachments: unique.map((p) => ({ id: p.ref.sha256, type: p.ref.contentType, data: p.blob })),
    } as unknown as Record<string, unknown>);
    options.onPendingUpload?.();
    return inserted as unknown as RxDocument<T>;
  }

  async function localBlob(doc: RxDocument<Record<string, unknown>>, sha256: string): Promise<Blob | null> {
    const attachment = doc.getAttachment(sha256);
    return attachment ? await attachment.getData() : null;
  }

  async function read(collectionName: string, docId: string, sha256: string): Promise<Blob> {
    const collection = collectionOf(collectionName);
    const doc = await collection.findOne(docId).exec();
    if (!doc) throw new AttachmentError('missing_document', SENTENCES.missing_document);
    const ref = ((doc.get('attachments') as AttachmentRef[] | undefined) ?? []).find(
      (r) => r.sha256 === sha256,
    );
    const local = await localBlob(doc, sha256);
    if (local) return local;
    if (!ref) throw new AttachmentError('not_found', SENTENCES.missing_document);
    if (!options.transport) throw new AttachmentError('network_unavailable', SENTENCES.not_offline);
    let blob: Blob;
    try {
      blob = await options.transport.download(sha256);
    } catch (err) {
      if (err instanceof ApiError && err.status === 404)
        throw new AttachmentError('not_available', SENTENCES.not_available);
      if (err instanceof ApiError && err.isNetwork)
        throw new AttachmentError('network_unavailable', SENTENCES.not_offline);
      throw err;
    }
    const bytes = await blob.arrayBuffer();
    if ((await sha256Hex(bytes)) !== sha256) throw new AttachmentError('internal', SENTENCES.damaged);
    const data = new Blob([bytes], { type: ref.contentType });
    // Kept with the document for offline use. Only RxDB's `_attachments` changes: the document's own
    // fields (and so what replicates) stay as the server sent them.
    const latest = doc.getLatest();
    if (!latest.getAttachment(sha256) && !latest.deleted) {
      await latest.putAttachment({ id: sha256, type: ref.contentType, data }).catch(() => undefined);
    }
    return data;
  }

  return {
    attach,
    prepare,
    insertWithAttachments,
    read,
    async isOnDevice(collectionName, docId, sha256) {
      const doc = await collectionOf(collectionName).findOne(docId).exec();
      return Boolean(doc?.getAttachment(sha256));
    },
  };
}
