/**
 * Surveys on the server (issue 5, part 7):
 * - when a case reaches `closed` (an accepted push), the server offers its survey: one `pending`
 *   survey document whose id is the case's id (domain/src/model/surveys.ts), written once however
 *   often the case is closed;
 * - an answer — from a field device (a push, checked by replication/survey-rules.ts) or from the
 *   public tracking page (`answerFromTrackingPage`) — runs the survey rules
 *   (domain/src/workflow/survey.ts); a score of 2 or less creates one call-back task: a case with the
 *   `tpl-survey-callback` template assigned to the manager of the team that handled the case
 *   (domain/src/workflow/survey-callback.ts). The survey records it in `callbackCaseId`, under the
 *   survey's row lock, so a retried or repeated answer never creates a second task.
 * Every write goes through the ServerWriter (stamped, audited as `system`, announced after commit).
 *
 * The hooks run after the push's own commit. If the process dies in between, `reconcile()` (run at
 * start) finds closed cases without a survey and low answers without a call-back and completes them.
 */
import { randomUUID } from 'node:crypto';
import { formatTrackingCode, jalaliYearOf, type CaseDoc, type ReplicatedCollection } from '@emdad/domain';
import { surveyIdForCase, type SurveyChannel, type SurveyDoc } from '@emdad/domain/model/index';
import {
  acceptSurveyAnswer,
  DEFAULT_SURVEY_RULES,
  type SurveyFollowUp,
  type SurveyRefusal,
  type SurveyRule,
} from '@emdad/domain/workflow/survey';
import {
  buildCallbackCase,
  CALLBACK_TEMPLATE_ID,
  SERVER_TRACKING_PREFIX,
} from '@emdad/domain/workflow/survey-callback';
import type { Db, Queryable } from '../db/index.ts';
import type { ServerWriter, ServerWriteSession } from './server-writes.ts';

const iso = (ms: number) => new Date(ms).toISOString();

export type PublicSurveyOutcome =
  | { ok: true; callbackCaseId: string | null }
  | { ok: false; reason: SurveyRefusal; message: { fa: string; en: string } };

/** The supervisor of the first team found for the case (see `managerOfCase`). */
async function supervisorOfTeam(tx: Queryable, sql: string, param: string | null): Promise<string | null> {
  if (param === null) return null;
  const rows = await tx.query<{ supervisor_id: string | null }>(sql, [param]);
  return rows[0]?.supervisor_id ?? null;
}

/**
 * The manager of the team that handled a case: the team of its assignee, else the team its template
 * routes to, else the team of the person who opened it, else the first team covering its branch's
 * region. Null when none of these has a supervisor (the task is then unassigned, in the queue).
 */
export async function managerOfCase(
  tx: Queryable,
  doc: Pick<CaseDoc, 'assigneeId' | 'templateId' | 'createdBy' | 'branchId'>,
): Promise<string | null> {
  const byMember =
    'SELECT t.supervisor_id FROM users u JOIN teams t ON t.id = u.team_id WHERE u.id = $1 AND u.disabled_at IS NULL';
  return (
    (await supervisorOfTeam(tx, byMember, doc.assigneeId)) ??
    (await supervisorOfTeam(
      tx,
      "SELECT t.supervisor_id FROM case_templates ct JOIN teams t ON t.id = ct.doc->>'team' WHERE ct.id = $1",
      doc.templateId,
    )) ??
    (await supervisorOfTeam(tx, byMember, doc.createdBy)) ??
    (await supervisorOfTeam(
      tx,
      'SELECT t.supervisor_id FROM branches b JOIN teams t ON t.region_ids ? b.region_id WHERE b.id = $1 ORDER BY t.id LIMIT 1',
      doc.branchId,
    ))
  );
}

/** The next tracking code of a server-made case (prefix 000, never an install's; see migration 7). */
export async function mintServerTrackingCode(tx: Queryable, at: number): Promise<string> {
  const rows = await tx.query<{ n: unknown }>("SELECT nextval('server_case_sequence') AS n");
  return formatTrackingCode(SERVER_TRACKING_PREFIX, jalaliYearOf(new Date(at)), Number(rows[0]!.n));
}

function pendingSurvey(caseId: string, at: number): SurveyDoc {
  return {
    id: surveyIdForCase(caseId),
    caseId,
    status: 'pending',
    offeredAt: iso(at),
    score: null,
    comment: null,
    channel: null,
    takenBy: null,
    answeredAt: null,
    callbackCaseId: null,
    updatedAt: iso(at),
  };
}

export class SurveyEngine {
  /**
   * Told the stamp of every committed transaction that opened call-back cases (the server wires the
   * case engine here: SLA, assignment event, notification). Must report its own failures.
   */
  onCasesWritten: ((stamp: number) => Promise<void>) | null = null;

