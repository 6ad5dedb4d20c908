import { afterEach, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { indexedDB, IDBKeyRange } from 'fake-indexeddb';
import {
  createRevision,
  fillWithDefaultSettings,
  randomToken,
  type BulkWriteRow,
  type RxDocumentData,
  type RxJsonSchema,
  type RxStorageInstance,
} from 'rxdb';
import { getRxStorageDexie } from 'rxdb/plugins/storage-dexie';
import { getRxStorageDexieFastRead } from './dexie-storage.ts';

interface Item {
  id: string;
  value: number;
  tag: string;
}

const schema = fillWithDefaultSettings({
  version: 0,
  primaryKey: 'id',
  type: 'object',
  properties: {
    id: { type: 'string', maxLength: 40 },
    value: { type: 'number', minimum: 0, maximum: 1000, multipleOf: 1 },
    tag: { type: 'string', maxLength: 10 },
  },
  required: ['id', 'value', 'tag'],
  indexes: ['value'],
} as RxJsonSchema<Item>);

type Instance = RxStorageInstance<Item, unknown, unknown>;
const opened: Instance[] = [];
afterEach(async () => {
  while (opened.length) await opened.pop()!.remove();
});

async function open(fast: boolean): Promise<Instance> {
  const storage = fast
    ? getRxStorageDexieFastRead({ indexedDB, IDBKeyRange })
    : getRxStorageDexie({ indexedDB, IDBKeyRange });
  const instance = (await storage.createStorageInstance<Item>({
    databaseInstanceToken: randomToken(10),
    databaseName: `fast-read-${fast ? 'fast' : 'rxdb'}-${randomToken(8)}`,
    collectionName: 'items',
    schema,
    options: {},
    multiInstance: false,
    devMode: false,
  })) as unknown as Instance;
  opened.push(instance);
  return instance;
}

// 40 ids so that a lookup of a few far-apart ids sees a dense key range (the fallback path).
const POOL = Array.from({ length: 40 }, (_, i) => `item-${String(i).padStart(3, '0')}`);

type Op =
  | { kind: 'write'; ids: string[]; stale: boolean; deleted: boolean; value: number }
  | { kind: 'find'; ids: string[]; withDeleted: boolean };
const ids = fc.uniqueArray(fc.constantFrom(...POOL), { minLength: 1, maxLength: 12 });
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('write' as const),
    ids,
    stale: fc.boolean(),
    deleted: fc.boolean(),
    value: fc.integer({ min: 0, max: 1000 }),
  }),
  fc.record({ kind: fc.constant('find' as const), ids, withDeleted: fc.boolean() }),
);

const byId = (docs: RxDocumentData<Item>[]) => [...docs].sort((a, b) => (a.id < b.id ? -1 : 1));

describe('RxDB Dexie storage with existence-first reads', () => {
  it('gives the same write results, reads and stored state as RxDB’s Dexie storage', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 14 }), async (ops) => {
        const reference = await open(false);
        const fast = await open(true);
        let lwt = 1;
        for (const step of ops) {
          if (step.kind === 'find') {
            const [a, b] = await Promise.all([
              reference.findDocumentsById(step.ids, step.withDeleted),
              fast.findDocumentsById(step.ids, step.withDeleted),
            ]);
            expect(byId(b)).toEqual(byId(a));
            continue;
          }
          const current = new Map((await reference.findDocumentsById(step.ids, true)).map((d) => [d.id, d]));
          const rows: BulkWriteRow<Item>[] = step.ids.map((id) => {
            const previous = current.get(id);
            // A stale write claims a previous revision the store no longer has: a 409 conflict.
            const claimed = previous && step.stale ? { ...previous, _rev: '1-stale' } : previous;
            const document: RxDocumentData<Item> = {
              id,
              value: step.value,
              tag: step.deleted ? 'gone' : 'here',
              _deleted: step.deleted,
              _attachments: {},
              _meta: { lwt: lwt++ },
              _rev: createRevision('tkn', claimed),
            };
            return claimed ? { previous: claimed, document } : { document };
          });
          const [a, b] = await Promise.all([reference.bulkWrite(rows, 'test'), fast.bulkWrite(rows, 'test')]);
          const summary = (r: typeof a) => r.error.map((e) => `${e.documentId}:${e.status}`).sort();
          expect(summary(b)).toEqual(summary(a));
        }
        const [all, allFast] = await Promise.all([
          reference.findDocumentsById(POOL, true),
          fast.findDocumentsById(POOL, true),
        ]);
        expect(byId(allFast)).toEqual(byId(all));
        await Promise.all([reference.remove(), fast.remove()]);
        opened.length = 0;
      }),
      { numRuns: 25 },
    );
  });

  it('reads a dense key range id by id, with the same answers', async () => {
    const reference = await open(false);
    const fast = await open(true);
    const rows: BulkWriteRow<Item>[] = POOL.map((id, i) => ({
      document: {
        id,
        value: i,
        tag: i % 3 ? 'here' : 'gone',
        _deleted: i % 3 === 0,
        _attachments: {},
        _meta: { lwt: i + 1 },
        _rev: createRevision('tkn'),
      },
    }));
    await Promise.all([reference.bulkWrite(rows, 'test'), fast.bulkWrite(rows, 'test')]);
    // 3 ids spanning 39 stored keys: more than 4 keys per id, so every id is fetched.
    const wanted = [POOL[0]!, POOL[38]!, 'item-0205'];
    for (const withDeleted of [true, false]) {
      const [a, b] = await Promise.all([
        reference.findDocumentsById(wanted, withDeleted),
        fast.findDocumentsById(wanted, withDeleted),
      ]);
      expect(byId(b)).toEqual(byId(a));
      expect(b.length).toBe(withDeleted ? 2 : 1);
    }
    const update = (instance: Instance, previous: RxDocumentData<Item>) =>
      instance.bulkWrite(
        [
          {
            previous,
            document: { ...previous, value: 999, _meta: { lwt: 100 }, _rev: createRevision('tkn', previous) },
          },
        ],
        'test',
      );
    const [[refFirst], [fastFirst]] = await Promise.all([
      reference.findDocumentsById([POOL[39]!], true),
      fast.findDocumentsById([POOL[39]!], true),
    ]);
    const [a, b] = await Promise.all([update(reference, refFirst!), update(fast, fastFirst!)]);
    expect(b.error).toEqual(a.error);
    expect((await fast.findDocumentsById([POOL[39]!], true))[0]?.value).toBe(999);
  });

  it('emits the same change events for a write', async () => {
    const reference = await open(false);
    const fast = await open(true);
    const seen: string[][] = [[], []];
    const subs = [reference, fast].map((instance, i) =>
      instance
        .changeStream()
        .subscribe((bulk) => seen[i]!.push(...bulk.events.map((e) => `${e.operation}:${e.documentId}`))),
    );
    const rows: BulkWriteRow<Item>[] = ['b', 'a'].map((id) => ({
      document: {
        id,
        value: 1,
        tag: 'x',
        _deleted: false,
        _attachments: {},
        _meta: { lwt: 1 },
        _rev: createRevision('tkn'),
      },
    }));
    await Promise.all([reference.bulkWrite(rows, 'test'), fast.bulkWrite(rows, 'test')]);
    subs.forEach((s) => s.unsubscribe());
    expect(seen[1]).toEqual(seen[0]);
    expect(seen[1]).toEqual(['INSERT:b', 'INSERT:a']);
  });
});
