import {
  API_ROUTES,
  type BranchRef,
  type CaseTemplateRef,
  type EquipmentRef,
  type MerchantRef,
  type ReferenceData,
  type ReferenceSla,
} from '@emdad/domain';
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { Db } from '../db/index.ts';
import { ApiError } from '../errors.ts';
import type { TokenService } from '../auth/tokens.ts';
import { requireCaller } from '../auth/session.ts';
import { getCase } from '../replication/cases.ts';
import { resolveScope } from '../replication/scope.ts';
import { toProfile } from '../users.ts';

export interface ApiRouteOptions {
  db: Db;
  tokens: TokenService;
  version: string;
  /** The case engine's SLA targets and duplicate window, handed to clients with the reference data. */
  sla?: ReferenceSla;
}

const idParams = z.object({ id: z.string().min(1).max(64) });

export function registerApiRoutes(app: FastifyInstance, options: ApiRouteOptions): void {
  const { db, tokens } = options;

  app.get(API_ROUTES.health, async () => {
    await db.query('SELECT 1');
    return { ok: true, database: db.kind, version: options.version };
  });

  /** The signed-in user and this install: `Pick<AuthSession, 'user' | 'install'>`. */
  app.get(API_ROUTES.me, async (request) => {
    const caller = await requireCaller(request, db, tokens);
    return { user: toProfile(caller.user), install: caller.install };
  });

  /** What a client caches for offline case intake. For now every caller sees all reference data. */
  app.get(API_ROUTES.reference, async (request): Promise<ReferenceData> => {
    await requireCaller(request, db, tokens);
    const docs = async <T>(table: string) =>
      (await db.query<{ doc: T }>(`SELECT doc FROM ${table} ORDER BY id`)).map((r) => r.doc);
    return {
      templates: await docs<CaseTemplateRef>('case_templates'),
      branches: await docs<BranchRef>('branches'),
      merchants: await docs<MerchantRef>('merchants'),
      equipment: await docs<EquipmentRef>('equipment'),
      ...(options.sla ? { sla: options.sla } : {}),
    };
  });

  app.get(API_ROUTES.caseById, async (request) => {
    const caller = await requireCaller(request, db, tokens);
    const params = idParams.safeParse(request.params);
    if (!params.success) throw new ApiError(400, 'validation_failed', 'The case id is missing or too long.');
    const found = await getCase(db, await resolveScope(db, caller.user), params.data.id);
    // A case outside the caller's scope is reported exactly like a missing one.
    if (!found) throw new ApiError(404, 'not_found', `No case ${params.data.id} is visible to you.`);
    return found;
  });
}
