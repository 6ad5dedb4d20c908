/**
 * Public case tracking and surveys (issue 5, parts 7 and 9) on PGlite and, when the test setup
 * started one, PostgreSQL: the merchant's two proofs, the answer's exact shape, no oracle between a
 * wrong code and a wrong phone, the per-code lockout on the injected clock, the per-IP limit, and
 * the survey workflow — offered once per case, answered once, a low score making exactly one
 * call-back task for the team's manager.
 */
import { randomUUID } from 'node:crypto';
import {
  formatTrackingCode,
  parseTrackingCode,
  TRACKING_ALPHABET,
  type AuthSession,
  type CaseDoc,
  type WireDoc,
} from '@emdad/domain';
import { surveyIdForCase, type SurveyDoc } from '@emdad/domain/model/index';
import {
  PUBLIC_STATUS_LABELS,
  PUBLIC_TIMELINE_ENTRY_KEYS,
  PUBLIC_TRACKING_ANSWER_KEYS,
  type PublicTrackingAnswer,
} from '@emdad/domain/public-tracking';
import { CALLBACK_TEMPLATE_ID } from '@emdad/domain/workflow/survey-callback';
import { USER_IDS } from '@emdad/fixtures';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SurveyEngine } from '../engine/surveys.ts';
import { ServerWriter } from '../engine/server-writes.ts';
import { createSyncServer, type SyncServer } from '../server.ts';
import {
  backends,
  edited,
  login,
  manualClock,
  newCase,
  pullAll,
  pullCollection,
  push,
  pushTo,
} from '../test-support.ts';

const LOCKOUT = { maxFailures: 3, windowMs: 10 * 60_000, lockMs: 30 * 60_000 };
type Doc = Record<string, unknown> & { id: string };

