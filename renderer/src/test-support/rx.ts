/** RxDB on fake-indexeddb for Node unit tests, and a bounded wait. */
import { indexedDB, IDBKeyRange } from 'fake-indexeddb';
import { getRxStorageDexie } from 'rxdb/plugins/storage-dexie';
import type { AnyRxStorage } from '../db/database.ts';

export function testStorage(): AnyRxStorage {
  return getRxStorageDexie({ indexedDB, IDBKeyRange });
}

let n = 0;
export function uniqueName(prefix: string): string {
  n++;
  return `${prefix}-${process.pid}-${n}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Polls until `check` returns a truthy value; fails after a generous bound. */
export async function eventually<T>(check: () => T | Promise<T>, what: string, timeoutMs = 10_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
