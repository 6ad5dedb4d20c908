/**
 * Expenses of a mission: categories with limits, a receipt above a threshold, and approval by
 * the technician's supervisor — never by the person who submitted it.
 *
 *   draft → submitted → approved (final) | rejected
 *   submitted → draft   (withdrawn by the submitter)
 *   rejected → draft    (revised by the submitter, to submit again)
 *
 * Amounts are whole Iranian rials (IRR); the UI may show tomans.
 */
import { defineMachine, type MoveResult } from './machine.ts';

export const EXPENSE_STATUSES = ['draft', 'submitted', 'approved', 'rejected'] as const;
export type ExpenseStatus = (typeof EXPENSE_STATUSES)[number];

export interface ExpenseCategoryPolicy {
  name: { fa: string; en: string };
  /** Largest single expense of this category, IRR. */
  limit: number;
}

export interface ExpensePolicy {
  /** A receipt is required when the amount is above this, IRR. */
  receiptThreshold: number;
  categories: Record<string, ExpenseCategoryPolicy>;
}

export const DEFAULT_EXPENSE_POLICY: ExpensePolicy = {
  receiptThreshold: 5_000_000,
  categories: {
    transport: { name: { fa: 'ایاب و ذهاب', en: 'Transport' }, limit: 30_000_000 },
    lodging: { name: { fa: 'اقامت', en: 'Lodging' }, limit: 80_000_000 },
    meals: { name: { fa: 'غذا', en: 'Meals' }, limit: 10_000_000 },
    parts: { name: { fa: 'قطعات', en: 'Parts' }, limit: 200_000_000 },
    other: { name: { fa: 'سایر', en: 'Other' }, limit: 20_000_000 },
  },
};

export type ExpenseRefusal =
  | 'not_submitter'
  | 'invalid_amount'
  | 'unknown_category'
  | 'over_category_limit'
  | 'receipt_required'
  | 'self_approval'
  | 'not_supervisor'
  | 'missing_reason';

export interface ExpenseContext {
  actorId: string;
  submitterId: string;
  /** The submitter's supervisor: the one person who decides. */
  supervisorId: string | null;
  amount: number;
  category: string;
  hasReceipt: boolean;
  rejectionReason?: string | null;
  policy?: ExpensePolicy;
}

/** Checks an expense against the policy (used when submitting and again when approving). */
export function checkExpense(
  c: Pick<ExpenseContext, 'amount' | 'category' | 'hasReceipt' | 'policy'>,
): ExpenseRefusal | null {
  const policy = c.policy ?? DEFAULT_EXPENSE_POLICY;
  if (!Number.isSafeInteger(c.amount) || c.amount <= 0) return 'invalid_amount';
  const category = policy.categories[c.category];
  if (!category) return 'unknown_category';
  if (c.amount > category.limit) return 'over_category_limit';
  if (c.amount > policy.receiptThreshold && !c.hasReceipt) return 'receipt_required';
  return null;
}

export const expenseMachine = defineMachine<ExpenseStatus, ExpenseContext, ExpenseRefusal>({
  name: 'expense',
  states: EXPENSE_STATUSES,
  transitions: {
    draft: ['submitted'],
    submitted: ['approved', 'rejected', 'draft'],
    approved: [],
    rejected: ['draft'],
  },
  guard(from, to, c) {
    if (to === 'submitted' || to === 'draft') {
      if (c.actorId !== c.submitterId) return 'not_submitter';
      return to === 'submitted' ? checkExpense(c) : null;
    }
    if (to === 'approved' || to === 'rejected') {
      if (c.actorId === c.submitterId) return 'self_approval';
      if (c.actorId !== c.supervisorId) return 'not_supervisor';
      if (to === 'rejected' && !c.rejectionReason?.trim()) return 'missing_reason';
      if (to === 'approved') return checkExpense(c);
    }
    return null;
  },
  sentences: {
    not_submitter: {
      en: 'Only the person who filed this expense can submit, withdraw or revise it.',
      fa: 'فقط ثبت‌کنندهٔ این هزینه می‌تواند آن را ارسال، پس‌گیری یا اصلاح کند.',
    },
    invalid_amount: {
      en: 'Enter the amount as a whole number of rials greater than zero.',
      fa: 'مبلغ را به ریال و به‌صورت عدد صحیح بزرگ‌تر از صفر وارد کنید.',
    },
    unknown_category: {
      en: 'Choose one of the listed expense categories.',
      fa: 'یکی از دسته‌های هزینهٔ فهرست‌شده را انتخاب کنید.',
    },
    over_category_limit: {
      en: 'The amount is above the limit for this category. Split it or ask your supervisor.',
      fa: 'مبلغ از سقف این دسته بیشتر است. آن را تفکیک کنید یا با سرپرست خود هماهنگ کنید.',
    },
    receipt_required: {
      en: 'Attach a photo of the receipt: it is required for this amount.',
      fa: 'تصویر رسید را پیوست کنید؛ برای این مبلغ الزامی است.',
    },
    self_approval: {
      en: 'You cannot decide on your own expense. Your supervisor will review it.',
      fa: 'نمی‌توانید دربارهٔ هزینهٔ خودتان تصمیم بگیرید. سرپرست شما آن را بررسی می‌کند.',
    },
    not_supervisor: {
      en: 'Only the technician’s supervisor can approve or reject this expense.',
      fa: 'فقط سرپرست تکنسین می‌تواند این هزینه را تأیید یا رد کند.',
    },
    missing_reason: {
      en: 'Write why the expense is rejected, so it can be corrected.',
      fa: 'دلیل رد هزینه را بنویسید تا بتوان آن را اصلاح کرد.',
    },
  },
});

export function transitionExpense(
  from: string,
  to: string,
  context: ExpenseContext,
): MoveResult<ExpenseStatus, ExpenseRefusal> {
  return expenseMachine.transition(from, to, context);
}

export interface ExpenseLine {
  missionId: string;
  category: string;
  amount: number;
  status: ExpenseStatus;
}

export interface MissionExpenseTotals {
  /** Everything filed, in every status. */
  total: number;
  byStatus: Record<ExpenseStatus, number>;
  /** Approved amounts per category. */
  approvedByCategory: Record<string, number>;
}

/** Totals per mission (amounts in IRR). */
export function missionExpenseTotals(lines: readonly ExpenseLine[]): Map<string, MissionExpenseTotals> {
  const totals = new Map<string, MissionExpenseTotals>();
  for (const line of lines) {
    let t = totals.get(line.missionId);
    if (!t) {
      t = {
        total: 0,
        byStatus: { draft: 0, submitted: 0, approved: 0, rejected: 0 },
        approvedByCategory: {},
      };
      totals.set(line.missionId, t);
    }
    t.total += line.amount;
    t.byStatus[line.status] += line.amount;
    if (line.status === 'approved')
      t.approvedByCategory[line.category] = (t.approvedByCategory[line.category] ?? 0) + line.amount;
  }
  return totals;
}
