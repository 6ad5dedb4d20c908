/**
 * Routing and assignment: a template names the team and tier; the merchant's region narrows the
 * team to the people covering it; nobody above their cap of open cases gets more; within what
 * remains, round-robin. Pure: the round-robin cursor is state passed in and handed back.
 */
import type { SupportTier } from '../sla/evaluate.ts';

export interface RoutingRule {
  templateId: string;
  team: string;
  tier: SupportTier;
}

export interface Agent {
  id: string;
  teamId: string;
  tier: SupportTier;
  /** Regions this person covers; empty means every region (a central team). */
  regionIds: readonly string[];
  active: boolean;
  openCases: number;
  /** Personal cap of open cases; falls back to the team default. */
  capacity?: number | null;
}

/** Last agent picked per queue (`team|tier|region`). */
export interface RoutingState {
  lastAssigned: Record<string, string>;
}

export const EMPTY_ROUTING_STATE: RoutingState = { lastAssigned: {} };

export type RoutingResult =
  | {
      ok: true;
      assigneeId: string;
      team: string;
      tier: SupportTier;
      /** True when nobody in the team covers the region, so the whole team was considered. */
      regionFallback: boolean;
      state: RoutingState;
    }
  | {
      ok: false;
      reason: 'no_rule' | 'no_agents' | 'all_at_capacity';
      team: string | null;
      tier: SupportTier | null;
      state: RoutingState;
    };

export const ROUTING_SENTENCES = {
  no_rule: {
    en: 'No team is set for this case type. Assign the case by hand and ask an admin to add a routing rule.',
    fa: 'برای این نوع درخواست تیمی تعریف نشده است. درخواست را دستی واگذار کنید و از مدیر سامانه بخواهید قاعدهٔ ارجاع اضافه کند.',
  },
  no_agents: {
    en: 'Nobody active works in the team for this case. Assign it by hand or ask the team lead.',
    fa: 'هیچ فرد فعالی در تیم مسئول این درخواست نیست. آن را دستی واگذار کنید یا با سرپرست تیم هماهنگ کنید.',
  },
  all_at_capacity: {
    en: 'Everyone in the team has reached their limit of open cases. The case waits in the team queue; a supervisor can assign it.',
    fa: 'همهٔ اعضای تیم به سقف درخواست‌های باز خود رسیده‌اند. درخواست در صف تیم می‌ماند و سرپرست می‌تواند آن را واگذار کند.',
  },
} as const;

/**
 * Picks the assignee of a case. `rules` by template (or pass `rule` directly, e.g. the template's
 * own team/tier, or the next tier on escalation). `exclude` leaves people out (the one escalating).
 */
export function pickAssignee(options: {
  templateId: string;
  rules?: readonly RoutingRule[];
  rule?: Omit<RoutingRule, 'templateId'>;
  regionId: string | null;
  agents: readonly Agent[];
  state: RoutingState;
  defaultCapacity: number;
  exclude?: readonly string[];
}): RoutingResult {
  const rule = options.rule ?? options.rules?.find((r) => r.templateId === options.templateId);
  if (!rule) return { ok: false, reason: 'no_rule', team: null, tier: null, state: options.state };
  const team = options.agents
    .filter(
      (a) => a.active && a.teamId === rule.team && a.tier === rule.tier && !options.exclude?.includes(a.id),
    )
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  if (team.length === 0)
    return { ok: false, reason: 'no_agents', team: rule.team, tier: rule.tier, state: options.state };
  const covering = options.regionId
    ? team.filter((a) => a.regionIds.length === 0 || a.regionIds.includes(options.regionId!))
    : team;
  const regionFallback = covering.length === 0;
  const pool = regionFallback ? team : covering;
  const queue = `${rule.team}|${rule.tier}|${regionFallback ? '*' : (options.regionId ?? '*')}`;
  const hasRoom = (a: Agent) => a.openCases < (a.capacity ?? options.defaultCapacity);
  // Round-robin: the first one with room after the last one picked in this queue.
  const last = options.state.lastAssigned[queue];
  const startIndex = last === undefined ? 0 : pool.findIndex((a) => a.id > last);
  const from = startIndex < 0 ? 0 : startIndex;
  for (let i = 0; i < pool.length; i++) {
    const agent = pool[(from + i) % pool.length]!;
    if (!hasRoom(agent)) continue;
    return {
      ok: true,
      assigneeId: agent.id,
      team: rule.team,
      tier: rule.tier,
      regionFallback,
      state: { lastAssigned: { ...options.state.lastAssigned, [queue]: agent.id } },
    };
  }
  return { ok: false, reason: 'all_at_capacity', team: rule.team, tier: rule.tier, state: options.state };
}
