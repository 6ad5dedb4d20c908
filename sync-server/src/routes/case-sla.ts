/**
 * `GET /api/cases/:id/sla` (API_ROUTES.caseSla): what the case engine knows of one case beyond its
 * replicated `sla` — the support hops with each hop's internal target (OLA), and the dwell time per
 * status, team and person to the second (wall clock and business time of the case's calendar),
 * from the timeline the engine keeps (statuses at their accepted device times, hops) and the audit
 * log (every change of assignee, by a device or the server). Scoped like replication: a case the
 * caller could not pull answers 404, exactly like a missing one.
 */
import { API_ROUTES, type CaseDoc } from '@emdad/domain';
import { evaluateHops } from '@emdad/domain/sla/recompute';
import type { SupportTier } from '@emdad/domain/sla/evaluate';
import { dwellTimes, type DwellEvent, type DwellReport } from '@emdad/domain/workflow/dwell';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { TokenService } from '../auth/tokens.ts';
import { requireCaller } from '../auth/session.ts';
import type { Db } from '../db/index.ts';
import { toNumber } from '../db/index.ts';
import { loadEngineReference } from '../engine/reference.ts';
import type { EngineSettings } from '../engine/settings.ts';
import { ApiError } from '../errors.ts';
import { getCase } from '../replication/cases.ts';
import { resolveScope } from '../replication/scope.ts';

export interface CaseSlaResponse {
  caseId: string;
  sla: CaseDoc['sla'] | null;
  calendarId: string;
  hops: {
    tier: SupportTier;
    teamId: string | null;
    from: string;
    to: string | null;
    ola: { targetMinutes: number; elapsedMinutes: number; state: string; dueAt: string | null };
  }[];
  dwell: DwellReport;
}

const idParams = z.object({ id: z.string().min(1).max(64) });
const iso = (ms: number) => new Date(ms).toISOString();

export function registerCaseSlaRoutes(
  app: FastifyInstance,
  options: { db: Db; tokens: TokenService; now: () => number; settings: EngineSettings },
): void {
  const { db, tokens, now, settings } = options;
  app.get(API_ROUTES.caseSla, async (request): Promise<CaseSlaResponse> => {
    const caller = await requireCaller(request, db, tokens);
    const params = idParams.safeParse(request.params);
    if (!params.success) throw new ApiError(400, 'validation_failed', 'The case id is missing or too long.');
    const kase = await getCase(db, await resolveScope(db, caller.user), params.data.id);
    if (!kase) throw new ApiError(404, 'not_found', 'No such case, or it is outside what you may see.');
    const ref = await loadEngineReference(db, settings);
    const merchant = kase.merchantId ? ref.merchants.get(kase.merchantId) : undefined;
    const regionId =
      merchant?.regionId ?? (kase.branchId ? (ref.branchRegions.get(kase.branchId) ?? null) : null);
    const calendar = ref.calendarOfRegion(regionId);
    const at = now();

    const engine = await db.query<{ accepted_created_at: unknown }>(
      'SELECT accepted_created_at FROM engine_cases WHERE case_id = $1',
      [kase.id],
    );
    const createdAt = engine[0] ? toNumber(engine[0].accepted_created_at) : Date.parse(kase.createdAt);
    const statuses = (
      await db.query<{ at: unknown; status: string }>(
        'SELECT at, status FROM engine_case_statuses WHERE case_id = $1 ORDER BY at',
        [kase.id],
      )
    ).map((r) => ({ at: toNumber(r.at), status: r.status }));
    const hops = (
      await db.query<{ tier: SupportTier; team_id: string | null; from_at: unknown; to_at: unknown }>(
        'SELECT tier, team_id, from_at, to_at FROM engine_hops WHERE case_id = $1 ORDER BY from_at',
        [kase.id],
      )
    ).map((r) => ({
      tier: r.tier,
      teamId: r.team_id,
      from: toNumber(r.from_at),
      to: r.to_at == null ? null : toNumber(r.to_at),
    }));
    const assigneeChanges = await db.query<{ at: unknown; action: string; changes: Record<string, unknown> }>(
      `SELECT at, action, changes FROM audit_log
       WHERE collection = 'cases' AND doc_id = $1 AND action <> 'refused' AND changes ? 'assigneeId' ORDER BY id`,
      [kase.id],
    );

    const pauses: { from: number; to: number | null }[] = [];
    statuses.forEach((s, i) => {
      if (s.status === 'pending_customer' || s.status === 'pending_vendor')
        pauses.push({ from: s.at, to: statuses[i + 1]?.at ?? null });
    });
    const evaluated = evaluateHops({
      calendar,
      hops: hops.map((h) => ({ tier: h.tier, from: h.from, to: h.to })),
      olaMinutes: settings.targets.olaMinutes,
      now: at,
      warningShare: settings.targets.warningShare,
      pauses,
    });

    const created = assigneeChanges.find((c) => c.action === 'create');
    const initialAssignee = created ? ((created.changes.assigneeId as unknown[])[1] as string | null) : null;
    const events: DwellEvent[] = [
      ...statuses.map((s) => ({ at: s.at, status: s.status })),
      ...hops.map((h) => ({ at: h.from, teamId: h.teamId })),
      ...assigneeChanges
        .filter((c) => c !== created)
        .map((c) => ({
          at: toNumber(c.at),
          assigneeId: (c.changes.assigneeId as unknown[])[1] as string | null,
        })),
    ];
    const stoppedAt = ['resolved', 'closed'].includes(kase.status) ? statuses.at(-1)?.at : undefined;
    const dwell = dwellTimes({
      start: { at: createdAt, status: 'new', teamId: null, assigneeId: initialAssignee },
      events,
      until: stoppedAt ?? at,
      calendar,
    });
    return {
      caseId: kase.id,
      sla: kase.sla ?? null,
      calendarId: calendar.id,
      hops: evaluated.map((h, i) => ({
        tier: h.tier,
        teamId: hops[i]?.teamId ?? null,
        from: iso(Number(h.from)),
        to: h.to == null ? null : iso(Number(h.to)),
        ola: {
          targetMinutes: h.evaluation.targetMinutes,
          elapsedMinutes: Math.round(h.evaluation.elapsedMinutes * 100) / 100,
          state: h.evaluation.state,
          dueAt: h.evaluation.dueAt,
        },
      })),
      dwell,
    };
  });
}
