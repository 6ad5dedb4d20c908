import { useEffect, useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { RxDocument } from 'rxdb';
import type { CaseDoc, Language, ReferenceData } from '@emdad/domain';
import type { ReferenceKindData } from '@emdad/domain/sla/case-input';
import type { UserDatabase } from '../db/database.ts';
import { CASE_LIST_QUERY } from '../cases/case-list-view.ts';
import { provisionalSlaContext, type ProvisionalSlaContext } from '../cases/provisional-sla.ts';

export type CaseRow = RxDocument<CaseDoc>;

/**
 * All cases of the user database, OLDEST first (the `createdAt` index's order; see
 * case-list-view.ts), live. One RxDB query: RxDB's query cache shares it between every component
 * that asks (the list and the status bar), and event-reduce applies small changes without a new
 * read. The documents are RxDB's own immutable objects (a changed case arrives as a new object),
 * not copies, so an emission over 20,000 cases copies nothing.
 */
export function useCases(db: UserDatabase): CaseRow[] | null {
  const [docs, setDocs] = useState<CaseRow[] | null>(null);
  useEffect(() => {
    const sub = db.cases.find(CASE_LIST_QUERY).$.subscribe((result) => setDocs(result));
    return () => sub.unsubscribe();
  }, [db]);
  return docs;
}

export function useLanguage(): Language {
  const { i18n } = useTranslation();
  return i18n.language === 'en' ? 'en' : 'fa';
}

/** The SLA calendars and holidays replicated into the `reference` collection, live. */
export function useSlaReferenceDocs(db: UserDatabase): ReferenceKindData[] {
  const [docs, setDocs] = useState<ReferenceKindData[]>([]);
  useEffect(() => {
    const sub = db.reference
      .find({ selector: { kind: { $in: ['calendar', 'holiday'] } } })
      .$.subscribe((result) => setDocs(result.map((d) => ({ kind: d.kind, data: d.data }))));
    return () => sub.unsubscribe();
  }, [db]);
  return docs;
}

/** What the provisional SLA of not-yet-evaluated cases is computed from (null: cannot be). */
export function useProvisionalSlaContext(
  db: UserDatabase,
  reference: ReferenceData | null,
): ProvisionalSlaContext | null {
  const docs = useSlaReferenceDocs(db);
  return useMemo(() => provisionalSlaContext(reference, docs), [reference, docs]);
}

/** Epoch ms, renewed every `everyMs` (a provisional SLA turns `warning` without any edit). */
export function useNow(everyMs = 60_000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, [everyMs]);
  return now;
}
