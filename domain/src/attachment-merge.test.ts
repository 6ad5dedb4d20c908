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
