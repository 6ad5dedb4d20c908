/**
 * The case engine: the server's own workflows on cases, run after every accepted push of cases or
 * case_events and on a timer (see sync-server/README.md, "Case engine"):
 * - first sight of a case: its creation time accepted within the device clock skew bound (flagged
 *   beyond it), routing (template → team and tier, merchant → region, capacity, round-robin) and
 *   duplicate detection;
 * - every run: the timeline (status changes, customer-facing events, accepted device times) read
 *   into the SLA evaluation of the region's calendar; the case's `sla` written; SLA events (warning,
 *   breach) and escalation actions (notify assignee/supervisor, raise priority, move to L2) applied
 *   once each (`engine_applied`); the current hop's OLA, and past it the next tier of the ladder
 *   L1 → L2 → L3 → product team (policy `olaBreach`), once per hop; the same move by a person
 *   through `escalateCase` (`POST /api/cases/:id/escalate`);
 * - notifications held to the recipient's working hours (notifications.ts).
 * Everything is written through ServerWriter (system actor, audited, announced after commit).
 * The timer only looks at cases whose next threshold has passed (`engine_cases.next_check_at`).
 */
import { CASE_STATUSES, type CaseDoc, type CasePriority, type CaseSla, type CaseStatus } from '@emdad/domain';
import { caseEventVisibility, type CaseEventDoc } from '@emdad/domain/model/case-events';
import type { CollectionName } from '@emdad/domain/model/index';
import {
  PAUSED_STATUSES,
  STOPPED_STATUSES,
  evaluateClock,
  nextSupportTier,
  tierAfterOlaBreach,
  toCaseSla,
  type EscalationAction,
  type SlaEvaluation,
  type SlaTargetEvaluation,
  type SupportTier,
} from '@emdad/domain/sla/evaluate';
import { caseRegionId, slaCaseRecord } from '@emdad/domain/sla/case-input';
import type { SlaCaseRecord } from '@emdad/domain/sla/recompute';
import { acceptDeviceEventTime } from '@emdad/domain/sla/skew';
import { findPossibleDuplicates, type DuplicateCandidate } from '@emdad/domain/workflow/duplicates';
import { pickAssignee, ROUTING_SENTENCES, type Agent } from '@emdad/domain/workflow/routing';
import type { Db, Queryable } from '../db/index.ts';
import { toNumber } from '../db/index.ts';
import { deliverDueNotifications, notify, stableId } from './notifications.ts';
import { loadEngineReference, type EngineReference } from './reference.ts';
import type { ServerWriter, ServerWriteSession } from './server-writes.ts';
import type { EngineSettings } from './settings.ts';

/** Advisory lock of one engine batch on the timer: one instance at a time works through due cases. */
export const ENGINE_TICK_LOCK = 7_304_001;
const ENGINE_COLLECTIONS: CollectionName[] = ['cases', 'case_events', 'notifications'];
const SYSTEM = 'system';

type Doc = CaseDoc & { serverUpdatedAt: number };
const iso = (ms: number) => new Date(ms).toISOString();
const ms = (value: string) => Date.parse(value);

export interface PushFacts {
  /** The device's clock at the push (header `x-emdad-device-time`), if it said. */
  deviceNow?: number | null;
}

/** A person's hand-over of a case to the next tier (`POST /api/cases/:id/escalate`). */
export interface ManualEscalation {
  by: string;
  reason: string;
  /** The tier the person saw the case in; another one now means someone moved it meanwhile. */
  fromTier?: SupportTier;
}

export type ManualEscalationResult =
  | { ok: true; fromTier: SupportTier; toTier: SupportTier; teamId: string | null; assigneeId: string | null }
  | {
      ok: false;
      code: 'not_found' | 'invalid_transition';
      sentence: { fa: string; en: string };
    };

export interface TickReport {
  /** False when another instance held the engine lock. */
  acted: boolean;
  cases: number;
  notificationsDelivered: number;
}

interface CaseState {
  engine: {
    acceptedCreatedAt: number;
    lastStatus: string;
    routedAt: number | null;
    duplicateCheckedAt: number | null;
    open: boolean;
    nextCheckAt: number | null;
  } | null;
  statuses: { at: number; status: CaseStatus }[];
  customerUpdates: number[];
  seenEvents: Set<string>;
  newEvents: CaseEventDoc[];
  applied: Set<string>;
  hops: { tier: SupportTier; teamId: string | null; from: number; to: number | null }[];
}

function emptyState(): CaseState {
  return {
    engine: null,
    statuses: [],
    customerUpdates: [],
    seenEvents: new Set(),
    newEvents: [],
    applied: new Set(),
    hops: [],
  };
}

const asStatus = (s: string): CaseStatus =>
  (CASE_STATUSES as readonly string[]).includes(s) ? (s as CaseStatus) : 'new';

