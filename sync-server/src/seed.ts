/** Loads the demo fixtures into the database. Idempotent: reference data is upserted, users are created once. */
import {
  branches,
  caseTemplates,
  demoUsers,
  equipment,
  kbArticles,
  merchants,
  regions,
  teams,
} from '@emdad/fixtures';
import { calendarDefinitions, holidayTable } from '@emdad/fixtures/sla';
import { DEFAULT_EXPENSE_POLICY } from '@emdad/domain/workflow/expense';
import type { Db, Queryable } from './db/index.ts';
import { LOCK_KEYS } from './db/migrations.ts';
import { hashPassword } from './auth/passwords.ts';
import { lockCollection, nextStamp } from './replication/clock.ts';
import { deriveScopeColumns } from './replication/rules.ts';
import { recordScopeChange } from './replication/scope-changes.ts';
import { resolveScope } from './replication/scope.ts';
import { findUserById } from './users.ts';
import { COLLECTION_NAMES, type CollectionName } from '@emdad/domain/model/index';

/** JSON with object keys sorted at every level (and undefined fields dropped). */
function canonical(value: unknown): string {
  const sort = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sort)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.entries(v)
              .filter(([, x]) => x !== undefined)
              .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
              .map(([k, x]) => [k, sort(x)]),
          )
        : v;
  return JSON.stringify(sort(value));
}

/** Seeded documents carry a fixed edit time so an unchanged fixture is an unchanged document. */
const SEED_TIME = '2026-01-01T00:00:00.000Z';

type SeedDoc = Record<string, unknown> & { id: string };

/**
 * Server-side writes (seed, notifications): upserts documents of one collection; only documents whose
 * content changed get a new stamp, so a
 * restart never makes every client pull the reference data again.
 */
export async function writeServerDocuments(
  tx: Queryable,
  collection: Exclude<CollectionName, 'cases'>,
  docs: readonly SeedDoc[],
  /** 'missing': only documents not stored yet (fixtures must never undo what users changed since). */
  mode: 'upsert' | 'missing' = 'upsert',
): Promise<void> {
  await lockCollection(tx, collection);
  const existing = new Map(
    (
      await tx.query<{ id: string; doc: SeedDoc }>('SELECT id, doc FROM documents WHERE collection = $1', [
        collection,
      ])
    ).map((r) => [r.id, r.doc]),
  );
  const changed: { doc: SeedDoc; columns: Awaited<ReturnType<typeof deriveScopeColumns>> }[] = [];
  for (const doc of docs) {
    const columns = await deriveScopeColumns(tx, collection, doc);
    const previous = existing.get(doc.id);
    if (previous && mode === 'missing') continue;
    if (previous) {
      const { serverUpdatedAt: _s, ...content } = previous;
      // JSONB reorders keys: compare canonical forms, not strings.
      if (canonical(content) === canonical({ ...doc, ...columns.serverFields })) continue;
    }
    changed.push({ doc, columns });
  }
  if (changed.length === 0) return;
  const stamp = await nextStamp(tx, collection, Date.now());
  for (const { doc, columns } of changed) {
    const stored = { ...doc, ...columns.serverFields };
    await tx.query(
      `INSERT INTO documents (collection, id, doc, server_updated_at, deleted, owner_id, creator_id, region_id, branch_id, case_id, published)
       VALUES ($1, $2, $3::jsonb, $4, FALSE, $5, $6, $7, $8, $9, $10)
       ON CONFLICT (collection, id) DO UPDATE SET doc = EXCLUDED.doc, server_updated_at = EXCLUDED.server_updated_at, deleted = FALSE,
         owner_id = EXCLUDED.owner_id, creator_id = EXCLUDED.creator_id, region_id = EXCLUDED.region_id, branch_id = EXCLUDED.branch_id,
         case_id = EXCLUDED.case_id, published = EXCLUDED.published`,
      [
        collection,
        doc.id,
        JSON.stringify(stored),
        stamp,
        columns.ownerId,
        columns.creatorId,
        columns.regionId,
        columns.branchId,
        columns.caseId,
        columns.published,
      ],
    );
  }
}

/** The read-only lists every client caches, as `reference` documents (one collection, a `kind` each). */
function referenceDocuments(): SeedDoc[] {
  const ref = (kind: string, id: string, name: { fa: string; en: string }, data: object): SeedDoc => ({
    id,
    kind,
    name,
    data: JSON.parse(JSON.stringify(data)) as Record<string, unknown>,
    updatedAt: SEED_TIME,
  });
  const models = new Map<string, { vendor: string; kind: string }>();
  for (const e of equipment) models.set(e.model, { vendor: e.vendor, kind: e.kind });
  return [
    ...caseTemplates.map((t) => ref('template', t.id, t.name, t)),
    ...teams.map((t) => ref('team', t.id, t.name, t)),
    ...branches.map((b) => ref('branch', b.id, b.name, b)),
    ...regions.map((r) => ref('region', r.id, r.name, r)),
    ...Object.entries(DEFAULT_EXPENSE_POLICY.categories).map(([code, c]) =>
      ref('expense_category', `expcat-${code}`, c.name, {
        code,
        limit: c.limit,
        receiptThreshold: DEFAULT_EXPENSE_POLICY.receiptThreshold,
      }),
    ),
    ...[...models].map(([model, info]) =>
      ref(
        'device_model',
        `model-${model.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`,
        { fa: model, en: model },
        {
          model,
          ...info,
        },
      ),
    ),
    ...calendarDefinitions.map((c) => ref('calendar', c.id, c.name, c)),
    ...holidayTable.holidays.map((h) => ref('holiday', `hol-${h.id}`.slice(0, 64), h.name, h)),
  ];
}