  constructor(
    private readonly db: Db,
    private readonly writer: ServerWriter,
    private readonly rules: readonly SurveyRule[] = DEFAULT_SURVEY_RULES,
  ) {}

  /**
   * After an accepted push (committed): offer surveys for cases it closed, follow up answers it
   * stored. Looks at stamps from the push's on (`>=`), not at the push's stamp alone: another
   * reaction (the case engine's SLA write) may already have re-stamped the same documents, and
   * stamps only grow. The condition (closed without a survey, low answer without a task) keeps it
   * to the documents that need it.
   */
  async afterPush(collection: ReplicatedCollection, stamp: number): Promise<void> {
    if (collection === 'cases') {
      const closed = await this.db.query<{ id: string }>(
        `SELECT c.id FROM cases c WHERE c.server_updated_at >= $1 AND NOT c.deleted AND c.doc->>'status' = 'closed'
           AND NOT EXISTS (SELECT 1 FROM documents d WHERE d.collection = 'surveys' AND d.id = c.id)`,
        [stamp],
      );
      if (closed.length > 0) await this.offerSurveys(closed.map((r) => r.id));
    } else if (collection === 'surveys') {
      const answered = await this.db.query<{ id: string }>(
        `SELECT d.id FROM documents d WHERE d.collection = 'surveys' AND d.server_updated_at >= $1 AND NOT d.deleted
           AND d.doc->>'status' = 'answered' AND (d.doc->>'callbackCaseId') IS NULL AND (d.doc->>'score')::int <= $2`,
        [stamp, this.highestRuleScore()],
      );
      if (answered.length > 0) await this.followUpAnswers(answered.map((r) => r.id));
    }
  }

  /** The highest score any rule acts on: answers above it never need a follow-up. */
  private highestRuleScore(): number {
    return Math.max(0, ...this.rules.map((rule) => rule.maxScore));
  }

  /**
   * The push reaction for the replication route, and the start-up repair. A failure is reported and
   * swallowed: the push has committed and stands; the next start's `reconcile` completes the work.
   */
  pushReaction(report: (error: unknown) => void): {
    react: (collection: ReplicatedCollection, stamp: number) => Promise<void>;
    reconcileAtStart: () => Promise<void>;
  } {
    return {
      react: async (collection, stamp) => {
        try {
          await this.afterPush(collection, stamp);
        } catch (error) {
          report(error);
        }
      },
      reconcileAtStart: async () => {
        try {
          await this.reconcile();
        } catch (error) {
          report(error);
        }
      },
    };
  }

  /** Completes what a crash between a push's commit and its hook left undone. */
  async reconcile(): Promise<{ offered: number; followedUp: number }> {
    const closed = await this.db.query<{ id: string }>(
      `SELECT c.id FROM cases c WHERE NOT c.deleted AND c.doc->>'status' = 'closed'
         AND NOT EXISTS (SELECT 1 FROM documents d WHERE d.collection = 'surveys' AND d.id = c.id)`,
    );
    const answered = await this.db.query<{ id: string }>(
      `SELECT d.id FROM documents d WHERE d.collection = 'surveys' AND NOT d.deleted
         AND d.doc->>'status' = 'answered' AND (d.doc->>'callbackCaseId') IS NULL AND (d.doc->>'score')::int <= $1`,
      [this.highestRuleScore()],
    );
    const offered = closed.length > 0 ? await this.offerSurveys(closed.map((r) => r.id)) : 0;
    const followedUp = answered.length > 0 ? await this.followUpAnswers(answered.map((r) => r.id)) : 0;
    return { offered, followedUp };
  }

  /** Offers a pending survey for each of these cases that is closed and has none. Answers how many. */
  async offerSurveys(caseIds: readonly string[]): Promise<number> {
    return await this.writer.transaction(
      async (w) => {
        const cases = await w.tx.query<{ doc: CaseDoc }>(
          'SELECT doc FROM cases WHERE id = ANY($1::text[]) AND NOT deleted ORDER BY id',
          [[...caseIds]],
        );
        let offered = 0;
        for (const { doc } of cases) {
          // A call-back task is internal work, not a service the merchant rates.
          if (doc.status !== 'closed' || doc.templateId === CALLBACK_TEMPLATE_ID) continue;
          if (await w.get('surveys', surveyIdForCase(doc.id))) continue;
          await w.put('surveys', pendingSurvey(doc.id, w.at));
          offered += 1;
        }
        return offered;
      },
      { lock: ['surveys'] },
    );
  }