/** Everything the engine keeps about these cases, in a handful of queries. */
async function loadStates(tx: Queryable, ids: string[]): Promise<Map<string, CaseState>> {
  const states = new Map<string, CaseState>(ids.map((id) => [id, emptyState()]));
  const state = (id: string) => states.get(id)!;
  for (const r of await tx.query(
    'SELECT case_id, accepted_created_at, last_status, routed_at, duplicate_checked_at, open, next_check_at FROM engine_cases WHERE case_id = ANY($1::text[])',
    [ids],
  )) {
    state(String(r.case_id)).engine = {
      acceptedCreatedAt: toNumber(r.accepted_created_at),
      lastStatus: String(r.last_status),
      routedAt: r.routed_at == null ? null : toNumber(r.routed_at),
      duplicateCheckedAt: r.duplicate_checked_at == null ? null : toNumber(r.duplicate_checked_at),
      open: r.open !== false,
      nextCheckAt: r.next_check_at == null ? null : toNumber(r.next_check_at),
    };
  }
  for (const r of await tx.query(
    'SELECT case_id, at, status FROM engine_case_statuses WHERE case_id = ANY($1::text[]) ORDER BY case_id, at',
    [ids],
  ))
    state(String(r.case_id)).statuses.push({ at: toNumber(r.at), status: asStatus(String(r.status)) });
  for (const r of await tx.query(
    'SELECT event_id, case_id, at, customer_facing FROM engine_event_times WHERE case_id = ANY($1::text[])',
    [ids],
  )) {
    const s = state(String(r.case_id));
    s.seenEvents.add(String(r.event_id));
    if (r.customer_facing === true) s.customerUpdates.push(toNumber(r.at));
  }
  for (const r of await tx.query<{ doc: CaseEventDoc; case_id: string }>(
    `SELECT d.doc, d.case_id FROM documents d WHERE d.collection = 'case_events' AND d.case_id = ANY($1::text[])
       AND NOT d.deleted AND NOT EXISTS (SELECT 1 FROM engine_event_times t WHERE t.event_id = d.id)`,
    [ids],
  ))
    state(r.case_id).newEvents.push(r.doc);
  for (const r of await tx.query(
    'SELECT case_id, action_key FROM engine_applied WHERE case_id = ANY($1::text[])',
    [ids],
  ))
    state(String(r.case_id)).applied.add(String(r.action_key));
  for (const r of await tx.query(
    'SELECT case_id, tier, team_id, from_at, to_at FROM engine_hops WHERE case_id = ANY($1::text[]) ORDER BY case_id, from_at',
    [ids],
  ))
    state(String(r.case_id)).hops.push({
      tier: r.tier as SupportTier,
      teamId: r.team_id == null ? null : String(r.team_id),
      from: toNumber(r.from_at),
      to: r.to_at == null ? null : toNumber(r.to_at),
    });
  return states;
}

/** Records a key as applied; false when it already was (another run got there first). */
async function claim(tx: Queryable, caseId: string, key: string, at: number): Promise<boolean> {
  const rows = await tx.query(
    'INSERT INTO engine_applied (case_id, action_key, applied_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING RETURNING 1',
    [caseId, key, at],
  );
  return rows.length > 0;
}

const TARGET_NAMES = {
  firstResponse: { fa: 'نخستین پاسخ', en: 'first response' },
  update: { fa: 'به‌روزرسانی مشتری', en: 'customer update' },
  resolution: { fa: 'حل درخواست', en: 'resolution' },
  ola: { fa: 'هدف داخلی مرحله', en: 'internal target of this hop' },
} as const;

export class CaseEngine {
  private timer: ReturnType<typeof setInterval> | undefined;
  private running: Promise<unknown> = Promise.resolve();
  private stopped = false;

  constructor(
    private readonly db: Db,
    private readonly writer: ServerWriter,
    private readonly now: () => number,
    readonly settings: EngineSettings,
  ) {}

  /** `afterPush` as a replication route reaction (routes/replication.ts). */
  readonly pushReaction = (collection: string, stamp: number, facts: PushFacts): Promise<void> =>
    this.afterPush(collection, stamp, facts);

  /** Starts the timer (when `slaTickMs` is a number). */
  start(): void {
    if (this.settings.slaTickMs === false || this.timer) return;
    this.timer = setInterval(() => {
      this.running = this.running
        .then(() => (this.stopped ? undefined : this.tick()))
        .catch((error: unknown) => console.error('case engine tick failed:', error));
    }, this.settings.slaTickMs);
    this.timer.unref?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running.catch(() => undefined);
  }

  /**
   * After an accepted push (its transaction committed): the cases the pushed documents belong to.
   * Errors are logged, never thrown: the push stands, and the timer retries the case later.
   */
  async afterPush(collection: string, stamp: number, facts: PushFacts = {}): Promise<void> {
    if (collection !== 'cases' && collection !== 'case_events') return;
    try {
      const ids =
        collection === 'cases'
          ? (
              await this.db.query<{ id: string }>('SELECT id FROM cases WHERE server_updated_at = $1', [
                stamp,
              ])
            ).map((r) => r.id)
          : (
              await this.db.query<{ case_id: string }>(
                "SELECT DISTINCT case_id FROM documents WHERE collection = 'case_events' AND server_updated_at = $1 AND case_id IS NOT NULL",
                [stamp],
              )
            ).map((r) => r.case_id);
      if (ids.length === 0) return;
      const ref = await loadEngineReference(this.db, this.settings);
      for (let i = 0; i < ids.length; i += this.settings.batchSize) {
        const batch = ids.slice(i, i + this.settings.batchSize);
        await this.writer.transaction((w) => this.processCases(w, ref, batch, facts.deviceNow ?? null), {
          lock: ENGINE_COLLECTIONS,
        });
      }
    } catch (error) {
      console.error('case engine after push failed:', error);
    }
  }

  /**
   * One timer run: held notifications whose time has come, then every open case whose next
   * threshold has passed, in batches (one transaction each, under the engine lock).
   */
  async tick(): Promise<TickReport> {
    const ref = await loadEngineReference(this.db, this.settings);
    const report: TickReport = { acted: false, cases: 0, notificationsDelivered: 0 };
    for (let round = 0; round < 100_000; round++) {
      const batch = await this.writer.transaction(async (w) => {
        const [lock] = await w.tx.query<{ locked: boolean }>(
          'SELECT pg_try_advisory_xact_lock($1) AS locked',
          [ENGINE_TICK_LOCK],
        );
        if (!lock?.locked) return null;
        await w.lock(...ENGINE_COLLECTIONS);
        const delivered = round === 0 ? await deliverDueNotifications(w) : 0;
        const due = await w.tx.query<{ case_id: string }>(
          'SELECT case_id FROM engine_cases WHERE open AND next_check_at <= $1 ORDER BY next_check_at, case_id LIMIT $2',
          [w.at, this.settings.batchSize],
        );
        // Open cases the engine has never seen: stored before it ran, or their push's reaction
        // failed (rolled back). First sight happens here instead.
        const unseen =
          due.length < this.settings.batchSize
            ? await w.tx.query<{ id: string }>(
                `SELECT c.id FROM cases c WHERE NOT c.deleted AND c.doc ->> 'status' NOT IN ('resolved', 'closed')
                   AND NOT EXISTS (SELECT 1 FROM engine_cases e WHERE e.case_id = c.id)
                 ORDER BY c.id LIMIT $1`,
                [this.settings.batchSize - due.length],
              )
            : [];
        const ids = [...due.map((r) => r.case_id), ...unseen.map((r) => r.id)];
        await this.processCases(w, ref, ids, null);
        return { delivered, cases: ids.length };
      });
      if (!batch) return report;
      report.acted = true;
      report.cases += batch.cases;
      report.notificationsDelivered += batch.delivered;
      if (batch.cases < this.settings.batchSize) return report;
    }
    return report;
  }

