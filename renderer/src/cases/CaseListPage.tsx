import { memo, useMemo, useRef } from 'react';
import { useTranslation } from 'react-i18next';
import { Link } from 'react-router';
import { useVirtualizer } from '@tanstack/react-virtual';
import type { Language } from '@emdad/domain';
import { formatDateTime, formatNumber } from '../i18n/i18n.ts';
import { useCases, useLanguage, useNow, useProvisionalSlaContext, type CaseRow } from '../app/hooks.ts';
import { useUser } from '../app/services.ts';
import { useUiStore } from '../ui/store.ts';
import { caseSyncState, newestFirst, spacerHeights } from './case-list-view.ts';
import { caseSlaView, type ProvisionalSlaContext } from './provisional-sla.ts';

/**
 * Every row is one line of this height (long text is cut with an ellipsis, the full text in its
 * title). Fixed heights keep the scroll height exact for tens of thousands of rows: End lands on
 * the last case and a jump never shifts as rows are measured. Must match `.case-row` in styles.css.
 */
export const CASE_ROW_HEIGHT_PX = 48;
const COLUMNS = 7;

interface CaseTableRowProps {
  doc: CaseRow;
  /** 1-based position among all rows, the header row being 1 (aria-rowindex). */
  ariaRowIndex: number;
  refusedIds: ReadonlySet<string>;
  merchantName: string | undefined;
  lang: Language;
  /** For the provisional SLA of a case the server has not evaluated yet. */
  slaContext: ProvisionalSlaContext | null;
  now: number;
}

/**
 * One case. Memoised on the RxDB document object: RxDB hands out a new object for every new
 * revision, so a row re-renders exactly when its case (or the language or refusal) changes.
 */
const CaseTableRow = memo(function CaseTableRow({
  doc,
  ariaRowIndex,
  refusedIds,
  merchantName,
  lang,
  slaContext,
  now,
}: CaseTableRowProps) {
  const { t } = useTranslation();
  const state = caseSyncState(doc, refusedIds);
  const merchant = merchantName ?? doc.merchantId ?? '—';
  const sla = caseSlaView(doc, slaContext, now);
  return (
    <tr
      className="case-row"
      aria-rowindex={ariaRowIndex}
      data-testid="case-row"
      data-tracking-code={doc.trackingCode}
      data-case-id={doc.id}
    >
      <td>
        <code className="code" dir="ltr">
          {doc.trackingCode}
        </code>
      </td>
      <td title={doc.subject}>{doc.subject}</td>
      <td>{t(`status.${doc.status}`)}</td>
      <td>
        <span
          className={`badge ${sla.state === 'breached' ? 'badge-error' : sla.state === 'on_track' ? 'badge-ok' : 'badge-wait'}`}
          data-testid="sla-badge"
          data-sla-state={sla.state}
          data-due-at={sla.dueAt ?? undefined}
          data-provisional={sla.provisional ? 'true' : undefined}
          title={sla.provisional ? t('sla.provisionalHint') : undefined}
        >
          {t(`sla.${sla.state}`)}
          {sla.provisional ? ` · ${t('sla.provisional')}` : ''}
        </span>{' '}
        {sla.dueAt ? <time dateTime={sla.dueAt}>{formatDateTime(sla.dueAt, lang)}</time> : null}
      </td>
      <td title={merchant}>{merchant}</td>
      <td>
        <time dateTime={doc.createdAt}>{formatDateTime(doc.createdAt, lang)}</time>
      </td>
      <td>
        <span
          className={`badge ${state === 'synced' ? 'badge-ok' : state === 'refused' ? 'badge-error' : 'badge-wait'}`}
          data-testid="sync-badge"
          data-synced={state === 'synced' ? 'true' : 'false'}
          data-refused={state === 'refused' ? 'true' : undefined}
        >
          {state === 'synced'
            ? t('sync.synced')
            : state === 'refused'
              ? t('sync.refusedBadge')
              : t('sync.notSynced')}
        </span>
      </td>
    </tr>
  );
});

