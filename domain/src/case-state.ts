export const CASE_STATUSES = [
  'new',
  'triaged',
  'in_progress',
  'pending_customer',
  'pending_vendor',
  'resolved',
  'closed',
  'reopened',
] as const;
export type CaseStatus = (typeof CASE_STATUSES)[number];

/**
 * Allowed moves of the case life cycle. `closed` is final except for reopening; a resolved case
 * can be closed (customer accepted) or reopened (the fix did not hold).
 */
const CASE_TRANSITIONS: Record<CaseStatus, readonly CaseStatus[]> = {
  new: ['triaged', 'in_progress', 'resolved', 'closed'],
  triaged: ['in_progress', 'pending_customer', 'pending_vendor', 'resolved'],
  in_progress: ['pending_customer', 'pending_vendor', 'resolved'],
  pending_customer: ['in_progress', 'resolved', 'closed'],
  pending_vendor: ['in_progress', 'resolved'],
  resolved: ['closed', 'reopened'],
  closed: ['reopened'],
  reopened: ['triaged', 'in_progress', 'pending_customer', 'pending_vendor', 'resolved'],
};

export type TransitionRefusal = 'same_status' | 'not_allowed' | 'unknown_status';

export type TransitionResult =
  | { ok: true; from: CaseStatus; to: CaseStatus }
  | { ok: false; from: string; to: string; reason: TransitionRefusal; allowed: readonly CaseStatus[] };

export function isCaseStatus(value: unknown): value is CaseStatus {
  return typeof value === 'string' && (CASE_STATUSES as readonly string[]).includes(value);
}

export function allowedCaseTransitions(from: CaseStatus): readonly CaseStatus[] {
  return CASE_TRANSITIONS[from];
}

/** Accepts or refuses one status change, with the reason when refused. */
export function transitionCase(from: string, to: string): TransitionResult {
  if (!isCaseStatus(from) || !isCaseStatus(to)) {
    return {
      ok: false,
      from,
      to,
      reason: 'unknown_status',
      allowed: isCaseStatus(from) ? CASE_TRANSITIONS[from] : [],
    };
  }
  if (from === to) return { ok: false, from, to, reason: 'same_status', allowed: CASE_TRANSITIONS[from] };
  if (!CASE_TRANSITIONS[from].includes(to)) {
    return { ok: false, from, to, reason: 'not_allowed', allowed: CASE_TRANSITIONS[from] };
  }
  return { ok: true, from, to };
}