  /**
   * Recomputes every open case (first sight included), in batches: what a restart after a change of
   * targets or calendars needs, and what `npm run bench -- sla` measures. Answers the cases seen.
   * `slaOnly`: only the `sla` fields are recomputed and written now; each case is left due, so the
   * next timer round applies routing, SLA events and escalations (spreads a mass recomputation).
   */
  async recomputeAll(options: { slaOnly?: boolean } = {}): Promise<number> {
    const ref = await loadEngineReference(this.db, this.settings);
    let after = '';
    let total = 0;
    for (;;) {
      const ids = (
        await this.db.query<{ id: string }>(
          `SELECT id FROM cases WHERE id > $1 AND NOT deleted AND doc ->> 'status' NOT IN ('resolved', 'closed')
           ORDER BY id LIMIT $2`,
          [after, this.settings.batchSize],
        )
      ).map((r) => r.id);
      if (ids.length === 0) return total;
      await this.writer.transaction((w) => this.processCases(w, ref, ids, null, options.slaOnly ?? false), {
        lock: ENGINE_COLLECTIONS,
      });
      total += ids.length;
      after = ids.at(-1)!;
    }
  }

  /**
   * A person hands the case to the next tier now (`POST /api/cases/:id/escalate`; the route checks
   * who may): the same move as the OLA policy's, then the case's SLA written as on any run.
   */
  async escalateCase(caseId: string, request: ManualEscalation): Promise<ManualEscalationResult> {
    const ref = await loadEngineReference(this.db, this.settings);
    return this.writer.transaction(
      async (w) => {
        const [row] = await w.tx.query('SELECT doc, server_updated_at, deleted FROM cases WHERE id = $1', [
          caseId,
        ]);
        if (!row || row.deleted === true)
          return {
            ok: false,
            code: 'not_found',
            sentence: {
              fa: 'این درخواست یافت نشد. فهرست درخواست‌ها را همگام کنید.',
              en: 'No such case. Sync your case list.',
            },
          } satisfies ManualEscalationResult;
        const doc = { ...(row.doc as CaseDoc), serverUpdatedAt: toNumber(row.server_updated_at) };
        const state = (await loadStates(w.tx, [caseId])).get(caseId) ?? emptyState();
        const handOver: ManualEscalation & { result?: ManualEscalationResult } = { ...request };
        await this.processCase(w, ref, doc, state, null, false, handOver);
        return handOver.result!;
      },
      { lock: ENGINE_COLLECTIONS },
    );
  }

  private async processCases(
    w: ServerWriteSession,
    ref: EngineReference,
    ids: string[],
    deviceNow: number | null,
    slaOnly = false,
  ): Promise<void> {
    if (ids.length === 0) return;
    const rows = await w.tx.query(
      'SELECT doc, server_updated_at, deleted FROM cases WHERE id = ANY($1::text[])',
      [ids],
    );
    const states = await loadStates(w.tx, ids);
    for (const row of rows) {
      const doc = { ...(row.doc as CaseDoc), serverUpdatedAt: toNumber(row.server_updated_at) };
      if (row.deleted === true) {
        await w.tx.query('UPDATE engine_cases SET open = FALSE, next_check_at = NULL WHERE case_id = $1', [
          doc.id,
        ]);
        continue;
      }
      await this.processCase(w, ref, doc, states.get(doc.id) ?? emptyState(), deviceNow, slaOnly);
    }
  }

  private accept(eventAt: string, serverNow: number, deviceNow: number | null, notBefore: number | null) {
    return acceptDeviceEventTime({
      eventAt,
      serverNow,
      deviceNow,
      boundMs: this.settings.skewBoundMs,
      notBefore,
    });
  }

