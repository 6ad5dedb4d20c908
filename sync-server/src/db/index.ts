import { openPglite } from './pglite.ts';
import { openPostgres } from './postgres.ts';
import type { Db } from './types.ts';

export type DatabaseOptions = { kind: 'pglite'; dataDir?: string } | { kind: 'postgres'; url: string };

export async function openDatabase(options: DatabaseOptions): Promise<Db> {
  return options.kind === 'postgres' ? await openPostgres(options.url) : await openPglite(options.dataDir);
}

export type { Db, Queryable, Row } from './types.ts';
export { toNumber } from './types.ts';
