/**
 * RxDB's free Dexie (IndexedDB) storage with one change: how it reads documents by id.
 *
 * Why: a CPU profile of the initial pull (bench/sync.ts with BENCH_PROFILE) showed 17 % of the
 * page's time in IndexedDB `get`: for every pulled page RxDB's replication reads each id four
 * times (the collection and the replication's meta instance, once to compare and once inside the
 * bulk write), and Dexie's bulkGet issues one IndexedDB request per id. On a fresh or sparse
 * database almost all of those ids do not exist yet.
 *
 * What changes: before fetching documents, one `getAllKeys` over the ids' key range (capped at a
 * few times the number of ids) says which of them exist; only those are fetched. When the range is
 * dense (the cap is hit) it falls back to fetching every id, exactly as RxDB does. Everything else
 * (the write path, change events, attachments, multi-instance, queries) is RxDB's own code; dev mode
 * keeps RxDB's unmodified methods so its extra checks still run.
 */
import {
  addRxStorageMultiInstanceSupport,
  categorizeBulkWriteRows,
  ensureRxStorageInstanceParamsAreCorrect,
  newRxError,
  type BulkWriteRow,
  type DexieSettings,
  type DexieStorageInternals,
  type EventBulk,
  type RxStorageChangeEvent,
  type RxDocumentData,
  type RxStorageBulkWriteResponse,
  type RxStorageInstanceCreationParams,
} from 'rxdb';
import {
  RX_STORAGE_NAME_DEXIE,
  RxStorageDexie,
  RxStorageInstanceDexie,
  attachmentObjectId,
  fromDexieToStorage,
  fromStorageToDexie,
  getDexieDbWithTables,
} from 'rxdb/plugins/storage-dexie';

type DexieState = Awaited<DexieStorageInternals>;

/** A key range holding more than this many keys per requested id is read id by id. */
const RANGE_KEYS_PER_ID = 4;

/**
 * The stored documents with these ids (absent ids are simply missing from the map).
 * Must run inside a Dexie transaction on `state.dexieTable` when the caller needs consistency.
 */
export async function readDocumentsById(
  state: DexieState,
  primaryPath: string,
  ids: readonly string[],
): Promise<Map<string, RxDocumentData<unknown>>> {
  const found = new Map<string, RxDocumentData<unknown>>();
  if (ids.length === 0) return found;
  let min = ids[0]!;
  let max = min;
  for (const id of ids) {
    // IndexedDB orders string keys by UTF-16 code units, as JavaScript's < does.
    if (id < min) min = id;
    if (id > max) max = id;
  }
  const cap = ids.length * RANGE_KEYS_PER_ID + 16;
  const keysInRange = (await state.dexieTable
    .where(':id')
    .between(min, max, true, true)
    .limit(cap)
    .primaryKeys()) as string[];
  let toFetch: readonly string[];
  if (keysInRange.length >= cap) {
    toFetch = ids;
  } else {
    const wanted = new Set(ids);
    toFetch = keysInRange.filter((key) => wanted.has(key));
  }
  if (toFetch.length === 0) return found;
  const stored = (await state.dexieTable.bulkGet(toFetch as string[])) as (
    Record<string, unknown> | undefined
  )[];
  for (const doc of stored) {
    if (!doc) continue;
    const storageDoc = fromDexieToStorage(state.booleanIndexes, doc) as RxDocumentData<
      Record<string, unknown>
    >;
    found.set(storageDoc[primaryPath] as string, storageDoc as RxDocumentData<unknown>);
  }
  return found;
}

export class RxStorageInstanceDexieFastRead<RxDocType> extends RxStorageInstanceDexie<RxDocType> {
  override async findDocumentsById(
    ids: string[],
    withDeleted: boolean,
  ): Promise<RxDocumentData<RxDocType>[]> {
    if (this.devMode || this.closed) return super.findDocumentsById(ids, withDeleted);
    const state = await this.internals;
    let found = new Map<string, RxDocumentData<unknown>>();
    await state.dexieDb.transaction('r', state.dexieTable, async () => {
      found = await readDocumentsById(state, this.primaryPath as string, ids);
    });
    const ret: RxDocumentData<RxDocType>[] = [];
    for (const id of ids) {
      const doc = found.get(id) as RxDocumentData<RxDocType> | undefined;
      if (doc && (!doc._deleted || withDeleted)) ret.push(doc);
    }
    return ret;
  }