  private async processCase(
    w: ServerWriteSession,
    ref: EngineReference,
    stored: Doc,
    state: CaseState,
    deviceNow: number | null,
    slaOnly = false,
    handOver: (ManualEscalation & { result?: ManualEscalationResult }) | null = null,
  ): Promise<void> {
    const now = w.at;
    const doc: CaseDoc = { ...stored };
    const timeline: CaseEventDoc[] = [];
    const event = (key: string, fields: Partial<CaseEventDoc> & Pick<CaseEventDoc, 'kind'>): CaseEventDoc => {
      const e: CaseEventDoc = {
        id: stableId('evt', doc.id, key),
        caseId: doc.id,
        authorId: SYSTEM,
        at: iso(now),
        body: null,
        fromStatus: null,
        toStatus: null,
        assigneeId: null,
        minutes: null,
        diagnosticId: null,
        articleId: null,
        createdAt: iso(now),
        updatedAt: iso(now),
        visibility: 'internal',
        attachments: [],
        teamId: null,
        supportTier: null,
        sla: null,
        escalation: null,
        duplicateOf: null,
        clock: null,
        ...fields,
      };
      timeline.push(e);
      return e;
    };

    // 1. First sight: the creation time the clocks count from.
    const loaded = state.engine ? { ...state.engine } : null;
    let engine = state.engine;
    if (!engine) {
      const created = this.accept(doc.createdAt, now, deviceNow, null);
      const createdAt = ms(created.at);
      engine = {
        acceptedCreatedAt: createdAt,
        lastStatus: 'new',
        routedAt: null,
        duplicateCheckedAt: null,
        open: true,
        nextCheckAt: null,
      };
      await w.tx.query(
        `INSERT INTO engine_cases (case_id, accepted_created_at, last_status) VALUES ($1, $2, 'new')
         ON CONFLICT (case_id) DO NOTHING`,
        [doc.id, createdAt],
      );
      await w.tx.query(
        "INSERT INTO engine_case_statuses (case_id, at, status, source) VALUES ($1, $2, 'new', 'created')",
        [doc.id, createdAt],
      );
      state.statuses.unshift({ at: createdAt, status: 'new' });
      if (created.flagged && (await claim(w.tx, doc.id, 'clock:created', now)))
        event('clock:created', {
          kind: 'clock_flag',
          clock: {
            subjectId: `case:${doc.id}`.slice(0, 80),
            reason: created.reason as 'skew_corrected' | 'future_clamped' | 'not_before_clamped',
            deviceAt: doc.createdAt,
            acceptedAt: created.at,
            skewMs: created.skewMs,
          },
        });
    }
    const createdAt = engine.acceptedCreatedAt;

    // 2. Timeline events the engine has not seen: their accepted times.
    for (const e of state.newEvents) {
      const accepted = this.accept(e.at, now, deviceNow, createdAt);
      const at = ms(accepted.at);
      const customerFacing = e.authorId !== SYSTEM && caseEventVisibility(e) === 'public';
      await w.tx.query(
        `INSERT INTO engine_event_times (event_id, case_id, at, customer_facing, flagged) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (event_id) DO NOTHING`,
        [e.id, doc.id, at, customerFacing, accepted.flagged],
      );
      if (customerFacing) state.customerUpdates.push(at);
      if (e.kind === 'status_change' && e.toStatus) {
        await w.tx.query(
          "INSERT INTO engine_case_statuses (case_id, at, status, source) VALUES ($1, $2, $3, 'event')",
          [doc.id, at, e.toStatus],
        );
        state.statuses.push({ at, status: e.toStatus });
      }
      if (accepted.flagged && e.authorId !== SYSTEM && (await claim(w.tx, doc.id, `clock:${e.id}`, now)))
        event(`clock:${e.id}`, {
          kind: 'clock_flag',
          clock: {
            subjectId: e.id,
            reason: accepted.reason as 'skew_corrected' | 'future_clamped' | 'not_before_clamped',
            deviceAt: e.at,
            acceptedAt: accepted.at,
            skewMs: accepted.skewMs,
          },
        });
    }

    // 3. A status the case document shows that the timeline does not (no status_change event came).
    if (doc.status !== engine.lastStatus) {
      const changed = this.accept(doc.updatedAt, now, deviceNow, createdAt);
      const at = ms(changed.at);
      await w.tx.query(
        "INSERT INTO engine_case_statuses (case_id, at, status, source) VALUES ($1, $2, $3, 'case')",
        [doc.id, at, doc.status],
      );
      state.statuses.push({ at, status: doc.status });
      engine.lastStatus = doc.status;
    }

    // 4. Routing and duplicates, once, on creation.
    if (engine.routedAt === null && !slaOnly) {
      await this.route(w, ref, doc, state, event);
      engine.routedAt = now;
    }
    if (engine.duplicateCheckedAt === null && !slaOnly) {
      await this.checkDuplicates(w, doc, event);
      engine.duplicateCheckedAt = now;
    }

    // 4b. A person's hand-over to the next tier (the same move as an escalation of the policy).
    if (handOver) handOver.result = await this.handOver(w, ref, doc, state, handOver, event);

    // 5. SLA: evaluate, write SLA events, apply escalation actions (which may change priority or
    //    tier, and so the targets: evaluated again after them).
    let evaluation = this.evaluate(ref, doc, state, now);
    if (evaluation && !slaOnly) {
      await this.slaEvents(w, doc, evaluation.evaluation, state, event);
      const changed = await this.escalate(w, ref, doc, evaluation.evaluation.actions, state, event);
      if (changed) evaluation = this.evaluate(ref, doc, state, now) ?? evaluation;
    }
    let ola = this.ola(ref, doc, state, now);
    // A hop past its OLA may hand the case on (policy `olaBreach`): the new hop's OLA starts now.
    if (ola && !slaOnly && (await this.olaEvents(w, ref, doc, state, ola, event)))
      ola = this.ola(ref, doc, state, now);
    const sla: CaseSla | null = evaluation
      ? {
          ...toCaseSla(evaluation.evaluation, evaluation.calendarId),
          ola: ola
            ? {
                tier: ola.tier,
                since: iso(ola.since),
                targetMinutes: ola.evaluation.targetMinutes,
                state: ola.evaluation.state,
                dueAt: ola.evaluation.state === 'paused' ? null : ola.evaluation.dueAt,
              }
            : null,
        }
      : (doc.sla ?? null);
    doc.sla = sla;

    // 6. Write: the case (a no-op when nothing changed), its new timeline entries, the engine state.
    await w.put('cases', doc, { stored: { ...stored, _deleted: false } });
    for (const e of timeline) await w.put('case_events', e);
    const stopped = STOPPED_STATUSES.includes(doc.status);
    const next = {
      ...engine,
      open: doc.status !== 'closed',
      nextCheckAt: stopped
        ? null
        : slaOnly
          ? now
          : this.nextCheck(evaluation?.evaluation ?? null, ola?.evaluation ?? null, now),
    };
    const unchanged =
      loaded !== null && (Object.keys(next) as (keyof typeof next)[]).every((k) => loaded[k] === next[k]);
    if (unchanged) return;
    await w.tx.query(
      `UPDATE engine_cases SET last_status = $2, routed_at = $3, duplicate_checked_at = $4, open = $5, next_check_at = $6
       WHERE case_id = $1`,
      [doc.id, next.lastStatus, next.routedAt, next.duplicateCheckedAt, next.open, next.nextCheckAt],
    );
  }

  private record(ref: EngineReference, doc: CaseDoc, state: CaseState): SlaCaseRecord {
    // The same input building as the client's provisional SLA (domain/src/sla/case-input.ts).
    return slaCaseRecord({
      doc,
      merchant: doc.merchantId ? ref.merchants.get(doc.merchantId) : undefined,
      branchRegionId: doc.branchId ? (ref.branchRegions.get(doc.branchId) ?? null) : null,
      createdAt: state.engine?.acceptedCreatedAt ?? ms(doc.createdAt),
      statuses: state.statuses,
      customerUpdates: state.customerUpdates,
      applied: state.applied,
    });
  }

  private evaluate(
    ref: EngineReference,
    doc: CaseDoc,
    state: CaseState,
    now: number,
  ): { evaluation: SlaEvaluation; calendarId: string } | null {
    const result = ref.recompute(this.record(ref, doc, state), now);
    return result.ok ? { evaluation: result.evaluation, calendarId: result.calendarId } : null;
  }

