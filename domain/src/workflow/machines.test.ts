import { describe, expect, it } from 'vitest';
import {
  articleMachine,
  newArticleVersion,
  topArticles,
  transitionArticle,
  versionsSupersededBy,
  type ArticleContext,
} from './knowledge.ts';
import {
  checkExpense,
  DEFAULT_EXPENSE_POLICY,
  expenseMachine,
  missionExpenseTotals,
  transitionExpense,
  type ExpenseContext,
} from './expense.ts';
import {
  equipmentMachine,
  mergeTimelines,
  planSwap,
  transitionEquipment,
  type EquipmentContext,
} from './equipment.ts';
import { BASE_SENTENCES, type Machine } from './machine.ts';
import { missionMachine, transitionMission, type MissionContext } from './mission.ts';

/** Every allowed move passes with a good context; every other pair is refused as not allowed. */
function exhaustive<S extends string, C, R extends string>(
  machine: Machine<S, C, R>,
  good: (from: S, to: S) => C,
) {
  for (const from of machine.states) {
    for (const to of machine.states) {
      const result = machine.transition(from, to, good(from, to));
      if (machine.allowed(from).includes(to)) {
        expect(result, `${machine.name} ${from} → ${to}`).toEqual({ ok: true, from, to });
      } else {
        expect(result, `${machine.name} ${from} → ${to}`).toMatchObject({
          ok: false,
          reason: from === to ? 'same_state' : 'not_allowed',
          allowed: machine.allowed(from),
        });
      }
    }
  }
  expect(
    machine.transition('nowhere', machine.states[0]!, good(machine.states[0]!, machine.states[0]!)),
  ).toMatchObject({ ok: false, reason: 'unknown_state', allowed: [] });
}

/** Every refusal carries a Persian and an English sentence. */
function sentencesComplete(result: { ok: boolean; message?: { fa: string; en: string } }) {
  expect(result.ok).toBe(false);
  expect(result.message?.fa.length).toBeGreaterThan(10);
  expect(result.message?.en.length).toBeGreaterThan(10);
}

describe('mission state machine', () => {
  const ok: MissionContext = {
    actorId: 'tech1',
    createdBy: 'super2',
    assigneeId: 'tech1',
    place: 'Vanak Square, shop 12',
    caseIds: ['case-1'],
    windowStart: '2026-11-22T05:00:00Z',
    windowEnd: '2026-11-22T09:00:00Z',
    approvedBy: 'super1',
    reportActivityCount: 1,
    revisitReason: 'Spare printer module on order',
  };

  it('allows exactly its table of moves; completed is final', () => {
    exhaustive(missionMachine, () => ok);
    expect(missionMachine.finalStates).toEqual(['completed']);
  });

  it('issues only a complete, approved mission order, approved by someone other than its author', () => {
    const issue = (c: Partial<MissionContext>) => transitionMission('draft', 'issued', { ...ok, ...c });
    expect(issue({ assigneeId: null })).toMatchObject({ reason: 'missing_assignee' });
    expect(issue({ place: '  ' })).toMatchObject({ reason: 'missing_place' });
    expect(issue({ caseIds: [] })).toMatchObject({ reason: 'missing_cases' });
    expect(issue({ caseIds: [], orderId: 'ord-7' })).toMatchObject({ ok: true });
    expect(issue({ windowEnd: '2026-11-22T04:00:00Z' })).toMatchObject({ reason: 'bad_time_window' });
    expect(issue({ approvedBy: null })).toMatchObject({ reason: 'needs_approval' });
    const self = issue({ approvedBy: 'super2' });
    expect(self).toMatchObject({ reason: 'self_approval' });
    sentencesComplete(self);
  });

  it('only the assignee starts and finishes, with a report, and a revisit needs a reason', () => {
    expect(transitionMission('issued', 'in_progress', { ...ok, actorId: 'tech2' })).toMatchObject({
      reason: 'not_assignee',
    });
    expect(transitionMission('in_progress', 'completed', { ...ok, reportActivityCount: 0 })).toMatchObject({
      reason: 'missing_report',
    });
    expect(
      transitionMission('in_progress', 'completed_needs_revisit', { ...ok, revisitReason: '' }),
    ).toMatchObject({ reason: 'missing_revisit_reason' });
    expect(transitionMission('completed', 'in_progress', ok)).toMatchObject({
      reason: 'not_allowed',
      allowed: [],
      message: BASE_SENTENCES.not_allowed,
    });
  });
});

