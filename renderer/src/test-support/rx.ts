/** RxDB on fake-indexeddb for Node unit tests, and a bounded wait. */
import { indexedDB, IDBKeyRange } from 'fake-indexeddb';
import type { AnyRxStorage } from '../db/database.ts';
import { getRxStorageDexieFastRead } from '../db/dexie-storage.ts';

/** The app's own storage (RxDB's Dexie with the fast id reads) over fake-indexeddb. */
export function testStorage(): AnyRxStorage {
  return getRxStorageDexieFastRead({ indexedDB, IDBKeyRange });
}

let n = 0;
export function uniqueName(prefix: string): string {
  n++;
  return `${prefix}-${process.pid}-${n}-${Math.random().toString(36).slice(2, 8)}`;
}

/** Polls until `check` returns a truthy value; fails after a generous bound. */
export async function eventually<T>(
  check: () => T | Promise<T>,
  what: string,
  timeoutMs = 10_000,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