  private regionOf(ref: EngineReference, doc: CaseDoc): string | null {
    return caseRegionId(
      doc.merchantId ? ref.merchants.get(doc.merchantId) : undefined,
      doc.branchId ? (ref.branchRegions.get(doc.branchId) ?? null) : null,
    );
  }

  /** The supervisor who answers for the case: its team's, else its assignee's team's. */
  private supervisorOf(ref: EngineReference, doc: CaseDoc): string | null {
    const byTeam = doc.teamId ? ref.teams.get(doc.teamId)?.supervisorId : null;
    if (byTeam) return byTeam;
    const assigneeTeam = doc.assigneeId ? ref.users.get(doc.assigneeId)?.teamId : null;
    const byAssignee = assigneeTeam ? ref.teams.get(assigneeTeam)?.supervisorId : null;
    if (byAssignee) return byAssignee;
    const region = this.regionOf(ref, doc);
    for (const team of ref.teams.values())
      if (team.supervisorId && region && team.regionIds.includes(region)) return team.supervisorId;
    return null;
  }

  private async agents(w: ServerWriteSession, ref: EngineReference, teamId: string, tier: SupportTier) {
    const members = [...ref.users.values()].filter(
      (u) => u.teamId === teamId && u.role === 'technician' && !u.disabled,
    );
    const counts = new Map(
      (
        await w.tx.query<{ assignee_id: string; open: unknown }>(
          `SELECT assignee_id, count(*) AS open FROM cases
           WHERE assignee_id = ANY($1::text[]) AND NOT deleted AND doc ->> 'status' NOT IN ('resolved', 'closed')
           GROUP BY assignee_id`,
          [members.map((m) => m.id)],
        )
      ).map((r) => [r.assignee_id, toNumber(r.open)]),
    );
    // Agents take the tier the rule asks for: a team's people handle whatever tier is routed to it.
    return members.map((m): Agent => ({
      id: m.id,
      teamId,
      tier,
      regionIds: m.regionIds,
      active: true,
      openCases: counts.get(m.id) ?? 0,
    }));
  }

  /** pickAssignee with the round-robin cursors kept in `routing_state`. */
  private async pick(
    w: ServerWriteSession,
    ref: EngineReference,
    doc: CaseDoc,
    rule: { team: string; tier: SupportTier },
    exclude: string[],
  ) {
    const cursors = await w.tx.query<{ queue: string; last_assignee: string }>(
      'SELECT queue, last_assignee FROM routing_state WHERE queue LIKE $1',
      [`${rule.team}|${rule.tier}|%`],
    );
    const result = pickAssignee({
      templateId: doc.templateId,
      rule,
      regionId: this.regionOf(ref, doc),
      agents: await this.agents(w, ref, rule.team, rule.tier),
      state: { lastAssigned: Object.fromEntries(cursors.map((c) => [c.queue, c.last_assignee])) },
      defaultCapacity: this.settings.defaultCapacity,
      exclude,
    });
    if (result.ok) {
      for (const [queue, last] of Object.entries(result.state.lastAssigned)) {
        if (cursors.some((c) => c.queue === queue && c.last_assignee === last)) continue;
        await w.tx.query(
          `INSERT INTO routing_state (queue, last_assignee) VALUES ($1, $2)
           ON CONFLICT (queue) DO UPDATE SET last_assignee = EXCLUDED.last_assignee`,
          [queue, last],
        );
      }
    }
    return result;
  }

  private async route(
    w: ServerWriteSession,
    ref: EngineReference,
    doc: CaseDoc,
    state: CaseState,
    event: (key: string, fields: Partial<CaseEventDoc> & Pick<CaseEventDoc, 'kind'>) => CaseEventDoc,
  ): Promise<void> {
    if (!(await claim(w.tx, doc.id, 'route', w.at))) return;
    const template = ref.templates.get(doc.templateId);
    const tier: SupportTier = doc.supportTier ?? template?.tier ?? 'L1';
    const team = doc.teamId ?? template?.team ?? null;
    doc.teamId = team;
    doc.supportTier = tier;
    await this.openHop(w, doc, state, tier, team);
    // Someone already took it (assigned on the device): routing only records team and tier.
    if (doc.assigneeId || !team) {
      event('route', { kind: 'assignment', assigneeId: doc.assigneeId, teamId: team, supportTier: tier });
      return;
    }
    const picked = await this.pick(w, ref, doc, { team, tier }, []);
    if (picked.ok) {
      doc.assigneeId = picked.assigneeId;
      await this.notifyAssigned(w, ref, doc, 'route');
    } else {
      const supervisor = this.supervisorOf(ref, doc);
      const sentence = ROUTING_SENTENCES[picked.reason];
      if (supervisor)
        await notify(w, ref, `${doc.id}:route:queue`, {
          userId: supervisor,
          kind: 'assignment',
          title: {
            fa: `درخواست ${doc.trackingCode} بدون مسئول ماند`,
            en: `Case ${doc.trackingCode} has no assignee`,
          },
          body: sentence,
          link: `/cases/${doc.id}`,
        });
    }
    event('route', { kind: 'assignment', assigneeId: doc.assigneeId, teamId: team, supportTier: tier });
  }

  private async notifyAssigned(w: ServerWriteSession, ref: EngineReference, doc: CaseDoc, key: string) {
    if (!doc.assigneeId) return;
    await notify(w, ref, `${doc.id}:${key}:assigned`, {
      userId: doc.assigneeId,
      kind: 'assignment',
      title: {
        fa: `درخواست ${doc.trackingCode} به شما واگذار شد`,
        en: `Case ${doc.trackingCode} is assigned to you`,
      },
      body: {
        fa: `${doc.subject} — درخواست را باز کنید و پیش از موعد نخستین پاسخ با پذیرنده تماس بگیرید.`,
        en: `${doc.subject} — open the case and contact the merchant before the first response is due.`,
      },
      link: `/cases/${doc.id}`,
    });
  }

