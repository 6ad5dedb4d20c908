import { useCallback, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { DEVICE_CHANNELS, deviceErrorSentence, newId, type DeviceApiError } from '@emdad/domain';
import { useServices } from '../app/services.ts';
import { formatNumber } from '../i18n/i18n.ts';
import { useLanguage } from '../app/hooks.ts';
import type { ConnectionState } from './device-client.ts';

interface VersionInfo {
  apiVersion: number;
  transport: string;
}

/**
 * Shows whether the device service answers: connection, API version, a ping's round trip, and any
 * error as the service's own sentence in the user's language. In browser mode, when the agent no
 * longer accepts this page (restarted with a new token), it says so and offers to try again
 * instead of retrying silently for ever.
 */
export function DevicePanel() {
  const { t } = useTranslation();
  const lang = useLanguage();
  const { device } = useServices();
  const [connection, setConnection] = useState<ConnectionState>(
    device.kind === 'websocket' ? device.api.state : device.kind === 'ipc' ? 'open' : 'closed',
  );
  const [version, setVersion] = useState<VersionInfo | null>(null);
  const [roundTrip, setRoundTrip] = useState<number | null>(null);
  const [error, setError] = useState<DeviceApiError | null>(null);
  const connected = connection === 'open';

  useEffect(() => {
    if (device.kind !== 'websocket') return;
    setConnection(device.api.state);
    return device.api.onState((s) => {
      setConnection(s);
      if (s === 'open') setError(null);
    });
  }, [device]);

  useEffect(() => {
    if (device.kind === 'none' || !connected) {
      setVersion(null);
      return;
    }
    let cancelled = false;
    void device.api.invoke(DEVICE_CHANNELS.version, {}).then((r) => {
      if (cancelled) return;
      if (r.ok) setVersion({ apiVersion: r.value.apiVersion, transport: r.value.transport });
      setError(r.ok ? null : r.error);
    });
    return () => {
      cancelled = true;
    };
  }, [device, connected]);

  const ping = useCallback(async () => {
    if (device.kind === 'none') return;
    const started = performance.now();
    const r = await device.api.invoke(DEVICE_CHANNELS.ping, { nonce: newId() });
    setError(r.ok ? null : r.error);
    setRoundTrip(r.ok ? Math.round(performance.now() - started) : null);
  }, [device]);

  const refusedBecause =
    device.kind === 'websocket' && connection === 'refused' ? device.api.stoppedBecause : null;
  const shownError = refusedBecause ?? error;
  const answering = connected && version !== null;
  return (
    <aside className="device-panel" data-testid="device-panel" aria-labelledby="device-title">
      <h2 id="device-title">{t('device.title')}</h2>
      <p
        data-testid="device-status"
        data-connected={answering ? 'true' : 'false'}
        data-state={device.kind === 'none' ? 'none' : connection}
      >
        <span className={`dot ${answering ? 'dot-on' : 'dot-off'}`} aria-hidden="true" />
        {device.kind === 'none'
          ? t('device.notConfigured')
          : answering
            ? t('device.connected')
            : connection === 'connecting'
              ? t('device.connecting')
              : t('device.disconnected')}
      </p>
      {version && (
        <p className="muted">
          {t('device.apiVersion', { version: formatNumber(version.apiVersion, lang) })} ·{' '}
          {t('device.transport', { transport: version.transport })}
        </p>
      )}
      {device.kind !== 'none' && (
        <p>
          <button type="button" onClick={() => void ping()} disabled={!connected}>
            {t('device.ping')}
          </button>{' '}
          {roundTrip !== null && (
            <span data-testid="device-roundtrip">
              {t('device.roundTrip', { ms: formatNumber(roundTrip, lang) })}
            </span>
          )}
        </p>
      )}
      {shownError && (
        <p className="field-error" role="alert" data-testid="device-error" data-code={shownError.code}>
          {deviceErrorSentence(shownError, lang)}
        </p>
      )}
      {device.kind === 'websocket' && connection === 'refused' && (
        <p>
          <button type="button" data-testid="device-retry" onClick={() => device.api.retry()}>
            {t('device.retry')}
          </button>
        </p>
      )}
    </aside>
  );
}
