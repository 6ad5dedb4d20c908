/**
 * `POST /api/cases/:id/escalate` (API_ROUTES.caseEscalate): a supervisor of the case's team, or an
 * admin, hands the case to the next tier of the ladder (L1 → L2 → L3 → product team) now, with a
 * reason — the same move the case engine makes when a hop's OLA is breached (case-engine.ts,
 * `escalateCase`). Scoped like replication: a case the caller could not pull answers 404, exactly
 * like a missing one. Refusals carry `details: { code, sentence: { fa, en } }`.
 */
import { API_ROUTES, caseEscalationRequestSchema, type CaseEscalationResponse } from '@emdad/domain';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { TokenService } from '../auth/tokens.ts';
import { requireCaller } from '../auth/session.ts';
import type { Db } from '../db/index.ts';
import type { CaseEngine } from '../engine/case-engine.ts';
import { ApiError } from '../errors.ts';
import { getCase } from '../replication/cases.ts';
import { resolveScope } from '../replication/scope.ts';

const idParams = z.object({ id: z.string().min(1).max(64) });

const refuse = (
  status: number,
  code: 'forbidden' | 'not_found' | 'invalid_transition' | 'validation_failed',
  sentence: { fa: string; en: string },
) => new ApiError(status, code, sentence.en, { code, sentence });

export function registerCaseEscalateRoutes(
  app: FastifyInstance,
  options: { db: Db; tokens: TokenService; engine: CaseEngine },
): void {
  const { db, tokens, engine } = options;
  app.post(API_ROUTES.caseEscalate, async (request): Promise<CaseEscalationResponse> => {
    const caller = await requireCaller(request, db, tokens);
    const params = idParams.safeParse(request.params);
    if (!params.success) throw new ApiError(400, 'validation_failed', 'The case id is missing or too long.');
    const body = caseEscalationRequestSchema.safeParse(request.body ?? {});
    if (!body.success)
      throw refuse(400, 'validation_failed', {
        fa: 'دلیل ارجاع به سطح بعد را بنویسید (۳ تا ۱۰۰۰ نویسه).',
        en: 'Write why the case goes to the next tier (3 to 1000 characters).',
      });
    const scope = await resolveScope(db, caller.user);
    const kase = await getCase(db, scope, params.data.id);
    if (!kase) throw new ApiError(404, 'not_found', 'No such case, or it is outside what you may see.');
    const mayEscalate =
      caller.user.role === 'admin' ||
      (caller.user.role === 'supervisor' && kase.teamId != null && scope.teamIds.includes(kase.teamId));
    if (!mayEscalate)
      throw refuse(403, 'forbidden', {
        fa: 'فقط سرپرست تیمِ مسئول این درخواست یا مدیر سامانه می‌تواند آن را به سطح بعد ارجاع دهد. با سرپرست تیم هماهنگ کنید.',
        en: 'Only the supervisor of the team holding this case, or an admin, can escalate it. Ask that supervisor.',
      });
    const result = await engine.escalateCase(kase.id, {
      by: caller.user.id,
      reason: body.data.reason,
      ...(body.data.fromTier ? { fromTier: body.data.fromTier } : {}),
    });
    if (!result.ok) throw refuse(result.code === 'not_found' ? 404 : 409, result.code, result.sentence);
    const updated = await getCase(db, scope, kase.id);
    return {
      caseId: kase.id,
      fromTier: result.fromTier,
      toTier: result.toTier,
      teamId: result.teamId,
      assigneeId: result.assigneeId,
      case: updated,
    };
  });
}
