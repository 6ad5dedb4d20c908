import type { Db } from './types.ts';

/**
 * Versioned schema migrations, applied at start in one transaction under an advisory lock, so that
 * several server instances starting together on one PostgreSQL apply each migration exactly once.
 * Append new migrations; never edit one that has shipped.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Advisory lock keys (one bigint namespace for the whole app). */
export const LOCK_KEYS = {
  migrations: 7_301_001,
  seed: 7_301_002,
  installs: 7_301_003,
  signingKeys: 7_301_004,
  /** Per replicated collection: serialises write transactions so stamps follow commit order. */
  replication: { cases: 7_302_001 },
} as const;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'users, auth, reference data, cases',
    sql: `
CREATE TABLE regions (
  id TEXT PRIMARY KEY,
  doc JSONB NOT NULL
);
CREATE TABLE branches (
  id TEXT PRIMARY KEY,
  region_id TEXT NOT NULL REFERENCES regions(id),
  doc JSONB NOT NULL
);
CREATE TABLE case_templates (
  id TEXT PRIMARY KEY,
  doc JSONB NOT NULL
);
CREATE TABLE merchants (
  id TEXT PRIMARY KEY,
  branch_id TEXT NOT NULL REFERENCES branches(id),
  region_id TEXT NOT NULL REFERENCES regions(id),
  doc JSONB NOT NULL
);
CREATE TABLE equipment (
  id TEXT PRIMARY KEY,
  merchant_id TEXT NOT NULL REFERENCES merchants(id),
  doc JSONB NOT NULL
);
CREATE INDEX equipment_merchant_idx ON equipment (merchant_id);

CREATE TABLE users (
  id TEXT PRIMARY KEY,
  username TEXT NOT NULL UNIQUE,
  password_hash TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('technician', 'branch_staff', 'supervisor', 'admin')),
  display_name_fa TEXT NOT NULL,
  display_name_en TEXT NOT NULL,
  branch_id TEXT REFERENCES branches(id),
  region_ids JSONB NOT NULL DEFAULT '[]'::jsonb,
  team_id TEXT,
  disabled_at BIGINT
);

CREATE TABLE login_throttle (
  username TEXT PRIMARY KEY,
  failures INTEGER NOT NULL DEFAULT 0,
  last_failure_at BIGINT,
  locked_until BIGINT
);

CREATE TABLE installs (
  id TEXT PRIMARY KEY,
  user_id TEXT NOT NULL REFERENCES users(id),
  label TEXT,
  prefix_number INTEGER NOT NULL UNIQUE,
  tracking_prefix TEXT NOT NULL UNIQUE,
  created_at BIGINT NOT NULL,
  last_seen_at BIGINT NOT NULL,
  revoked_at BIGINT
);

CREATE TABLE refresh_tokens (
  id TEXT PRIMARY KEY,
  token_hash TEXT NOT NULL UNIQUE,
  family_id TEXT NOT NULL,
  user_id TEXT NOT NULL REFERENCES users(id),
  install_id TEXT NOT NULL REFERENCES installs(id),
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  rotated_at BIGINT,
  revoked_at BIGINT
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);

CREATE TABLE signing_keys (
  id TEXT PRIMARY KEY,
  algorithm TEXT NOT NULL,
  private_jwk JSONB NOT NULL,
  public_jwk JSONB NOT NULL,
  created_at BIGINT NOT NULL
);

CREATE TABLE replication_clock (
  collection TEXT PRIMARY KEY,
  last_stamp BIGINT NOT NULL
);

-- COLLATE "C": ids compare byte-wise, the order clients use for checkpoints (compareCheckpoints).
CREATE TABLE cases (
  id TEXT COLLATE "C" PRIMARY KEY,
  doc JSONB NOT NULL,
  server_updated_at BIGINT NOT NULL,
  deleted BOOLEAN NOT NULL DEFAULT FALSE,
  tracking_code TEXT NOT NULL UNIQUE,
  branch_id TEXT,
  created_by TEXT NOT NULL,
  assignee_id TEXT
);
CREATE INDEX cases_checkpoint_idx ON cases (server_updated_at, id);
CREATE INDEX cases_branch_idx ON cases (branch_id);
CREATE INDEX cases_created_by_idx ON cases (created_by);
CREATE INDEX cases_assignee_idx ON cases (assignee_id);
`,
  },
];

export async function runMigrations(
  db: Db,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<number[]> {
  return await db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEYS.migrations]);
    await tx.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version INTEGER PRIMARY KEY,
      name TEXT NOT NULL,
      applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
    )`);
    const applied = new Set(
      (await tx.query<{ version: number }>('SELECT version FROM schema_migrations')).map((r) =>
        Number(r.version),
      ),
    );
    const ran: number[] = [];
    for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
      if (applied.has(migration.version)) continue;
      await tx.exec(migration.sql);
      await tx.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [
        migration.version,
        migration.name,
      ]);
      ran.push(migration.version);
    }
    return ran;
  });
}