  /** RxDB 17's RxStorageInstanceDexie.bulkWrite with readDocumentsById as its read. */
  override async bulkWrite(
    documentWrites: BulkWriteRow<RxDocType>[],
    context: string,
  ): Promise<RxStorageBulkWriteResponse<RxDocType>> {
    if (this.devMode || this.closed) return super.bulkWrite(documentWrites, context);
    for (const row of documentWrites) {
      if (!row.document._rev || (row.previous && !row.previous._rev)) {
        // Same as RxDB: a write without revision is a bug in the caller; let RxDB throw its error.
        return super.bulkWrite(documentWrites, context);
      }
    }
    const state = await this.internals;
    const primaryPath = this.primaryPath as string;
    const ret: RxStorageBulkWriteResponse<RxDocType> = { error: [] };
    const documentKeys = documentWrites.map(
      (row) => (row.document as Record<string, unknown>)[primaryPath] as string,
    );
    let categorized: ReturnType<typeof categorizeBulkWriteRows<RxDocType>> | undefined;
    await state.dexieDb.transaction('rw', state.dexieTable, state.dexieAttachmentsTable, async () => {
      const docsInDb = (await readDocumentsById(state, primaryPath, documentKeys)) as unknown as Map<
        string,
        RxDocumentData<RxDocType>
      >;
      categorized = categorizeBulkWriteRows<RxDocType>(
        this,
        this.primaryPath as never,
        docsInDb,
        documentWrites,
        context,
      );
      ret.error = categorized.errors;
      const bulkPutDocs = [...categorized.bulkInsertDocs, ...categorized.bulkUpdateDocs].map((row) =>
        fromStorageToDexie(state.booleanIndexes, row.document),
      );
      if (bulkPutDocs.length > 0) await state.dexieTable.bulkPut(bulkPutDocs);
      const putAttachments = [...categorized.attachmentsAdd, ...categorized.attachmentsUpdate].map(
        (attachment) => ({
          id: attachmentObjectId(attachment.documentId, attachment.attachmentId),
          data: attachment.attachmentData.data,
        }),
      );
      if (putAttachments.length > 0) await state.dexieAttachmentsTable.bulkPut(putAttachments);
      const removed = categorized.attachmentsRemove.map((attachment) =>
        attachmentObjectId(attachment.documentId, attachment.attachmentId),
      );
      if (removed.length > 0) await state.dexieAttachmentsTable.bulkDelete(removed);
    });
    if (categorized && categorized.eventBulk.events.length > 0 && categorized.newestRow) {
      const lastState = categorized.newestRow.document as RxDocumentData<Record<string, unknown>>;
      categorized.eventBulk.checkpoint = { id: lastState[primaryPath], lwt: lastState._meta.lwt };
      // changes$ is private in RxDB's typings; the multi-instance support reads it via changeStream().
      (
        this as unknown as {
          changes$: { next(bulk: EventBulk<RxStorageChangeEvent<RxDocType>, unknown>): void };
        }
      ).changes$.next(categorized.eventBulk);
    }
    return ret;
  }
}

export class RxStorageDexieFastRead extends RxStorageDexie {
  override async createStorageInstance<RxDocType>(
    params: RxStorageInstanceCreationParams<RxDocType, DexieSettings>,
  ): Promise<RxStorageInstanceDexieFastRead<RxDocType>> {
    // The same checks as RxStorageDexie.createStorageInstance: valid params, and Dexie cannot
    // index a field that may be missing (RxDB's DXE1).
    ensureRxStorageInstanceParamsAreCorrect(params);
    const required = (params.schema.required ?? []) as readonly string[];
    for (const field of (params.schema.indexes ?? []).flat()) {
      if (!field.includes('.') && !required.includes(field))
        throw newRxError('DXE1', { field, schema: params.schema });
    }
    const internals = getDexieDbWithTables(
      params.databaseName,
      params.collectionName,
      this.settings,
      params.schema,
    );
    const instance = new RxStorageInstanceDexieFastRead<RxDocType>(
      this,
      params.databaseName,
      params.collectionName,
      params.schema,
      internals,
      params.options,
      this.settings,
      params.devMode,
    );
    await addRxStorageMultiInstanceSupport(RX_STORAGE_NAME_DEXIE, params, instance);
    return instance;
  }
}

export function getRxStorageDexieFastRead(settings: DexieSettings = {}): RxStorageDexieFastRead {
  return new RxStorageDexieFastRead(settings);
}
