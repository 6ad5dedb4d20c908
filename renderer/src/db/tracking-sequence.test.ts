import { describe, expect, it } from 'vitest';
import { parseTrackingCode } from '@emdad/domain';
import { openDeviceDatabase } from './database.ts';
import { mintTrackingCode, nextTrackingSequence } from './tracking-sequence.ts';
import { testStorage, uniqueName } from '../test-support/rx.ts';

describe('per-install tracking sequence', () => {
  it('never hands out a number twice, also across closing and reopening the database', async () => {
    const storage = testStorage();
    const name = uniqueName('device');
    let db = await openDeviceDatabase(storage, name);
    const first = [
      await nextTrackingSequence(db, 'A01'),
      await nextTrackingSequence(db, 'A01'),
      await nextTrackingSequence(db, 'A01'),
    ];
    expect(first).toEqual([1, 2, 3]);
    await db.close();
    db = await openDeviceDatabase(storage, name);
    expect(await nextTrackingSequence(db, 'A01')).toBe(4);
    await db.close();
  });

  it('gives distinct numbers to concurrent requests', async () => {
    const db = await openDeviceDatabase(testStorage(), uniqueName('device'));
    const numbers = await Promise.all(Array.from({ length: 25 }, () => nextTrackingSequence(db, 'B02')));
    expect(new Set(numbers).size).toBe(25);
    expect(Math.max(...numbers)).toBe(25);
    await db.close();
  });

  it('keeps one sequence per prefix and mints valid codes in the Jalali year', async () => {
    const db = await openDeviceDatabase(testStorage(), uniqueName('device'));
    await nextTrackingSequence(db, 'A01');
    const code = await mintTrackingCode(db, 'C03', new Date('2026-11-23T10:00:00Z'));
    const parsed = parseTrackingCode(code);
    expect(parsed).toMatchObject({ ok: true, prefix: 'C03', jalaliYear: 1405, sequence: 1 });
    await db.close();
  });
});