export async function seedDemoData(db: Db): Promise<void> {
  const existing = new Set((await db.query<{ id: string }>('SELECT id FROM users')).map((r) => r.id));
  // Hash outside the transaction (argon2 is slow on purpose); only accounts that do not exist yet.
  const newHashes = new Map<string, string>();
  for (const user of demoUsers)
    if (!existing.has(user.id)) newHashes.set(user.id, await hashPassword(user.password));

  await db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEYS.seed]);
    // Every collection's lock in registry order up front (the order scope changes use), so the seed
    // never waits for one collection while holding another.
    for (const collection of COLLECTION_NAMES) await lockCollection(tx, collection);
    const upsert = (table: string, columns: string[], values: unknown[]) => {
      const placeholders = columns.map((c, i) =>
        c === 'doc' || c === 'region_ids' ? `$${i + 1}::jsonb` : `$${i + 1}`,
      );
      const updates = columns.filter((c) => c !== 'id').map((c) => `${c} = EXCLUDED.${c}`);
      return tx.query(
        `INSERT INTO ${table} (${columns.join(', ')}) VALUES (${placeholders.join(', ')}) ON CONFLICT (id) DO UPDATE SET ${updates.join(', ')}`,
        values,
      );
    };
    for (const r of regions) await upsert('regions', ['id', 'doc'], [r.id, JSON.stringify(r)]);
    for (const b of branches)
      await upsert('branches', ['id', 'region_id', 'doc'], [b.id, b.regionId, JSON.stringify(b)]);
    for (const t of caseTemplates) await upsert('case_templates', ['id', 'doc'], [t.id, JSON.stringify(t)]);
    for (const m of merchants)
      await upsert(
        'merchants',
        ['id', 'branch_id', 'region_id', 'doc'],
        [m.id, m.branchId, m.regionId, JSON.stringify(m)],
      );
    for (const e of equipment)
      await upsert('equipment', ['id', 'merchant_id', 'doc'], [e.id, e.merchantId, JSON.stringify(e)]);
    for (const t of teams)
      await tx.query(
        `INSERT INTO teams (id, supervisor_id, region_ids, doc) VALUES ($1, $2, $3::jsonb, $4::jsonb)
         ON CONFLICT (id) DO UPDATE SET supervisor_id = EXCLUDED.supervisor_id, region_ids = EXCLUDED.region_ids, doc = EXCLUDED.doc`,
        [t.id, t.supervisorId, JSON.stringify(t.regionIds), JSON.stringify(t)],
      );
    await writeServerDocuments(
      tx,
      'merchants',
      merchants.map((m) => ({ ...m, address: null, customFields: {}, updatedAt: SEED_TIME })),
      'missing',
    );
    await writeServerDocuments(
      tx,
      'equipment',
      equipment.map((e) => ({
        ...e,
        psp: null,
        status: 'installed',
        statusReason: null,
        replacementSerial: null,
        updatedAt: SEED_TIME,
      })),
      'missing',
    );
    // 'missing': articles are written by users now (review, publishing, new versions retire old ones).
    await writeServerDocuments(tx, 'kb_articles', kbArticles as unknown as SeedDoc[], 'missing');
    await writeServerDocuments(tx, 'reference', referenceDocuments());
    for (const u of demoUsers) {
      const profile = [
        u.username,
        u.role,
        u.displayName.fa,
        u.displayName.en,
        u.branchId,
        JSON.stringify(u.regionIds),
        u.teamId,
      ];
      const hash = newHashes.get(u.id);
      if (hash) {
        // ON CONFLICT: another instance seeded it between our read and this lock; keep its hash.
        await tx.query(
          `INSERT INTO users (id, username, role, display_name_fa, display_name_en, branch_id, region_ids, team_id, password_hash)
           VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9) ON CONFLICT (id) DO NOTHING`,
          [u.id, ...profile, hash],
        );
      } else {
        // Profile fields follow the fixtures; the password stays whatever it was changed to. A changed
        // region, branch or team is a scope change: the user's devices drop what left their scope.
        const current = await findUserById(tx, u.id);
        const scopeChanged =
          current !== null &&
          (JSON.stringify(current.regionIds) !== JSON.stringify(u.regionIds) ||
            current.branchId !== u.branchId ||
            current.teamId !== u.teamId);
        const previous = scopeChanged && current ? await resolveScope(tx, current) : null;
        await tx.query(
          `UPDATE users SET username = $2, role = $3, display_name_fa = $4, display_name_en = $5, branch_id = $6, region_ids = $7::jsonb, team_id = $8 WHERE id = $1`,
          [u.id, ...profile],
        );
        if (previous) await recordScopeChange(tx, u.id, previous, Date.now());
      }
    }
  });
}
