import { useMemo } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { isCaseSynced } from '@emdad/domain';
import { formatDateTime, formatNumber } from '../i18n/i18n.ts';
import { useCases, useLanguage } from '../app/hooks.ts';
import { useUser } from '../app/services.ts';
import { useUiStore } from '../ui/store.ts';

/** Newest first, live: a case created, pulled or acknowledged shows up without a reload. */
export function CaseListPage() {
  const { t } = useTranslation();
  const lang = useLanguage();
  const { userDb, reference } = useUser();
  const cases = useCases(userDb);
  const refused = useUiStore((s) => s.refused);
  const refusedIds = useMemo(() => new Set(refused.map((r) => r.id)), [refused]);
  const merchantNames = useMemo(() => new Map((reference?.merchants ?? []).map((m) => [m.id, m.name])), [reference]);

  return (
    <section aria-labelledby="cases-title">
      <div className="page-head">
        <h1 id="cases-title">{t('cases.title')}</h1>
        {cases && <span className="muted">{t('cases.count', { n: formatNumber(cases.length, lang) })}</span>}
      </div>
      {cases && cases.length === 0 && (
        <p className="empty">
          {t('cases.empty')} <Link to="/cases/new">{t('nav.newCase')}</Link>
        </p>
      )}
      <div className="table-wrap">
        <table className="cases" data-testid="case-list">
          <thead>
            <tr>
              <th scope="col">{t('cases.trackingCode')}</th>
              <th scope="col">{t('cases.subject')}</th>
              <th scope="col">{t('cases.status')}</th>
              <th scope="col">{t('cases.merchant')}</th>
              <th scope="col">{t('cases.createdAt')}</th>
              <th scope="col">{t('cases.sync')}</th>
            </tr>
          </thead>
          <tbody>
            {(cases ?? []).map((c) => {
              const synced = isCaseSynced(c);
              const wasRefused = !synced && refusedIds.has(c.id);
              const merchant = c.merchantId ? merchantNames.get(c.merchantId) : undefined;
              return (
                <tr key={c.id} data-testid="case-row" data-tracking-code={c.trackingCode} data-case-id={c.id}>
                  <td>
                    <code className="code" dir="ltr">
                      {c.trackingCode}
                    </code>
                  </td>
                  <td>{c.subject}</td>
                  <td>{t(`status.${c.status}`)}</td>
                  <td>{merchant ? merchant[lang] : (c.merchantId ?? '—')}</td>
                  <td>
                    <time dateTime={c.createdAt}>{formatDateTime(c.createdAt, lang)}</time>
                  </td>
                  <td>
                    <span
                      className={`badge ${synced ? 'badge-ok' : wasRefused ? 'badge-error' : 'badge-wait'}`}
                      data-testid="sync-badge"
                      data-synced={synced ? 'true' : 'false'}
                      data-refused={wasRefused ? 'true' : undefined}
                    >
                      {synced ? t('sync.synced') : wasRefused ? t('sync.refusedBadge') : t('sync.notSynced')}
                    </span>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </section>
  );
}
