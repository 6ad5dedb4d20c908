import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { CaseDoc, Language } from '@emdad/domain';
import type { UserDatabase } from '../db/database.ts';

/** All cases of the user database, newest first, live (RxDB reactive query). */
export function useCases(db: UserDatabase): CaseDoc[] | null {
  const [docs, setDocs] = useState<CaseDoc[] | null>(null);
  useEffect(() => {
    const sub = db.cases.find({ sort: [{ createdAt: 'desc' }] }).$.subscribe((result) => setDocs(result.map((d) => d.toJSON() as CaseDoc)));
    return () => sub.unsubscribe();
  }, [db]);
  return docs;
}

export function useLanguage(): Language {
  const { i18n } = useTranslation();
  return i18n.language === 'en' ? 'en' : 'fa';
}
