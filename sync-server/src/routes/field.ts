/**
 * HTTP routes of the field workflows (issue 5, parts 4–6; paths in domain/src/api.ts, answers in
 * domain/src/field-api.ts): the customer-360 timelines of a device and a merchant, a mission's
 * expense totals and comments, and the top knowledge articles. Every read is scoped with the very
 * SQL conditions replication uses (replication/scope.ts): what a caller could not pull, they do not
 * see here either, and a record outside their scope answers exactly like a missing one (404).
 */
import { randomUUID } from 'node:crypto';
import { API_ROUTES, type CaseDoc } from '@emdad/domain';
import {
  isSolvedByLink,
  knowledgeTopQuerySchema,
  missionCommentRequestSchema,
  timelineQuerySchema,
  verdictOf,
  type MissionExpenseTotalsResponse,
  type TimelineEntry,
  type TimelineResponse,
  type TopArticle,
} from '@emdad/domain/field-api';
import type {
  DiagnosticDoc,
  EquipmentDoc,
  EquipmentHistoryEntry,
  ExpenseDoc,
  KbArticleDoc,
  MissionCommentEntry,
  MissionDoc,
} from '@emdad/domain/model/index';
import { mergeTimelines } from '@emdad/domain/workflow/equipment';
import { missionExpenseTotals } from '@emdad/domain/workflow/expense';
import { topArticles, type ArticleCaseLink } from '@emdad/domain/workflow/knowledge';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { TokenService } from '../auth/tokens.ts';
import { requireCaller } from '../auth/session.ts';
import type { Db, Queryable } from '../db/index.ts';
import type { ServerWriter } from '../engine/server-writes.ts';
import { articleFamily } from '../engine/field-workflows.ts';
import { ApiError } from '../errors.ts';
import { caseScopeSql, documentScopeSql, resolveScope, SqlParams, type Scope } from '../replication/scope.ts';

export interface FieldRouteOptions {
  db: Db;
  tokens: TokenService;
  writer: ServerWriter;
}

const idParams = z.object({ id: z.string().min(1).max(64) });

function idOf(params: unknown, what: string): string {
  const parsed = idParams.safeParse(params);
  if (!parsed.success) throw new ApiError(400, 'validation_failed', `The ${what} id is missing or too long.`);
  return parsed.data.id;
}

function queryOf<T extends z.ZodType>(schema: T, query: unknown): z.infer<T> {
  const parsed = schema.safeParse(query);
  if (!parsed.success)
    throw new ApiError(400, 'bad_request', `Invalid query: ${parsed.error.issues[0]?.message ?? 'invalid'}.`);
  return parsed.data;
}

/** Documents of a collection the caller may read, matching `where` (over alias `d`). */
async function visibleDocuments<T>(
  db: Queryable,
  collection: Parameters<typeof documentScopeSql>[0],
  scope: Scope,
  where: (p: SqlParams) => string,
): Promise<T[]> {
  const p = new SqlParams([collection]);
  const condition = where(p);
  const rows = await db.query<{ doc: T }>(
    `SELECT d.doc FROM documents d WHERE d.collection = $1 AND NOT d.deleted AND (${condition})
       AND ${documentScopeSql(collection, scope, p)} ORDER BY d.id`,
    p.values,
  );
  return rows.map((r) => r.doc);
}

async function visibleCases(
  db: Queryable,
  scope: Scope,
  where: (p: SqlParams) => string,
): Promise<CaseDoc[]> {
  const p = new SqlParams();
  const condition = where(p);
  const rows = await db.query<{ doc: CaseDoc }>(
    `SELECT c.doc FROM cases c WHERE NOT c.deleted AND (${condition}) AND ${caseScopeSql(scope, p, 'c.')} ORDER BY c.id`,
    p.values,
  );
  return rows.map((r) => r.doc);
}

function historyEntries(device: EquipmentDoc, onlyMerchant?: string): TimelineEntry[] {
  return ((device.history as EquipmentHistoryEntry[] | undefined) ?? [])
    .filter((h) => onlyMerchant === undefined || h.merchantId === onlyMerchant)
    .map((h) => ({
      id: h.id,
      equipmentId: device.id,
      merchantId: h.merchantId,
      type: h.type,
      at: h.at,
      serial: device.serial,
      fromStatus: h.fromStatus,
      toStatus: h.toStatus,
      byUserId: h.byUserId,
      ...(h.otherSerial ? { otherSerial: h.otherSerial } : {}),
      ...(h.note ? { note: h.note } : {}),
    }));
}

function diagnosticEntry(run: DiagnosticDoc, merchantId: string | null): TimelineEntry {
  return {
    id: run.id,
    equipmentId: run.equipmentId ?? '',
    merchantId,
    type: 'diagnostics',
    at: run.finishedAt ?? run.startedAt,
    serial: run.device.serial,
    verdict: verdictOf(run.outcome),
    outcome: run.outcome,
    diagnosticId: run.id,
    technicianId: run.technicianId,
    ...(run.caseId ? { caseId: run.caseId } : {}),
  };
}

