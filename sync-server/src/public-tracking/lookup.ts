/**
 * The two proofs of the public tracking page (a tracking code and the last four digits of the
 * reporter's phone) checked against the database, and the public view of a case built from what
 * the server holds. Only what `PublicTrackingAnswer` names leaves this module.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isCaseStatus, type CaseDoc } from '@emdad/domain';
import { caseEventVisibility, type CaseEventDoc, type SurveyDoc } from '@emdad/domain/model/index';
import {
  lastFourDigits,
  PUBLIC_STATUS_LABELS,
  PUBLIC_TIMELINE_LABELS,
  statusChangeLabel,
  type PublicTimelineEntry,
  type PublicTrackingAnswer,
} from '@emdad/domain/public-tracking';
import { CALLBACK_TEMPLATE_ID } from '@emdad/domain/workflow/survey-callback';
import type { Queryable } from '../db/index.ts';

/** At most this many timeline entries are shown (the newest ones). */
export const PUBLIC_TIMELINE_MAX = 100;

const digest = (value: string) => createHash('sha256').update(value).digest();
/** Compared when no case has the code, so a wrong code costs what a wrong phone does. */
const NO_CASE_DIGITS = digest('no case: never equal to four digits');

/**
 * The case with this (normalised, check-verified) tracking code whose reporter's phone ends in
 * `phone4`, or null — the same null, through the same work, for an unknown code and a wrong phone.
 * Server-made call-back tasks are internal and never tracked publicly.
 */
export async function findTrackedCase(db: Queryable, code: string, phone4: string): Promise<CaseDoc | null> {
  const rows = await db.query<{ doc: CaseDoc }>(
    'SELECT doc FROM cases WHERE tracking_code = $1 AND NOT deleted',
    [code],
  );
  const found = rows[0]?.doc;
  const expected =
    found && found.templateId !== CALLBACK_TEMPLATE_ID
      ? digest(lastFourDigits(found.reporterPhone))
      : NO_CASE_DIGITS;
  const matches = timingSafeEqual(expected, digest(phone4));
  return matches && found ? found : null;
}

type StoredEvent = Partial<CaseEventDoc>;

/**
 * Public events only (`caseEventVisibility`: marked `public`, or a status change not marked
 * otherwise). Of those, status changes and messages to the customer are shown; no other kind
 * carries anything for the merchant.
 */
function publicEntry(event: StoredEvent): PublicTimelineEntry | null {
  if (typeof event.kind !== 'string' || typeof event.at !== 'string') return null;
  if (caseEventVisibility({ kind: event.kind, visibility: event.visibility }) !== 'public') return null;
  if (event.kind === 'status_change' && isCaseStatus(event.toStatus))
    return { at: event.at, kind: 'status_change', label: statusChangeLabel(event.toStatus), note: null };
  if (event.kind === 'comment' && typeof event.body === 'string' && event.body.trim())
    return {
      at: event.at,
      kind: 'message',
      label: { ...PUBLIC_TIMELINE_LABELS.message },
      note: event.body.trim(),
    };
  return null;
}

/** The public view of a case: status, times, public timeline, and its survey when it is closed. */
export async function publicView(db: Queryable, found: CaseDoc): Promise<PublicTrackingAnswer> {
  const events = await db.query<{ doc: StoredEvent }>(
    `SELECT doc FROM documents WHERE collection = 'case_events' AND case_id = $1 AND NOT deleted
     ORDER BY doc->>'at' DESC, id DESC LIMIT $2`,
    [found.id, PUBLIC_TIMELINE_MAX * 4],
  );
  const created: PublicTimelineEntry = {
    at: found.createdAt,
    kind: 'created',
    label: { ...PUBLIC_TIMELINE_LABELS.created },
    note: null,
  };
  const timeline: PublicTimelineEntry[] = [
    created,
    ...events
      .map((row) => publicEntry(row.doc))
      .filter((entry): entry is PublicTimelineEntry => entry !== null)
      .slice(0, PUBLIC_TIMELINE_MAX - 1),
  ].sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));

  let survey: PublicTrackingAnswer['survey'] = null;
  if (found.status === 'closed') {
    const rows = await db.query<{ doc: SurveyDoc }>(
      "SELECT doc FROM documents WHERE collection = 'surveys' AND id = $1 AND NOT deleted",
      [found.id],
    );
    // Closed but not yet offered (the offer follows the close): the page may take the answer anyway.
    survey = { status: rows[0]?.doc.status === 'answered' ? 'answered' : 'pending' };
  }
  return {
    trackingCode: found.trackingCode,
    status: { code: found.status, label: { ...PUBLIC_STATUS_LABELS[found.status] } },
    createdAt: found.createdAt,
    updatedAt: found.updatedAt,
    timeline,
    survey,
  };
}