describe.each(backends().map((b) => [b.name, b] as const))('public tracking on %s', (_name, backend) => {
  const clock = manualClock();
  let server: SyncServer;
  const s = {} as Record<'branch1' | 'tech1' | 'super1' | 'admin1', AuthSession>;

  beforeAll(async () => {
    server = await createSyncServer({
      database: await backend.freshDatabase('public_tracking'),
      seed: 'demo',
      now: clock.now,
      loginRateLimitPerMinute: 1000,
      // The lockout tests move the clock by hours; the staff sessions of this suite outlast that.
      accessTokenTtlSeconds: 7 * 24 * 3600,
      rendererDist: false,
      publicTrackMinResponseMs: 0,
      publicTrackRateLimitPerMinute: 10_000,
      publicTrackLockout: LOCKOUT,
    });
    for (const user of ['branch1', 'tech1', 'super1', 'admin1'] as const)
      s[user] = await login(server.app, user);
  });

  afterAll(async () => {
    await server?.close();
  });

  let ip = 0;
  /** Each test's requests come from its own address unless told otherwise (the per-IP limit is tested apart). */
  async function post(url: string, payload: unknown, remoteAddress = `10.0.0.${(ip % 250) + 1}`) {
    const response = await server.app.inject({
      method: 'POST',
      url,
      payload: payload as object,
      remoteAddress,
    });
    return {
      status: response.statusCode,
      body: response.json<Record<string, unknown>>(),
      headers: response.headers,
    };
  }
  const track = (code: string, phone4: string, remoteAddress?: string) =>
    post('/api/public/track', { code, phone4 }, remoteAddress);
  const answerSurvey = (code: string, phone4: string, score: number, comment: string | null = null) =>
    post('/api/public/track/survey', { code, phone4, score, comment });

  /** A new case filed at the branch (reporter's phone ends in 4567), assigned to tech1. */
  async function fileCase(overrides: Partial<CaseDoc> = {}): Promise<WireDoc<CaseDoc>> {
    clock.advance(1000);
    const doc = newCase(s.branch1, {
      assigneeId: USER_IDS.tech1,
      reporterPhone: '09121234567',
      ...overrides,
    });
    const result = await push(server.app, s.branch1, [{ newDocumentState: doc, assumedMasterState: null }]);
    expect(result.body.refused).toEqual([]);
    return storedCase(doc.id);
  }

  async function storedCase(id: string): Promise<WireDoc<CaseDoc>> {
    const rows = await server.db.query<{ doc: CaseDoc; server_updated_at: unknown }>(
      'SELECT doc, server_updated_at FROM cases WHERE id = $1',
      [id],
    );
    return { ...rows[0]!.doc, serverUpdatedAt: Number(rows[0]!.server_updated_at), _deleted: false };
  }

  /** Moves a case through statuses as the admin, one push each (as a device would). */
  async function moveCase(id: string, ...statuses: CaseDoc['status'][]): Promise<WireDoc<CaseDoc>> {
    let current = await storedCase(id);
    for (const status of statuses) {
      clock.advance(60_000);
      const next = edited(current, { status }, new Date(clock.now()).toISOString());
      const result = await push(server.app, s.admin1, [
        { newDocumentState: next, assumedMasterState: current },
      ]);
      expect(result.body.refused).toEqual([]);
      expect(result.body.conflicts).toEqual([]);
      current = await storedCase(id);
    }
    return current;
  }

  async function surveysOf(caseId: string): Promise<(SurveyDoc & { serverUpdatedAt: number })[]> {
    const rows = await server.db.query<{ doc: SurveyDoc; server_updated_at: unknown }>(
      "SELECT doc, server_updated_at FROM documents WHERE collection = 'surveys' AND case_id = $1",
      [caseId],
    );
    return rows.map((r) => ({ ...r.doc, serverUpdatedAt: Number(r.server_updated_at) }));
  }

  async function callbacksFor(trackingCode: string): Promise<CaseDoc[]> {
    const rows = await server.db.query<{ doc: CaseDoc }>(
      "SELECT doc FROM cases WHERE doc->>'templateId' = $1 AND doc->>'subject' LIKE $2",
      [CALLBACK_TEMPLATE_ID, `%${trackingCode}`],
    );
    return rows.map((r) => r.doc);
  }

  function event(caseId: string, authorId: string, overrides: Partial<Doc>): Doc {
    clock.advance(1000);
    const at = new Date(clock.now()).toISOString();
    return {
      id: `evt-${randomUUID()}`,
      caseId,
      kind: 'comment',
      authorId,
      at,
      body: null,
      fromStatus: null,
      toStatus: null,
      assigneeId: null,
      minutes: null,
      diagnosticId: null,
      articleId: null,
      createdAt: at,
      updatedAt: at,
      ...overrides,
    };
  }

  describe('tracking', () => {
    it('answers the status, times and public timeline — exactly those keys, nothing internal', async () => {
      ip += 1;
      const filed = await fileCase({ subject: 'Printer head broken', reporterName: 'Mr Internal Name' });
      await moveCase(filed.id, 'in_progress');
      const events = [
        event(filed.id, USER_IDS.admin1, {
          kind: 'status_change',
          fromStatus: 'new',
          toStatus: 'in_progress',
        }),
        event(filed.id, USER_IDS.admin1, { kind: 'comment', body: 'INTERNAL: merchant is difficult' }),
        event(filed.id, USER_IDS.admin1, { kind: 'time_logged', minutes: 30 }),
        event(filed.id, USER_IDS.admin1, {
          kind: 'comment',
          body: 'A technician visits you tomorrow morning.',
          visibility: 'public',
        }),
        event(filed.id, USER_IDS.admin1, {
          kind: 'status_change',
          fromStatus: 'in_progress',
          toStatus: 'pending_vendor',
          visibility: 'internal',
        }),
      ];
      const pushed = await pushTo(
        server.app,
        s.admin1,
        'case_events',
        events.map((e) => ({ newDocumentState: { ...e, _deleted: false }, assumedMasterState: null })),
      );
      expect(pushed.body.refused).toEqual([]);

      // Typed as a merchant might: lower case, no dashes, Persian digits.
      const typed = filed.trackingCode.toLowerCase().replace(/-/g, '');
      const { status, body, headers } = await track(typed, '۴۵۶۷');
      expect(status).toBe(200);
      expect(headers['cache-control']).toBe('no-store');
      const answer = body as unknown as PublicTrackingAnswer;
      expect(Object.keys(answer).sort()).toEqual([...PUBLIC_TRACKING_ANSWER_KEYS].sort());
      expect(answer.trackingCode).toBe(filed.trackingCode);
      expect(answer.status).toEqual({ code: 'in_progress', label: PUBLIC_STATUS_LABELS.in_progress });
      expect(Object.keys(answer.status.label).sort()).toEqual(['en', 'fa']);
      expect(answer.createdAt).toBe(filed.createdAt);
      expect(answer.survey).toBeNull();
      expect(answer.timeline.map((e) => e.kind)).toEqual(['created', 'status_change', 'message']);
      expect(answer.timeline[2]!.note).toBe('A technician visits you tomorrow morning.');
      for (const entry of answer.timeline) {
        expect(Object.keys(entry).sort()).toEqual([...PUBLIC_TIMELINE_ENTRY_KEYS].sort());
        expect(Object.keys(entry.label).sort()).toEqual(['en', 'fa']);
      }
      expect(answer.timeline[1]!.label.en).toBe('Status: In progress');
      const text = JSON.stringify(answer);
      for (const secret of [
        filed.id,
        filed.subject,
        filed.description,
        filed.reporterName,
        filed.reporterPhone,
        filed.merchantId!,
        USER_IDS.tech1,
        USER_IDS.admin1,
        USER_IDS.branch1,
        'INTERNAL',
        ...events.map((e) => e.id),
      ])
        expect(text).not.toContain(secret);
    });

    it('a wrong phone and a wrong code get the same answer', async () => {
      ip += 1;
      const filed = await fileCase();
      const code = parseTrackingCode(filed.trackingCode);
      if (!code.ok) throw new Error('bad code');
      const unknownCode = formatTrackingCode(code.prefix, code.jalaliYear, 987_654);
      const wrongPhone = await track(filed.trackingCode, '0000');
      const wrongCode = await track(unknownCode, '4567');
      expect(wrongPhone.status).toBe(404);
      expect(wrongCode.status).toBe(wrongPhone.status);
      expect(wrongCode.body).toEqual(wrongPhone.body);
      expect(wrongPhone.body).toEqual({
        error: { code: 'not_found', message: expect.any(String), details: { reason: 'not_found' } },
      });
      expect(wrongPhone.headers['content-type']).toBe(wrongCode.headers['content-type']);
    });

    it('refuses a mistyped check character or a malformed request before touching the database', async () => {
      ip += 1;
      const filed = await fileCase();
      const last = filed.trackingCode.at(-1)!;
      const other = TRACKING_ALPHABET[(TRACKING_ALPHABET.indexOf(last) + 1) % TRACKING_ALPHABET.length]!;
      const typo = `${filed.trackingCode.slice(0, -1)}${other}`;
      const query = vi.spyOn(server.db, 'query');
      const transaction = vi.spyOn(server.db, 'transaction');
      try {
        const answers = [
          await track(typo, '4567'),
          await track('not a code', '4567'),
          await track(filed.trackingCode, '45'),
          await answerSurvey(typo, '4567', 1),
        ];
        expect(
          answers.map((a) => [a.status, (a.body.error as { details: { reason: string } }).details.reason]),
        ).toEqual([
          [400, 'code_typo'],
          [400, 'code_format'],
          [400, 'phone_format'],
          [400, 'code_typo'],
        ]);
        expect(query).not.toHaveBeenCalled();
        expect(transaction).not.toHaveBeenCalled();
      } finally {
        query.mockRestore();
        transaction.mockRestore();
      }
    });

    it('locks a code after too many wrong phone digits — an existing and an unknown code alike — until the lock ends', async () => {
      ip += 1;
      const filed = await fileCase();
      const code = parseTrackingCode(filed.trackingCode);
      if (!code.ok) throw new Error('bad code');
      const unknownCode = formatTrackingCode(code.prefix, code.jalaliYear, 876_543);
      const outcomes = async (c: string) => {
        const seen: string[] = [];
        for (let i = 0; i < LOCKOUT.maxFailures; i++) {
          const r = await track(c, '1111');
          seen.push(`${r.status} ${(r.body.error as { details: { reason: string } }).details.reason}`);
        }
        const right = await track(c, '4567');
        seen.push(
          `${right.status} ${(right.body.error as { details?: { reason: string } } | undefined)?.details?.reason}`,
        );
        return seen;
      };
      const existing = await outcomes(filed.trackingCode);
      const unknown = await outcomes(unknownCode);
      expect(existing).toEqual(['404 not_found', '404 not_found', '429 code_locked', '429 code_locked']);
      expect(unknown).toEqual(existing);
      const locked = await track(filed.trackingCode, '4567');
      expect(locked.body.error).toMatchObject({
        code: 'rate_limited',
        details: { reason: 'code_locked', retryAfterSeconds: expect.any(Number) },
      });

      clock.advance(LOCKOUT.lockMs - 1000);
      expect((await track(filed.trackingCode, '4567')).status).toBe(429);
      clock.advance(2000);
      expect((await track(filed.trackingCode, '4567')).status).toBe(200);
      // Wrong tries further apart than the window never add up to a lock.
      for (let i = 0; i < LOCKOUT.maxFailures + 2; i++) {
        expect((await track(filed.trackingCode, '2222')).status).toBe(404);
        clock.advance(LOCKOUT.windowMs + 1);
      }
      expect((await track(filed.trackingCode, '4567')).status).toBe(200);
    });

    it('limits requests per IP address', async () => {
      const limited = await createSyncServer({
        database: await backend.freshDatabase('public_tracking_ip'),
        now: clock.now,
        rendererDist: false,
        publicTrackMinResponseMs: 0,
        publicTrackRateLimitPerMinute: 3,
      });
      try {
        const code = formatTrackingCode('A01', 1405, 1);
        const from = (remoteAddress: string) =>
          limited.app.inject({
            method: 'POST',
            url: '/api/public/track',
            payload: { code, phone4: '1234' },
            remoteAddress,
          });
        const statuses = [];
        for (let i = 0; i < 4; i++) statuses.push((await from('10.9.9.9')).statusCode);
        expect(statuses).toEqual([404, 404, 404, 429]);
        const refused = await from('10.9.9.9');
        expect(refused.json()).toMatchObject({ error: { code: 'rate_limited' } });
        expect((await from('10.9.9.8')).statusCode).toBe(404);
      } finally {
        await limited.close();
      }
    });

    it('serves the tracking page under the console CSP, with its script from the same origin', async () => {
      const page = await server.app.inject({ method: 'GET', url: '/track' });
      expect(page.statusCode).toBe(200);
      expect(page.headers['content-type']).toContain('text/html');
      expect(page.headers['content-security-policy']).toContain("script-src 'self'");
      expect(page.body).toContain('src="/track/app.js"');
      expect(page.body.match(/<script/g)).toHaveLength(
        page.body.match(/<script src="\/track\/app\.js"/g)!.length,
      );
      const script = await server.app.inject({ method: 'GET', url: '/track/app.js' });
      expect(script.statusCode).toBe(200);
      expect(script.headers['content-type']).toContain('javascript');
      expect(script.body).toContain('/api/public/track');
      expect(script.body).not.toMatch(/\beval\(|new Function\(/);
      const css = await server.app.inject({ method: 'GET', url: '/track/app.css' });
      expect(css.statusCode).toBe(200);
    });
  });

  describe('surveys', () => {
    it('closing a case offers one survey; closing it again (or a retried push) does not make another', async () => {
      ip += 1;
      const filed = await fileCase();
      expect(await surveysOf(filed.id)).toEqual([]);
      const closed = await moveCase(filed.id, 'resolved', 'closed');
      const first = await surveysOf(filed.id);
      expect(first).toHaveLength(1);
      expect(first[0]).toMatchObject({ id: surveyIdForCase(filed.id), status: 'pending', score: null });
      // The same push again (a lost answer's retry), then reopen and close once more.
      const previous = await storedCase(filed.id);
      await push(server.app, s.admin1, [{ newDocumentState: closed, assumedMasterState: previous }]);
      await moveCase(filed.id, 'reopened', 'resolved', 'closed');
      const after = await surveysOf(filed.id);
      expect(after).toEqual(first);
      // The tracking page offers it.
      const view = await track(filed.trackingCode, '4567');
      expect(view.body.survey).toEqual({ status: 'pending' });
      // The supervisor's devices receive it through replication.
      const { documents } = await pullCollection(server.app, s.super1, 'surveys');
      expect(documents.map((d) => d.id)).toContain(surveyIdForCase(filed.id));
    });

    it('a low score on the tracking page is accepted once and makes exactly one call-back task for the team manager', async () => {
      ip += 1;
      const filed = await fileCase();
      await moveCase(filed.id, 'resolved', 'closed');
      const answers = await Promise.all([
        answerSurvey(filed.trackingCode, '4567', 2, '  Nobody called me back  '),
        answerSurvey(filed.trackingCode, '4567', 1, 'Second try'),
      ]);
      const statuses = answers.map((a) => a.status).sort();
      expect(statuses).toEqual([200, 409]);
      const accepted = answers.find((a) => a.status === 200)!;
      expect(accepted.body).toEqual({ ok: true, survey: { status: 'answered' }, callbackPromised: true });
      const refused = answers.find((a) => a.status === 409)!;
      expect(refused.body.error).toMatchObject({
        code: 'append_only',
        details: { reason: 'already_answered' },
      });
      // Retried later: still answered once.
      expect((await answerSurvey(filed.trackingCode, '4567', 2, '  Nobody called me back  ')).status).toBe(
        409,
      );

      const [survey] = await surveysOf(filed.id);
      expect(survey).toMatchObject({ status: 'answered', channel: 'tracking_page', takenBy: null });
      const tasks = await callbacksFor(filed.trackingCode);
      expect(tasks).toHaveLength(1);
      const task = tasks[0]!;
      expect(survey!.callbackCaseId).toBe(task.id);
      // tech1 handled the case: the manager of tech1's team (field operations) is super1.
      expect(task).toMatchObject({
        templateId: CALLBACK_TEMPLATE_ID,
        status: 'new',
        assigneeId: USER_IDS.super1,
        createdBy: 'system',
        merchantId: filed.merchantId,
        reporterPhone: filed.reporterPhone,
      });
      expect(parseTrackingCode(task.trackingCode)).toMatchObject({ ok: true, prefix: '000' });
      // The manager's devices receive it; the tracking page does not track it.
      const { documents } = await pullAll(server.app, s.super1);
      expect(documents.map((d) => d.id)).toContain(task.id);
      const callbackView = await track(task.trackingCode, filed.reporterPhone.slice(-4));
      expect(callbackView.status).toBe(404);
      // Every write is audited as the server.
      const audit = await server.db.query<{ user_id: string; collection: string }>(
        'SELECT user_id, collection FROM audit_log WHERE doc_id = $1 ORDER BY id',
        [task.id],
      );
      expect(audit).toEqual([{ user_id: 'system', collection: 'cases' }]);
      // The page now shows the survey as answered.
      expect((await track(filed.trackingCode, '4567')).body.survey).toEqual({ status: 'answered' });
    });

    it('with the case engine on, the call-back task gets its SLA and the manager is notified', async () => {
      const withEngine = await createSyncServer({
        database: await backend.freshDatabase('public_tracking_engine'),
        seed: 'demo',
        now: clock.now,
        rendererDist: false,
        publicTrackMinResponseMs: 0,
        engine: { slaTickMs: false },
      });
      try {
        const branch = await login(withEngine.app, 'branch1');
        const admin = await login(withEngine.app, 'admin1');
        clock.advance(1000);
        let current = newCase(branch, { assigneeId: USER_IDS.tech1, reporterPhone: '09121234567' });
        expect(
          (await push(withEngine.app, branch, [{ newDocumentState: current, assumedMasterState: null }])).body
            .refused,
        ).toEqual([]);
        for (const status of ['resolved', 'closed'] as const) {
          const rows = await withEngine.db.query<{ doc: CaseDoc; server_updated_at: unknown }>(
            'SELECT doc, server_updated_at FROM cases WHERE id = $1',
            [current.id],
          );
          const master = {
            ...rows[0]!.doc,
            serverUpdatedAt: Number(rows[0]!.server_updated_at),
            _deleted: false,
          };
          clock.advance(60_000);
          const next = edited(master, { status }, new Date(clock.now()).toISOString());
          expect(
            (await push(withEngine.app, admin, [{ newDocumentState: next, assumedMasterState: master }])).body
              .refused,
          ).toEqual([]);
          current = next;
        }
        const answered = await withEngine.app.inject({
          method: 'POST',
          url: '/api/public/track/survey',
          payload: { code: current.trackingCode, phone4: '4567', score: 1, comment: null },
        });
        expect(answered.json()).toMatchObject({ callbackPromised: true });
        const tasks = await withEngine.db.query<{ doc: CaseDoc }>(
          "SELECT doc FROM cases WHERE doc->>'templateId' = $1",
          [CALLBACK_TEMPLATE_ID],
        );
        expect(tasks).toHaveLength(1);
        const task = tasks[0]!.doc;
        expect(task.assigneeId).toBe(USER_IDS.super1);
        expect(task.sla).toMatchObject({ resolutionDueAt: expect.any(String) });
        const notified = await withEngine.db.query<{ id: string }>(
          "SELECT id FROM documents WHERE collection = 'notifications' AND owner_id = $1",
          [USER_IDS.super1],
        );
        const held = await withEngine.db.query<{ id: string }>(
          'SELECT id FROM notification_outbox WHERE user_id = $1',
          [USER_IDS.super1],
        );
        expect(notified.length + held.length).toBeGreaterThan(0);
      } finally {
        await withEngine.close();
      }
    });

    it('a good score makes no task; an open case has no survey to answer', async () => {
      ip += 1;
      const open = await fileCase();
      const early = await answerSurvey(open.trackingCode, '4567', 5);
      expect(early.status).toBe(409);
      expect(early.body.error).toMatchObject({
        code: 'invalid_transition',
        details: { reason: 'case_not_closed' },
      });
      await moveCase(open.id, 'resolved', 'closed');
      const ok = await answerSurvey(open.trackingCode, '4567', 4, 'Fine');
      expect(ok.body).toEqual({ ok: true, survey: { status: 'answered' }, callbackPromised: false });
      expect(await callbacksFor(open.trackingCode)).toEqual([]);
      const wrongPhone = await answerSurvey(open.trackingCode, '9999', 1);
      expect(wrongPhone.status).toBe(404);
    });

    it('a field answer is pushed on top of the offer by whoever took it; a low one makes one task, even when retried', async () => {
      ip += 1;
      const filed = await fileCase();
      await moveCase(filed.id, 'resolved', 'closed');
      const [offer] = await surveysOf(filed.id);
      const master = { ...offer!, _deleted: false };
      clock.advance(1000);
      const answeredAt = new Date(clock.now()).toISOString();
      const answer = {
        ...master,
        status: 'answered',
        score: 1,
        comment: 'Came two days late',
        channel: 'field',
        takenBy: USER_IDS.tech1,
        answeredAt,
        updatedAt: answeredAt,
      };
      const refusals = async (doc: Doc) =>
        (
          await pushTo(server.app, s.tech1, 'surveys', [
            { newDocumentState: doc, assumedMasterState: master },
          ])
        ).body.refused[0]?.code;
      expect(await refusals({ ...answer, takenBy: USER_IDS.super1 })).toBe('forbidden');
      expect(await refusals({ ...answer, channel: 'tracking_page' })).toBe('validation_failed');
      expect(await refusals({ ...answer, channel: 'tracking_page', takenBy: null })).toBe('forbidden');
      expect(await refusals({ ...answer, offeredAt: answeredAt })).toBe('validation_failed');
      expect(await refusals({ ...answer, id: `srv-${randomUUID()}`, serverUpdatedAt: null })).toBe(
        'validation_failed',
      );

      const first = await pushTo(server.app, s.tech1, 'surveys', [
        { newDocumentState: answer, assumedMasterState: master },
      ]);
      expect(first.body).toMatchObject({ conflicts: [], refused: [] });
      // The answer to that push was lost: the device sends it again.
      const retry = await pushTo(server.app, s.tech1, 'surveys', [
        { newDocumentState: answer, assumedMasterState: master },
      ]);
      expect(retry.body.refused).toEqual([]);
      // And a later change is refused: an answered survey is final.
      const [stored] = await surveysOf(filed.id);
      const change = await pushTo(server.app, s.tech1, 'surveys', [
        {
          newDocumentState: { ...stored!, score: 5, _deleted: false },
          assumedMasterState: { ...stored!, _deleted: false },
        },
      ]);
      expect(change.body.refused[0]?.code).toBe('append_only');
      // Running the follow-up again (a second instance, a restart's repair) changes nothing.
      const engine = new SurveyEngine(server.db, new ServerWriter(server.db, null, clock.now));
      expect(await engine.followUpAnswers([filed.id])).toBe(0);
      expect(await engine.reconcile()).toEqual({ offered: 0, followedUp: 0 });

      const tasks = await callbacksFor(filed.trackingCode);
      expect(tasks).toHaveLength(1);
      expect(tasks[0]).toMatchObject({ priority: 'urgent', channel: 'field', assigneeId: USER_IDS.super1 });
      expect(stored!.callbackCaseId).toBe(tasks[0]!.id);
      expect(stored).toMatchObject({ takenBy: USER_IDS.tech1, channel: 'field', score: 1 });
    });

    it('a device may not answer a survey of a case that is not closed, nor invent a pending one', async () => {
      ip += 1;
      const open = await fileCase();
      clock.advance(1000);
      const at = new Date(clock.now()).toISOString();
      const base = {
        id: open.id,
        caseId: open.id,
        offeredAt: at,
        comment: null,
        callbackCaseId: null,
        updatedAt: at,
        _deleted: false,
      };
      const answered = {
        ...base,
        status: 'answered',
        score: 3,
        channel: 'field',
        takenBy: USER_IDS.tech1,
        answeredAt: at,
      };
      const pending = {
        ...base,
        status: 'pending',
        score: null,
        channel: null,
        takenBy: null,
        answeredAt: null,
      };
      const codes = [];
      for (const doc of [answered, pending])
        codes.push(
          (
            await pushTo(server.app, s.tech1, 'surveys', [
              { newDocumentState: doc, assumedMasterState: null },
            ])
          ).body.refused[0]?.code,
        );
      expect(codes).toEqual(['invalid_transition', 'forbidden']);
    });

    it('repairs at start what a lost hook left undone: a closed case without a survey gets one', async () => {
      ip += 1;
      const filed = await fileCase();
      const writer = new ServerWriter(server.db, null, clock.now);
      // Closed by a write that ran no push hook (as if the process died right after the push committed).
      await writer.transaction(async (w) => {
        const current = await w.get<CaseDoc>('cases', filed.id);
        await w.put('cases', { ...current!, status: 'closed' });
      });
      expect(await surveysOf(filed.id)).toEqual([]);
      const engine = new SurveyEngine(server.db, writer);
      expect((await engine.reconcile()).offered).toBe(1);
      expect((await surveysOf(filed.id)).map((x) => x.status)).toEqual(['pending']);
      expect((await engine.reconcile()).offered).toBe(0);

      // A low answer stored without its follow-up: the repair opens the task and tells the case
      // engine's hook the stamp of the case it wrote.
      const [offer] = await surveysOf(filed.id);
      const answeredAt = new Date(clock.now()).toISOString();
      await writer.transaction(async (w) => {
        await w.put('surveys', {
          ...offer!,
          status: 'answered',
          score: 2,
          channel: 'phone',
          takenBy: USER_IDS.branch1,
          answeredAt,
          updatedAt: answeredAt,
        });
      });
      const stamps: number[] = [];
      engine.onCasesWritten = async (stamp) => {
        stamps.push(stamp);
      };
      expect(await engine.reconcile()).toEqual({ offered: 0, followedUp: 1 });
      const [task] = await callbacksFor(filed.trackingCode);
      const written = await server.db.query<{ server_updated_at: unknown }>(
        'SELECT server_updated_at FROM cases WHERE id = $1',
        [task!.id],
      );
      expect(stamps).toEqual([Number(written[0]!.server_updated_at)]);
      expect(task).toMatchObject({ channel: 'phone', priority: 'high', assigneeId: USER_IDS.super1 });
      expect(await engine.reconcile()).toEqual({ offered: 0, followedUp: 0 });
      expect(stamps).toHaveLength(1);
    });
  });
});
