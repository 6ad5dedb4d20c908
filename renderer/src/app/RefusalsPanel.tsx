import { useMemo } from 'react';
import { useTranslation } from 'react-i18next';
import { refusalSentence, useUiStore, type RefusedRecord } from '../ui/store.ts';
import { useCases, useLanguage } from './hooks.ts';
import { useUser } from './services.ts';

/**
 * Every write the server refused in this session, each as the sentence that says what to do
 * (the server's own sentence in the user's language, else its error code's), with the record it
 * belongs to: a case by its tracking code, anything else by its id.
 */
export function RefusalsPanel() {
  const { t } = useTranslation();
  const lang = useLanguage();
  const { userDb } = useUser();
  const refused = useUiStore((s) => s.refused);
  const dismiss = useUiStore((s) => s.dismissRefused);
  const cases = useCases(userDb);
  const trackingCodes = useMemo(
    () => new Map((cases ?? []).map((doc) => [doc.id, doc.trackingCode])),
    [cases],
  );
  if (refused.length === 0) return null;
  const recordOf = (row: RefusedRecord) =>
    (row.collection === 'cases' ? trackingCodes.get(row.id) : undefined) ?? row.id;

  return (
    <section className="refusals" data-testid="refusals" aria-labelledby="refusals-title">
      <h2 id="refusals-title">{t('refusals.title', { n: refused.length })}</h2>
      <p className="refusals-hint">{t('refusals.hint')}</p>
      <ul>
        {[...refused].reverse().map((row) => {
          const record = recordOf(row);
          return (
            <li
              key={`${row.collection}/${row.id}`}
              data-testid="refusal"
              data-collection={row.collection}
              data-id={row.id}
              data-code={row.code}
            >
              <strong>
                {t('refusals.item', { collection: t(`collections.${row.collection}`), record })}
              </strong>
              {': '}
              <span className="refusal-sentence">{refusalSentence(row, lang)}</span>{' '}
              <button
                type="button"
                className="link-button"
                aria-label={t('refusals.dismissLabel', { record })}
                onClick={() => dismiss(row.collection, row.id)}
              >
                {t('refusals.dismiss')}
              </button>
            </li>
          );
        })}
      </ul>
    </section>
  );
}