describe('expense state machine', () => {
  const base: ExpenseContext = {
    actorId: 'tech1',
    submitterId: 'tech1',
    supervisorId: 'super1',
    amount: 2_000_000,
    category: 'transport',
    hasReceipt: false,
  };
  const good = (from: string, to: string): ExpenseContext =>
    to === 'approved' || to === 'rejected'
      ? { ...base, actorId: 'super1', rejectionReason: 'Duplicate of yesterday’s taxi' }
      : base;

  it('allows exactly its table of moves; approved is final', () => {
    exhaustive(expenseMachine, good);
    expect(expenseMachine.finalStates).toEqual(['approved']);
  });

  it('checks amount, category, limit and receipt on submission', () => {
    const submit = (c: Partial<ExpenseContext>) => transitionExpense('draft', 'submitted', { ...base, ...c });
    expect(submit({ amount: 0 })).toMatchObject({ reason: 'invalid_amount' });
    expect(submit({ amount: 12.5 })).toMatchObject({ reason: 'invalid_amount' });
    expect(submit({ category: 'gifts' })).toMatchObject({ reason: 'unknown_category' });
    expect(submit({ amount: 30_000_001 })).toMatchObject({ reason: 'over_category_limit' });
    expect(submit({ amount: 30_000_000, hasReceipt: true })).toMatchObject({ ok: true });
    const noReceipt = submit({ amount: 5_000_001 });
    expect(noReceipt).toMatchObject({ reason: 'receipt_required' });
    sentencesComplete(noReceipt);
    expect(submit({ amount: 5_000_000 })).toMatchObject({ ok: true }); // at the threshold, no receipt needed
    expect(submit({ actorId: 'tech2' })).toMatchObject({ reason: 'not_submitter' });
    expect(
      checkExpense({ amount: 1, category: 'meals', hasReceipt: false, policy: DEFAULT_EXPENSE_POLICY }),
    ).toBeNull();
  });

  it('is decided by the submitter’s supervisor, never by the submitter; a rejection says why', () => {
    expect(transitionExpense('submitted', 'approved', { ...base, supervisorId: 'tech1' })).toMatchObject({
      reason: 'self_approval',
    });
    expect(transitionExpense('submitted', 'approved', { ...base, actorId: 'super9' })).toMatchObject({
      reason: 'not_supervisor',
    });
    expect(transitionExpense('submitted', 'rejected', { ...base, actorId: 'super1' })).toMatchObject({
      reason: 'missing_reason',
    });
    expect(
      transitionExpense('submitted', 'approved', { ...base, actorId: 'super1', amount: 9_000_000 }),
    ).toMatchObject({ reason: 'receipt_required' });
  });

  it('totals each mission by status and approved category', () => {
    const totals = missionExpenseTotals([
      { missionId: 'm1', category: 'transport', amount: 1_000, status: 'approved' },
      { missionId: 'm1', category: 'meals', amount: 500, status: 'submitted' },
      { missionId: 'm1', category: 'transport', amount: 250, status: 'approved' },
      { missionId: 'm2', category: 'parts', amount: 9_000, status: 'rejected' },
    ]);
    expect(totals.get('m1')).toEqual({
      total: 1_750,
      byStatus: { draft: 0, submitted: 500, approved: 1_250, rejected: 0 },
      approvedByCategory: { transport: 1_250 },
    });
    expect(totals.get('m2')?.byStatus.rejected).toBe(9_000);
  });
});

describe('knowledge article state machine', () => {
  const author: ArticleContext = {
    actorId: 'tech1',
    authorId: 'tech1',
    actorCanReview: false,
    actorCanPublish: false,
    title: 'Printer head cleaning',
    body: 'Steps…',
  };
  const reviewer: ArticleContext = {
    ...author,
    actorId: 'super1',
    actorCanReview: true,
    actorCanPublish: true,
    reviewNote: 'Add the error code',
  };
  const good = (from: string) => (from === 'draft' ? author : reviewer);

  it('allows exactly its table of moves; retired is final', () => {
    exhaustive(articleMachine, good);
    expect(articleMachine.finalStates).toEqual(['retired']);
  });

  it('is reviewed by someone other than the author, with a note when sent back', () => {
    const own = transitionArticle('in_review', 'approved', { ...author, actorCanReview: true });
    expect(own).toMatchObject({ reason: 'reviewer_is_author' });
    sentencesComplete(own);
    expect(transitionArticle('in_review', 'approved', { ...reviewer, actorCanReview: false })).toMatchObject({
      reason: 'not_reviewer',
    });
    expect(transitionArticle('in_review', 'draft', { ...reviewer, reviewNote: ' ' })).toMatchObject({
      reason: 'missing_review_note',
    });
    expect(transitionArticle('approved', 'published', { ...reviewer, actorCanPublish: false })).toMatchObject(
      { reason: 'not_publisher' },
    );
    expect(transitionArticle('draft', 'in_review', { ...author, body: '' })).toMatchObject({
      reason: 'empty_article',
    });
    expect(transitionArticle('draft', 'in_review', { ...author, actorId: 'tech2' })).toMatchObject({
      reason: 'not_author',
    });
  });

  it('versions: a new draft gets the next number; publishing it supersedes the published one', () => {
    const versions = [
      { articleId: 'a1', version: 1, status: 'retired' as const, authorId: 'tech1' },
      { articleId: 'a1', version: 2, status: 'published' as const, authorId: 'tech1' },
    ];
    const next = newArticleVersion(versions, 'a1', 'tech2');
    expect(next).toEqual({ articleId: 'a1', version: 3, status: 'draft', authorId: 'tech2' });
    expect(
      versionsSupersededBy([...versions, { ...next, status: 'published' }], 'a1', 3).map((v) => v.version),
    ).toEqual([2]);
    expect(newArticleVersion([], 'a9', 'tech1').version).toBe(1);
  });

  it('ranks top articles by cases solved, counting each case once', () => {
    const link = (articleId: string, caseId: string, solved: boolean, errorCode: string | null = 'E12') => ({
      articleId,
      caseId,
      solved,
      templateId: 'tpl-pos-no-print',
      deviceModel: 'PAX S90',
      errorCode,
    });
    const links = [
      link('a', 'c1', true),
      link('a', 'c1', true),
      link('b', 'c2', true),
      link('b', 'c3', true),
      link('c', 'c4', false),
      link('c', 'c5', false),
      link('c', 'c6', false),
      link('d', 'c7', true, 'E99'),
    ];
    expect(topArticles(links, { templateId: 'tpl-pos-no-print', errorCode: 'E12' })).toEqual([
      { articleId: 'b', solved: 2, linked: 2 },
      { articleId: 'a', solved: 1, linked: 1 },
      { articleId: 'c', solved: 0, linked: 3 },
    ]);
    expect(topArticles(links, { deviceModel: 'PAX S90' }, 1)).toEqual([
      { articleId: 'b', solved: 2, linked: 2 },
    ]);
  });
});

