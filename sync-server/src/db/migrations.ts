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
  /** Per collection of the `documents` table: 7_303_000 + the collection's position in the registry. */
  documentsBase: 7_303_000,
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
  {
    version: 2,
    name: 'documents of every collection, teams, audit log, scope changes',
    sql: `
-- One table for every collection except cases (see sync-server/README.md, "Storage of collections"):
-- the replication code path is the same for all of them, and scope is decided by a few indexed
-- columns the server derives from each document (never taken from the client as-is).
CREATE TABLE documents (
  collection TEXT NOT NULL,
  id TEXT COLLATE "C" NOT NULL,
  doc JSONB NOT NULL,
  server_updated_at BIGINT NOT NULL,
  deleted BOOLEAN NOT NULL DEFAULT FALSE,
  owner_id TEXT,
  creator_id TEXT,
  region_id TEXT,
  branch_id TEXT,
  case_id TEXT,
  published BOOLEAN NOT NULL DEFAULT TRUE,
  PRIMARY KEY (collection, id)
);
CREATE INDEX documents_checkpoint_idx ON documents (collection, server_updated_at, id);
CREATE INDEX documents_owner_idx ON documents (collection, owner_id);
CREATE INDEX documents_region_idx ON documents (collection, region_id);
CREATE INDEX documents_branch_idx ON documents (collection, branch_id);
CREATE INDEX documents_case_idx ON documents (collection, case_id);

CREATE TABLE teams (
  id TEXT PRIMARY KEY,
  supervisor_id TEXT,
  region_ids JSONB NOT NULL DEFAULT '[]'::jsonb,
  doc JSONB NOT NULL
);

-- Every accepted write (with a field diff) and every refused write (with its reason).
CREATE TABLE audit_log (
  id BIGSERIAL PRIMARY KEY,
  at BIGINT NOT NULL,
  user_id TEXT NOT NULL,
  install_id TEXT,
  collection TEXT NOT NULL,
  doc_id TEXT NOT NULL,
  action TEXT NOT NULL CHECK (action IN ('create', 'update', 'delete', 'refused')),
  changes JSONB,
  code TEXT,
  message TEXT
);
CREATE INDEX audit_user_idx ON audit_log (user_id, id);
CREATE INDEX audit_doc_idx ON audit_log (collection, doc_id, id);
CREATE INDEX audit_at_idx ON audit_log (at);
CREATE INDEX audit_install_idx ON audit_log (install_id, id);

-- A user's scope before each change, with a stamp in each collection's clock: a pull whose
-- checkpoint is older than the stamp receives tombstones for what left the scope (scope shrink).
CREATE TABLE scope_changes (
  id BIGSERIAL PRIMARY KEY,
  user_id TEXT NOT NULL,
  collection TEXT NOT NULL,
  stamp BIGINT NOT NULL,
  previous JSONB NOT NULL,
  at BIGINT NOT NULL
);
CREATE INDEX scope_changes_user_idx ON scope_changes (user_id, collection, stamp);
`,
  },
  {
    version: 3,
    name: 'scope moves of documents',
    sql: `
-- A document whose own change moved it out of some readers' scope (a case reassigned, a merchant
-- moved to another branch): its scope columns before the change, at the change's stamp. Whoever could
-- read the old columns and cannot read the document now gets a tombstone at (stamp, id).
CREATE TABLE scope_moves (
  collection TEXT NOT NULL,
  doc_id TEXT COLLATE "C" NOT NULL,
  stamp BIGINT NOT NULL,
  previous JSONB NOT NULL,
  PRIMARY KEY (collection, stamp, doc_id)
);
`,
  },
  {
    version: 4,
    name: 'push receipts per install',
    sql: `
-- The content (hash of the client fields) the server last accepted from each install for each
-- document. When the answer to a push is lost, RxDB resends the same row; if someone else changed the
-- document meanwhile, that resend looks like a conflict, and the device would merge its next edit
-- against a base from before its own accepted write — silently losing that edit. A resend whose
-- content matches the receipt is recognised as the retry it is and accepted without a write.
CREATE TABLE push_receipts (
  install_id TEXT COLLATE "C" NOT NULL,
  collection TEXT NOT NULL,
  doc_id TEXT COLLATE "C" NOT NULL,
  content_hash TEXT NOT NULL,
  accepted_at BIGINT NOT NULL,
  PRIMARY KEY (install_id, collection, doc_id)
);
`,
  },
  {
    version: 5,
    name: 'SLA engine: cases v1 and case_events v1 on stored data, engine state, routing state, notification outbox',
    sql: `
-- cases v1 (domain/src/case.ts, migrateCaseV0ToV1): routing fields start empty; a v0 sla keeps its due
-- times and state, its per-target detail arrives with the engine's next recomputation. Not re-stamped:
-- clients apply the same change to their copies through the RxDB migration strategy.
UPDATE cases SET doc = doc || jsonb_build_object(
    'sla', CASE WHEN jsonb_typeof(doc -> 'sla') = 'object' THEN jsonb_build_object(
      'state', doc -> 'sla' -> 'state',
      'firstResponseDueAt', doc -> 'sla' -> 'firstResponseDueAt',
      'updateDueAt', NULL,
      'resolutionDueAt', doc -> 'sla' -> 'resolutionDueAt',
      'paused', COALESCE(doc -> 'sla' ->> 'state' = 'paused', FALSE),
      'pausedSince', NULL,
      'pausedReason', NULL,
      'targets', NULL,
      'calendarId', NULL,
      'ola', NULL) ELSE 'null'::jsonb END,
    'teamId', COALESCE(doc -> 'teamId', 'null'::jsonb),
    'supportTier', COALESCE(doc -> 'supportTier', 'null'::jsonb),
    'possibleDuplicateOf', COALESCE(doc -> 'possibleDuplicateOf', 'null'::jsonb))
  WHERE NOT (doc ? 'supportTier');
-- case_events v1 (domain/src/model/case-events.ts, migrateCaseEventV0ToV1).
UPDATE documents SET doc = doc || jsonb_build_object(
    'visibility', CASE WHEN doc ->> 'kind' = 'status_change' THEN 'public' ELSE 'internal' END,
    'attachments', '[]'::jsonb,
    'teamId', NULL, 'supportTier', NULL, 'sla', NULL, 'escalation', NULL, 'duplicateOf', NULL, 'clock', NULL)
  WHERE collection = 'case_events' AND NOT (doc ? 'visibility');

-- What the SLA engine knows of each case (sync-server/src/engine): the creation time its clocks count
-- from (the device's time within the skew bound), the statuses it saw and when, whether it was routed
-- and checked for duplicates, and when something can next change (the timer only looks at those due).
CREATE TABLE engine_cases (
  case_id TEXT COLLATE "C" PRIMARY KEY,
  accepted_created_at BIGINT NOT NULL,
  last_status TEXT NOT NULL,
  routed_at BIGINT,
  duplicate_checked_at BIGINT,
  open BOOLEAN NOT NULL DEFAULT TRUE,
  next_check_at BIGINT
);
CREATE INDEX engine_cases_due_idx ON engine_cases (next_check_at) WHERE open;
-- The status timeline the engine observed (status_change events and status edits of the case).
CREATE TABLE engine_case_statuses (
  case_id TEXT COLLATE "C" NOT NULL,
  at BIGINT NOT NULL,
  status TEXT NOT NULL,
  source TEXT NOT NULL
);
CREATE INDEX engine_case_statuses_case_idx ON engine_case_statuses (case_id, at);
-- Device event times as accepted (skew.ts): the time SLA counts for each timeline event.
CREATE TABLE engine_event_times (
  event_id TEXT COLLATE "C" PRIMARY KEY,
  case_id TEXT COLLATE "C" NOT NULL,
  at BIGINT NOT NULL,
  customer_facing BOOLEAN NOT NULL,
  flagged BOOLEAN NOT NULL
);
CREATE INDEX engine_event_times_case_idx ON engine_event_times (case_id, at);
-- Support hops (L1 → L2 → L3 → product): each hop's own internal target (OLA).
CREATE TABLE engine_hops (
  case_id TEXT COLLATE "C" NOT NULL,
  tier TEXT NOT NULL,
  team_id TEXT,
  from_at BIGINT NOT NULL,
  to_at BIGINT,
  PRIMARY KEY (case_id, from_at)
);
-- Every SLA event and escalation action applied, once per (case, key): the engine's idempotency.
CREATE TABLE engine_applied (
  case_id TEXT COLLATE "C" NOT NULL,
  action_key TEXT NOT NULL,
  applied_at BIGINT NOT NULL,
  PRIMARY KEY (case_id, action_key)
);
-- Round-robin cursor per routing queue (team|tier|region).
CREATE TABLE routing_state (
  queue TEXT PRIMARY KEY,
  last_assignee TEXT NOT NULL
);
-- Notifications held until the recipient's working hours; written as documents when due.
CREATE TABLE notification_outbox (
  id TEXT COLLATE "C" PRIMARY KEY,
  user_id TEXT NOT NULL,
  deliver_at BIGINT NOT NULL,
  doc JSONB NOT NULL,
  delivered_at BIGINT
);
CREATE INDEX notification_outbox_due_idx ON notification_outbox (deliver_at) WHERE delivered_at IS NULL;
`,
  },
  {
    version: 6,
    name: 'attachments (bytes keyed by SHA-256) and their uploaders',
    sql: `
-- Attachment bytes live in PostgreSQL (bytea), not in a blob directory: several server instances
-- share one PostgreSQL and no file system, and a row commits atomically with its uploader record
-- (see sync-server/README.md, "Attachments"). The key is the SHA-256 the server computed itself.
CREATE TABLE attachments (
  sha256 TEXT COLLATE "C" PRIMARY KEY CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  content_type TEXT NOT NULL,
  size INTEGER NOT NULL CHECK (size > 0),
  bytes BYTEA NOT NULL,
  uploaded_by TEXT NOT NULL REFERENCES users(id),
  uploaded_at BIGINT NOT NULL
);
-- Everyone who uploaded the same bytes (an uploader may read them back before any document that
-- references them has been pushed).
CREATE TABLE attachment_uploads (
  sha256 TEXT COLLATE "C" NOT NULL REFERENCES attachments(sha256),
  user_id TEXT NOT NULL REFERENCES users(id),
  install_id TEXT,
  uploaded_at BIGINT NOT NULL,
  PRIMARY KEY (sha256, user_id)
);
-- Read access goes through the documents that reference a hash: doc->'attachments' @> '[{"sha256": …}]'.
CREATE INDEX documents_attachments_idx ON documents USING GIN ((doc -> 'attachments') jsonb_path_ops);
`,
  },
  {
    version: 7,
    name: 'public tracking lockouts, server-made case numbers, surveys v1',
    sql: `
-- Wrong phone digits per tracking code on the public tracking page (a code, existing or not, is
-- locked for a while after too many; see sync-server/src/public-tracking/throttle.ts).
CREATE TABLE public_tracking_throttle (
  code TEXT COLLATE "C" PRIMARY KEY,
  failures INTEGER NOT NULL,
  window_started_at BIGINT NOT NULL,
  locked_until BIGINT
);
CREATE INDEX public_tracking_throttle_window_idx ON public_tracking_throttle (window_started_at);
-- Sequence of the cases the server opens itself (call-back tasks), under tracking prefix 000.
CREATE SEQUENCE server_case_sequence START 1;
-- surveys v1 (domain/src/model/surveys.ts): a v0 survey was an answer; it becomes an answered one.
UPDATE documents SET doc = doc || jsonb_build_object('status', 'answered', 'offeredAt', doc->'answeredAt', 'callbackCaseId', NULL)
  WHERE collection = 'surveys' AND NOT (doc ? 'status');
`,
  },
  {
    version: 8,
    name: 'equipment history, missions and knowledge: lookups and mission order numbers',
    sql: `
-- The customer-360 timelines and the knowledge ranking look documents up by the ids they carry
-- (equipment of a merchant, diagnostics of a device, cases of a device or merchant): index those.
CREATE INDEX documents_merchant_ref_idx ON documents ((doc ->> 'merchantId')) WHERE collection IN ('equipment', 'missions');
CREATE INDEX documents_equipment_ref_idx ON documents ((doc ->> 'equipmentId')) WHERE collection = 'diagnostics';
CREATE INDEX documents_serial_idx ON documents ((doc ->> 'serial')) WHERE collection = 'equipment';
CREATE INDEX documents_mission_ref_idx ON documents ((doc ->> 'missionId')) WHERE collection = 'expenses';
CREATE INDEX documents_article_link_idx ON documents ((doc ->> 'articleId')) WHERE collection = 'case_events';
CREATE INDEX cases_equipment_ref_idx ON cases ((doc ->> 'equipmentId'));
CREATE INDEX cases_merchant_ref_idx ON cases ((doc ->> 'merchantId'));
-- Mission order numbers (MO-<Jalali year>-<sequence>): never reused; a rolled-back issue leaves a gap.
CREATE SEQUENCE mission_order_seq;
`,
  },
  {
    version: 10,
    name: 'knowledge authoring: kb_articles v1 on stored data, versions of an article looked up by article',
    sql: `
-- kb_articles v1 (domain/src/model/kb-articles.ts, migrateKbArticleV0ToV1): each v0 document is a
-- version of its own article, of an unknown author ('system'). Not re-stamped: clients apply the same
-- change to their copies through the RxDB migration strategy. owner_id is the author (scope: drafts
-- reach their author and reviewers only).
UPDATE documents SET owner_id = 'system', doc = doc || jsonb_build_object(
    'templateIds', '[]'::jsonb, 'articleId', id, 'supersedes', NULL, 'authorId', 'system',
    'reviewNote', NULL, 'reviewerId', NULL, 'reviewedAt', NULL, 'publishedBy', NULL,
    'publishedAt', COALESCE(doc -> 'publishedAt', 'null'::jsonb), 'retiredAt', NULL)
  WHERE collection = 'kb_articles' AND NOT (doc ? 'authorId');
-- Publishing a version checks and retires the other versions of its article.
CREATE INDEX documents_article_family_idx ON documents ((doc ->> 'articleId')) WHERE collection = 'kb_articles';
`,
  },
  {
    version: 11,
    name: 'push receipts keep the accepted content and its stamp',
    sql: `
-- The client fields a receipt stands for, and the stamp of the version that push made. A stale push
-- whose assumed master is older than that stamp descends from the install's own accepted content:
-- the server merges it from there (replication/push-receipts.ts). Older receipts have neither and
-- keep the hash-only behaviour.
ALTER TABLE push_receipts ADD COLUMN content JSONB, ADD COLUMN server_updated_at BIGINT;
`,
  },
  {
    version: 12,
    name: 'cases: the holding team as a scope column',
    sql: `
-- A supervisor reads the cases their teams hold (teamId, set by routing and escalation), not only
-- those in their teams' regions or handled by a member: an unassigned case with no branch (a phone
-- case of a merchant) routed to a team was invisible to that team's supervisor. An escalation that
-- moves a case to another team is a scope move (tombstones for readers who lose it).
ALTER TABLE cases ADD COLUMN team_id TEXT COLLATE "C";
UPDATE cases SET team_id = doc ->> 'teamId' WHERE doc ? 'teamId';
CREATE INDEX cases_team_idx ON cases (team_id);
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
