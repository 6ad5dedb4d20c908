import { useMemo } from 'react';
import { useTranslation } from 'react-i18next';
import { errorSentence } from '@emdad/domain';
import { formatDateTime, formatNumber } from '../i18n/i18n.ts';
import { isOnline, refusalSentence, useUiStore } from '../ui/store.ts';
import { countUnsynced } from '../cases/case-list-view.ts';
import { useCases, useLanguage } from './hooks.ts';
import { useUser } from './services.ts';

/** Always visible: online/offline, local changes not yet acknowledged, last sync, last error. */
export function SyncStatusBar() {
  const { t } = useTranslation();
  const lang = useLanguage();
  const { userDb, session } = useUser();
  const sync = useUiStore((s) => s.sync);
  const online = useUiStore(isOnline);
  const refused = useUiStore((s) => s.refused);
  // The same RxDB query as the case list (RxDB's query cache runs it once for both).
  const cases = useCases(userDb);
  const pending = useMemo(() => (cases ? countUnsynced(cases) : 0), [cases]);

  const lastRefused = refused[refused.length - 1];
  const lastRefusedCode = useMemo(
    () =>
      lastRefused?.collection === 'cases' && cases
        ? cases.find((d) => d.id === lastRefused.id)?.trackingCode
        : undefined,
    [lastRefused, cases],
  );
  const errorText =
    session.mode === 'offline'
      ? t('user.offlineMode')
      : sync.error
        ? errorSentence(sync.error.code, lang)
        : null;

  return (
    <div
      className="sync-bar"
      role="status"
      aria-live="polite"
      data-testid="sync-status"
      data-online={online ? 'true' : 'false'}
    >
      <span className={`dot ${online ? 'dot-on' : 'dot-off'}`} aria-hidden="true" />
      <span className="sync-online">{online ? t('sync.online') : t('sync.offline')}</span>
      <span data-testid="pending-count" data-count={pending}>
        {t('sync.pending', { n: formatNumber(pending, lang) })}
      </span>
      <span data-testid="last-sync" data-at={sync.lastSyncAt ?? ''}>
        {sync.lastSyncAt
          ? t('sync.lastSync', { time: formatDateTime(sync.lastSyncAt, lang) })
          : t('sync.never')}
      </span>
      {errorText && (
        <span
          className="sync-error"
          data-testid="sync-error"
          data-code={sync.error?.code ?? 'offline_session'}
        >
          {errorText}
        </span>
      )}
      {lastRefused && (
        <span className="sync-error" data-testid="sync-refused">
          {t('sync.refused', {
            collection: t(`collections.${lastRefused.collection}`),
            code: lastRefusedCode ?? lastRefused.id,
            sentence: refusalSentence(lastRefused, lang),
          })}
        </span>
      )}
    </div>
  );
}
