import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backends } from '../test-support.ts';
import { runMigrations, type Migration } from './migrations.ts';
import { openDatabase, type Db } from './index.ts';

describe.each(backends().map((b) => [b.name, b] as const))('Db layer on %s', (_name, backend) => {
  let db: Db;
  beforeAll(async () => {
    db = await openDatabase(await backend.freshDatabase('dblayer'));
    await db.exec(
      'CREATE TABLE counter (id INTEGER PRIMARY KEY, n INTEGER NOT NULL); INSERT INTO counter VALUES (1, 0);',
    );
  });
  afterAll(async () => {
    await db?.close();
  });

  const current = async () =>
    Number((await db.query<{ n: number }>('SELECT n FROM counter WHERE id = 1'))[0]?.n);

  it('rolls a transaction back when its function throws', async () => {
    await expect(
      db.transaction(async (tx) => {
        await tx.query('UPDATE counter SET n = n + 100 WHERE id = 1');
        throw new Error('abort');
      }),
    ).rejects.toThrow('abort');
    expect(await current()).toBe(0);
  });

  it('keeps concurrent read-modify-write transactions from interleaving under an advisory lock', async () => {
    const before = await current();
    await Promise.all(
      Array.from({ length: 20 }, () =>
        db.transaction(async (tx) => {
          await tx.query('SELECT pg_advisory_xact_lock(42)');
          const n = Number((await tx.query<{ n: number }>('SELECT n FROM counter WHERE id = 1'))[0]?.n);
          await tx.query('UPDATE counter SET n = $1 WHERE id = 1', [n + 1]);
        }),
      ),
    );
    expect(await current()).toBe(before + 20);
  });

  it('delivers notifications to listeners', async () => {
    const received: string[] = [];
    const unlisten = await db.listen('emdad_test_channel', (payload) => received.push(payload));
    await db.notify('emdad_test_channel', 'hello');
    const deadline = Date.now() + 10_000;
    while (received.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(received).toEqual(['hello']);
    await unlisten();
  });

  it('applies each migration once and records it', async () => {
    const extra: Migration[] = [
      { version: 1, name: 'probe', sql: 'CREATE TABLE probe (id INTEGER PRIMARY KEY)' },
    ];
    expect(await runMigrations(db, extra)).toEqual([1]);
    expect(await runMigrations(db, extra)).toEqual([]);
    const failing: Migration[] = [
      ...extra,
      { version: 2, name: 'broken', sql: 'CREATE TABLE probe2 (id INTEGER); SELECT no_such_function();' },
    ];
    await expect(runMigrations(db, failing)).rejects.toThrow();
    // The broken migration left nothing behind: neither its table nor its record.
    expect(await db.query("SELECT 1 FROM information_schema.tables WHERE table_name = 'probe2'")).toEqual([]);
    expect(
      (await db.query('SELECT version FROM schema_migrations ORDER BY version')).map((r) =>
        Number(r.version),
      ),
    ).toEqual([1]);
  });
});
