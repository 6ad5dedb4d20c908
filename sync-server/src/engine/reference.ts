/**
 * What the engine reads besides cases and their timelines, loaded once per engine run: templates
 * (routing rule), merchants (region, tier), branches (region of a case without a merchant), users and
 * teams (agents, supervisors, the recipient's calendar), and the business calendars with their
 * holidays. Calendars and holidays come from the replicated `reference` documents (kind `calendar` /
 * `holiday`, seeded from fixtures and editable by an admin: a provisional lunar holiday moved there is
 * what the engine counts); the fixtures' calendars are the fallback of an unseeded database.
 */
import { calendarForRegion, type BusinessCalendar } from '@emdad/domain/sla/calendar';
import { asMerchantTier, calendarsFromReference } from '@emdad/domain/sla/case-input';
import type { MerchantTier, SupportTier } from '@emdad/domain/sla/evaluate';
import { createSlaRecomputer, type SlaRecomputer } from '@emdad/domain/sla/recompute';
import { DEFAULT_CALENDAR_ID, businessCalendars } from '@emdad/fixtures/sla';
import type { Queryable } from '../db/index.ts';
import type { EngineSettings } from './settings.ts';

export interface EngineUser {
  id: string;
  role: string;
  teamId: string | null;
  regionIds: string[];
  disabled: boolean;
  name: { fa: string; en: string };
}

export interface EngineReference {
  templates: Map<string, { team: string | null; tier: SupportTier; name: { fa: string; en: string } }>;
  merchants: Map<string, { regionId: string | null; tier: MerchantTier }>;
  branchRegions: Map<string, string>;
  users: Map<string, EngineUser>;
  teams: Map<string, { supervisorId: string | null; regionIds: string[] }>;
  calendars: BusinessCalendar[];
  recompute: SlaRecomputer;
  calendarOfRegion(regionId: string | null): BusinessCalendar;
  /** The calendar of a person's working hours: their first region's. */
  calendarOfUser(userId: string): BusinessCalendar;
}

const TIERS: readonly SupportTier[] = ['L1', 'L2', 'L3', 'product'];

function asTier(value: unknown): SupportTier {
  return TIERS.includes(value as SupportTier) ? (value as SupportTier) : 'L1';
}

const jsonArray = (v: unknown): string[] =>
  Array.isArray(v) ? (v as string[]) : typeof v === 'string' ? (JSON.parse(v) as string[]) : [];

export async function loadEngineReference(db: Queryable, settings: EngineSettings): Promise<EngineReference> {
  const templates: EngineReference['templates'] = new Map();
  for (const row of await db.query<{ id: string; doc: Record<string, unknown> }>(
    'SELECT id, doc FROM case_templates',
  )) {
    templates.set(row.id, {
      team: typeof row.doc.team === 'string' ? row.doc.team : null,
      tier: asTier(row.doc.tier),
      name: (row.doc.name as { fa: string; en: string }) ?? { fa: row.id, en: row.id },
    });
  }
  const merchants: EngineReference['merchants'] = new Map();
  for (const row of await db.query<{ id: string; region_id: string | null; tier: string | null }>(
    "SELECT id, region_id, doc ->> 'tier' AS tier FROM merchants",
  ))
    merchants.set(row.id, { regionId: row.region_id, tier: asMerchantTier(row.tier) });
  // Merchants written through replication (new or moved) win over the seeded table.
  for (const row of await db.query<{ id: string; region_id: string | null; tier: string | null }>(
    "SELECT id, region_id, doc ->> 'tier' AS tier FROM documents WHERE collection = 'merchants' AND NOT deleted",
  ))
    merchants.set(row.id, { regionId: row.region_id, tier: asMerchantTier(row.tier) });
  const branchRegions = new Map(
    (await db.query<{ id: string; region_id: string }>('SELECT id, region_id FROM branches')).map((r) => [
      r.id,
      r.region_id,
    ]),
  );
  const users: EngineReference['users'] = new Map();
  for (const row of await db.query<{
    id: string;
    role: string;
    team_id: string | null;
    region_ids: unknown;
    disabled_at: unknown;
    display_name_fa: string;
    display_name_en: string;
  }>('SELECT id, role, team_id, region_ids, disabled_at, display_name_fa, display_name_en FROM users')) {
    users.set(row.id, {
      id: row.id,
      role: row.role,
      teamId: row.team_id,
      regionIds: jsonArray(row.region_ids),
      disabled: row.disabled_at != null,
      name: { fa: row.display_name_fa, en: row.display_name_en },
    });
  }
  const teams: EngineReference['teams'] = new Map();
  for (const row of await db.query<{ id: string; supervisor_id: string | null; region_ids: unknown }>(
    'SELECT id, supervisor_id, region_ids FROM teams',
  ))
    teams.set(row.id, { supervisorId: row.supervisor_id, regionIds: jsonArray(row.region_ids) });

  const referenceRows = await db.query<{ kind: string; data: Record<string, unknown> }>(
    `SELECT doc ->> 'kind' AS kind, doc -> 'data' AS data FROM documents
     WHERE collection = 'reference' AND NOT deleted AND doc ->> 'kind' IN ('calendar', 'holiday')`,
  );
  // The same compilation as the client's provisional SLA (domain/src/sla/case-input.ts).
  const fromReference = calendarsFromReference(referenceRows);
  const calendars = fromReference.length > 0 ? fromReference : businessCalendars();
  const recompute = createSlaRecomputer({
    calendars,
    table: settings.targets,
    defaultCalendarId: DEFAULT_CALENDAR_ID,
  });
  const calendarOfRegion = (regionId: string | null) =>
    calendarForRegion(calendars, regionId, DEFAULT_CALENDAR_ID)!;
  return {
    templates,
    merchants,
    branchRegions,
    users,
    teams,
    calendars,
    recompute,
    calendarOfRegion,
    calendarOfUser: (userId) => calendarOfRegion(users.get(userId)?.regionIds[0] ?? null),
  };
}
