import pg from 'pg';
import type { Db, Queryable, Row } from './types.ts';

const RECONNECT_MAX_MS = 5000;

/**
 * A real PostgreSQL through a `pg` Pool. LISTEN needs a connection of its own that stays open, so
 * notifications arrive on a dedicated client; NOTIFY goes through the pool (delivered at commit to
 * every instance listening on the same database). When the listening connection is lost it is
 * re-established with backoff, and `onNotificationGap` handlers are told that notifications may
 * have been missed in between.
 */
export async function openPostgres(url: string, options: { maxConnections?: number } = {}): Promise<Db> {
  const pool = new pg.Pool({ connectionString: url, max: options.maxConnections ?? 10 });
  // An idle client that loses its connection emits 'error' on the pool; without a handler it would crash the process.
  pool.on('error', (error) => console.error('postgres pool error:', error.message));
  await pool.query('SELECT 1');
  const handlers = new Map<string, Set<(payload: string) => void>>();
  const gapHandlers = new Set<() => void>();
  let listener: pg.Client | undefined;
  let listenerStarted = false;
  let closed = false;

  const quoteIdent = (name: string) => `"${name.replaceAll('"', '""')}"`;

  async function connectListener(): Promise<pg.Client> {
    const client = new pg.Client({ connectionString: url });
    client.on('notification', (message) => {
      for (const handler of handlers.get(message.channel) ?? []) handler(message.payload ?? '');
    });
    client.on('error', (error) => {
      console.error('postgres listener error:', error.message);
      lost(client);
    });
    client.on('end', () => lost(client));
    await client.connect();
    for (const channel of handlers.keys()) await client.query(`LISTEN ${quoteIdent(channel)}`);
    return client;
  }

  function lost(client: pg.Client): void {
    if (listener !== client || closed) return;
    listener = undefined;
    client.end().catch(() => undefined);
    reconnect(100);
  }

  function reconnect(delayMs: number): void {
    setTimeout(() => {
      if (closed) return;
      connectListener().then(
        (client) => {
          if (closed) {
            client.end().catch(() => undefined);
            return;
          }
          listener = client;
          for (const handler of gapHandlers) handler();
        },
        () => reconnect(Math.min(delayMs * 2, RECONNECT_MAX_MS)),
      );
    }, delayMs).unref();
  }

  return {
    kind: 'postgres',
    async query<T extends Row>(sql: string, params?: unknown[]) {
      return (await pool.query(sql, params)).rows as T[];
    },
    async exec(sql: string) {
      await pool.query(sql);
    },
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const scoped: Queryable = {
          query: async <T extends Row>(sql: string, params?: unknown[]) =>
            (await client.query(sql, params)).rows as T[],
          exec: async (sql: string) => {
            await client.query(sql);
          },
        };
        const result = await fn(scoped);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    },
    async listen(channel, handler) {
      let set = handlers.get(channel);
      const isNewChannel = !set;
      if (!set) {
        set = new Set();
        handlers.set(channel, set);
      }
      set.add(handler);
      if (!listenerStarted) {
        listenerStarted = true;
        listener = await connectListener(); // LISTENs on every channel registered so far
      } else if (isNewChannel && listener) {
        await listener.query(`LISTEN ${quoteIdent(channel)}`);
      }
      const registered = set;
      return async () => {
        registered.delete(handler);
      };
    },
    onNotificationGap(handler) {
      gapHandlers.add(handler);
      return () => gapHandlers.delete(handler);
    },
    async notify(channel, payload) {
      await pool.query('SELECT pg_notify($1, $2)', [channel, payload]);
    },
    async close() {
      closed = true;
      const current = listener;
      listener = undefined;
      await current?.end().catch(() => undefined);
      await pool.end();
    },
  };
}
