import { describe, expect, it } from 'vitest';
import { mergeAttachmentRefs } from './attachment-merge.ts';
import type { AttachmentRef } from './model/attachments.ts';

const ref = (n: number): AttachmentRef => ({
  sha256: n.toString(16).padStart(64, '0'),
  name: `photo-${n}.jpg`,
  contentType: 'image/jpeg',
  size: 100 + n,
  addedAt: '2026-11-23T08:00:00.000Z',
});
const shas = (refs: AttachmentRef[]) => refs.map((r) => parseInt(r.sha256, 16));

describe('mergeAttachmentRefs', () => {
  it('keeps both sides’ additions', () => {
    expect(shas(mergeAttachmentRefs([ref(1), ref(2)], [ref(1)], [ref(1), ref(3)]))).toEqual([1, 3, 2]);
  });
  it('applies removals of either side', () => {
    // I removed 1, the server removed 2, I added 4.
    expect(
      shas(mergeAttachmentRefs([ref(2), ref(3), ref(4)], [ref(1), ref(2), ref(3)], [ref(1), ref(3)])),
    ).toEqual([3, 4]);
  });
  it('without a base (the first push lost its answer) keeps the union', () => {
    expect(shas(mergeAttachmentRefs([ref(1)], null, []))).toEqual([1]);
    expect(shas(mergeAttachmentRefs([ref(1)], undefined, [ref(2)]))).toEqual([2, 1]);
  });
  it('reads missing lists (documents of older schema versions) as empty', () => {
    expect(mergeAttachmentRefs(undefined, undefined, undefined)).toEqual([]);
    expect(shas(mergeAttachmentRefs([ref(5)], [], undefined))).toEqual([5]);
  });
});

describe('mergeDocumentConflict keeps attachment references', () => {
  const spec = { serverOwnedFields: ['serverUpdatedAt'], clientWritable: true, appendOnly: false };
  const doc = (attachments: AttachmentRef[] | undefined, extra: Record<string, unknown> = {}) => ({
    id: 'exp-1',
    description: 'Taxi',
    updatedAt: '2026-11-23T08:00:00.000Z',
    serverUpdatedAt: 1,
    _deleted: false,
    ...(attachments ? { attachments } : {}),
    ...extra,
  });

  it('a receipt attached here survives a first push whose answer was lost (no base)', async () => {
    const { mergeDocumentConflict } = await import('./conflict.ts');
    const merged = mergeDocumentConflict(spec, {
      newDocumentState: doc([ref(1)], { updatedAt: '2026-11-23T08:05:00.000Z', serverUpdatedAt: null }),
      assumedMasterState: null,
      realMasterState: doc([]),
    }) as unknown as { attachments: AttachmentRef[]; updatedAt: string };
    expect(shas(merged.attachments)).toEqual([1]);
    expect(merged.updatedAt).toBe('2026-11-23T08:05:00.000Z');
  });

  it('both devices attaching to the same expense keep both receipts', async () => {
    const { mergeDocumentConflict } = await import('./conflict.ts');
    const merged = mergeDocumentConflict(spec, {
      newDocumentState: doc([ref(1)], { updatedAt: '2026-11-23T08:05:00.000Z' }),
      assumedMasterState: doc([]),
      realMasterState: doc([ref(2)], { updatedAt: '2026-11-23T08:04:00.000Z', serverUpdatedAt: 2 }),
    }) as unknown as { attachments: AttachmentRef[] };
    expect(shas(merged.attachments)).toEqual([2, 1]);
  });

  it('nothing changes for documents without attachments', async () => {
    const { mergeDocumentConflict } = await import('./conflict.ts');
    const merged = mergeDocumentConflict(spec, {
      newDocumentState: doc(undefined, { description: 'Bus' }),
      assumedMasterState: doc(undefined),
      realMasterState: doc(undefined, { serverUpdatedAt: 2 }),
    }) as unknown as Record<string, unknown>;
    expect(merged).not.toHaveProperty('attachments');
    expect(merged.description).toBe('Bus');
  });
});
