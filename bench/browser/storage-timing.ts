/**
 * The app's storage (defaultStorage()) with a stopwatch on the storage calls RxDB makes, per
 * storage instance: it shows where an initial pull spends its time (the collection's documents vs
 * the replication's meta instance, reads vs writes). The wrapper adds one timer per call (tens of
 * calls per 20,000-document pull) and changes nothing else.
 */
import type { RxStorage, RxStorageInstance, RxStorageInstanceCreationParams } from 'rxdb';
import { defaultStorage, type AnyRxStorage } from '@emdad/renderer/db/database';

export interface CallTiming {
  calls: number;
  ms: number;
  /** Rows written or ids read. */
  rows: number;
}

const TIMED_METHODS = ['bulkWrite', 'findDocumentsById', 'query', 'count'] as const;

export function timedDefaultStorage(): {
  storage: AnyRxStorage;
  timings: Record<string, CallTiming>;
  reset(): void;
} {
  const base = defaultStorage() as RxStorage<unknown, unknown>;
  const timings: Record<string, CallTiming> = {};
  const storage = {
    name: base.name,
    rxdbVersion: base.rxdbVersion,
    async createStorageInstance<T>(
      params: RxStorageInstanceCreationParams<T, unknown>,
    ): Promise<RxStorageInstance<T, unknown, unknown>> {
      const instance = await base.createStorageInstance(params);
      const label =
        params.schema.title === 'RxReplicationProtocolMetaData' ? 'replicationMeta' : params.collectionName;
      const methods = instance as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
      for (const method of TIMED_METHODS) {
        const original = methods[method]!.bind(instance);
        methods[method] = async (...args: unknown[]) => {
          const start = performance.now();
          try {
            return await original(...args);
          } finally {
            const entry = (timings[`${label}.${method}`] ??= { calls: 0, ms: 0, rows: 0 });
            entry.calls++;
            entry.ms += performance.now() - start;
            entry.rows += Array.isArray(args[0]) ? args[0].length : 0;
          }
        };
      }
      return instance;
    },
  };
  return {
    storage: storage as unknown as AnyRxStorage,
    timings,
    reset: () => {
      for (const key of Object.keys(timings)) delete timings[key];
    },
  };
}
