import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { Link, useParams } from 'react-router';
import type { CaseDoc } from '@emdad/domain';
import { useLanguage, useNow, useProvisionalSlaContext } from '../app/hooks.ts';
import { useUser } from '../app/services.ts';
import { formatDateTime } from '../i18n/i18n.ts';
import { caseSlaView } from './provisional-sla.ts';

/** After save: the tracking code, large, grouped as formatted, with a copy button. */
export function CaseCreatedPage() {
  const { t } = useTranslation();
  const { id = '' } = useParams();
  const lang = useLanguage();
  const { userDb, reference } = useUser();
  const slaContext = useProvisionalSlaContext(userDb, reference);
  const now = useNow();
  const [doc, setDoc] = useState<CaseDoc | null | undefined>(undefined);
  const [copied, setCopied] = useState(false);

  useEffect(() => {
    const sub = userDb.cases.findOne(id).$.subscribe((d) => setDoc(d ? (d.toJSON() as CaseDoc) : null));
    return () => sub.unsubscribe();
  }, [userDb, id]);

  if (doc === undefined) return null;
  if (doc === null) return <p className="notice">{t('created.notFound')}</p>;

  const groups = doc.trackingCode.split('-');
  const sla = caseSlaView(doc, slaContext, now);
  const due = (key: 'firstResponseDue' | 'resolutionDue', at: string | null) =>
    at ? (
      <li>
        {t(`sla.${key}`)}: <time dateTime={at}>{formatDateTime(at, lang)}</time>
      </li>
    ) : null;
  return (
    <section className="created" aria-labelledby="created-title">
      <h1 id="created-title">{t('created.title')}</h1>
      <p>{t('created.hint')}</p>
      <p
        className="tracking-code"
        dir="ltr"
        data-testid="tracking-code"
        data-code={doc.trackingCode}
        aria-label={doc.trackingCode}
      >
        {groups.map((g, i) => (
          <span key={i}>
            {i > 0 && <span className="sep">-</span>}
            <span className="group">{g}</span>
          </span>
        ))}
      </p>
      {sla.state !== 'none' && (
        <div
          className="created-sla"
          data-testid="created-sla"
          data-sla-state={sla.state}
          data-provisional={sla.provisional ? 'true' : 'false'}
          data-first-response-due-at={sla.firstResponseDueAt ?? undefined}
          data-resolution-due-at={sla.resolutionDueAt ?? undefined}
        >
          <p>
            <span
              className={`badge ${sla.state === 'breached' ? 'badge-error' : sla.state === 'on_track' ? 'badge-ok' : 'badge-wait'}`}
            >
              {t(`sla.${sla.state}`)}
              {sla.provisional ? ` · ${t('sla.provisional')}` : ''}
            </span>
          </p>
          <ul>
            {due('firstResponseDue', sla.firstResponseDueAt)}
            {due('resolutionDue', sla.resolutionDueAt)}
          </ul>
          {sla.provisional && <p className="hint">{t('sla.provisionalHint')}</p>}
        </div>
      )}
      <div className="actions">
        <button
          type="button"
          onClick={() => {
            void navigator.clipboard
              ?.writeText(doc.trackingCode)
              .then(() => setCopied(true))
              .catch(() => setCopied(false));
          }}
        >
          {t('created.copy')}
        </button>
        <span role="status" aria-live="polite">
          {copied ? t('created.copied') : ''}
        </span>
        <Link to="/cases/new" className="button-link">
          {t('created.another')}
        </Link>
        <Link to="/" className="button-link">
          {t('created.toList')}
        </Link>
      </div>
    </section>
  );
}
