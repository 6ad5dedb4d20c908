import { useCallback, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { DEVICE_CHANNELS, newId } from '@emdad/domain';
import { useServices } from '../app/services.ts';
import { formatNumber } from '../i18n/i18n.ts';
import { useLanguage } from '../app/hooks.ts';

interface VersionInfo {
  apiVersion: number;
  transport: string;
}

/** Shows whether the device service answers: connection, API version, a ping's round trip. */
export function DevicePanel() {
  const { t } = useTranslation();
  const lang = useLanguage();
  const { device } = useServices();
  const [connected, setConnected] = useState(device.kind === 'ipc');
  const [version, setVersion] = useState<VersionInfo | null>(null);
  const [roundTrip, setRoundTrip] = useState<number | null>(null);
  const [failed, setFailed] = useState(false);

  useEffect(() => {
    if (device.kind !== 'websocket') return;
    setConnected(device.api.state === 'open');
    return device.api.onState((s) => setConnected(s === 'open'));
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
      setFailed(!r.ok);
    });
    return () => {
      cancelled = true;
    };
  }, [device, connected]);

  const ping = useCallback(async () => {
    if (device.kind === 'none') return;
    const started = performance.now();
    const r = await device.api.invoke(DEVICE_CHANNELS.ping, { nonce: newId() });
    setFailed(!r.ok);
    setRoundTrip(r.ok ? Math.round(performance.now() - started) : null);
  }, [device]);

  const answering = connected && version !== null;
  return (
    <aside className="device-panel" data-testid="device-panel" aria-labelledby="device-title">
      <h2 id="device-title">{t('device.title')}</h2>
      <p data-testid="device-status" data-connected={answering ? 'true' : 'false'}>
        <span className={`dot ${answering ? 'dot-on' : 'dot-off'}`} aria-hidden="true" />
        {device.kind === 'none' ? t('device.notConfigured') : answering ? t('device.connected') : t('device.disconnected')}
      </p>
      {version && (
        <p className="muted">
          {t('device.apiVersion', { version: formatNumber(version.apiVersion, lang) })} · {t('device.transport', { transport: version.transport })}
        </p>
      )}
      {device.kind !== 'none' && (
        <p>
          <button type="button" onClick={() => void ping()} disabled={!connected}>
            {t('device.ping')}
          </button>{' '}
          {roundTrip !== null && <span data-testid="device-roundtrip">{t('device.roundTrip', { ms: formatNumber(roundTrip, lang) })}</span>}
        </p>
      )}
      {failed && <p className="field-error">{t('device.failed')}</p>}
    </aside>
  );
}
