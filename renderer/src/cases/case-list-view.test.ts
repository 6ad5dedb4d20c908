import { describe, expect, it } from 'vitest';
import { openUserDatabase } from '../db/database.ts';
import { sampleCase } from '../test-support/fake-sync-server.ts';
import { testStorage, uniqueName } from '../test-support/rx.ts';
import {
  CASE_LIST_QUERY,
  caseSyncState,
  countUnsynced,
  newestFirst,
  spacerHeights,
} from './case-list-view.ts';

describe('newestFirst', () => {
  const oldestFirst = ['a', 'b', 'c', 'd'];
  it('reads an ascending list from its end', () => {
    expect([0, 1, 2, 3].map((i) => newestFirst(oldestFirst, i))).toEqual(['d', 'c', 'b', 'a']);
  });
  it('answers undefined outside the list', () => {
    expect(newestFirst(oldestFirst, -1)).toBeUndefined();
    expect(newestFirst(oldestFirst, 4)).toBeUndefined();
    expect(newestFirst([], 0)).toBeUndefined();
  });
});

describe('spacerHeights', () => {
  it('fills the space before and after the rendered window', () => {
    expect(
      spacerHeights(
        [
          { start: 440, end: 484 },
          { start: 484, end: 528 },
        ],
        44_000,
      ),
    ).toEqual({ before: 440, after: 44_000 - 528 });
  });
  it('is zero at both ends when everything is rendered', () => {
    expect(spacerHeights([{ start: 0, end: 44 }], 44)).toEqual({ before: 0, after: 0 });
  });
  it('is zero with nothing rendered', () => {
    expect(spacerHeights([], 1000)).toEqual({ before: 0, after: 0 });
  });
});

describe('case sync state', () => {
  const at = '2026-11-23T10:00:00.000Z';
  const later = '2026-11-23T10:05:00.000Z';
  it('is synced only when the server acknowledged this very version', () => {
    expect(caseSyncState({ id: 'x', updatedAt: at, acknowledgedUpdatedAt: at }, new Set())).toBe('synced');
    expect(caseSyncState({ id: 'x', updatedAt: later, acknowledgedUpdatedAt: at }, new Set())).toBe(
      'waiting',
    );
    expect(caseSyncState({ id: 'x', updatedAt: at, acknowledgedUpdatedAt: null }, new Set())).toBe('waiting');
  });
  it('shows a refusal for an unsynced case the server refused, never for a synced one', () => {
    expect(caseSyncState({ id: 'x', updatedAt: later, acknowledgedUpdatedAt: at }, new Set(['x']))).toBe(
      'refused',
    );
    expect(caseSyncState({ id: 'x', updatedAt: at, acknowledgedUpdatedAt: at }, new Set(['x']))).toBe(
      'synced',
    );
  });
  it('counts the unsynced cases', () => {
    expect(
      countUnsynced([
        { updatedAt: at, acknowledgedUpdatedAt: at },
        { updatedAt: later, acknowledgedUpdatedAt: at },
        { updatedAt: at, acknowledgedUpdatedAt: null },
      ]),
    ).toBe(2);
  });
});

describe('the list query on the app storage', () => {
  it('is sorted by the createdAt index (no re-sort) and reads newest first, ties by id', async () => {
    const db = await openUserDatabase('list-test', testStorage(), uniqueName('emdad-user-list'));
    try {
      const query = db.cases.find(CASE_LIST_QUERY);
      // The plan RxDB itself runs (its own `_deleted: false` selector added).
      const plan = query.getPreparedQuery().queryPlan;
      expect(plan.index).toEqual(['_deleted', 'createdAt', 'id']);
      expect(plan.sortSatisfiedByIndex).toBe(true);

      const day = (d: number) => `2026-11-${String(d).padStart(2, '0')}T08:00:00.000Z`;
      await db.cases.bulkInsert([
        sampleCase({ id: 'c-2', createdAt: day(2), updatedAt: day(2) }),
        sampleCase({ id: 'c-9', createdAt: day(9), updatedAt: day(9) }),
        sampleCase({ id: 'c-5a', createdAt: day(5), updatedAt: day(5) }),
        sampleCase({ id: 'c-5b', createdAt: day(5), updatedAt: day(5) }),
      ]);
      const oldestFirst = await query.exec();
      expect(oldestFirst.map((_, i) => newestFirst(oldestFirst, i)!.id)).toEqual([
        'c-9',
        'c-5b',
        'c-5a',
        'c-2',
      ]);
    } finally {
      await db.remove();
    }
  });
});