/**
 * Newest first, live: a case created, pulled or acknowledged shows up without a reload.
 *
 * A supervisor's console holds every synced case (tens of thousands), so only the rows in view
 * (plus a few either side) are in the DOM (@tanstack/react-virtual). It stays a real table: the
 * header and the rendered rows carry aria-rowcount / aria-rowindex, so a screen reader announces
 * "row 12,345 of 20,001"; filler rows above and below keep the full scroll height. The scroll box
 * is focusable, so the keyboard scrolls it (arrows, Page Up/Down, Home/End, Space).
 */
export function CaseListPage() {
  const { t } = useTranslation();
  const lang = useLanguage();
  const { userDb, reference } = useUser();
  const cases = useCases(userDb);
  const slaContext = useProvisionalSlaContext(userDb, reference);
  const now = useNow();
  const refused = useUiStore((s) => s.refused);
  const refusedIds = useMemo(
    () => new Set(refused.filter((r) => r.collection === 'cases').map((r) => r.id)),
    [refused],
  );
  const merchantNames = useMemo(
    () => new Map((reference?.merchants ?? []).map((m) => [m.id, m.name])),
    [reference],
  );
  const scrollRef = useRef<HTMLDivElement>(null);
  const count = cases?.length ?? 0;

  const virtualizer = useVirtualizer({
    count,
    getScrollElement: () => scrollRef.current,
    estimateSize: () => CASE_ROW_HEIGHT_PX,
    overscan: 8,
    // Stable keys: a new case at the top must not make every row below it "new" to React.
    getItemKey: (index) => (cases ? (newestFirst(cases, index)?.id ?? index) : index),
  });
  const items = virtualizer.getVirtualItems();
  const { before, after } = spacerHeights(items, virtualizer.getTotalSize());

  return (
    <section aria-labelledby="cases-title">
      <div className="page-head">
        <h1 id="cases-title">{t('cases.title')}</h1>
        {cases && (
          <span className="muted" data-testid="case-count" data-count={count}>
            {t('cases.count', { n: formatNumber(count, lang) })}
          </span>
        )}
      </div>
      {cases && cases.length === 0 && (
        <p className="empty">
          {t('cases.empty')} <Link to="/cases/new">{t('nav.newCase')}</Link>
        </p>
      )}
      <div
        ref={scrollRef}
        className="table-wrap case-scroll"
        tabIndex={0}
        role="region"
        aria-labelledby="cases-title"
        data-testid="case-scroll"
      >
        <table
          className="cases"
          data-testid="case-list"
          aria-labelledby="cases-title"
          aria-rowcount={count + 1}
        >
          <colgroup>
            <col className="col-code" />
            <col className="col-subject" />
            <col className="col-status" />
            <col className="col-sla" />
            <col className="col-merchant" />
            <col className="col-date" />
            <col className="col-sync" />
          </colgroup>
          <thead>
            <tr aria-rowindex={1}>
              <th scope="col">{t('cases.trackingCode')}</th>
              <th scope="col">{t('cases.subject')}</th>
              <th scope="col">{t('cases.status')}</th>
              <th scope="col">{t('cases.sla')}</th>
              <th scope="col">{t('cases.merchant')}</th>
              <th scope="col">{t('cases.createdAt')}</th>
              <th scope="col">{t('cases.sync')}</th>
            </tr>
          </thead>
          <tbody>
            {before > 0 && (
              <tr className="spacer" aria-hidden="true" style={{ blockSize: before }}>
                <td colSpan={COLUMNS} />
              </tr>
            )}
            {cases &&
              items.map((item) => {
                const doc = newestFirst(cases, item.index);
                if (!doc) return null;
                const merchant = doc.merchantId ? merchantNames.get(doc.merchantId) : undefined;
                return (
                  <CaseTableRow
                    key={item.key}
                    doc={doc}
                    ariaRowIndex={item.index + 2}
                    refusedIds={refusedIds}
                    merchantName={merchant?.[lang]}
                    lang={lang}
                    slaContext={slaContext}
                    now={now}
                  />
                );
              })}
            {after > 0 && (
              <tr className="spacer" aria-hidden="true" style={{ blockSize: after }}>
                <td colSpan={COLUMNS} />
              </tr>
            )}
          </tbody>
        </table>
      </div>
    </section>
  );
}