  private async openHop(
    w: ServerWriteSession,
    doc: CaseDoc,
    state: CaseState,
    tier: SupportTier,
    teamId: string | null,
  ): Promise<void> {
    const open = state.hops.find((h) => h.to === null);
    if (open) {
      open.to = w.at;
      await w.tx.query('UPDATE engine_hops SET to_at = $3 WHERE case_id = $1 AND from_at = $2', [
        doc.id,
        open.from,
        w.at,
      ]);
    }
    const from = Math.max(w.at, (open?.from ?? 0) + 1);
    await w.tx.query(
      'INSERT INTO engine_hops (case_id, tier, team_id, from_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING',
      [doc.id, tier, teamId, from],
    );
    state.hops.push({ tier, teamId, from, to: null });
  }

  private async checkDuplicates(
    w: ServerWriteSession,
    doc: CaseDoc,
    event: (key: string, fields: Partial<CaseEventDoc> & Pick<CaseEventDoc, 'kind'>) => CaseEventDoc,
  ): Promise<void> {
    doc.possibleDuplicateOf ??= null;
    if (!doc.equipmentId || doc.possibleDuplicateOf) return;
    const rows = await w.tx.query<{ doc: CaseDoc }>(
      `SELECT doc FROM cases WHERE doc ->> 'equipmentId' = $1 AND doc ->> 'templateId' = $2 AND id <> $3
         AND NOT deleted AND doc ->> 'status' NOT IN ('resolved', 'closed')`,
      [doc.equipmentId, doc.templateId, doc.id],
    );
    const candidates: DuplicateCandidate[] = rows
      // A case is only ever flagged against one that was not itself flagged against it.
      .filter((r) => r.doc.possibleDuplicateOf !== doc.id)
      .map((r) => ({
        id: r.doc.id,
        equipmentId: r.doc.equipmentId,
        templateId: r.doc.templateId,
        status: r.doc.status,
        createdAt: r.doc.createdAt,
        trackingCode: r.doc.trackingCode,
      }));
    const [match] = findPossibleDuplicates(doc, candidates, this.settings.duplicateWindowMs);
    if (!match || !(await claim(w.tx, doc.id, 'duplicate', w.at))) return;
    doc.possibleDuplicateOf = match.id;
    event('duplicate', { kind: 'duplicate_flag', duplicateOf: match.id });
  }

  private async slaEvents(
    w: ServerWriteSession,
    doc: CaseDoc,
    evaluation: SlaEvaluation,
    state: CaseState,
    event: (key: string, fields: Partial<CaseEventDoc> & Pick<CaseEventDoc, 'kind'>) => CaseEventDoc,
  ): Promise<void> {
    const nowIso = iso(w.at);
    for (const t of [evaluation.firstResponse, evaluation.update, evaluation.resolution]) {
      // The update target recurs with every silence: each silence warns once (keyed by its due time).
      const episode = t.kind === 'update' ? `:${t.dueAt ?? t.breachedAt ?? ''}` : '';
      const warned =
        (t.state === 'warning' || t.state === 'breached' || t.state === 'paused') &&
        t.warningAt !== null &&
        t.warningAt <= nowIso;
      if (warned) {
        const key = `sla:${t.kind}:warning${episode}`;
        if (!state.applied.has(key) && (await claim(w.tx, doc.id, key, w.at))) {
          state.applied.add(key);
          event(key, {
            kind: 'sla',
            at: t.warningAt!,
            sla: { target: t.kind, level: 'warning', crossedAt: t.warningAt!, dueAt: t.dueAt },
          });
        }
      }
      if (t.breachedAt) {
        const key = `sla:${t.kind}:breach${t.kind === 'update' ? `:${t.breachedAt}` : ''}`;
        if (!state.applied.has(key) && (await claim(w.tx, doc.id, key, w.at))) {
          state.applied.add(key);
          event(key, {
            kind: 'sla',
            at: t.breachedAt,
            sla: { target: t.kind, level: 'breach', crossedAt: t.breachedAt, dueAt: t.dueAt },
          });
        }
      }
    }
  }

  /** Applies due escalation actions once each; answers whether priority or tier changed. */
  private async escalate(
    w: ServerWriteSession,
    ref: EngineReference,
    doc: CaseDoc,
    actions: readonly EscalationAction[],
    state: CaseState,
    event: (key: string, fields: Partial<CaseEventDoc> & Pick<CaseEventDoc, 'kind'>) => CaseEventDoc,
  ): Promise<boolean> {
    let changed = false;
    for (const action of actions) {
      if (state.applied.has(action.key) || !(await claim(w.tx, doc.id, action.key, w.at))) continue;
      state.applied.add(action.key);
      const fromPriority = doc.priority;
      const fromTier: SupportTier = doc.supportTier ?? 'L1';
      let notified: string | null = null;
      const level = action.level;
      const what = TARGET_NAMES[action.target];
      const notice = (userId: string) =>
        notify(w, ref, `${doc.id}:${action.key}`, {
          userId,
          kind: level === 'breach' ? 'sla_breach' : 'sla_warning',
          title:
            level === 'breach'
              ? {
                  fa: `مهلت ${what.fa} درخواست ${doc.trackingCode} گذشت`,
                  en: `Case ${doc.trackingCode}: ${what.en} is overdue`,
                }
              : {
                  fa: `مهلت ${what.fa} درخواست ${doc.trackingCode} نزدیک است`,
                  en: `Case ${doc.trackingCode}: ${what.en} is due soon`,
                },
          body:
            level === 'breach'
              ? {
                  fa: `${doc.subject} — درخواست را باز کنید و مسئول و اولویت آن را بررسی کنید.`,
                  en: `${doc.subject} — open the case and check who holds it and its priority.`,
                }
              : {
                  fa: `${doc.subject} — پیش از پایان مهلت با پذیرنده تماس بگیرید یا درخواست را به‌روز کنید.`,
                  en: `${doc.subject} — contact the merchant or update the case before it is overdue.`,
                },
          link: `/cases/${doc.id}`,
        });
      switch (action.type) {
        case 'notify_assignee':
          notified = doc.assigneeId;
          if (notified) await notice(notified);
          break;
        case 'notify_supervisor':
          notified = this.supervisorOf(ref, doc);
          if (notified) await notice(notified);
          break;
        case 'raise_priority':
          if (action.priorityTo) {
            doc.priority = action.priorityTo as CasePriority;
            changed = true;
          }
          break;
        case 'move_to_l2': {
          const moved = await this.moveToTier(w, ref, doc, state, action.tierTo ?? 'L2', action.key, event);
          changed = true;
          if (moved.supervisor) {
            notified = moved.supervisor;
            await notice(moved.supervisor);
          }
          break;
        }
      }
      event(action.key, {
        kind: 'escalation',
        escalation: {
          action: action.type,
          target: action.target,
          level,
          fromPriority: action.type === 'raise_priority' ? fromPriority : null,
          toPriority: action.type === 'raise_priority' ? doc.priority : null,
          fromTier: action.type === 'move_to_l2' ? fromTier : null,
          toTier: action.type === 'move_to_l2' ? (doc.supportTier ?? null) : null,
          notifiedUserId: notified,
        },
      });
    }
    return changed;
  }

