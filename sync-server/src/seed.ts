/** Loads the demo fixtures into the database. Idempotent: reference data is upserted, users are created once. */
import { branches, caseTemplates, demoUsers, equipment, merchants, regions } from '@emdad/fixtures';
import type { Db } from './db/index.ts';
import { LOCK_KEYS } from './db/migrations.ts';
import { hashPassword } from './auth/passwords.ts';

export async function seedDemoData(db: Db): Promise<void> {
  const existing = new Set((await db.query<{ id: string }>('SELECT id FROM users')).map((r) => r.id));
  // Hash outside the transaction (argon2 is slow on purpose); only accounts that do not exist yet.
  const newHashes = new Map<string, string>();
  for (const user of demoUsers)
    if (!existing.has(user.id)) newHashes.set(user.id, await hashPassword(user.password));

  await db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEYS.seed]);
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
        // Profile fields follow the fixtures; the password stays whatever it was changed to.
        await tx.query(
          `UPDATE users SET username = $2, role = $3, display_name_fa = $4, display_name_en = $5, branch_id = $6, region_ids = $7::jsonb, team_id = $8 WHERE id = $1`,
          [u.id, ...profile],
        );
      }
    }
  });
}
