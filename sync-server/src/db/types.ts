/**
 * The one query layer of the server. Two implementations: PGlite (embedded, the default) and a
 * `pg` Pool (DATABASE_URL). All SQL must be accepted by PostgreSQL 15 (Debian) and PGlite (18).
 */
export type Row = Record<string, unknown>;

export interface Queryable {
  query<T extends Row = Row>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Runs several statements without parameters (migrations). */
  exec(sql: string): Promise<void>;
}

export interface Db extends Queryable {
  readonly kind: 'pglite' | 'postgres';
  /** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Subscribes to a notification channel; resolves once listening. Returns the unsubscribe. */
  listen(channel: string, handler: (payload: string) => void): Promise<() => Promise<void>>;
  /**
   * Called whenever notifications may have been lost (the listening connection dropped and came
   * back). Listeners must then assume they missed changes. Returns the unsubscribe.
   */
  onNotificationGap(handler: () => void): () => void;
  /** Sends a notification to every listener of the channel (on every instance sharing the database). */
  notify(channel: string, payload: string): Promise<void>;
  close(): Promise<void>;
}

/** BIGINT arrives as a string from `pg` and as a number or bigint from PGlite. */
export function toNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint' || typeof value === 'string') return Number(value);
  throw new TypeError(`expected a number, got ${typeof value}`);
}
