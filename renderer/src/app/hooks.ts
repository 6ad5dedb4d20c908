import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { RxDocument } from 'rxdb';
import type { CaseDoc, Language } from '@emdad/domain';
import type { UserDatabase } from '../db/database.ts';
import { CASE_LIST_QUERY } from '../cases/case-list-view.ts';

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