function caseEntry(doc: CaseDoc, serials: ReadonlyMap<string, string>): TimelineEntry {
  return {
    id: doc.id,
    equipmentId: doc.equipmentId ?? '',
    merchantId: doc.merchantId,
    type: 'case',
    at: doc.createdAt,
    serial: doc.equipmentId ? (serials.get(doc.equipmentId) ?? null) : null,
    caseId: doc.id,
    trackingCode: doc.trackingCode,
    subject: doc.subject,
    caseStatus: doc.status,
    templateId: doc.templateId,
  };
}

function page(entries: TimelineEntry[], limit: number): TimelineResponse {
  const merged = mergeTimelines(entries);
  return { entries: merged.slice(-limit), truncated: merged.length > limit };
}

export function registerFieldRoutes(app: FastifyInstance, options: FieldRouteOptions): void {
  const { db, tokens, writer } = options;

  app.get(API_ROUTES.equipmentTimeline, async (request): Promise<TimelineResponse> => {
    const caller = await requireCaller(request, db, tokens);
    const id = idOf(request.params, 'equipment');
    const { limit } = queryOf(timelineQuerySchema, request.query);
    const scope = await resolveScope(db, caller.user);
    const [device] = await visibleDocuments<EquipmentDoc>(
      db,
      'equipment',
      scope,
      (p) => `d.id = ${p.add(id)}`,
    );
    if (!device) throw new ApiError(404, 'not_found', `No equipment ${id} is visible to you.`);
    const runs = await visibleDocuments<DiagnosticDoc>(
      db,
      'diagnostics',
      scope,
      (p) => `d.doc ->> 'equipmentId' = ${p.add(id)}`,
    );
    const cases = await visibleCases(db, scope, (p) => `c.doc ->> 'equipmentId' = ${p.add(id)}`);
    const serials = new Map([[device.id, device.serial]]);
    return page(
      [
        ...historyEntries(device),
        ...runs.map((r) => diagnosticEntry(r, device.merchantId)),
        ...cases.map((c) => caseEntry(c, serials)),
      ],
      limit,
    );
  });

  app.get(API_ROUTES.merchantTimeline, async (request): Promise<TimelineResponse> => {
    const caller = await requireCaller(request, db, tokens);
    const id = idOf(request.params, 'merchant');
    const { limit } = queryOf(timelineQuerySchema, request.query);
    const scope = await resolveScope(db, caller.user);
    const [merchant] = await visibleDocuments<{ id: string }>(
      db,
      'merchants',
      scope,
      (p) => `d.id = ${p.add(id)}`,
    );
    if (!merchant) throw new ApiError(404, 'not_found', `No merchant ${id} is visible to you.`);
    // Devices there now, and devices whose history was ever at this merchant (swapped out, collected).
    const devices = await visibleDocuments<EquipmentDoc>(
      db,
      'equipment',
      scope,
      (p) =>
        `d.doc ->> 'merchantId' = ${p.add(id)} OR d.doc -> 'history' @> ${p.add(JSON.stringify([{ merchantId: id }]))}::jsonb`,
    );
    const serials = new Map(devices.map((d) => [d.id, d.serial]));
    const here = devices.filter((d) => d.merchantId === id).map((d) => d.id);
    const runs =
      here.length === 0
        ? []
        : await visibleDocuments<DiagnosticDoc>(
            db,
            'diagnostics',
            scope,
            (p) => `d.doc ->> 'equipmentId' = ANY(${p.addArray(here)})`,
          );
    const cases = await visibleCases(db, scope, (p) => `c.doc ->> 'merchantId' = ${p.add(id)}`);
    return page(
      [
        ...devices.flatMap((d) => historyEntries(d, id)),
        ...runs.map((r) => diagnosticEntry(r, id)),
        ...cases.map((c) => caseEntry(c, serials)),
      ],
      limit,
    );
  });

  app.get(API_ROUTES.missionExpenseTotals, async (request): Promise<MissionExpenseTotalsResponse> => {
    const caller = await requireCaller(request, db, tokens);
    const id = idOf(request.params, 'mission');
    const scope = await resolveScope(db, caller.user);
    const [mission] = await visibleDocuments<MissionDoc>(db, 'missions', scope, (p) => `d.id = ${p.add(id)}`);
    if (!mission) throw new ApiError(404, 'not_found', `No mission ${id} is visible to you.`);
    const expenses = await visibleDocuments<ExpenseDoc>(
      db,
      'expenses',
      scope,
      (p) => `d.doc ->> 'missionId' = ${p.add(id)}`,
    );
    const totals = missionExpenseTotals(expenses.map((e) => ({ ...e, missionId: id }))).get(id) ?? {
      total: 0,
      byStatus: { draft: 0, submitted: 0, approved: 0, rejected: 0 },
      approvedByCategory: {},
    };
    return { missionId: id, currency: 'IRR', count: expenses.length, ...totals };
  });

  app.post(API_ROUTES.missionComments, async (request) => {
    const caller = await requireCaller(request, db, tokens);
    const id = idOf(request.params, 'mission');
    const body = missionCommentRequestSchema.safeParse(request.body);
    if (!body.success)
      throw new ApiError(
        400,
        'validation_failed',
        `Write the comment (1–2000 characters): ${body.error.issues[0]?.message ?? 'invalid'}.`,
      );
    const scope = await resolveScope(db, caller.user);
    // Related units: whoever may read the mission, or one of its cases (e.g. the branch of the case).
    const [readable] = await visibleDocuments<MissionDoc>(
      db,
      'missions',
      scope,
      (p) => `d.id = ${p.add(id)}`,
    );
    let allowed = Boolean(readable);
    if (!allowed) {
      const stored = await db.query<{ doc: MissionDoc }>(
        "SELECT doc FROM documents WHERE collection = 'missions' AND id = $1 AND NOT deleted",
        [id],
      );
      const caseIds = stored[0]?.doc.caseIds ?? [];
      allowed =
        caseIds.length > 0 &&
        (await visibleCases(db, scope, (p) => `c.id = ANY(${p.addArray(caseIds)})`)).length > 0;
    }
    if (!allowed) throw new ApiError(404, 'not_found', `No mission ${id} is visible to you.`);
    const commentId = body.data.id ?? randomUUID();
    const unit = caller.user.teamId ?? caller.user.branchId ?? caller.user.role;
    return await writer.transaction(async (w) => {
      const mission = await w.get<MissionDoc>('missions', id);
      if (!mission || mission._deleted)
        throw new ApiError(404, 'not_found', `No mission ${id} is visible to you.`);
      const comments: MissionCommentEntry[] = mission.comments ?? [];
      const existing = comments.find((c) => c.id === commentId);
      if (existing) return { comment: existing, mission };
      if (comments.length >= 200)
        throw new ApiError(
          400,
          'validation_failed',
          'This mission has reached 200 comments; continue the discussion on one of its cases.',
        );
      const comment: MissionCommentEntry = {
        id: commentId,
        authorId: caller.user.id,
        unit,
        text: body.data.text,
        at: new Date(w.at).toISOString(),
      };
      const { _deleted, ...doc } = mission;
      const stored = await w.put('missions', { ...doc, comments: [...comments, comment] });
      return { comment, mission: stored };
    });
  });

  app.get(API_ROUTES.knowledgeTop, async (request): Promise<{ articles: TopArticle[] }> => {
    await requireCaller(request, db, tokens);
    const query = queryOf(knowledgeTopQuerySchema, request.query);
    const rows = await db.query<{
      article_id: string;
      case_id: string;
      kind: 'article_link';
      to_status: string | null;
      template_id: string | null;
      device_model: string | null;
      error_codes: string[] | null;
    }>(
      `SELECT e.doc ->> 'articleId' AS article_id, e.doc ->> 'caseId' AS case_id, e.doc ->> 'kind' AS kind,
              e.doc ->> 'toStatus' AS to_status, c.doc ->> 'templateId' AS template_id,
              q.doc ->> 'model' AS device_model,
              (SELECT array_agg(DISTINCT s ->> 'id') FROM documents g, jsonb_array_elements(g.doc -> 'steps') s
                 WHERE g.collection = 'diagnostics' AND g.case_id = c.id AND NOT g.deleted
                   AND s ->> 'status' IN ('failed', 'timed_out')) AS error_codes
       FROM documents e
       JOIN cases c ON c.id = e.doc ->> 'caseId' AND NOT c.deleted
       LEFT JOIN documents q ON q.collection = 'equipment' AND q.id = c.doc ->> 'equipmentId'
       WHERE e.collection = 'case_events' AND e.doc ->> 'kind' = 'article_link' AND NOT e.deleted
         AND e.doc ->> 'articleId' IS NOT NULL`,
    );
    const articles = await db.query<{ doc: KbArticleDoc & { articleId?: string | null } }>(
      "SELECT doc FROM documents WHERE collection = 'kb_articles' AND NOT deleted",
    );
    const familyOf = new Map(articles.map((a) => [a.doc.id, articleFamily(a.doc)]));
    const current = new Map<string, KbArticleDoc>();
    for (const { doc } of articles) {
      if (doc.status !== 'published') continue;
      const family = articleFamily(doc);
      const best = current.get(family);
      if (!best || doc.version > best.version) current.set(family, doc);
    }
    const links: ArticleCaseLink[] = rows.flatMap((r): ArticleCaseLink[] => {
      const articleId = familyOf.get(r.article_id) ?? r.article_id;
      const base = {
        articleId,
        caseId: r.case_id,
        solved: isSolvedByLink({ kind: r.kind, toStatus: r.to_status as never }),
        templateId: r.template_id,
        deviceModel: r.device_model,
      };
      const codes = r.error_codes?.filter(Boolean) ?? [];
      return codes.length === 0
        ? [{ ...base, errorCode: null }]
        : codes.map((errorCode) => ({ ...base, errorCode }));
    });
    const ranked = topArticles(
      links.filter((l) => current.has(l.articleId)),
      query,
      query.limit,
    );
    return {
      articles: ranked.map((r) => {
        const doc = current.get(r.articleId)!;
        return { ...r, current: { id: doc.id, version: doc.version, type: doc.type, title: doc.title } };
      }),
    };
  });
}
