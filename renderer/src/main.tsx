/**
 * Entry point of the field app and of the central console (the same bundle): the sync server
 * serves it at `/`, Electron loads it from file://, Vite serves it in development.
 *
 * Server URL: Electron's preload gives `window.emdadConfig.serverUrl`; a page served over http(s)
 * uses its own origin (the sync server serves the console; Vite proxies /api in development);
 * otherwise http://127.0.0.1:8787.
 */
import '@fontsource/vazirmatn/400.css';
import '@fontsource/vazirmatn/700.css';
import './styles.css';
import { createRoot } from 'react-dom/client';
import { App } from './app/App.tsx';
import { AuthService } from './auth/auth-service.ts';
import { openDeviceDatabase } from './db/database.ts';
import { resolveDeviceConnection } from './device/device-client.ts';
import { initI18n, currentLanguage } from './i18n/i18n.ts';
import { registerServiceWorker } from './sw-register.ts';
import { useUiStore } from './ui/store.ts';

const DEFAULT_SERVER_URL = 'http://127.0.0.1:8787';

function serverUrl(): string {
  if (window.emdadConfig?.serverUrl) return window.emdadConfig.serverUrl;
  if (window.location.protocol === 'http:' || window.location.protocol === 'https:')
    return window.location.origin;
  return DEFAULT_SERVER_URL;
}

async function start() {
  await initI18n();
  useUiStore.getState().setLang(currentLanguage());
  window.addEventListener('online', () => useUiStore.getState().setBrowserOnline(true));
  window.addEventListener('offline', () => useUiStore.getState().setBrowserOnline(false));
  registerServiceWorker();
  const url = serverUrl();
  const deviceDb = await openDeviceDatabase();
  const auth = new AuthService(deviceDb, url);
  const device = resolveDeviceConnection();
  const rootElement = document.getElementById('root');
  if (!rootElement) throw new Error('#root missing from index.html');
  createRoot(rootElement).render(<App services={{ deviceDb, auth, serverUrl: url, device }} />);
}

start().catch((err) => {
  console.error(err);
  const root = document.getElementById('root');
  if (root) {
    root.textContent =
      'برنامه باز نشد. صفحه را دوباره بارگذاری کنید؛ اگر تکرار شد به پشتیبانی اطلاع دهید. — The app could not start. Reload the page; if it repeats, tell support.';
  }
});