  /** Creates the call-back tasks that stored answers call for (at most once per survey). */
  async followUpAnswers(surveyIds: readonly string[]): Promise<number> {
    return await this.writingCases(
      async (w) => {
        let created = 0;
        for (const id of surveyIds) {
          const survey = await w.get<SurveyDoc>('surveys', id);
          if (!survey || survey._deleted || survey.status !== 'answered' || survey.callbackCaseId) continue;
          if (survey.score === null || survey.channel === null || survey.answeredAt === null) continue;
          // The answer was accepted when it was stored; here only its follow-ups are computed.
          const outcome = acceptSurveyAnswer(
            {
              caseId: survey.caseId,
              score: survey.score,
              comment: survey.comment,
              channel: survey.channel,
              answeredAt: survey.answeredAt,
            },
            { status: 'closed', alreadyAnswered: false },
            this.rules,
          );
          if (!outcome.ok || outcome.followUps.length === 0) continue;
          const callbackCaseId = await this.createCallbacks(
            w,
            survey.caseId,
            survey.channel,
            outcome.followUps,
          );
          if (callbackCaseId === null) continue;
          await w.put('surveys', { ...survey, callbackCaseId });
          created += 1;
        }
        return { result: created, casesStamp: w.written.get('cases') ?? null };
      },
      { lock: ['cases', 'surveys'] },
    );
  }

  /**
   * An answer from the public tracking page, for a case whose tracking code and phone digits the
   * caller has proven. Checks and stores it, and creates its call-back task, in one transaction.
   */
  async answerFromTrackingPage(
    caseId: string,
    answer: { score: number; comment: string | null },
  ): Promise<PublicSurveyOutcome> {
    return await this.writingCases<PublicSurveyOutcome>(
      async (w) => {
        const caseDoc = await w.get<CaseDoc>('cases', caseId);
        const survey = await w.get<SurveyDoc>('surveys', surveyIdForCase(caseId));
        const answeredAt = iso(w.at);
        const outcome = acceptSurveyAnswer(
          { caseId, score: answer.score, comment: answer.comment, channel: 'tracking_page', answeredAt },
          {
            status: caseDoc && !caseDoc._deleted ? caseDoc.status : 'unknown',
            alreadyAnswered: survey?.status === 'answered',
          },
          this.rules,
        );
        if (!outcome.ok) return { result: outcome, casesStamp: null };
        const callbackCaseId =
          outcome.followUps.length > 0
            ? await this.createCallbacks(w, caseId, 'tracking_page', outcome.followUps)
            : null;
        await w.put('surveys', {
          ...(survey ? stripWire(survey) : pendingSurvey(caseId, w.at)),
          status: 'answered',
          score: answer.score,
          comment: answer.comment?.trim() || null,
          channel: 'tracking_page',
          takenBy: null,
          answeredAt,
          callbackCaseId,
          updatedAt: answeredAt,
        } satisfies SurveyDoc);
        return { result: { ok: true, callbackCaseId }, casesStamp: w.written.get('cases') ?? null };
      },
      { lock: ['cases', 'surveys'] },
    );
  }

  /**
   * A server transaction that may open cases: after it commits, `onCasesWritten` hears the stamp of
   * the cases it wrote, so the case engine gives a call-back task its SLA, routing event and the
   * manager's notification as it does for a pushed case.
   */
  private async writingCases<T>(
    fn: (w: ServerWriteSession) => Promise<{ result: T; casesStamp: number | null }>,
    options: { lock: ('cases' | 'surveys')[] },
  ): Promise<T> {
    const { result, casesStamp } = await this.writer.transaction(fn, options);
    if (casesStamp !== null && this.onCasesWritten) await this.onCasesWritten(casesStamp);
    return result;
  }

  /** Writes one call-back case per follow-up; answers the first one's id (null if the case is gone). */
  private async createCallbacks(
    w: ServerWriteSession,
    caseId: string,
    channel: SurveyChannel,
    followUps: readonly SurveyFollowUp[],
  ): Promise<string | null> {
    const original = await w.get<CaseDoc>('cases', caseId);
    if (!original || original._deleted) return null;
    let first: string | null = null;
    for (const followUp of followUps) {
      if (followUp.type !== 'callback_task') continue;
      const task = buildCallbackCase({
        id: randomUUID(),
        trackingCode: await mintServerTrackingCode(w.tx, w.at),
        original,
        followUp,
        surveyChannel: channel,
        managerId: await managerOfCase(w.tx, original),
        now: iso(w.at),
      });
      await w.put('cases', task);
      first ??= task.id;
    }
    return first;
  }
}

function stripWire<T extends object>(doc: T): T {
  return Object.fromEntries(
    Object.entries(doc).filter(([key]) => !key.startsWith('_') && key !== 'serverUpdatedAt'),
  ) as T;
}