  private ola(ref: EngineReference, doc: CaseDoc, state: CaseState, now: number) {
    const hop = state.hops.find((h) => h.to === null);
    if (!hop || STOPPED_STATUSES.includes(doc.status)) return null;
    const statuses = [...state.statuses].sort((a, b) => a.at - b.at);
    const pauses: { from: number; to: number | null }[] = [];
    statuses.forEach((s, i) => {
      if (PAUSED_STATUSES.includes(s.status)) pauses.push({ from: s.at, to: statuses[i + 1]?.at ?? null });
    });
    const evaluation = evaluateClock({
      calendar: ref.calendarOfRegion(this.regionOf(ref, doc)),
      start: hop.from,
      now,
      targetMinutes: this.settings.targets.olaMinutes[hop.tier],
      warningShare: this.settings.targets.warningShare,
      pauses,
    });
    return { tier: hop.tier, since: hop.from, evaluation };
  }

  /**
   * A hop past its OLA, once per hop: an `sla` event, its supervisor notified and, under the
   * `next_tier` policy, the case handed to the next tier of the ladder (an `escalation` event).
   * Answers whether the case moved.
   */
  private async olaEvents(
    w: ServerWriteSession,
    ref: EngineReference,
    doc: CaseDoc,
    state: CaseState,
    ola: { tier: SupportTier; since: number; evaluation: Omit<SlaTargetEvaluation, 'kind'> },
    event: (key: string, fields: Partial<CaseEventDoc> & Pick<CaseEventDoc, 'kind'>) => CaseEventDoc,
  ): Promise<boolean> {
    const breachedAt = ola.evaluation.breachedAt;
    if (!breachedAt) return false;
    const key = `sla:ola:${ola.tier}:${ola.since}:breach`;
    if (!(await claim(w.tx, doc.id, key, w.at))) return false;
    event(key, {
      kind: 'sla',
      at: breachedAt,
      sla: { target: 'ola', level: 'breach', crossedAt: breachedAt, dueAt: ola.evaluation.dueAt },
    });
    const toTier = tierAfterOlaBreach(this.settings.targets.olaBreach, ola.tier);
    const supervisor = this.supervisorOf(ref, doc);
    if (supervisor)
      await notify(w, ref, `${doc.id}:${key}`, {
        userId: supervisor,
        kind: 'sla_breach',
        title: {
          fa: `درخواست ${doc.trackingCode} از هدف داخلی سطح ${ola.tier} گذشت`,
          en: `Case ${doc.trackingCode} is past the ${ola.tier} internal target`,
        },
        body: toTier
          ? {
              fa: `${doc.subject} — درخواست به سطح ${toTier} سپرده شد؛ برای پیگیری آن را باز کنید.`,
              en: `${doc.subject} — the case was handed to ${toTier}; open it to follow up.`,
            }
          : {
              fa: `${doc.subject} — درخواست را باز کنید و آن را به سطح بعد بسپارید یا مسئولش را عوض کنید.`,
              en: `${doc.subject} — open the case and hand it to the next tier or to someone else.`,
            },
        link: `/cases/${doc.id}`,
      });
    if (!toTier) return false;
    const moveKey = `ola:${ola.tier}:${ola.since}:next_tier`;
    if (!(await claim(w.tx, doc.id, moveKey, w.at))) return false;
    const fromTier = doc.supportTier ?? ola.tier;
    const moved = await this.moveToTier(w, ref, doc, state, toTier, moveKey, event);
    if (moved.supervisor) await this.notifyHandedOver(w, ref, doc, moved.supervisor, moveKey, null);
    event(moveKey, {
      kind: 'escalation',
      escalation: {
        // `move_to_l2` is the tier move of the ladder in the case_events v1 vocabulary; fromTier and
        // toTier say which hop (the name predates L3 and the product team).
        action: 'move_to_l2',
        target: 'ola',
        level: 'breach',
        fromPriority: null,
        toPriority: null,
        fromTier,
        toTier,
        notifiedUserId: moved.supervisor,
      },
    });
    return true;
  }

  /**
   * Moves the case to a tier: the tier's team (`tierTeams`, else the case's own), a new hop whose OLA
   * starts now, re-routed round-robin in that team without the previous assignee (who is notified
   * of nothing; the new one is), an internal `assignment` event. Answers the team's supervisor.
   */
  private async moveToTier(
    w: ServerWriteSession,
    ref: EngineReference,
    doc: CaseDoc,
    state: CaseState,
    toTier: SupportTier,
    key: string,
    event: (key: string, fields: Partial<CaseEventDoc> & Pick<CaseEventDoc, 'kind'>) => CaseEventDoc,
  ): Promise<{ team: string | null; assignee: string | null; supervisor: string | null }> {
    const team = this.settings.tierTeams[toTier] ?? doc.teamId ?? null;
    doc.supportTier = toTier;
    doc.teamId = team;
    await this.openHop(w, doc, state, toTier, team);
    const previous = doc.assigneeId;
    let assignee: string | null = null;
    let unassignedBecause: { fa: string; en: string } | null = null;
    if (team) {
      const picked = await this.pick(w, ref, doc, { team, tier: toTier }, previous ? [previous] : []);
      if (picked.ok) assignee = picked.assigneeId;
      else unassignedBecause = ROUTING_SENTENCES[picked.reason];
    }
    doc.assigneeId = assignee;
    if (assignee) await this.notifyAssigned(w, ref, doc, key);
    const supervisor = (team ? ref.teams.get(team)?.supervisorId : null) ?? null;
    if (supervisor && unassignedBecause)
      await notify(w, ref, `${doc.id}:${key}:queue`, {
        userId: supervisor,
        kind: 'assignment',
        title: {
          fa: `درخواست ${doc.trackingCode} بدون مسئول ماند`,
          en: `Case ${doc.trackingCode} has no assignee`,
        },
        body: unassignedBecause,
        link: `/cases/${doc.id}`,
      });
    event(`${key}:assignment`, {
      kind: 'assignment',
      assigneeId: assignee,
      teamId: team,
      supportTier: toTier,
    });
    return { team, assignee, supervisor };
  }

