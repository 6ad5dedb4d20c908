import { useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { errorSentence } from '@emdad/domain';
import { OFFLINE_LOGIN_DAYS } from '../auth/offline-verifier.ts';
import { useServices } from './services.ts';
import { useLanguage } from './hooks.ts';
import { LanguageSwitch } from './LanguageSwitch.tsx';

export function LoginPage() {
  const { t } = useTranslation();
  const lang = useLanguage();
  const { auth } = useServices();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [errorCode, setErrorCode] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    if (busy) return;
    setBusy(true);
    setErrorCode(null);
    try {
      const result = await auth.login(username, password);
      if (!result.ok) setErrorCode(result.error.code);
    } catch {
      setErrorCode('internal');
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="login" id="main">
      <div className="login-card">
        <div className="login-head">
          <h1>{t('login.title')}</h1>
          <LanguageSwitch />
        </div>
        <form onSubmit={submit} noValidate>
          <label className="field">
            <span>{t('login.username')}</span>
            <input
              data-testid="login-username"
              name="username"
              autoComplete="username"
              dir="ltr"
              value={username}
              onChange={(e) => setUsername(e.target.value)}
              required
              autoFocus
            />
          </label>
          <label className="field">
            <span>{t('login.password')}</span>
            <input
              data-testid="login-password"
              name="password"
              type="password"
              autoComplete="current-password"
              dir="ltr"
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              required
            />
          </label>
          {errorCode && (
            <p className="form-error" role="alert" data-testid="login-error">
              {errorSentence(errorCode, lang)}
            </p>
          )}
          <button
            type="submit"
            className="primary"
            data-testid="login-submit"
            disabled={busy || !username || !password}
          >
            {busy ? t('login.working') : t('login.submit')}
          </button>
        </form>
        <p className="hint">{t('login.offlineHint', { days: OFFLINE_LOGIN_DAYS })}</p>
      </div>
    </main>
  );
}