describe('equipment life cycle', () => {
  const good = (): EquipmentContext => ({
    serial: 'S90-001',
    merchantId: 'm-1',
    replacementSerial: 'S90-002',
    reason: 'Keys compromised',
  });

  it('allows exactly its table of moves; retired is final, blacklisted only retires', () => {
    exhaustive(equipmentMachine, good);
    expect(equipmentMachine.finalStates).toEqual(['retired']);
    expect(equipmentMachine.allowed('blacklisted')).toEqual(['retired']);
    expect(transitionEquipment('blacklisted', 'installed', good())).toMatchObject({ reason: 'not_allowed' });
  });

  it('refuses installs without a merchant, swaps without a different replacement, retirements without a reason', () => {
    expect(transitionEquipment('in_stock', 'installed', { serial: 'X' })).toMatchObject({
      reason: 'missing_merchant',
    });
    expect(transitionEquipment('installed', 'swapped_out', { serial: 'X' })).toMatchObject({
      reason: 'missing_replacement',
    });
    const same = transitionEquipment('installed', 'swapped_out', { serial: 'X', replacementSerial: ' X ' });
    expect(same).toMatchObject({ reason: 'same_serial' });
    sentencesComplete(same);
    expect(transitionEquipment('in_repair', 'retired', { serial: 'X' })).toMatchObject({
      reason: 'missing_reason',
    });
  });

  it('plans a swap that updates both devices’ histories', () => {
    const plan = planSwap({
      outgoing: { id: 'eq-1', serial: 'S90-001', status: 'installed' },
      incoming: { id: 'eq-9', serial: 'S90-009', status: 'in_stock' },
      merchantId: 'm-1',
      at: '2026-11-22T06:00:00Z',
      caseId: 'case-1',
      eventIds: ['ev-1', 'ev-2'],
    });
    expect(plan).toMatchObject({
      ok: true,
      outgoing: { id: 'eq-1', to: 'swapped_out' },
      incoming: { id: 'eq-9', to: 'installed' },
      events: [
        { equipmentId: 'eq-1', type: 'swap_out', otherSerial: 'S90-009', caseId: 'case-1' },
        { equipmentId: 'eq-9', type: 'swap_in', otherSerial: 'S90-001', caseId: 'case-1' },
      ],
    });
    const blacklisted = planSwap({
      outgoing: { id: 'eq-1', serial: 'S90-001', status: 'installed' },
      incoming: { id: 'eq-9', serial: 'S90-009', status: 'blacklisted' },
      merchantId: 'm-1',
      at: '2026-11-22T06:00:00Z',
      eventIds: ['ev-1', 'ev-2'],
    });
    expect(blacklisted).toMatchObject({ ok: false, device: 'incoming', result: { reason: 'not_allowed' } });
  });

  it('merges timelines in time order, stable by id, each item once', () => {
    const a = [
      { id: 'e2', at: '2026-11-22T06:00:00Z' },
      { id: 'e1', at: '2026-11-22T06:00:00Z' },
    ];
    const b = [
      { id: 'c1', at: '2026-11-21T06:00:00Z' },
      { id: 'e1', at: '2026-11-22T06:00:00Z' },
    ];
    expect(mergeTimelines(a, b).map((x) => x.id)).toEqual(['c1', 'e1', 'e2']);
  });
});
