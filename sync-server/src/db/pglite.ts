import { EventEmitter } from 'node:events';
import { mkdirSync } from 'node:fs';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import type { Db, Queryable, Row } from './types.ts';

/**
 * PGlite is one connection inside this process. Every statement and transaction goes through one
 * promise queue, so a transaction never interleaves with another caller's statements. Notifications
 * stay in this process: a PGlite data directory is only ever opened by one server.
 */
export async function openPglite(dataDir?: string): Promise<Db> {
  if (dataDir) mkdirSync(dataDir, { recursive: true });
  const pg = dataDir ? await PGlite.create(dataDir) : await PGlite.create();
  const events = new EventEmitter();
  events.setMaxListeners(0);
  let tail: Promise<unknown> = Promise.resolve();
  let closed = false;

  function enqueue<T>(work: () => Promise<T>): Promise<T> {
    const run = tail.then(() => {
      if (closed) throw new Error('database is closed');
      return work();
    });
    tail = run.catch(() => undefined);
    return run;
  }

  const rowsOf = async <T extends Row>(
    target: PGlite | Transaction,
    sql: string,
    params?: unknown[],
  ): Promise<T[]> => (await target.query<T>(sql, params as unknown[])).rows;

  return {
    kind: 'pglite',
    query: (sql, params) => enqueue(() => rowsOf(pg, sql, params)),
    exec: (sql) =>
      enqueue(async () => {
        await pg.exec(sql);
      }),
    transaction: (fn) =>
      enqueue(() =>
        pg.transaction(async (tx) => {
          const scoped: Queryable = {
            query: (sql, params) => rowsOf(tx, sql, params),
            exec: async (sql) => {
              await tx.exec(sql);
            },
          };
          return await fn(scoped);
        }),
      ),
    async listen(channel, handler) {
      events.on(channel, handler);
      return async () => {
        events.off(channel, handler);
      };
    },
    // In-process notifications cannot be lost.
    onNotificationGap: () => () => undefined,
    async notify(channel, payload) {
      // Delivered after the current call stack, like a NOTIFY delivered after COMMIT.
      queueMicrotask(() => events.emit(channel, payload));
    },
    async close() {
      if (closed) return;
      await tail;
      closed = true;
      events.removeAllListeners();
      await pg.close();
    },
  };
}