  /** The receiving team's supervisor hears of a hand-over (by the OLA policy or by a person). */
  private async notifyHandedOver(
    w: ServerWriteSession,
    ref: EngineReference,
    doc: CaseDoc,
    supervisor: string,
    key: string,
    reason: string | null,
  ) {
    const who = doc.assigneeId ? ref.users.get(doc.assigneeId)?.name : null;
    await notify(w, ref, `${doc.id}:${key}:handed_over`, {
      userId: supervisor,
      kind: 'assignment',
      title: {
        fa: `درخواست ${doc.trackingCode} به سطح ${doc.supportTier} تیم شما سپرده شد`,
        en: `Case ${doc.trackingCode} was handed to your team at ${doc.supportTier}`,
      },
      body: {
        fa: `${doc.subject} — ${who ? `مسئول: ${who.fa}` : 'بدون مسئول؛ آن را واگذار کنید'}${reason ? ` — دلیل: ${reason}` : ''}`,
        en: `${doc.subject} — ${who ? `assigned to ${who.en}` : 'nobody could take it: assign it'}${reason ? ` — reason: ${reason}` : ''}`,
      },
      link: `/cases/${doc.id}`,
    });
  }

  /** A person hands the case to the next tier now (inside processCase, after routing). */
  private async handOver(
    w: ServerWriteSession,
    ref: EngineReference,
    doc: CaseDoc,
    state: CaseState,
    request: ManualEscalation,
    event: (key: string, fields: Partial<CaseEventDoc> & Pick<CaseEventDoc, 'kind'>) => CaseEventDoc,
  ): Promise<ManualEscalationResult> {
    const fromTier: SupportTier = doc.supportTier ?? 'L1';
    if (STOPPED_STATUSES.includes(doc.status))
      return {
        ok: false,
        code: 'invalid_transition',
        sentence: {
          fa: 'این درخواست بسته یا حل‌شده است و به سطح بعد ارجاع نمی‌شود. اگر مشکل ادامه دارد آن را دوباره باز کنید.',
          en: 'This case is resolved or closed, so it cannot be escalated. Reopen it if the problem is back.',
        },
      };
    if (request.fromTier && request.fromTier !== fromTier)
      return {
        ok: false,
        code: 'invalid_transition',
        sentence: {
          fa: `این درخواست هم‌اکنون در سطح ${fromTier} است. صفحه را تازه کنید و اگر هنوز لازم است دوباره ارجاع دهید.`,
          en: `This case is already at ${fromTier}. Refresh it and escalate again only if it is still needed.`,
        },
      };
    const toTier = nextSupportTier(fromTier);
    if (!toTier)
      return {
        ok: false,
        code: 'invalid_transition',
        sentence: {
          fa: 'این درخواست نزد تیم محصول است، آخرین سطح ارجاع. با سرپرست تیم محصول هماهنگ کنید.',
          en: 'This case is with the product team, the last tier. Talk to the product team’s supervisor.',
        },
      };
    const hop = state.hops.find((h) => h.to === null);
    const ola = this.ola(ref, doc, state, w.at);
    const key = `manual:${fromTier}:${hop?.from ?? 0}`;
    if (!(await claim(w.tx, doc.id, key, w.at)))
      return {
        ok: false,
        code: 'invalid_transition',
        sentence: {
          fa: 'این مرحله همین حالا به سطح بعد ارجاع شد. صفحه را تازه کنید.',
          en: 'This hop was just escalated. Refresh the case.',
        },
      };
    const moved = await this.moveToTier(w, ref, doc, state, toTier, key, event);
    if (moved.supervisor) await this.notifyHandedOver(w, ref, doc, moved.supervisor, key, request.reason);
    event(key, {
      kind: 'escalation',
      authorId: request.by,
      body: request.reason,
      escalation: {
        action: 'move_to_l2',
        target: 'ola',
        // How far the hop's own target was when the person moved it (warning: not yet overdue).
        level: ola?.evaluation.state === 'breached' ? 'breach' : 'warning',
        fromPriority: null,
        toPriority: null,
        fromTier,
        toTier,
        notifiedUserId: moved.supervisor,
      },
    });
    return { ok: true, fromTier, toTier, teamId: moved.team, assigneeId: moved.assignee };
  }

  /** The next instant at which a threshold is crossed (a warning share or a due time); null if none runs. */
  private nextCheck(
    evaluation: SlaEvaluation | null,
    ola: Omit<SlaTargetEvaluation, 'kind'> | null,
    now: number,
  ): number | null {
    const running = (t: { state: string }) => t.state === 'on_track' || t.state === 'warning';
    const instants: number[] = [];
    const consider = (t: Omit<SlaTargetEvaluation, 'kind'>) => {
      if (!running(t)) return;
      for (const at of [t.warningAt, t.dueAt]) {
        if (!at) continue;
        const v = ms(at);
        // A threshold exactly at `now` is crossed one second later (meeting a target at 100% is on time).
        if (v >= now) instants.push(v + 1000);
      }
    };
    if (evaluation && !evaluation.paused) {
      consider(evaluation.firstResponse);
      consider(evaluation.update);
      consider(evaluation.resolution);
      // A breached update target recurs with the next silence.
      if (evaluation.update.state === 'breached' && evaluation.update.dueAt) {
        const v = ms(evaluation.update.dueAt);
        if (v >= now) instants.push(v + 1000);
      }
    }
    if (ola) consider(ola);
    return instants.length > 0 ? Math.min(...instants) : null;
  }
}
